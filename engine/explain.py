"""explain(root, leaf): d root / d leaf written out as the chain rule, with symbols and numbers:

    d root/d leaf = sum over every path leaf -> ... -> root of the product of local derivatives

and, when there are too many paths to list, the same sum grouped by node (the recurrence).
"""
import math
from typing import NamedTuple

from .graph import grad, local_derivatives, topological_order
from .ops import OPS
from .text import definition, fmt, node_names


class Explanation(NamedTuple):
    """The written-out chain rule (str() of it), the value of d root/d leaf (what
    leaf.grad gets from root.backward() on zeroed grads) and the number of paths."""
    text: str
    value: object
    paths: int

    def __str__(self):
        return self.text


def explain(root, leaf, max_paths=16, digits=4):
    """Write d root/d leaf as the chain rule: every path with its local derivatives, or
    (with more than max_paths paths) the recurrence over the nodes between them."""
    order = topological_order(root)
    names = node_names(order)
    r, x = names[root], names.get(leaf) or node_names([leaf])[leaf]
    count = _count_paths(order, leaf)
    if not count.get(root):
        return Explanation(f"d{r}/d{x} = 0: {x} is not used to compute {r} (no path from {x} "
                           f"to {r})", 0, 0)
    value = grad(root, [leaf])[0]
    local = {node: local_derivatives(node) for node in order if count[node] and node is not leaf}
    d = _Symbols(names, digits)
    if count[root] <= max_paths:
        lines = _by_paths(root, leaf, count, local, d)
    else:
        lines = _by_recurrence(order, root, leaf, count, local, d, max_paths)
    lines.append(f"d{r}/d{x} = {fmt(value, digits)}   (= {x}.grad after {r}.backward())")
    lines += _rules(order, leaf, count, local, d)
    return Explanation("\n".join(lines), value, count[root])


class _Symbols:
    """'dv1/dx1' for the edge (child, slot); '[a]'/'[b]' when a parent fills both slots."""

    def __init__(self, names, digits):
        self.names, self.digits = names, digits

    def edge(self, child, slot):
        parent = child.parents[slot]
        mark = f"[{'ab'[slot]}]" if child.parents.count(parent) > 1 else ""
        return f"d{self.names[child]}/d{self.names[parent]}{mark}"

    def num(self, x):
        text = fmt(x, self.digits)
        return f"({text})" if text.startswith("-") else text


def _count_paths(order, leaf):
    """How many paths lead from leaf to each node (an edge per parent slot, so x*x has 2)."""
    count = {}
    for node in order:
        count[node] = 1 if node is leaf else sum(count[p] for p in node.parents)
    return count


def _by_paths(root, leaf, count, local, d):
    paths, stack = [], [(root, None)]
    while stack:                                   # depth-first, no recursion
        node, link = stack.pop()                   # link: ((child, slot), rest) back to root
        if node is leaf:
            edges = []
            while link:
                edges.append(link[0])
                link = link[1]
            paths.append(edges[::-1])              # root's edge first
            continue
        for slot in reversed(range(len(node.parents))):
            if count[node.parents[slot]]:
                stack.append((node.parents[slot], ((node, slot), link)))
    r, x = d.names[root], d.names[leaf]
    n = len(paths)
    lines = [f"d{r}/d{x} by the chain rule: the sum over every path from {x} to {r} of the "
             f"product of the local derivatives along it ({n} path{'s' * (n != 1)})"]
    products = []
    for i, edges in enumerate(paths, 1):
        factors = [local[child][slot] for child, slot in edges]
        products.append(math.prod(factors))
        route = " -> ".join([x] + [d.names[child] for child, _ in reversed(edges)])
        numbers = " * ".join(d.num(f) for f in factors)
        if len(factors) > 1:
            numbers += f" = {fmt(products[-1], d.digits)}"
        lines += [f"path {i}: {route}",
                  "  " + " * ".join(d.edge(child, slot) for child, slot in edges),
                  "  = " + numbers]
    if n > 1:
        lines.append(f"sum of the {n} paths: " + " + ".join(d.num(p) for p in products)
                     + f" = {fmt(sum(products), d.digits)}")
    return lines


def _by_recurrence(order, root, leaf, count, local, d, max_paths):
    r, x = d.names[root], d.names[leaf]
    children = {node: [] for node in order}
    for node in order:
        if node is not leaf and count[node]:
            for slot, parent in enumerate(node.parents):
                if count[parent]:
                    children[parent].append((node, slot))
    between = [node for node in reversed(order) if count[node] and node is not root]
    adjoint = dict(zip(between, grad(root, between)))
    adjoint[root] = 1
    lines = [f"{count[root]} paths lead from {x} to {r} (more than max_paths={max_paths}), so "
             f"here is the same sum grouped by node, from {r} down to {x}:",
             f"  d{r}/dv = sum over the children c of v of d{r}/dc * dc/dv"]
    for node in between:
        kids = children[node]
        symbols = " + ".join(f"d{r}/d{d.names[c]} * {d.edge(c, s)}" for c, s in kids)
        numbers = " + ".join(f"{d.num(adjoint[c])} * {d.num(local[c][s])}" for c, s in kids)
        lines.append(f"  d{r}/d{d.names[node]} = {symbols} = {numbers} = {fmt(adjoint[node], d.digits)}")
    return lines


def _rules(order, leaf, count, local, d):
    """The local derivatives used, each with its node and its row of the derivative table."""
    rows = []
    for node in reversed(order):
        if node in local:
            for slot, parent in enumerate(node.parents):
                if count[parent]:
                    rows.append((d.edge(node, slot), fmt(local[node][slot], d.digits),
                                 definition(node, d.names), OPS[node.op].math))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    note = any("[" in row[0] for row in rows)
    return ["local derivatives, from the derivative table"
            + (" ([a], [b]: the parent fills both slots of the op)" if note else "") + ":"] + [
        f"  {a.ljust(widths[0])} = {b.ljust(widths[1])}   {c.ljust(widths[2])}   {m}"
        for a, b, c, m in rows]

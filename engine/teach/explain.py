"""explain(root, leaf): d root / d leaf written out as the chain rule, with symbols and numbers:

    d root/d leaf = sum over every path leaf -> ... -> root of the product of local derivatives

and, when there are too many paths to list, the same sum grouped by node (the recurrence).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Union

from .export import Exportable
from ..graph import local_derivatives, topological_order
from ..text import fmt
from .notation import definition, node_names, partial, rule
from .export import Parts
from ..value import Gradient, Number, Value, expect_value, grad

MAX_LISTED = 1000       # paths listed one by one at most, whatever max_paths asks: beyond,
                        # the recurrence (its size is the graph's, not the number of paths)
Edge = tuple[Value, int]                       # (child, parent slot)
Local = dict[Value, tuple[Gradient, ...]]      # each node's local derivatives, by slot
Grid = tuple[tuple[str, ...], list[tuple[str, ...]]]     # a table's (header, rows)
# a path from a node back up to the root, as a linked list: (edge, the rest) or None
Link = Union[tuple[Edge, "Link"], None]


class Explanation(Exportable):
    """The written-out chain rule (str() of it, or .text), the value of d root/d leaf (what
    leaf.grad gets from root.backward() on zeroed grads) and the number of paths.

    As tables: the paths (or the per-node sums) and the local derivatives used, for
    Jupyter (HTML) and handouts (to_markdown, to_latex; to_csv gives the first table)."""

    def __init__(self, text: str, value: Number, paths: int, tables: Iterable[Parts] = ()) -> None:
        self.text, self.value, self.paths, self.tables = text, value, paths, tuple(tables)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:       # at a >>> prompt the written-out rule, as printed
        return self.text

    def parts(self, digits: int = 4) -> Parts:
        """The first table: the paths and their products (or the sums by node)."""
        return self.all_parts()[0]

    # the numbers were written with explain(digits=...): digits here is for the interface
    def all_parts(self, digits: int | None = None) -> tuple[Parts, ...]:
        """Every table: the paths (or the sums by node), then the local derivatives."""
        return self.tables or ((self.text, ("",), [], ""),)


def explain(root: Value, leaf: Value, max_paths: int = 16, digits: int = 4) -> Explanation:
    """Write d root/d leaf as the chain rule: every path with its local derivatives, or
    (with more than max_paths paths) the recurrence over the nodes between them."""
    expect_value(root, "explain")
    expect_value(leaf, "explain", "the input to differentiate with respect to")
    order = topological_order(root)
    names = node_names(order)
    r, x = names[root], names.get(leaf) or node_names([leaf])[leaf]
    if leaf is root:
        return Explanation(f"d{r}/d{r} = 1: anything changes one for one with itself",
                           grad(root, [leaf])[0], 1)
    count = _count_paths(order, leaf)
    if not count.get(root):
        return Explanation(f"d{r}/d{x} = 0: {x} is not used to compute {r} (no path from {x} "
                           f"to {r})", 0, 0)
    value = grad(root, [leaf])[0]
    local = {node: local_derivatives(node) for node in order if count[node] and node is not leaf}
    d = _Symbols(names, digits)
    if count[root] <= min(max_paths, MAX_LISTED):   # listing millions of paths is no lesson
        lines, first = _by_paths(root, leaf, count, local, d)
    else:
        lines, first = _by_recurrence(order, root, leaf, count, local, d, max_paths)
    result = f"d{r}/d{x} = {fmt(value, digits)}   (= {x}.grad after {r}.backward())"
    lines.append(result)
    rule_lines, rules = _rules(order, leaf, count, local, d)
    tables = [(lines[0], *first, result), (rule_lines[0].rstrip(":"), *rules, "")]
    return Explanation("\n".join(lines + rule_lines), value, count[root], tables)


class _Symbols:
    """'dv1/dx1' for the edge (child, slot); '[1]'/'[2]' when a parent fills both operands
    (x*x, x**x): which of them, first or second (not a, b: those may be the user's names)."""

    def __init__(self, names: dict[Value, str], digits: int) -> None:
        self.names, self.digits = names, digits

    def edge(self, child: Value, slot: int) -> str:
        return partial(child, slot, self.names)

    def num(self, x: Gradient) -> str:
        text = fmt(x, self.digits)
        return f"({text})" if text.startswith("-") else text


def _count_paths(order: Iterable[Value], leaf: Value) -> dict[Value, int]:
    """How many paths lead from leaf to each node (an edge per parent slot, so x*x has 2)."""
    count: dict[Value, int] = {}
    for node in order:
        count[node] = 1 if node is leaf else sum(count[p] for p in node.parents)
    return count


def _by_paths(root: Value, leaf: Value, count: dict[Value, int], local: Local,
              d: _Symbols) -> tuple[list[str], Grid]:
    """The lines of the sum over paths, and its table: (header, rows)."""
    paths: list[list[Edge]] = []
    stack: list[tuple[Value, Link]] = [(root, None)]
    while stack:                                   # depth-first, no recursion
        node, link = stack.pop()                   # link: ((child, slot), rest) back to root
        if node is leaf:
            edges: list[Edge] = []
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
    products: list[Gradient] = []
    rows: list[tuple[str, ...]] = []
    for i, edges in enumerate(paths, 1):
        factors = [local[child][slot] for child, slot in edges]
        products.append(math.prod(factors))
        route = " -> ".join([x] + [d.names[child] for child, _ in reversed(edges)])
        symbols = " * ".join(d.edge(child, slot) for child, slot in edges)
        numbers = " * ".join(d.num(f) for f in factors)
        rows.append((str(i), route, symbols, numbers, fmt(products[-1], d.digits)))
        if len(factors) > 1:
            numbers += f" = {fmt(products[-1], d.digits)}"
        lines += [f"path {i}: {route}", "  " + symbols, "  = " + numbers]
    if n > 1:
        lines.append(f"sum of the {n} paths: " + " + ".join(d.num(p) for p in products)
                     + f" = {fmt(sum(products), d.digits)}")
    return lines, (("path", "route", "product of local derivatives", "with numbers", "value"),
                   rows)


def _by_recurrence(order: list[Value], root: Value, leaf: Value, count: dict[Value, int],
                   local: Local, d: _Symbols, max_paths: int) -> tuple[list[str], Grid]:
    """The lines of the sums by node, and their table: (header, rows)."""
    r, x = d.names[root], d.names[leaf]
    children: dict[Value, list[Edge]] = {node: [] for node in order}
    for node in order:
        if node is not leaf and count[node]:
            for slot, parent in enumerate(node.parents):
                if count[parent]:
                    children[parent].append((node, slot))
    between = [node for node in reversed(order) if count[node] and node is not root]
    adjoint: dict[Value, Gradient] = dict(zip(between, grad(root, between)))
    adjoint[root] = 1
    most = f"max_paths={max_paths}" if max_paths <= MAX_LISTED else \
        f"{MAX_LISTED:,}, the most explain lists"
    lines = [f"{count[root]} paths lead from {x} to {r} (more than {most}), so "
             f"here is the same sum grouped by node, from {r} down to {x}:",
             f"  d{r}/dv = sum over the children c of v of d{r}/dc * dc/dv"]
    rows: list[tuple[str, ...]] = []
    for node in between:
        kids = children[node]
        symbols = " + ".join(f"d{r}/d{d.names[c]} * {d.edge(c, s)}" for c, s in kids)
        numbers = " + ".join(f"{d.num(adjoint[c])} * {d.num(local[c][s])}" for c, s in kids)
        value = fmt(adjoint[node], d.digits)
        rows.append((f"d{r}/d{d.names[node]}", symbols, numbers, value))
        lines.append(f"  d{r}/d{d.names[node]} = {symbols} = {numbers} = {value}")
    return lines, (("gradient", "sum over the children", "with numbers", "value"), rows)


def _rules(order: list[Value], leaf: Value, count: dict[Value, int], local: Local,
           d: _Symbols) -> tuple[list[str], Grid]:
    """The local derivatives used, each with its node and its rule from the derivative
    table written in the graph's names: the lines, and the table (header, rows)."""
    rows: list[tuple[str, ...]] = []
    for node in reversed(order):
        if node in local:
            for slot, parent in enumerate(node.parents):
                if count[parent]:
                    rows.append((d.edge(node, slot), rule(node, slot, d.names),
                                 fmt(local[node][slot], d.digits), definition(node, d.names)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    note = any("[" in row[0] for row in rows)
    lines = ["local derivatives, from the derivative table"
             + (" ([1], [2]: the parent is both operands of the op, first and second)"
                if note else "") + ":"]
    for edge, formula, value, made in rows:         # made: the node's definition
        said = value if formula == value else f"{formula} = {value}"
        lines.append(f"  {edge.ljust(widths[0])} = {said.ljust(widths[1] + widths[2] + 3)}   {made}")
    return lines, (("local derivative", "rule", "value", "node"), rows)

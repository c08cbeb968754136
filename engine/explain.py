"""explain(root, leaf): d root / d leaf written out as the chain rule, with symbols and numbers:

    d root/d leaf = sum over every path leaf -> ... -> root of the product of local derivatives

and, when there are too many paths to list, the same sum grouped by node (the recurrence).
"""
import math

from .export import Exportable, csv_table, html_table, latex_table, markdown_table
from .graph import grad, local_derivatives, topological_order
from .ops import OPS
from .text import definition, fmt, node_names, partial, rule
from .value import expect_value


class Explanation(Exportable):
    """The written-out chain rule (str() of it, or .text), the value of d root/d leaf (what
    leaf.grad gets from root.backward() on zeroed grads) and the number of paths.

    As tables: the paths (or the per-node sums) and the local derivatives used, for
    Jupyter (HTML) and handouts (to_markdown, to_latex; to_csv gives the first table)."""

    def __init__(self, text, value, paths, tables=()):
        self.text, self.value, self.paths, self.tables = text, value, paths, tuple(tables)

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"Explanation(value={fmt(self.value)}, paths={self.paths})"

    def parts(self, digits=4):
        """The first table: the paths and their products (or the sums by node)."""
        return self.tables[0] if self.tables else (self.text, ("",), [], "")

    # the numbers were written with explain(digits=...): digits here is for the interface
    def to_markdown(self, digits=None):
        """The tables in Markdown."""
        return "\n\n".join(markdown_table(h, r, c, n) for c, h, r, n in self._all())

    def to_latex(self, digits=None):
        """The tables as LaTeX tabulars."""
        return "\n\n".join(latex_table(h, r, c, n) for c, h, r, n in self._all())

    def to_csv(self, digits=None):
        """The first table (the paths, or the sums by node) as CSV."""
        _, header, rows, _ = self.parts()
        return csv_table(header, rows)

    def _repr_html_(self):
        return "\n".join(html_table(h, r, c, n) for c, h, r, n in self._all())

    def _all(self):
        return self.tables or ((self.text, ("",), [], ""),)


def explain(root, leaf, max_paths=16, digits=4):
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
    if count[root] <= max_paths:
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

    def __init__(self, names, digits):
        self.names, self.digits = names, digits

    def edge(self, child, slot):
        return partial(child, slot, self.names)

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
    """The lines of the sum over paths, and its table: (header, rows)."""
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
    products, rows = [], []
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


def _by_recurrence(order, root, leaf, count, local, d, max_paths):
    """The lines of the sums by node, and their table: (header, rows)."""
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
    rows = []
    for node in between:
        kids = children[node]
        symbols = " + ".join(f"d{r}/d{d.names[c]} * {d.edge(c, s)}" for c, s in kids)
        numbers = " + ".join(f"{d.num(adjoint[c])} * {d.num(local[c][s])}" for c, s in kids)
        value = fmt(adjoint[node], d.digits)
        rows.append((f"d{r}/d{d.names[node]}", symbols, numbers, value))
        lines.append(f"  d{r}/d{d.names[node]} = {symbols} = {numbers} = {value}")
    return lines, (("gradient", "sum over the children", "with numbers", "value"), rows)


def _rules(order, leaf, count, local, d):
    """The local derivatives used, each with its node and its rule from the derivative
    table written in the graph's names: the lines, and the table (header, rows)."""
    rows = []
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
    for edge, formula, value, node in rows:
        said = value if formula == value else f"{formula} = {value}"
        lines.append(f"  {edge.ljust(widths[0])} = {said.ljust(widths[1] + widths[2] + 3)}   {node}")
    return lines, (("local derivative", "rule", "value", "node"), rows)

"""The forward pass as a table: forward_steps(root) lists every node of root's graph in
topological order (inputs first) with its formula in the graph's own names, the same
formula with the numbers filled in, and its value: the first half of a backprop lesson.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .export import Exportable
from ..graph import topological_order
from ..text import fmt, written
from .notation import node_names, table, with_numbers
from .export import Parts
from ..value import Number, Value


class ForwardStep(NamedTuple):
    """One node: its formula in names ('x * w'; '' for a leaf) and its value."""
    node: Value
    formula: str
    value: Number


class ForwardSteps(tuple[ForwardStep, ...], Exportable):
    """The forward pass of root, node by node: str() is the table, in Jupyter an HTML
    table; to_markdown(), to_latex() and to_csv() export it. `names` maps node to name."""

    root: Value
    names: dict[Value, str]

    def __new__(cls, steps: Iterable[ForwardStep], root: Value,
                names: dict[Value, str]) -> ForwardSteps:
        self = super().__new__(cls, steps)
        self.root, self.names = root, names
        return self

    def parts(self, digits: int = 4) -> Parts:
        """(caption, header, rows, note) of the table."""
        rows: list[tuple[str, ...]] = []
        for i, step in enumerate(self, 1):
            node = step.node
            if node.is_leaf:
                kind = "input" if node.label is not None else "constant"
                value = fmt(node.data, digits) if node.label is not None else self.names[node]
                rows.append((str(i), self.names[node], kind, "", value))
                continue
            rows.append((str(i), self.names[node], step.formula,
                         with_numbers(node, self.names, digits), fmt(node.data, digits)))
        caption = (f"forward pass of {self.names[self.root]}: {len(self)} nodes in "
                   "topological order, inputs first; each node computed from the ones above")
        return caption, ("step", "node", "formula", "with numbers", "value"), rows, ""

    def table(self, digits: int = 4) -> str:
        """The steps as a printable table."""
        caption, header, rows, _ = self.parts(digits)
        return caption + "\n" + table(header, rows)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:       # at a >>> prompt the table, as the README shows it
        return self.table()


def forward_steps(root: Value) -> ForwardSteps:
    """Every node of root's graph in topological order, with its formula and value.

    Nothing is computed again and no .grad changes: the values are the ones the graph holds."""
    order = topological_order(root)
    names = node_names(order)
    steps = [ForwardStep(node, "" if node.is_leaf else
                         written(node._op, [names[p] for p in node.parents], node.arg),
                         node.data) for node in order]
    return ForwardSteps(steps, root, names)

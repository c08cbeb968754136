"""Backprop step by step: backward_steps() runs one fresh backward pass and records each
chain-rule step (upstream gradient, local derivative, contribution, accumulated grad);
printing the steps gives the table a teacher projects. explain() lives in explain.py.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .export import Exportable, Parts
from ..graph import ChainStep, on_paths
from ..text import fmt
from .notation import definition, is_constant, local_text, table
from ..value import Gradient, Number, Value, backward, expect_value
from .walk import Walk, walk


class Contribution(NamedTuple):
    """What one step pushes into one parent: d node/d parent from the table,
    contribution = local * upstream, and the parent's .grad after adding it."""
    parent: Value
    local: Gradient
    contribution: Gradient
    accumulated: Gradient


class Step(NamedTuple):
    """One node's turn in the backward pass: its upstream gradient d root/d node
    (complete by now) and a Contribution per parent, in parent order."""
    node: Value
    upstream: Gradient
    contributions: tuple[Contribution, ...]


MAX_ROWS = 100_000      # rows a table is written with: a million would take gigabytes


class Steps(tuple[Step, ...], Exportable):
    """The steps of one backward pass, in the order they were applied (root first).

    str(steps) is the table (in Jupyter, an HTML table; to_markdown(), to_latex() and
    to_csv() export it); `names` maps every node to the name used in it; `start` maps
    every node to its .grad before the first step."""

    root: Value
    names: dict[Value, str]
    start: dict[Value, Gradient]
    focus: Value | None
    of: int | None
    constant_grads: bool

    def __new__(cls, steps: Iterable[Step], root: Value, names: dict[Value, str],
                start: dict[Value, Gradient], focus: Value | None = None,
                of: int | None = None, constant_grads: bool = False) -> Steps:
        self = super().__new__(cls, steps)
        self.root, self.names, self.start = root, names, start
        self.focus, self.of = focus, of        # set by towards(): the leaf, and all steps
        self.constant_grads = constant_grads   # rows for the numbers written in (0.64, 5)
        return self

    def __repr__(self) -> str:
        return self.table()

    def shown(self, step: Step) -> list[tuple[Contribution, int]]:
        """step's contributions the table shows, each with its parent slot: all of them,
        or (without constant_grads) those to a variable or a computed node."""
        return [(c, slot) for c, slot in zip(step.contributions, _slots(step))
                if self.constant_grads or not is_constant(c.parent)]

    def parts(self, digits: int = 4) -> Parts:
        """(caption, header, rows, note): the table's title, columns, one row per
        contribution, and the leaves' gradients."""
        names, root = self.names, self.names[self.root]
        size = sum(len(step.contributions) for step in self)
        if size > MAX_ROWS:
            raise ValueError(f"backward_steps: a table of {size:,} rows is too large to write "
                             f"out (at most {MAX_ROWS:,}): take the steps that reach one "
                             "input, steps.towards(leaf), or a smaller graph")
        header = ("step", "node", f"d{root}/d(node)", "parent", "d(node)/d(parent)",
                  "contribution", "parent .grad")
        rows: list[tuple[str, ...]] = []
        shown = [step for step in self if self.shown(step)]
        for i, step in enumerate(shown, 1):
            for j, (c, slot) in enumerate(self.shown(step)):
                first = [str(i), definition(step.node, names), fmt(step.upstream, digits)]
                rows.append(tuple((first if j == 0 else ["", "", ""]) +
                                  [names[c.parent], local_text(step.node, slot, names, c.local,
                                                               digits),
                                   fmt(c.contribution, digits), fmt(c.accumulated, digits)]))
        reached = {c.parent for step in self for c in step.contributions}
        leaves = [n for n in self.names if n.is_leaf and n.label is not None and n in reached]
        n = len(shown)
        which = (f"{n} step{'s' * (n != 1)}" if self.focus is None else
                 f"the {n} steps (of {self.of}) that reach {names[self.focus]}")
        title = (f"backward pass of {root}: {which}, root first; "
                 f"contribution = d(node)/d(parent) * d{root}/d(node), added to parent .grad "
                 "(one fresh pass: every .grad set to 0 first)")
        summary = ", ".join(f"{names[n]}.grad = {fmt(n.grad, digits)}" for n in leaves)
        return title, header, rows, summary

    def table(self, digits: int = 4) -> str:
        """The steps as a printable table, then the leaves' gradients."""
        title, header, rows, summary = self.parts(digits)
        return "\n".join([title, table(header, rows)] + ([summary] if summary else []))

    def __str__(self) -> str:
        return self.table()

    def towards(self, leaf: Value) -> Steps:
        """Only the steps on the paths from leaf to the root, each showing only the
        parents on those paths: the part of a large backward pass that reaches one weight."""
        on_path = on_paths(self.names, leaf)        # names: every node, in topological order
        steps = [step._replace(contributions=tuple(c for c in step.contributions
                                                   if c.parent in on_path))
                 for step in self if step.node in on_path]
        return Steps(steps, self.root, self.names, self.start, leaf, len(self),
                     self.constant_grads)


def _slots(step: Step) -> list[int]:
    """The parent slot of each contribution of step (towards() may leave some out; x*x
    has x in both slots, matched in order)."""
    slots: list[int] = []
    taken: set[int] = set()
    for c in step.contributions:
        slot = next(k for k, p in enumerate(step.node.parents) if p is c.parent and k not in taken)
        taken.add(slot)
        slots.append(slot)
    return slots


def backward_steps(root: Value, gradient: Number = 1, show_constant_grads: bool = False,
                   walked: Walk | None = None) -> Steps:
    """Run one fresh backward pass of root and return its Steps.

    The table leaves out what flows into a constant (a number written in, such as the 5
    of 0.64*5) unless show_constant_grads=True; its .grad is still computed.
    Fresh: every .grad in root's graph, leaves included, is first set to 0, so the table
    and the .grad values left behind are those of root.backward() from zeroed gradients,
    however often it runs (a re-run notebook cell shows, and leaves, the same numbers).
    The steps are reported by the chain rule itself as it runs (graph.chain_rule).
    walked: root's walk.Walk, when the caller has one (the stepper, the frames)."""
    expect_value(root, "backward_steps")
    walked = walk(root) if walked is None else walked
    order = walked.order
    for node in order:
        node.grad = 0
    steps: list[Step] = []

    def record(node: Value, upstream: Gradient, step: ChainStep) -> None:
        steps.append(Step(node, upstream, tuple(Contribution(*c) for c in step)))
    backward(root, gradient, observe=record, order=order)
    start: dict[Value, Gradient] = {node: 0 for node in order}
    if not root.is_leaf:
        start[root] = root.grad         # the seed, d root/d root: set before the first step
    return Steps(steps, root, walked.names, start, constant_grads=show_constant_grads)

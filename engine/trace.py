"""Backprop step by step: backward_steps() runs the backward pass and records each
chain-rule step (upstream gradient, local derivative, contribution, accumulated grad);
printing the steps gives the table a teacher projects. explain() lives in explain.py.
"""
from typing import NamedTuple

from .export import Exportable
from .graph import backward, local_derivatives, on_paths, topological_order
from .text import definition, fmt, node_names, table


class Contribution(NamedTuple):
    """What one step pushes into one parent: d node/d parent from the table,
    contribution = local * upstream, and the parent's .grad after adding it."""
    parent: object
    local: object
    contribution: object
    accumulated: object


class Step(NamedTuple):
    """One node's turn in the backward pass: its upstream gradient d root/d node
    (complete by now) and a Contribution per parent, in parent order."""
    node: object
    upstream: object
    contributions: tuple


class Steps(tuple, Exportable):
    """The steps of one backward pass, in the order they were applied (root first).

    str(steps) is the table (in Jupyter, an HTML table; to_markdown(), to_latex() and
    to_csv() export it); `names` maps every node to the name used in it; `start` maps
    every node to its .grad before the first step."""

    def __new__(cls, steps, root, names, start, focus=None, of=None):
        self = super().__new__(cls, steps)
        self.root, self.names, self.start = root, names, start
        self.focus, self.of = focus, of        # set by towards(): the leaf, and all steps
        return self

    def parts(self, digits=4):
        """(caption, header, rows, note): the table's title, columns, one row per
        contribution, and the leaves' gradients."""
        names, root = self.names, self.names[self.root]
        header = ("step", "node", f"d{root}/d(node)", "parent", "d(node)/d(parent)",
                  "contribution", "parent .grad")
        rows = []
        for i, step in enumerate(self, 1):
            for j, c in enumerate(step.contributions):
                first = [str(i), definition(step.node, names), fmt(step.upstream, digits)]
                rows.append(tuple((first if j == 0 else ["", "", ""]) +
                                  [names[c.parent], fmt(c.local, digits),
                                   fmt(c.contribution, digits), fmt(c.accumulated, digits)]))
        reached = {c.parent for step in self for c in step.contributions}
        leaves = [n for n in self.names if n.is_leaf and n.label is not None and n in reached]
        which = (f"{len(self)} steps" if self.focus is None else
                 f"the {len(self)} steps (of {self.of}) that reach {names[self.focus]}")
        title = (f"backward pass of {root}: {which}, root first; "
                 f"contribution = d(node)/d(parent) * d{root}/d(node), added to parent .grad")
        summary = ", ".join(f"{names[n]}.grad = {fmt(n.grad, digits)}" for n in leaves)
        return title, header, rows, summary

    def table(self, digits=4):
        """The steps as a printable table, then the leaves' gradients."""
        title, header, rows, summary = self.parts(digits)
        return "\n".join([title, table(header, rows)] + ([summary] if summary else []))

    def __str__(self):
        return self.table()

    def towards(self, leaf):
        """Only the steps on the paths from leaf to the root, each showing only the
        parents on those paths: the part of a large backward pass that reaches one weight."""
        on_path = on_paths(topological_order(self.root), leaf)
        steps = [step._replace(contributions=tuple(c for c in step.contributions
                                                   if c.parent in on_path))
                 for step in self if step.node in on_path]
        return Steps(steps, self.root, self.names, self.start, leaf, len(self))


def backward_steps(root, gradient=1):
    """Run root's backward pass (as root.backward() does) and return its Steps.

    The gradients come from tracegrad.engine.backward, the chain rule written once; the steps
    replay it with the same local derivatives from the table, in the same order."""
    order = topological_order(root)
    start = {node: (node.grad if node.is_leaf else 0) for node in order}
    backward(root, gradient)
    start[root] = root.grad if not root.is_leaf else start[root]
    running = dict(start)
    steps = []
    for node in reversed(order):
        if node.is_leaf:
            continue
        upstream, contributions = node.grad, []
        for parent, local in zip(node.parents, local_derivatives(node)):
            contribution = local * upstream
            running[parent] = running[parent] + contribution
            contributions.append(Contribution(parent, local, contribution, running[parent]))
        steps.append(Step(node, upstream, tuple(contributions)))
    return Steps(steps, root, node_names(order), start)

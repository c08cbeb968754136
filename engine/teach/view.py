"""What a drawing shows of a graph: every node; or a compact view, where a left-folded sum
(((a + b) + c) + d, as a dot product builds it) is one Sigma node with its terms; and/or only
the paths from one focus leaf to the root, each op with its direct inputs (pruning).
"""
from typing import NamedTuple

from ..graph import on_paths

SUM_TERMS = 5        # compact=None (the default) folds sums of at least this many terms


class View(NamedTuple):
    """drawn: the nodes drawn (as records); inputs: for each drawn node whose op is drawn,
    the edges into that op as (input, node it enters, slot), leftmost first (a Sigma's
    terms, or the node's own parents); terms: Sigma node -> how many terms its sum has."""
    drawn: set
    inputs: dict
    terms: dict


def view(order, focus=None, compact=None, prune=False, keep=()):
    """The View of a graph (order: its topological order). compact: True folds every
    left-folded sum of 3 or more terms, None (default) sums of SUM_TERMS or more, False none.
    prune: draw only focus's paths to the root (and each op's inputs). keep: nodes that
    must stay visible (a highlighted step's node)."""
    if compact not in (True, False, None):
        raise ValueError(f"draw: compact={compact!r}; use True (fold sums of 3 or more "
                         f"terms), None ({SUM_TERMS} or more, the default) or False")
    if prune and focus is None:
        raise ValueError("draw: prune=True draws only the paths of a focus leaf: give focus=")
    least = {True: 3, None: SUM_TERMS, False: None}[compact]
    children = {}
    for node in order:
        for parent in node.parents:
            children[parent] = children.get(parent, 0) + 1
    keep = set(keep) | ({focus} if focus is not None else set())

    def foldable(node):             # a partial sum used only by the next + and never named
        return (node.op == "add" and node.label is None and children.get(node) == 1
                and node not in keep)

    inputs, terms, folded = {}, {}, set()
    for node in reversed(order):                # outermost sums first
        if node.is_leaf or node in folded:
            continue
        edges, partial = _sum(node, foldable) if least and node.op == "add" else ([], [])
        if len(edges) >= (least or 0) and partial:
            inputs[node], terms[node] = edges, len(edges)
            folded.update(partial)
        else:
            inputs[node] = [(parent, node, slot) for slot, parent in enumerate(node.parents)]
    drawn = {node for node in order if node not in folded}
    if prune:
        reached = on_paths(order, focus)
        inputs = {node: [e for e in edges if e[0] in reached or node not in terms]
                  for node, edges in inputs.items() if node in reached and node in drawn}
        drawn = {node for node in reached if node in drawn}
        drawn |= {e[0] for edges in inputs.values() for e in edges}
    return View(drawn, inputs, terms)


def _sum(node, foldable):
    """The terms of the left-folded sum that ends at node, leftmost first, each as
    (term, the + node it enters, slot), and the partial sums folded away."""
    edges, partial = [], []
    while True:
        a, b = node.parents
        edges.append((b, node, 1))
        if not foldable(a):
            edges.append((a, node, 0))
            return edges[::-1], partial
        partial.append(a)
        node = a

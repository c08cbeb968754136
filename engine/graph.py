"""Walking the graph: topological order (iterative, never recursive) and the chain rule
(written once, in `chain_rule`), over the nodes Value makes; value.py's backward() and grad()
run a pass of it.

    d root / d x  =  sum over children c of x:  d root / d c  *  d c / d x
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from . import modes
from .ops import OPS, value_of
from .text import describe, fmt

if TYPE_CHECKING:       # for the type checker only: value.py imports this file, not back
    from .value import Gradient, Number, Value

# One node's step of the chain rule, as observers are told it: for each parent,
# (parent, local derivative, contribution, the parent's gradient so far).
ChainStep = list[tuple["Value", "Gradient", "Gradient", "Gradient"]]
Observer = Callable[["Value", "Gradient", ChainStep], None]


def topological_order(root: Value) -> list[Value]:
    """Every node root depends on, parents before children, root last.

    Deterministic: the order a recursive depth-first walk over `parents` (in order)
    would give, computed with an explicit stack so a graph of any depth works."""
    # `path` is the recursion's call stack. A node is entered at its first parent (_a) and
    # resumed at its second (_b): the walk descends into a parent not yet seen, and when
    # that parent is finished the node below it on `path` resumes at _b (after a descent
    # into _b, _b is seen by then, so the node is finished). A leaf parent is finished at
    # once: most nodes have one (a weight, a constant). A node resumed is not re-checked
    # at _a on the way back up: that work is done (what it saves: README, Performance).
    order: list[Value] = []
    path: list[Value] = []
    seen = {root}
    finish, seen_add, descend, ascend = order.append, seen.add, path.append, path.pop
    node = root
    while True:
        parent = node._a                                # enter node
        if parent is not None and parent not in seen:
            seen_add(parent)
            if parent._a is not None:
                descend(node)
                node = parent
                continue
            finish(parent)
        while True:                                     # resume node at its second parent
            parent = node._b
            if parent is not None and parent not in seen:
                seen_add(parent)
                if parent._a is not None:
                    descend(node)
                    node = parent
                    break                               # ... and enter that parent
                finish(parent)
            finish(node)
            if not path:
                return order
            node = ascend()


def on_paths(order: Iterable[Value], leaf: Value) -> set[Value]:
    """The nodes of order (a topological order) on some path from leaf: leaf itself and
    every node computed from it, directly or not. Used to show one weight's part of a graph."""
    reached = {leaf}
    for node in order:
        if node._a in reached or node._b in reached:
            reached.add(node)
    return reached


def local_derivatives(node: Value, as_values: bool = False) -> tuple[Gradient, ...]:
    """d node / d parent for each parent of node, from the derivative table (() for a leaf).

    With as_values=True they are Values in the graph (so they can be differentiated)."""
    op, a, b = node._op, node._a, node._b
    if op is None or a is None:         # a leaf (a node with an op always has a)
        return ()
    if as_values:
        return op.local(node, a, b, node.arg)
    return op.local(node.data, a.data, None if b is None else b.data, node.arg)


def chain_rule(order: Sequence[Value], create_graph: bool = False,
               observe: Observer | None = None) -> None:
    """The chain rule, written once: push each node's gradient to its parents, children first.

    order: a topological order of the graph, root last. On entry the root's .grad holds the
    seed (d root/d root) and every other node's .grad the number its sum starts from.
    observe(node, upstream, [(parent, local, contribution, accumulated), ...]), if given,
    is told each node's step: backward_steps records them, detect_anomaly checks them."""
    # with create_graph the chain rule's own arithmetic is recorded (so the gradients
    # can be differentiated again); without it nothing is
    with (modes.enable_grad() if create_graph else modes.no_grad()):
        for node in reversed(order):                # children before parents
            if node._op is None:
                continue                            # a leaf passes nothing on
            upstream = node.grad                    # d root/d node: all its children are done
            step: ChainStep = []
            for parent, local in zip(node.parents, local_derivatives(node, create_graph)):
                contribution = local * upstream     # d root/d node * d node/d parent
                parent.grad = parent.grad + contribution    # summed over parent's children
                step.append((parent, local, contribution, parent.grad))
            if observe is not None:
                observe(node, upstream, step)


# --- a speed trick: the same pass, for a plain backward() nobody watches ------------------
# backward() and grad() with no observer and no create_graph run these two instead of
# topological_order and chain_rule: the same walk (leaving out the leaves, which pass nothing
# on, and marking a node reached by setting its .grad rather than keeping a set) and the same
# loop (the table's derivatives called directly, the loop over the two parents unrolled, no
# `parents` tuple, zip or step record). tests/test_engine_chain_rule.py checks the order
# against topological_order's and every .grad against chain_rule's on random graphs;
# benchmarks/results.md says what the trick saves.
def _interior_order(root: Value, zero: float) -> list[Value]:
    """topological_order(root) without its leaves, each node's .grad set to `zero` (a float
    made for this pass, so no other .grad is this object: the mark that a node was seen,
    and a true value, 0, until the first gradient arrives)."""
    order: list[Value] = []
    path: list[Value] = []
    finish, descend, ascend = order.append, path.append, path.pop
    root.grad = zero
    node: Value | None = root
    while node is not None:
        parent = node._a                                # enter node
        if parent is not None and parent._a is not None and parent.grad is not zero:
            parent.grad = zero
            descend(node)
            node = parent
            continue
        while True:                                     # resume node at its second parent
            parent = node._b
            if parent is not None and parent._a is not None and parent.grad is not zero:
                parent.grad = zero
                descend(node)
                node = parent
                break                                   # ... and enter that parent
            finish(node)
            node = ascend() if path else None
            if node is None:
                break
    return order


_ADD = OPS["add"]


def _chain_rule_fast(order: Sequence[Value], zero: float) -> None:
    """chain_rule(order) with no observer: a parent whose .grad is still `zero` (no
    contribution yet) takes the first one as it is, as chain_rule's 0 + contribution gives."""
    with modes.no_grad():
        for node in reversed(order):
            op, a, b = node._op, node._a, node._b
            if op is None or a is None:
                continue                            # a leaf (only in grad()'s order)
            upstream = node.grad
            if b is None:
                (local,) = op.local(node.data, a.data, None, node._arg)
                total = a.grad
                a.grad = local * upstream if total is zero else total + local * upstream
                continue
            if op is _ADD:      # add's row gives (1, 1) whatever its inputs: no call needed
                local_a = local_b = 1
            else:
                local_a, local_b = op.local(node.data, a.data, b.data, None)
            total = a.grad
            a.grad = local_a * upstream if total is zero else total + local_a * upstream
            total = b.grad
            b.grad = local_b * upstream if total is zero else total + local_b * upstream


def _check_step(node: Value, upstream: Gradient, step: ChainStep) -> None:
    """detect_anomaly's observer: stop at the first gradient that is NaN or infinite."""
    for parent, local, contribution, accumulated in step:
        number = value_of(contribution)
        if isinstance(number, float) and not math.isfinite(number):
            raise FloatingPointError(
                f"detect_anomaly: the gradient flowing from {node.op} "
                f"({describe(node._op, node.parents, node.arg)}) into its input "
                f"{fmt(parent.data, typed=True)} is {number} (local derivative "
                f"{fmt(local, typed=True)}, upstream {fmt(upstream, typed=True)})")


def _observers(observe: Observer | None) -> Observer | None:
    """The observer a pass runs with: observe, plus detect_anomaly's check when it is on."""
    if not modes.is_anomaly_enabled():
        return observe
    if observe is None:
        return _check_step

    def both(node: Value, upstream: Gradient, step: ChainStep) -> None:
        _check_step(node, upstream, step)
        observe(node, upstream, step)
    return both


def seed(root: Value, gradient: Number) -> Number:
    """d root/d root as the pass starts it: 1, as a float for a float root (so a float
    graph's gradients are floats even through ops whose derivatives are whole numbers)."""
    if type(gradient) is int and isinstance(root.data, float):
        return float(gradient)
    return gradient


# One backward pass at a time in the whole process: two threads backpropagating into a
# shared leaf (or through one graph) would otherwise interleave `grad = grad + ...` and
# lose contributions. Reentrant, so an observer may start a pass of its own.
passes = threading.RLock()


def backward_pass(root: Value, gradient: Gradient, create_graph: bool = False,
                  observe: Observer | None = None, order: list[Value] | None = None) -> list[Value]:
    """One pass of the chain rule from an interior root, seeded with gradient; returns the
    order it walked. order: root's topological order with every .grad already set to the
    number its sum starts from (grad() passes one); else interior nodes start from 0 (this
    pass's gradient) and leaves from what they hold (they accumulate). Hold `passes`."""
    observe = _observers(observe)
    if observe is None and not create_graph:       # the speed trick above
        zero = float(0)
        if order is None:
            order = _interior_order(root, zero)
        root.grad = gradient
        _chain_rule_fast(order, zero)
        return order
    if order is None:
        order = topological_order(root)
        for node in order:
            if node._op is not None:
                node.grad = 0               # interior nodes: this pass's gradient only
    root.grad = gradient
    chain_rule(order, create_graph, observe)
    return order

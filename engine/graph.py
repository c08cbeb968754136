"""Walking the graph: topological order (iterative, never recursive), the chain rule
(written once, in `chain_rule`), backward() and grad().

    d root / d x  =  sum over children c of x:  d root / d c  *  d c / d x
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, overload

from . import modes
from .ops import value_of
from .text import describe, fmt
from .value import Gradient, Number, Value, expect_value

# One node's step of the chain rule, as observers are told it: for each parent,
# (parent, local derivative, contribution, the parent's gradient so far).
ChainStep = list[tuple[Value, Gradient, Gradient, Gradient]]
Observer = Callable[[Value, Gradient, ChainStep], None]


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
    """d node / d parent for each parent of node, from the derivative table.

    With as_values=True they are Values in the graph (so they can be differentiated)."""
    op, a, b = node._op, node._a, node._b
    if op is None or a is None:         # a leaf (a node with an op always has a)
        return ()
    local = op.local
    if not callable(local):             # constant derivatives: add's (1, 1), neg's (-1,)
        return local
    if as_values:
        return local(node, a, node._arg) if b is None else local(node, a, b)
    if b is None:
        return local(node.data, a.data, node._arg)
    return local(node.data, a.data, b.data)


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


# --- a speed trick: plain backward in one function ----------------------------------------
# backward() and grad() with no observer and no create_graph run this instead of
# topological_order + chain_rule: the same steps in the same order with the same arithmetic
# (tests/test_engine_chain_rule.py checks every .grad against chain_rule's on random
# graphs), faster because the walk leaves out the leaves (they pass nothing on) and zeroes
# each node as it reaches it, and the loop over parents is unrolled. What it buys is
# measured in benchmarks/results.md.
def _fast_backward(root: Value, seed: Gradient, order: list[Value] | None = None) -> None:
    # order: grad() has walked the graph already (it restores every .grad afterwards) and
    # set each .grad to 0; else the walk below finds the interior nodes
    zero = float(0)
    if order is None:
        # topological_order's walk, leaves left out. A node reached is marked by setting
        # its .grad to `zero`, a float made for this pass (no other .grad is this object),
        # so no set of seen nodes is needed; the mark is a true value, 0 until the first
        # gradient arrives and replaces it.
        # (type: ignore: mypy cannot know that a node with an op has its first parent, _a)
        order = []
        path: list[Value] = []
        finish, descend, ascend = order.append, path.append, path.pop
        root.grad = zero
        node: Value | None = root
        while node is not None:
            parent = node._a                            # enter node
            if parent._a is not None and parent.grad is not zero:  # type: ignore[union-attr]
                parent.grad = zero                      # type: ignore[union-attr]
                descend(node)
                node = parent
                continue
            while True:                                 # resume node at its second parent
                parent = node._b
                if parent is not None and parent._a is not None and parent.grad is not zero:
                    parent.grad = zero
                    descend(node)
                    node = parent
                    break                               # ... and enter that parent
                finish(node)
                node = ascend() if path else None
                if node is None:
                    break
    root.grad = seed
    with modes.no_grad():
        for node in reversed(order):
            op = node._op
            if op is None:
                continue                                # a leaf (only in grad()'s order)
            # (type: ignore: as above, a is a Value; and local is a function when not a tuple)
            upstream, a, b = node.grad, node._a, node._b    # (4 names would build a tuple)
            local = op.local
            if type(local) is not tuple:                # a tuple: a constant derivative
                local = (local(node.data, a.data, node._arg)  # type: ignore[operator,union-attr]
                         if b is None
                         else local(node.data, a.data, b.data))  # type: ignore[operator,union-attr]
            # the loop over (a, b), unrolled
            total = a.grad                              # type: ignore[union-attr]
            a.grad = (local[0] * upstream if total is zero  # type: ignore[union-attr, index]
                      else total + local[0] * upstream)     # type: ignore[index]
            if b is not None:
                total = b.grad
                b.grad = local[1] * upstream if total is zero else total + local[1] * upstream


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
    if not modes.anomaly:
        return observe
    if observe is None:
        return _check_step

    def both(node: Value, upstream: Gradient, step: ChainStep) -> None:
        _check_step(node, upstream, step)
        observe(node, upstream, step)
    return both


def _seed(root: Value, gradient: Number) -> Number:
    # d root/d root = 1, as a float for a float root (so a float graph's gradients are
    # floats even through ops whose local derivatives are whole numbers: abs, relu, +)
    if type(gradient) is int and isinstance(root.data, float):
        return float(gradient)
    return gradient


def _as_value(gradient: Gradient) -> Value:
    # with create_graph every gradient is a Value; one that is still a number is constant
    # (x + 2 has d/dx = 1): it becomes a leaf, so it too can be differentiated (to 0). The
    # chain rule itself starts from the number seed, so constants add no nodes to the graph.
    return gradient if isinstance(gradient, Value) else Value(gradient)


def backward(root: Value, gradient: Number = 1, create_graph: bool = False,
             observe: Observer | None = None) -> None:
    """Fill .grad on every node of root's graph with d root/d node: a leaf's .grad
    accumulates (until zeroed, as in PyTorch), an interior node's is this pass's.

    observe: as for chain_rule (backward_steps passes one)."""
    expect_value(root, "backward")
    gradient = _seed(root, gradient)
    if root._op is None:                    # a leaf: d root / d root, nothing to pass on
        root.grad = root.grad + gradient
        if create_graph:
            root.grad = _as_value(root.grad)
        return
    _backward_pass(root, gradient, create_graph, observe)


def _backward_pass(root: Value, seed: Number, create_graph: bool, observe: Observer | None,
                   order: list[Value] | None = None) -> None:
    """One pass from an interior root: chain_rule, or the fast path when nothing watches.
    order: root's topological order with every .grad already 0 (grad() passes one)."""
    observe = _observers(observe)
    if observe is None and not create_graph:
        return _fast_backward(root, seed, order)
    if order is None:
        order = topological_order(root)
        for node in order:
            if node._op is not None:
                node.grad = 0               # interior nodes: this pass's gradient only
    root.grad = seed
    chain_rule(order, create_graph, observe)
    if create_graph:
        for node in order:
            node.grad = _as_value(node.grad)


# what grad() returns: numbers, or Values with create_graph=True; one, or a list for a list
@overload
def grad(output: Value, inputs: Value, create_graph: Literal[False] = False,
         gradient: Number = 1) -> Number: ...
@overload
def grad(output: Value, inputs: Value, create_graph: Literal[True],
         gradient: Number = 1) -> Value: ...
@overload
def grad(output: Value, inputs: Value, create_graph: bool,
         gradient: Number = 1) -> Gradient: ...
@overload
def grad(output: Value, inputs: Iterable[Value], create_graph: Literal[False] = False,
         gradient: Number = 1) -> list[Number]: ...
@overload
def grad(output: Value, inputs: Iterable[Value], create_graph: Literal[True],
         gradient: Number = 1) -> list[Value]: ...
@overload
def grad(output: Value, inputs: Iterable[Value], create_graph: bool,
         gradient: Number = 1) -> list[Gradient]: ...
def grad(output: Value, inputs: Value | Iterable[Value], create_graph: bool = False,
         gradient: Number = 1) -> Gradient | Sequence[Gradient]:
    """The gradients d output / d input, returned as a list; no .grad is changed.

    With create_graph=True they are Values with their own graph (constants and unused
    inputs included), so they can be differentiated again: second, third ... derivatives."""
    expect_value(output, "grad", "the output to differentiate")
    single = isinstance(inputs, Value)
    inputs = [inputs] if isinstance(inputs, Value) else list(inputs)
    for x in inputs:
        expect_value(x, "grad", "an input to differentiate with respect to")
    order = topological_order(output)
    saved = [node.grad for node in order]
    try:
        for node in order:
            node.grad = 0                   # leaves too: this pass's gradient only
        seed = _seed(output, gradient)
        if output._op is None:
            output.grad = seed
        else:
            _backward_pass(output, seed, create_graph, None, order)
        in_graph = set(order)
        result = [x.grad if x in in_graph else type(x.data)(0) for x in inputs]
        if create_graph:
            result = [_as_value(g) for g in result]
    finally:
        for node, g in zip(order, saved):
            node.grad = g
    return result[0] if single else result

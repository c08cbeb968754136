"""Walking the graph: topological order (iterative, never recursive), the chain rule
(written once, in `_chain_rule`), backward() and grad().

    d root / d x  =  sum over children c of x:  d root / d c  *  d c / d x
"""
import math

from . import modes
from .value import Value, describe


def topological_order(root):
    """Every node root depends on, parents before children, root last.

    Deterministic: the order a recursive depth-first walk over `parents` (in order)
    would give, computed with an explicit stack so a graph of any depth works."""
    # `path` is the recursion's call stack: the node being visited descends into its first
    # parent not yet seen; with none left it is finished and the walk returns to the node
    # below it. A leaf parent is finished at once (most nodes have one: a weight, a constant).
    order, seen, path = [], {root}, []
    finish, seen_add, descend, ascend = order.append, seen.add, path.append, path.pop
    node = root
    while True:
        parent = node._a
        if parent is None or parent in seen:
            parent = node._b
            if parent is None or parent in seen:
                finish(node)
                if not path:
                    return order
                node = ascend()
                continue
        seen_add(parent)
        if parent._a is None:
            finish(parent)
        else:
            descend(node)
            node = parent


def on_paths(order, leaf):
    """The nodes of order (a topological order) on some path from leaf: leaf itself and
    every node computed from it, directly or not. Used to show one weight's part of a graph."""
    reached = {leaf}
    for node in order:
        if node._a in reached or node._b in reached:
            reached.add(node)
    return reached


def local_derivatives(node, as_values=False):
    """d node / d parent for each parent of node, from the derivative table.

    With as_values=True they are Values in the graph (so they can be differentiated)."""
    op, a, b = node._op, node._a, node._b
    if op is None:
        return ()
    if as_values:
        return op.local(node, a, node._arg) if b is None else op.local(node, a, b, node._arg)
    if b is None:
        return op.local(node.data, a.data, node._arg)
    return op.local(node.data, a.data, b.data, node._arg)


def _chain_rule(order, create_graph):
    """Push each node's .grad to its parents, children before parents (order reversed).

    The caller sets the root's .grad to the seed and every other node's .grad to where
    accumulation starts."""
    check = modes.anomaly
    # with create_graph the chain rule's own arithmetic is recorded (so the gradients
    # can be differentiated again); without it nothing is
    with (modes.enable_grad() if create_graph else modes.no_grad()):
        for node in reversed(order):
            op = node._op
            if op is None:                  # a leaf: nothing to pass on
                continue
            upstream, a, b = node.grad, node._a, node._b
            # d node / d a (and d node / d b): local_derivatives(node, create_graph), inlined
            if b is None:
                (d_a,) = (local_derivatives(node, True) if create_graph
                          else op.local(node.data, a.data, node._arg))
            else:
                d_a, d_b = (local_derivatives(node, True) if create_graph
                            else op.local(node.data, a.data, b.data, node._arg))
            # parent.grad = _accumulate(parent.grad, d_parent * upstream), for a then b,
            # inlined and unrolled: a loop over zip((a, b), local) and a call per parent
            # took half of the pass's time
            contribution, total = d_a * upstream, a.grad
            if check:
                _check_gradient(contribution, node, a)
            a.grad = contribution if type(total) is int and total == 0 else total + contribution
            if b is not None:
                contribution, total = d_b * upstream, b.grad
                if check:
                    _check_gradient(contribution, node, b)
                b.grad = contribution if type(total) is int and total == 0 else total + contribution


def _accumulate(total, contribution):
    # an untouched gradient is the int 0: replacing it (rather than adding to it) keeps
    # create_graph gradients free of '0 + ...' nodes; for numbers the result is the same
    if type(total) is int and total == 0:
        return contribution
    return total + contribution


def _check_gradient(contribution, node, parent):
    number = getattr(contribution, "data", contribution)
    if isinstance(number, float) and not math.isfinite(number):
        raise FloatingPointError(
            f"detect_anomaly: the gradient flowing from {node.op} "
            f"({describe(node._op, node.parents, node._arg)}) into {parent!r} is {number}")


def _seed(root, gradient):
    # d root/d root = 1, as a float for a float root (so a float graph's gradients are
    # floats even through ops whose local derivatives are whole numbers: abs, relu, +)
    if type(gradient) is int and isinstance(root.data, float):
        return float(gradient)
    return gradient


def backward(root, gradient=1, create_graph=False):
    """Fill .grad on every node of root's graph. Leaves accumulate; interior nodes are reset."""
    order = topological_order(root)
    for node in order:
        if node._op is not None:
            node.grad = 0
    gradient = _seed(root, gradient)
    root.grad = _accumulate(root.grad, gradient) if root._op is None else gradient
    _chain_rule(order, create_graph)


def grad(output, inputs, create_graph=False, gradient=1):
    """The gradients d output / d input, returned as a list; no .grad is changed.

    With create_graph=True they are Values with their own graph, so they can be
    differentiated again (second, third ... derivatives)."""
    single = isinstance(inputs, Value)
    inputs = [inputs] if single else list(inputs)
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs must be Values, got {type(x).__name__}")
    order = topological_order(output)
    saved = [node.grad for node in order]
    try:
        for node in order:
            node.grad = 0
        output.grad = _seed(output, gradient)
        _chain_rule(order, create_graph)
        in_graph = set(order)
        result = [x.grad if x in in_graph else type(x.data)(0) for x in inputs]
    finally:
        for node, g in zip(order, saved):
            node.grad = g
    return result[0] if single else result

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
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node.parents) if p not in seen)
    return order


def local_derivatives(node, as_values=False):
    """d node / d parent for each parent of node, from the derivative table.

    With as_values=True they are Values in the graph (so they can be differentiated)."""
    if node._op is None:
        return ()
    if as_values:
        return node._op.local(node, *node.parents, node._arg)
    return node._op.local(node.data, *[p.data for p in node.parents], node._arg)


def _chain_rule(order, create_graph):
    """Push each node's .grad to its parents, children before parents (order reversed).

    The caller sets the root's .grad to the seed and every other node's .grad to where
    accumulation starts."""
    check = modes.anomaly
    for node in reversed(order):
        if node._op is None:
            continue
        upstream = node.grad
        for parent, local in zip(node.parents, local_derivatives(node, create_graph)):
            contribution = local * upstream
            if check:
                _check_gradient(contribution, node, parent)
            parent.grad = _accumulate(parent.grad, contribution)


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


def backward(root, gradient=1, create_graph=False):
    """Fill .grad on every node of root's graph. Leaves accumulate; interior nodes are reset."""
    order = topological_order(root)
    for node in order:
        if node._op is not None:
            node.grad = 0
    root.grad = _accumulate(root.grad, gradient) if root._op is None else gradient
    with (modes.enable_grad() if create_graph else modes.no_grad()):
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
        output.grad = gradient
        with (modes.enable_grad() if create_graph else modes.no_grad()):
            _chain_rule(order, create_graph)
        in_graph = set(order)
        result = [x.grad if x in in_graph else 0 for x in inputs]
    finally:
        for node, g in zip(order, saved):
            node.grad = g
    return result[0] if single else result

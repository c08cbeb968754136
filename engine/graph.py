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
    # `path` is the recursion's call stack. A node is entered at its first parent (_a) and
    # resumed at its second (_b): the walk descends into a parent not yet seen, and when
    # that parent is finished the node below it on `path` resumes at _b (after a descent
    # into _b, _b is seen by then, so the node is finished). A leaf parent is finished at
    # once: most nodes have one (a weight, a constant). Not re-checking _a on the way back
    # up saved 15% of the walk.
    order, seen, path = [], {root}, []
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


# backward's walk marks each interior node it reaches by setting its .grad to this object
_REACHED = object()


def _reach(root):
    """The interior nodes of root's graph (leaves left out), in topological_order's order,
    each with .grad set to _REACHED: backward's walk.

    The same walk as topological_order, faster for what backward needs: a node's .grad,
    which backward overwrites anyway, marks it as seen instead of a set (a reached node's
    first gradient then replaces the mark: no reset to 0 either), and leaves, which pass
    nothing on, are passed over. Together 15% of backward."""
    order, path = [], []
    finish, descend, ascend = order.append, path.append, path.pop
    reached = root.grad = _REACHED
    node = root
    while True:
        parent = node._a                                # enter node
        if parent is not None and parent._a is not None and parent.grad is not reached:
            parent.grad = reached
            descend(node)
            node = parent
            continue
        while True:                                     # resume node at its second parent
            parent = node._b
            if parent is not None and parent._a is not None and parent.grad is not reached:
                parent.grad = reached
                descend(node)
                node = parent
                break                                   # ... and enter that parent
            finish(node)
            if not path:
                return order
            node = ascend()


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
    if type(op.local) is tuple:         # constant derivatives: add's (1, 1), neg's (-1,)
        return op.local
    if as_values:
        return op.local(node, a, node._arg) if b is None else op.local(node, a, b)
    if b is None:
        return op.local(node.data, a.data, node._arg)
    return op.local(node.data, a.data, b.data)


def _chain_rule(order, create_graph):
    """Push each node's .grad to its parents, children before parents (order reversed).

    The caller sets the root's .grad to the seed and every other node's .grad to where
    accumulation starts: a number, or _REACHED for nothing yet."""
    check, reached = modes.anomaly, _REACHED
    # with create_graph the chain rule's own arithmetic is recorded (so the gradients
    # can be differentiated again); without it nothing is
    with (modes.enable_grad() if create_graph else modes.no_grad()):
        for node in reversed(order):
            op = node._op
            if op is None:                  # a leaf: nothing to pass on
                continue
            upstream, a, b = node.grad, node._a, node._b    # (4 names would build a tuple)
            # d node / d parent, for a (and b): local_derivatives(node, create_graph), inlined
            local = op.local
            if create_graph:
                local = local_derivatives(node, True)
            elif type(local) is not tuple:  # a tuple is a constant derivative: no call
                local = (local(node.data, a.data, node._arg) if b is None
                         else local(node.data, a.data, b.data))
            # parent.grad += d_parent * upstream, for a then b, unrolled: a loop over
            # zip((a, b), local) and a call per parent took half of the pass's time. The
            # first gradient reaching a node marked by backward's walk replaces the mark.
            contribution, total = local[0] * upstream, a.grad
            if check:
                _check_gradient(contribution, node, a)
            a.grad = (contribution if total is reached else
                      _accumulate(total, contribution) if create_graph else total + contribution)
            if b is not None:
                contribution, total = local[1] * upstream, b.grad
                if check:
                    _check_gradient(contribution, node, b)
                b.grad = (contribution if total is reached else
                          _accumulate(total, contribution) if create_graph
                          else total + contribution)


def _accumulate(total, contribution):
    # an untouched gradient is the int 0: replacing it (rather than adding to it) keeps
    # create_graph gradients free of '0 + ...' nodes
    if type(total) is int and total == 0:
        return contribution
    return total + contribution


def _check_gradient(contribution, node, parent):
    number = getattr(contribution, "data", contribution)
    if isinstance(number, float) and not math.isfinite(number):
        raise FloatingPointError(
            f"detect_anomaly: the gradient flowing from {node.op} "
            f"({describe(node._op, node.parents, node.arg)}) into {parent!r} is {number}")


def _seed(root, gradient):
    # d root/d root = 1, as a float for a float root (so a float graph's gradients are
    # floats even through ops whose local derivatives are whole numbers: abs, relu, +)
    if type(gradient) is int and isinstance(root.data, float):
        return float(gradient)
    return gradient


def backward(root, gradient=1, create_graph=False):
    """Fill .grad on every node of root's graph. Leaves accumulate; interior nodes are reset."""
    gradient = _seed(root, gradient)
    if root._op is None:                    # a leaf: d root / d root, nothing to pass on
        root.grad = _accumulate(root.grad, gradient)
        return
    try:
        order = _reach(root)
        root.grad = gradient
        _chain_rule(order, create_graph)
    except BaseException:                   # Ctrl-C, detect_anomaly: leave no mark behind
        for node in topological_order(root):
            if node.grad is _REACHED:
                node.grad = 0
        raise


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

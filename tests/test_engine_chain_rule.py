"""The chain rule is written once (graph.chain_rule) and reports each step to an observer;
plain backward's labelled fast path must give the same gradients; no internal marker ever
reaches a user; backward_steps is the chain rule's own record of one fresh pass."""
import math
import random
from fractions import Fraction

import pytest

from tracegrad.engine import (Value, backward, backward_steps, detect_anomaly, grad,
                              topological_order)
from tracegrad.engine.graph import chain_rule


def random_graph(seed, exact=False):
    """A random graph over a few leaves: shared nodes, x*x, constants, every kind of op."""
    rng = random.Random(seed)
    number = (lambda: Fraction(rng.randint(-9, 9), rng.randint(1, 5))) if exact else \
        (lambda: rng.uniform(-2, 2))
    leaves = [Value(number()) for _ in range(rng.randint(1, 4))]
    pool = list(leaves)
    for _ in range(rng.randint(1, 40)):
        a, b = rng.choice(pool), rng.choice(pool)
        ops = [lambda: a + b, lambda: a * b, lambda: a - b, lambda: -a, lambda: a * 3,
               lambda: 2 - b, lambda: a ** 2, lambda: abs(a), lambda: a.relu(),
               lambda: a / b if b.data != 0 else a / 7]
        if not exact:
            ops += [lambda: a.tanh(), lambda: a.sigmoid(), lambda: a.leaky_relu(0.1),
                    lambda: a.sin(), lambda: (a * a + 1).sqrt()]
        pool.append(rng.choice(ops)())
    return pool[-1], leaves


def grads(root):
    return [(type(n.grad), n.grad) for n in topological_order(root)]


@pytest.mark.parametrize("exact", [False, True])
def test_the_fast_path_gives_what_the_readable_chain_rule_gives(exact):
    # same seed, twin graphs: one backward() on the fast path, one through chain_rule (an
    # observer sends backward there); every node's .grad must be equal and of one type
    for seed in range(300):
        fast, leaves = random_graph(seed, exact)
        readable, readable_leaves = random_graph(seed, exact)
        by_grad = grad(fast, leaves)         # grad() takes the fast path too (and restores)
        fast.backward()
        backward(readable, observe=lambda *step: None)
        assert grads(fast) == grads(readable), seed
        assert by_grad == [x.grad for x in readable_leaves], seed
        fast.backward()                      # twice: leaves accumulate, interior nodes reset
        backward(readable, observe=lambda *step: None)
        assert grads(fast) == grads(readable), seed


def test_the_observer_sees_each_step_as_it_happens():
    x, y = Value(3.0, label="x"), Value(-2.0, label="y")
    z = x * y
    f = z + x                                # df/dx = y + 1 = -1, df/dy = x = 3
    seen = []
    backward(f, observe=lambda node, upstream, step: seen.append((node, upstream, step)))
    assert seen == [(f, 1.0, [(z, 1, 1.0, 1.0), (x, 1, 1.0, 1.0)]),
                    (z, 1.0, [(x, -2.0, -2.0, -1.0), (y, 3.0, 3.0, 3.0)])]
    assert (x.grad, y.grad) == (-1.0, 3.0)


def test_chain_rule_sums_over_children_in_topological_order():
    x = Value(2.0)
    h = x * x
    order = topological_order(h * h)         # d(x^4)/dx = 4 x^3 = 32
    for node in order:
        node.grad = 0
    order[-1].grad = 1.0
    chain_rule(order)
    assert x.grad == 32.0 and h.grad == 8.0  # d(h^2)/dh = 2h = 8


def test_no_marker_reaches_the_user():
    # the example: sqrt's slope at 0 is infinite, so detect_anomaly stops backward
    w = Value(-1.0)
    with detect_anomaly(), pytest.raises(FloatingPointError) as error:
        (w * w - 1).sqrt().backward()
    message = str(error.value)
    assert "object at" not in message and "sqrt" in message and "inf" in message
    for node in topological_order((w * w - 1).sqrt()):
        assert isinstance(node.grad, (int, float)), repr(node)


def test_an_interrupted_fast_pass_leaves_true_gradients():
    # Ctrl-C in the middle of the fast path: a node reached but not yet given its gradient
    # holds a zero (its value before any contribution arrives), never a marker object
    x = Value(1.0)
    y = x
    for _ in range(50):
        y = y * 1.5

    class Interrupt(BaseException):
        pass

    class Slow(float):                       # a seed that interrupts when multiplied
        def __rmul__(self, other):
            raise Interrupt
    with pytest.raises(Interrupt):
        y.backward(gradient=Slow(1.0))
    assert all(type(n.grad) in (int, float) and n.grad == 0 for n in topological_order(y)
               if n is not y and not n.is_leaf)


def test_backward_steps_twice_shows_one_fresh_pass_each_time():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    f = (x * w).tanh()
    f.label = "f"
    x.grad = 10.0                            # left over from something else
    first = backward_steps(f)
    second = backward_steps(f)
    t = math.tanh(-6.0)
    assert str(first) == str(second)
    assert x.grad == pytest.approx((1 - t * t) * -3.0)       # one pass, from zero
    assert second[-1].contributions[0].accumulated == x.grad
    f.backward()                             # backward itself still accumulates leaves
    assert x.grad == pytest.approx(2 * (1 - t * t) * -3.0)


def test_backward_steps_are_the_pass_itself():
    root, leaves = random_graph(11)
    steps = backward_steps(root)
    last = {}
    for step in steps:
        assert step.upstream == step.node.grad
        for c in step.contributions:
            assert c.contribution == c.local * step.upstream
            last[c.parent] = c.accumulated
    assert all(node.grad == total for node, total in last.items())


def test_add_and_mul_make_the_node_that_node_would():
    # __add__ and __mul__ write their node inline (a speed trick); under detect_anomaly they
    # go through value._node: both ways give the same node
    def slots(node):
        return (node.data, node.grad, [p.data for p in node.parents], node.op, node.arg,
                node.label, hasattr(node, "_arg"))
    x, y = Value(2.0), Value(3.0)
    plain = [x + y, x * y, x + 1, 2 * y]
    with detect_anomaly():
        checked = [x + y, x * y, x + 1, 2 * y]
    for a, b in zip(plain, checked):
        assert slots(a) == slots(b)
    assert plain[0].parents == (x, y) and plain[1].parents == (x, y)


def test_the_readable_chain_rule_on_a_deep_chain():
    # no recursion anywhere: 100,000 steps reported one by one
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    count = 0

    def count_steps(node, upstream, step):
        nonlocal count
        count += 1
    backward(y, observe=count_steps)
    assert count == 200_000 and x.grad == 1.0


def test_the_fast_walk_is_topological_order_without_the_leaves():
    # the speed trick's walk marks nodes through .grad instead of a set of seen nodes: the
    # same nodes in the same order as topological_order, leaves left out
    from tracegrad.engine.graph import _interior_order
    for seed in range(300):
        root, _ = random_graph(seed)
        expected = [n for n in topological_order(root) if not n.is_leaf]
        zero = float(0)
        assert _interior_order(root, zero) == expected, seed
        assert all(n.grad is zero for n in expected)


def test_the_table_is_called_one_way_by_every_path():
    # every row's local derivatives are local(out, a, b, arg) -> a tuple, one per input
    from tracegrad.engine import OPS
    for name, op in OPS.items():
        x, y = Value(1.4 if name == "acosh" else 0.4), Value(1.3)
        two = len(op.rules) == 2
        arg = 0.5 if op.arg else None
        out = op.forward(*([x.data, y.data] if two else [x.data] + ([arg] if op.arg else [])))
        local = op.local(out, x.data, y.data if two else None, arg)
        assert type(local) is tuple and len(local) == len(op.rules), name

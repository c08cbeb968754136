"""The classic autograd traps, each worked out by hand: a+a, x*x, the diamond,
backward twice, accumulation rules, a deep chain, repr and labels."""
import math
import random

import pytest

from tracegrad.engine import Value, detect_anomaly, grad, local_derivatives, topological_order


def test_a_plus_a_counts_both_edges():
    a = Value(3.0)
    b = a + a                   # db/da = 1 + 1
    b.backward()
    assert b.parents == (a, a)
    assert a.grad == 2.0


def test_x_times_x():
    x = Value(3.0)
    y = x * x                   # dy/dx = x + x = 6
    y.backward()
    assert y.parents == (x, x)
    assert x.grad == 6.0


def test_diamond():
    a, b = Value(2.0), Value(-3.0)
    f = (a * b) * (a + b)       # f = a^2 b + a b^2
    f.backward()
    assert f.data == 6.0        # (-6) * (-1)
    assert a.grad == 2 * 2 * -3 + 9     # 2ab + b^2 = -12 + 9 = -3
    assert b.grad == 4 + 2 * 2 * -3     # a^2 + 2ab = 4 - 12 = -8


def test_backward_twice_accumulates_leaves_but_not_interior_nodes():
    x = Value(2.0)
    h = x * x
    y = h * 3                   # dy/dh = 3, dy/dx = 6x = 12
    y.backward()
    y.backward()
    assert x.grad == 24.0       # leaves accumulate, as in PyTorch
    assert h.grad == 3.0        # interior: this pass's gradient, never 6
    assert y.grad == 1


def test_zeroing_a_leaf_restarts_accumulation():
    x = Value(2.0)
    (x * 5).backward()
    x.grad = 0
    (x * 7).backward()
    assert x.grad == 7.0


def test_backward_from_a_leaf_and_custom_seed():
    x = Value(2.0)
    x.backward()
    assert x.grad == 1
    y = Value(4.0)
    (y * y).backward(gradient=0.5)
    assert y.grad == 4.0


def test_unreached_leaf_keeps_its_gradient():
    x, z = Value(1.0), Value(5.0)
    (x * 2).backward()
    assert z.grad == 0


@pytest.mark.slow
def test_million_node_chain_backpropagates_without_recursion():
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0000001 + 0.0
    y.backward()                # recursion would fail at about 1,000 nodes
    assert x.grad == pytest.approx(1.0000001 ** 1_000_000, rel=1e-9)


def test_hundred_thousand_node_chain():
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = y + 1e-6
    order = topological_order(y)
    assert order[0] is x and order[-1] is y
    y.backward()
    assert x.grad == 1.0


def test_topological_order_is_the_recursive_depth_first_order():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    names = [n.label for n in topological_order(d)]
    assert names == ["a", "b", "c", "d"]
    assert topological_order(d) == topological_order(d)


def test_parents_are_an_ordered_tuple():
    x, y = Value(1.0), Value(2.0)
    z = y * x
    assert z.parents == (y, x)
    assert isinstance(z.parents, tuple)


def test_values_are_hashable_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert a != b and len({a, b}) == 2


def test_repr_teaches():
    x = Value(0.5, label="x")
    o = x.tanh()
    o.backward()
    assert repr(x) == "Value(data=0.5, grad=0.7864, label='x')"
    assert repr(o) == "Value(data=0.4621, grad=1.0, op='tanh')"
    assert x.op == "" and x.is_leaf and not o.is_leaf
    assert repr(Value(1.0)) == "Value(data=1.0, grad=0)"


def test_typo_raises():
    x = Value(1.0)
    with pytest.raises(AttributeError):
        x.gard = 1.0


def _recursive_order(root):
    """The reference: the textbook recursive depth-first walk (fine for small graphs)."""
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for parent in node.parents:
                visit(parent)
            order.append(node)
    visit(root)
    return order


def test_topological_order_matches_recursion_on_random_graphs():
    # shared subexpressions, x*x, leaves reused as first or second parent, unary ops
    rng = random.Random(7)
    for _ in range(200):
        pool = [Value(rng.uniform(-1, 1)) for _ in range(rng.randint(1, 4))]
        for _ in range(rng.randint(1, 30)):
            a, b = rng.choice(pool), rng.choice(pool)
            pool.append(rng.choice([a + b, a * b, -a, a.tanh(), a * 2.0, 3.0 + b]))
        root = pool[-1]
        assert [id(n) for n in topological_order(root)] == [id(n) for n in _recursive_order(root)]


def test_backward_resets_an_interior_node_shared_with_another_graph():
    x = Value(3.0)
    h = x * x                   # dh/dx = 6
    first, second = h * 2, 5 * h
    first.backward()
    assert h.grad == 2.0
    second.backward()           # h is reached as second's second parent
    assert h.grad == 5.0        # this pass only, never 2 + 5
    assert x.grad == 2 * 6 + 5 * 6


def test_add_and_neg_have_constant_derivatives_in_the_table():
    x, y = Value(2.0), Value(5.0)
    assert local_derivatives(x + y) == (1, 1)
    assert local_derivatives(-x) == (-1,)
    assert local_derivatives(x * y) == (5.0, 2.0)
    (dx,) = grad(x * x + (-x), [x], create_graph=True)      # d/dx = 2x - 1 = 3
    assert dx.data == 3.0
    assert grad(dx, x) == 2.0


def test_arg_and_label_default_to_none():
    x, y = Value(2.0), Value(5.0, label="y")
    assert x.label is None and y.label == "y"
    assert (x * y).arg is None and (x * y).label is None and (-x).arg is None
    assert (x ** 3).arg == 3 and x.leaky_relu(0.2).arg == 0.2
    z = x + y
    z.label = "z"
    assert z.label == "z" and repr(z) == "Value(data=7.0, grad=0, op='add', label='z')"


def test_an_interrupted_backward_leaves_the_graph_as_good_as_new():
    # backward's walk marks the nodes it reaches; an error half way (here detect_anomaly at
    # sqrt's infinite slope at 0, before b1 and b2 got their gradients) must not leave any
    # mark behind, so the next backward is right
    x, z = Value(0.0), Value(1.0)
    b1 = z * 2.0
    b2 = b1 * 2.0
    b3 = b2 * 2.0
    y = b3 + x.sqrt()
    with detect_anomaly(), pytest.raises(FloatingPointError, match="sqrt"):
        y.backward()
    assert b1.grad == 0 and b2.grad == 0
    y.backward()
    assert (b3.grad, b2.grad, b1.grad, z.grad) == (1.0, 2.0, 4.0, 8.0)
    assert x.grad == math.inf

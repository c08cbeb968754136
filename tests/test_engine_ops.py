"""Table-driven tests over every primitive op in engine.OPS: forward values against
`math`, gradients against central differences at fixed points and at hypothesis floats."""
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracegrad.engine import OPS, Value


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# op name -> (build from Values, the same function on floats, input points, domain of each input)
CASES = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, [(1.5, -2.0)], [(-5, 5), (-5, 5)]),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, [(1.5, -2.0)], [(-5, 5), (-5, 5)]),
    "neg": (lambda a: -a, lambda a: -a, [(0.7,)], [(-5, 5)]),
    "pow": (lambda a: a ** 3, lambda a: a ** 3, [(1.3,), (-0.8,)], [(-3, 3)]),
    "powv": (lambda a, b: a ** b, lambda a, b: a ** b, [(1.7, 2.3), (0.4, -1.5)], [(0.1, 4), (-3, 3)]),
    "exp": (lambda a: a.exp(), math.exp, [(0.5,), (-2.0,)], [(-10, 10)]),
    "log": (lambda a: a.log(), math.log, [(0.5,), (3.0,)], [(0.05, 50)]),
    "sqrt": (lambda a: a.sqrt(), math.sqrt, [(0.5,), (9.0,)], [(0.05, 50)]),
    "tanh": (lambda a: a.tanh(), math.tanh, [(0.3,), (-1.2,)], [(-5, 5)]),
    "sigmoid": (lambda a: a.sigmoid(), sigmoid, [(0.3,), (-1.2,)], [(-10, 10)]),
    "relu": (lambda a: a.relu(), lambda a: max(a, 0.0), [(0.3,), (-1.2,)], [(-5, 5)]),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), lambda a: a if a > 0 else 0.1 * a,
                   [(0.3,), (-1.2,)], [(-5, 5)]),
    "softplus": (lambda a: a.softplus(), lambda a: math.log1p(math.exp(a)), [(0.3,), (-1.2,)], [(-10, 10)]),
    "sin": (lambda a: a.sin(), math.sin, [(0.3,), (2.0,)], [(-6, 6)]),
    "cos": (lambda a: a.cos(), math.cos, [(0.3,), (2.0,)], [(-6, 6)]),
    "abs": (lambda a: abs(a), abs, [(0.3,), (-1.2,)], [(-5, 5)]),
}

KINKS = {"relu", "leaky_relu", "abs"}   # not differentiable at 0: keep central differences away


def test_every_op_in_the_table_is_tested():
    assert set(CASES) == set(OPS)


def test_each_case_builds_the_op_it_names():
    for name, (build, _, points, _) in CASES.items():
        assert build(*[Value(x) for x in points[0]]).op == name


def central_difference(f, xs, i, eps=1e-6):
    up, down = list(xs), list(xs)
    up[i] += eps
    down[i] -= eps
    return (f(*up) - f(*down)) / (2 * eps)


def check_op(name, xs):
    build, reference, _, _ = CASES[name]
    inputs = [Value(x) for x in xs]
    out = build(*inputs)
    assert out.data == pytest.approx(reference(*xs), rel=1e-12, abs=1e-12)
    out.backward()
    for i, x in enumerate(inputs):
        expected = central_difference(reference, xs, i)
        assert x.grad == pytest.approx(expected, rel=1e-5, abs=1e-6), (name, xs, i)


@pytest.mark.parametrize("name,xs", [(n, p) for n, case in CASES.items() for p in case[2]])
def test_value_and_gradient_at_fixed_points(name, xs):
    check_op(name, xs)


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_value_and_gradient_at_random_points(name, data):
    xs = []
    for lo, hi in CASES[name][3]:
        x = data.draw(st.floats(lo, hi, allow_nan=False))
        if name in KINKS and abs(x) < 1e-3:
            x = 0.5
        xs.append(x)
    check_op(name, tuple(xs))


@pytest.mark.parametrize("name", sorted(CASES))
def test_local_derivatives_as_values_agree_with_numbers(name):
    # the same table row serves plain backward and create_graph backward
    from tracegrad.engine import local_derivatives
    build, _, points, _ = CASES[name]
    out = build(*[Value(x) for x in points[0]])
    as_numbers = local_derivatives(out)
    as_values = local_derivatives(out, as_values=True)
    assert [getattr(v, "data", v) for v in as_values] == pytest.approx(list(as_numbers))


def test_derived_operations_compose_primitives():
    a, b = Value(6.0), Value(4.0)
    assert (a - b).op == "add" and (a - b).parents[1].op == "neg"      # a - b = a + (-b)
    assert (a / b).op == "mul" and (a / b).parents[1].op == "pow"      # a / b = a * b**-1
    assert (a / b).data == 1.5 and (a - b).data == 2.0
    assert (10 - a).data == 4.0 and (3 / b).data == 0.75 and (2 ** b).data == 16.0


def test_reflected_operators_and_sum():
    x = Value(3.0)
    assert (2 + x).data == 5.0 and (2 * x).data == 6.0 and (2 - x).data == -1.0
    values = [Value(float(i)) for i in range(5)]
    total = sum(values)
    assert total.data == 10.0
    total.backward()
    assert [v.grad for v in values] == [1.0] * 5


def test_rpow_and_value_exponent_gradients():
    x, y = Value(3.0), Value(2.0)
    f = 2 ** x                 # d/dx 2**x = 2**x ln 2
    f.backward()
    assert x.grad == pytest.approx(8 * math.log(2))
    g = x ** y                 # d/dx = y x**(y-1) = 6; d/dy = x**y ln x = 9 ln 3
    x.grad = 0
    g.backward()
    assert x.grad == pytest.approx(6.0) and y.grad == pytest.approx(9 * math.log(3))


def test_kinks_follow_pytorch_conventions():
    for build in (lambda v: v.relu(), lambda v: abs(v)):
        x = Value(0.0)
        build(x).backward()
        assert x.grad == 0
    x = Value(0.0)
    x.leaky_relu(0.2).backward()
    assert x.grad == 0.2
    x = Value(0.0)
    x.sqrt().backward()
    assert x.grad == math.inf

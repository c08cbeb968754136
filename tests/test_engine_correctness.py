"""Corner cases worked out by hand (issue 11): create_graph gradients are always Values,
division is correctly rounded and does not overflow, NaN and infinity go through every op,
op parameters and graphs are checked, and numpy's numbers are numbers."""
import math
import random
from fractions import Fraction

import pytest

from tracegrad.engine import (OPS, Value, backward_steps, check_grad, detect_anomaly, draw,
                              explain, grad)
from tracegrad.engine.text import fmt

NAN, INF = math.nan, math.inf


# --- create_graph: always Values -------------------------------------------------------------
@pytest.mark.parametrize("f,slope", [
    (lambda x: x + x, 2.0), (lambda x: -x, -1.0), (lambda x: x + 2.0, 1.0),
    (lambda x: x.relu(), 1.0), (lambda x: abs(x), 1.0), (lambda x: x.leaky_relu(0.1), 1.0),
    (lambda x: (-x).leaky_relu(0.1), -0.1), (lambda x: x - 3, 1.0), (lambda x: 1 / x, -1 / 9)])
def test_create_graph_gives_values_even_for_constant_derivatives(f, slope):
    x = Value(3.0)
    (d,) = grad(f(x), [x], create_graph=True)
    assert isinstance(d, Value) and d.data == pytest.approx(slope)
    (d2,) = grad(d, [x], create_graph=True)  # a constant slope: the second derivative is 0
    assert isinstance(d2, Value)
    assert d2.data == (pytest.approx(2 / 27) if slope == -1 / 9 else 0)


def test_an_unused_input_has_a_zero_value_gradient():
    x, y = Value(3.0), Value(5.0)
    dx, dy = grad(y * 2, [x, y], create_graph=True)
    assert isinstance(dx, Value) and dx.data == 0.0 and dy.data == 2.0


def test_relu_second_derivative_is_zero():
    x = Value(1.5)
    (d,) = grad(x.relu(), [x], create_graph=True)
    (d2,) = grad(d, [x], create_graph=True)
    assert (d.data, d2.data) == (1.0, 0.0)


def test_nth_derivatives_of_x_squared():
    x = Value(3.0)
    y, found = x * x, []
    for _ in range(4):                      # 2x = 6, 2, 0, 0
        (y,) = grad(y, [x], create_graph=True)
        assert isinstance(y, Value)
        found.append(y.data)
    assert found == [6.0, 2.0, 0.0, 0.0]


def test_backward_with_create_graph_fills_values():
    x = Value(2.0)
    (x + 1.0).backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == 1.0


# --- division --------------------------------------------------------------------------------
def test_division_is_correctly_rounded():
    assert (Value(49.0) / Value(49.0)).data == 1.0
    assert (Value(1e-310) / Value(1e-310)).data == 1.0       # no pow(1e-310, -1) overflow
    rng = random.Random(3)
    for _ in range(2000):
        a, b = rng.uniform(-100, 100), rng.uniform(0.01, 100)
        assert (Value(a) / Value(b)).data == a / b
        assert (a / Value(b)).data == a / b and (Value(a) / b).data == a / b


def test_exact_division_stays_exact():
    assert (Value(1) / 3).data == Fraction(1, 3) and (2 / Value(Fraction(4, 5))).data == Fraction(5, 2)
    a, b = Value(3), Value(4)
    (a / b).backward()
    assert (a.grad, b.grad) == (Fraction(1, 4), Fraction(-3, 16))   # 1/b, -a/b^2


def test_division_gradients_of_tiny_numbers_do_not_overflow():
    a, b = Value(1e-300), Value(1e-300)
    (a / b).backward()                       # 1/b = 1e300, -a/b^2 = -1e300: finite
    assert a.grad == 1 / 1e-300 and b.grad == -(1 / 1e-300)


def test_division_by_zero_names_the_op():
    with pytest.raises(ZeroDivisionError, match=r"div: 1.0 / 0.0 failed: division by zero"):
        Value(1.0) / 0


# --- overflow in backward: inf, as in PyTorch --------------------------------------------------
@pytest.mark.parametrize("x0,n,expected", [(1e-200, -1, -INF), (-1e-200, -1, -INF),
                                           (1e-100, -3, -INF), (-1e-120, -2, INF)])
def test_a_gradient_too_large_for_a_float_is_infinite(x0, n, expected):
    x = Value(x0)
    y = x ** n                               # finite
    y.backward()                             # n x^(n-1) does not fit a float
    assert x.grad == expected
    x.grad = 0
    with detect_anomaly(), pytest.raises(FloatingPointError, match="pow"):
        (x ** n).backward()


def test_forward_overflow_is_named():
    with pytest.raises(OverflowError, match=r"pow: 1e\+200\*\*2 failed"):
        Value(1e200) ** 2


# --- NaN and infinity through every op ---------------------------------------------------------
def build(name, x, other=1.5):
    """name's op with x as its first input (and other as the second, or the parameter)."""
    op = OPS[name]
    if name == "pow":
        return x ** 3
    if name == "leaky_relu":
        return x.leaky_relu(0.1)
    if len(op.rules) == 2:
        return {"add": x + other, "sub": x - other, "mul": x * other, "div": x / other,
                "powv": x ** other, "maximum": x.maximum(other), "xlogy": x.xlogy(other)}[name]
    return {"neg": -x, "abs": abs(x)}.get(name) or getattr(x, name)()


@pytest.mark.parametrize("name", sorted(OPS))
def test_nan_goes_through_every_op(name):
    x = Value(NAN)
    out = build(name, x, Value(1.5))
    assert math.isnan(out.data)             # relu(nan) too: NaN never looks like a number
    out.backward()                          # backward runs; a derivative that depends on
    rule = OPS[name].rules[0]               # the NaN (or on out) is NaN too
    assert math.isnan(x.grad) == ("{a}" in rule or "{out}" in rule), (name, x.grad)
    if len(out.parents) == 2:               # d/db of add is 1, of mul a = NaN ...
        rule = OPS[name].rules[1]
        assert math.isnan(out.parents[1].grad) == ("{a}" in rule or "{out}" in rule), name


# what each one-input op gives at +inf and -inf; ValueError where it has no limit (sin)
AT_INFINITY = {"neg": (-INF, INF), "pow": (INF, -INF), "exp": (INF, 0.0), "log": (INF, ValueError),
               "sqrt": (INF, ValueError), "tanh": (1.0, -1.0), "sigmoid": (1.0, 0.0),
               "relu": (INF, 0.0), "leaky_relu": (INF, -INF), "softplus": (INF, 0.0),
               "sin": (ValueError, ValueError), "cos": (ValueError, ValueError),
               "tan": (ValueError, ValueError), "abs": (INF, INF),
               "add": (INF, -INF), "sub": (INF, -INF), "mul": (INF, -INF), "div": (INF, -INF), "powv": (INF, INF),
               "asin": (ValueError, ValueError), "acos": (ValueError, ValueError),
               "atan": (math.pi / 2, -math.pi / 2), "sinh": (INF, -INF), "cosh": (INF, INF),
               "asinh": (INF, -INF), "acosh": (INF, ValueError), "atanh": (ValueError, ValueError),
               "maximum": (INF, 1.5), "step": (1.0, 0.0), "xlogy": (INF, -INF)}


@pytest.mark.parametrize("name", sorted(OPS))
def test_infinity_through_every_op(name):
    assert set(AT_INFINITY) == set(OPS)
    for x0, expected in zip((INF, -INF), AT_INFINITY[name]):
        x = Value(x0)
        if expected is ValueError:
            with pytest.raises(ValueError, match=f"^{name}: "):
                build(name, x)
            continue
        out = build(name, x)
        assert out.data == expected, (name, x0)
        out.backward()                      # no exception; inf or 0 or nan as IEEE says
        assert isinstance(x.grad, (int, float))


# --- parameters and graphs are checked ---------------------------------------------------------
@pytest.mark.parametrize("slope", ["ab", None, Value(0.1), 0.1j, [0.1]])
def test_leaky_relu_slope_must_be_a_number(slope):
    with pytest.raises(TypeError, match=r"^leaky_relu: the slope must be a real number"):
        Value(1.0).leaky_relu(slope)


def test_leaky_relu_accepts_any_real_slope():
    assert Value(-2.0).leaky_relu(Fraction(1, 4)).data == -0.5
    assert Value(-2).leaky_relu(Fraction(1, 4)).data == Fraction(-1, 2)


@pytest.mark.parametrize("call,function", [
    (lambda x: grad(3.0, [x]), "grad"), (lambda x: backward_steps(3.0), "backward_steps"),
    (lambda x: draw(3.0), "draw"), (lambda x: explain(x * 2, 3.0), "explain"),
    (lambda x: explain(3.0, x), "explain"), (lambda x: check_grad(lambda v: 3.0, [1.0]), "check_grad"),
    (lambda x: grad(x * 2, [x, 2.0]), "grad")])
def test_a_number_where_a_graph_is_expected_names_the_function(call, function):
    with pytest.raises(TypeError, match=rf"^{function}: expected a Value .*got float"):
        call(Value(1.0))


def test_explain_a_value_by_itself():
    x = Value(2.0, label="x")
    e = explain(x, x)
    assert e.value == 1.0 and e.paths == 1 and str(e).startswith("dx/dx = 1")


@pytest.mark.parametrize("expr,symbol", [(lambda v: v - "a", "-"), (lambda v: "a" - v, "-"),
                                         (lambda v: v + "a", r"\+"), (lambda v: v * None, r"\*"),
                                         (lambda v: v / "a", "/"), (lambda v: "a" ** v, r"\*\*")])
def test_a_non_number_operand_names_the_operator(expr, symbol):
    with pytest.raises(TypeError, match=rf"unsupported operand type\(s\) for {symbol}"):
        expr(Value(1.0))


# --- numpy's numbers are numbers -------------------------------------------------------------
def test_numpy_scalars_are_numbers_not_values():
    np = pytest.importorskip("numpy")
    half = np.float64(0.5)
    assert type(Value(half).data) is float and Value(half).data == 0.5
    assert type(Value(np.int64(3)).data) is int and type(Value(np.float32(0.5)).data) is float
    assert fmt(half) == "0.5" and fmt(half, typed=True) == "0.5"     # not its .data buffer
    x = Value(2.0)
    y = x * np.float64(3.0)
    assert y.data == 6.0 and type(y.parents[1].data) is float
    assert x.leaky_relu(np.float64(0.2)).arg == 0.2 and type(x.leaky_relu(np.float64(0.2)).arg) is float
    assert (x ** np.int64(2)).data == 4.0
    check = check_grad(lambda v: v * v, [np.float64(1.5)], [3.0])
    assert check.passed and check.autograd == [3.0]


def test_one_over_x_and_a_sum_read_as_their_own_steps():
    x = Value(4.0, label="x")
    f = 1 / x
    f.label = "f"
    steps = backward_steps(f)                # one division step, not x**-1 and then 1 * v
    assert len(steps) == 1 and "f = 1 / x" in str(steps) and x.grad == -1 / 16
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    total = sum([a, b, c])
    text = str(backward_steps(total))
    assert len(backward_steps(total)) == 2 and "0 +" not in text and "= a + b" in text

"""Table-driven tests over every primitive op in engine.OPS: forward values against
`math`, gradients against central differences at fixed points and at hypothesis floats,
the written rules against the computed local derivatives, and the table as the one source."""
import contextlib
import io
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracegrad.engine import OPS, Value


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# op name -> (build from Values, the same function on floats, input points, domain of each input)
CASES = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, [(1.5, -2.0)], [(-5, 5), (-5, 5)]),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, [(1.5, -2.0)], [(-5, 5), (-5, 5)]),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, [(1.5, -2.0)], [(-5, 5), (-5, 5)]),
    "div": (lambda a, b: a / b, lambda a, b: a / b, [(1.5, -2.0), (-3.0, 0.7)], [(-5, 5), (0.5, 5)]),
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
    "tan": (lambda a: a.tan(), math.tan, [(0.3,), (-1.2,)], [(-1.4, 1.4)]),
    "abs": (lambda a: abs(a), abs, [(0.3,), (-1.2,)], [(-5, 5)]),
    "asin": (lambda a: a.asin(), math.asin, [(0.3,), (-0.9,)], [(-0.95, 0.95)]),
    "acos": (lambda a: a.acos(), math.acos, [(0.3,), (-0.9,)], [(-0.95, 0.95)]),
    "atan": (lambda a: a.atan(), math.atan, [(0.3,), (-4.0,)], [(-10, 10)]),
    "sinh": (lambda a: a.sinh(), math.sinh, [(0.3,), (-2.0,)], [(-5, 5)]),
    "cosh": (lambda a: a.cosh(), math.cosh, [(0.3,), (-2.0,)], [(-5, 5)]),
    "asinh": (lambda a: a.asinh(), math.asinh, [(0.3,), (-4.0,)], [(-10, 10)]),
    "acosh": (lambda a: a.acosh(), math.acosh, [(1.5,), (4.0,)], [(1.05, 10)]),
    "atanh": (lambda a: a.atanh(), math.atanh, [(0.3,), (-0.9,)], [(-0.95, 0.95)]),
    "maximum": (lambda a, b: a.maximum(b), max, [(1.5, -2.0), (-3.0, 0.7)], [(-5, 5), (-5, 5)]),
    "step": (lambda a: a.step(), lambda a: 1.0 if a > 0 else 0.0, [(0.5,), (-2.0,)], [(-5, 5)]),
    "xlogy": (lambda a, b: a.xlogy(b), lambda a, b: a * math.log(b), [(0.5, 0.3), (-2.0, 4.0)],
              [(-5, 5), (0.05, 50)]),
}

KINKS = {name for name, op in OPS.items() if op.kinks}   # corners at 0: keep central differences away


def test_kinks_are_the_ops_with_a_corner():
    assert KINKS == {"relu", "leaky_relu", "abs", "step"}


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
    if name == "maximum" and abs(xs[0] - xs[1]) < 1e-3:     # its corner is a == b
        xs[1] = xs[0] - 0.5
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
    assert (a - b).op == "sub" and (a - b).parents == (a, b)           # one step, not a + (-b)
    assert (a / b).op == "div" and (a / b).parents == (a, b)           # not a * b**-1
    assert (a / b).data == 1.5 and (a - b).data == 2.0
    assert (10 - a).data == 4.0 and (3 / b).data == 0.75 and (2 ** b).data == 16.0


def test_a_constant_divisor_or_subtrahend_is_one_node():
    x = Value(6.0)
    for y, op, constant in [(x - 3, "sub", 3.0), (x / 4, "div", 4.0), (1 / x, "div", 1.0),
                            (10 - x, "sub", 10.0)]:
        assert y.op == op and [p for p in y.parents if p.is_leaf and p is not x][0].data == constant
        assert all(p.is_leaf for p in y.parents)         # no neg or pow node in between
    assert (x - 3).data == 3.0 and (x / 4).data == 1.5 and (1 / x).data == 1 / 6
    assert (10 - x).data == 4.0 and (10 - x).parents[1] is x


def test_sum_adds_no_zero_node():
    values = [Value(float(i)) for i in range(1, 4)]
    total = sum(values)                # 0 + v1 + v2 + v3: the int 0 start adds nothing
    assert total.data == 6.0 and total.parents[1] is values[2]
    assert total.parents[0].parents == (values[0], values[1])
    assert sum([values[0]]) is values[0] and 0 + values[1] is values[1]
    assert (0.0 + values[0]).op == "add"             # only sum()'s int 0 is left out


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


def python_rule(rule, names):
    """A rule of the table as Python: ^ is **, each name a parenthesised number."""
    return rule.replace("^", "**").format(**{k: f"({v!r})" for k, v in names.items()})


RULE_FUNCTIONS = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "cos": math.cos,
                  "sin": math.sin, "cosh": math.cosh, "sinh": math.sinh, "sigmoid": sigmoid,
                  "sign": lambda a: (a > 0) - (a < 0)}


@pytest.mark.parametrize("name,xs", [(n, p) for n, case in CASES.items() for p in case[2]])
def test_written_rules_agree_with_the_computed_local_derivatives(name, xs):
    # the rules a teacher reads and the arithmetic backward runs are the same derivatives
    from tracegrad.engine import local_derivatives
    out = CASES[name][0](*[Value(x) for x in xs])
    names = {"out": out.data, "arg": out.arg, **dict(zip("ab", xs))}
    assert len(OPS[name].rules) == len(out.parents)             # one rule per input
    for rule, local in zip(OPS[name].rules, local_derivatives(out)):
        assert set(re.findall(r"{(\w+)}", rule)) <= {"a", "b", "out", "arg"}
        assert eval(python_rule(rule, names), {"__builtins__": {}}, RULE_FUNCTIONS) == \
            pytest.approx(local, rel=1e-12), (name, rule)


def test_the_math_text_is_written_from_the_rules():
    assert OPS["mul"].math == "d(a * b)/da = b, d(a * b)/db = a"
    assert OPS["tanh"].math == "d tanh(a)/da = 1 - tanh(a)^2"
    assert OPS["div"].math == "d(a / b)/da = 1/b, d(a / b)/db = -a/b^2"
    assert OPS["leaky_relu"].math == "d leaky_relu(a, slope)/da = 1 if a > 0 else slope"


def test_a_row_is_a_method_a_cli_function_and_in_the_help():
    # tan is one row of the table (and its case above): Value, the parser, --help know it
    from tracegrad.engine.teach.cli import main
    from tracegrad.engine.teach.expr import FUNCTIONS, parse
    functions = {name for name, op in OPS.items() if op.function}
    assert set(FUNCTIONS) == functions and "tan" in functions
    assert Value(0.5).tan().data == math.tan(0.5)
    assert parse("tan(x)").evaluate({"x": Value(0.5)}).data == math.tan(0.5)
    help_text = io.StringIO()
    with contextlib.redirect_stdout(help_text), pytest.raises(SystemExit):
        main(["steps", "--help"])
    listed = " ".join(help_text.getvalue().split())       # the help wraps its lines
    assert ", ".join(FUNCTIONS) in listed
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["check", "tan(x)", "--at", "x=0.5", "--expect",
                     repr(1 / math.cos(0.5) ** 2)]) == 0
    assert "passed" in out.getvalue()


def test_only_leaky_relu_takes_a_parameter_as_a_function():
    assert {n: op.arg for n, op in OPS.items() if op.arg} == {"pow": "n", "leaky_relu": "slope"}
    from tracegrad.engine.teach.expr import ExprError, parse
    with pytest.raises(ExprError, match=r"write leaky_relu\(x\) or leaky_relu\(x, slope\)"):
        parse("leaky_relu(x, 1, 2)")
    with pytest.raises(ExprError, match=r"write tanh\(x\)"):
        parse("tanh(x, 1)")


class Param(Value):
    """A user's subclass (as EurekaLabs' micrograd script writes one)."""


OPERATORS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
             "/": lambda a, b: a / b, "**": lambda a, b: a ** b}


@pytest.mark.parametrize("symbol", sorted(OPERATORS))
@pytest.mark.parametrize("left,right", [(Value, Param), (Param, Value), (Param, Param)])
def test_subclasses_are_operands_of_every_operator_both_ways(symbol, left, right):
    a, b = left(3.0), right(2.0)
    out = OPERATORS[symbol](a, b)
    assert out.data == OPERATORS[symbol](3.0, 2.0) and out.parents == (a, b)
    out.backward()
    assert a.grad == pytest.approx(central_difference(OPERATORS[symbol], (3.0, 2.0), 0))
    assert b.grad == pytest.approx(central_difference(OPERATORS[symbol], (3.0, 2.0), 1))
    assert OPERATORS[symbol](a, 2.0).data == OPERATORS[symbol](3.0, b).data    # numbers too


def test_subclasses_in_sum_unary_operators_and_slopes():
    ps = [Param(float(i)) for i in range(1, 4)]
    total = sum(ps)
    total.backward()
    assert total.data == 6.0 and [p.grad for p in ps] == [1.0, 1.0, 1.0]
    p = Param(-2.0)
    assert (-p).data == 2.0 and abs(p).data == 2.0 and p.tanh().op == "tanh"
    with pytest.raises(TypeError, match="slope must be a real number"):
        Value(1.0).leaky_relu(Param(0.1))


@pytest.mark.parametrize("name,x,domain", [
    ("asin", 1.5, "-1 <= x <= 1"), ("acos", -1.01, "-1 <= x <= 1"), ("acosh", 0.5, "x >= 1"),
    ("atanh", 1.0, "-1 < x < 1"), ("sqrt", -4.0, "non-negative numbers"),
    ("log", 0.0, "positive numbers")])
def test_a_domain_error_names_the_op_the_input_and_the_domain(name, x, domain):
    with pytest.raises(ValueError, match=rf"^{name}: {name}\(x\) with x={x} failed: "
                                         rf"{name} is defined for {re.escape(domain)} only"):
        getattr(Value(x, label="x"), name)()


def test_inverse_functions_are_infinitely_steep_at_the_ends_of_their_domain():
    # as in PyTorch: d asin/dx = 1/sqrt(1 - x^2) is inf at 1, d acosh/dx at 1 too
    for name, x, slope in [("asin", 1.0, math.inf), ("acos", -1.0, -math.inf),
                           ("acosh", 1.0, math.inf)]:
        v = Value(x)
        getattr(v, name)().backward()
        assert v.grad == slope, name


def test_new_rows_in_exact_mode_give_floats_and_exact_slopes_where_they_are_rational():
    from fractions import Fraction
    from tracegrad.engine import grad, local_derivatives
    x = Value(Fraction(1, 2))
    assert isinstance(x.atan().data, float) and isinstance(x.sinh().data, float)
    # d atan/dx = 1/(1 + x^2) and d atanh/dx = 1/(1 - x^2): rational at a rational x, though
    # the gradient is a float, as the output is (a float graph's gradients are floats)
    assert local_derivatives(x.atan()) == (Fraction(4, 5),)
    assert local_derivatives(x.atanh()) == (Fraction(4, 3),)
    assert grad(x.atan(), x) == 0.8 and type(grad(x.atan(), x)) is float


@pytest.mark.parametrize("name", ["asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
                                  "atanh"])
def test_new_rows_pass_check_grad_second_derivatives_and_the_parser(name):
    from tracegrad.engine import check_grad, grad
    from tracegrad.engine.teach.expr import parse
    at = 1.7 if name == "acosh" else 0.4
    result = check_grad(lambda x: getattr(x, name)(), [at])
    assert result.passed
    first = CASES[name][1]
    x = Value(at)
    (dx,) = grad(getattr(x, name)(), [x], create_graph=True)   # the row's derivative as Values
    (d2x,) = grad(dx, [x])
    h = 1e-4
    d = lambda t: (first(t + h) - first(t - h)) / (2 * h)
    assert d2x == pytest.approx((d(at + h) - d(at - h)) / (2 * h), rel=1e-4)
    assert parse(f"{name}(x)").evaluate({"x": Value(at)}).data == first(at)


# --- step and xlogy (issue 21), and every row's array form against the row ------------------
def test_step_by_hand():
    from tracegrad.engine import local_derivatives
    assert [Value(x).step().data for x in (0.5, -2.0, 0.0, -0.0)] == [1.0, 0.0, 0.0, 0.0]
    assert Value(3).step().data == 1 and type(Value(3).step().data) is int      # as relu keeps
    assert math.isnan(Value(math.nan).step().data)
    for x in (0.5, -2.0, 0.0, math.nan):
        v = Value(x)
        assert local_derivatives(v.step()) == (0,)
        (v.step() * 3).backward()
        assert v.grad == 0                                   # no gradient flows back
    assert OPS["step"].math == "d step(a)/da = 0" and OPS["step"].kinks == (0,)


def test_xlogy_by_hand():
    from tracegrad.engine import grad
    p, q = Value(0.5), Value(0.25)
    out = p.xlogy(q)
    assert out.data == 0.5 * math.log(0.25)
    assert grad(out, [p, q]) == [math.log(0.25), 2.0]        # log q and p / q
    dp, dq = grad(p.xlogy(q), [p, q], create_graph=True)     # the rules as Values, again
    assert grad(dq, [p, q]) == [4.0, -8.0]                   # d(p/q) = 1/q, -p/q^2
    assert grad(dp, [p, q]) == [0, 4.0]                      # d(log q) = 0, 1/q
    zero = Value(0.0)
    for b in (0.25, 0.0, -1.0):                              # 0 log b = 0, whatever b is
        b = Value(b)
        out = zero.xlogy(b)
        assert out.data == 0.0
        # d/db = 0 (the row is 0 for every b); d/da = log b where b > 0, else 0 (PyTorch's)
        assert grad(out, [zero, b]) == [math.log(b.data) if b.data > 0 else 0, 0]
    assert math.isnan(Value(0.0).xlogy(math.nan).data)
    with pytest.raises(ValueError, match=r"^xlogy: xlogy\(p, q\) with p=0.5, q=0.0 failed: "
                                         r"xlogy\(a, b\) = a log\(b\) is defined for b > 0"):
        Value(0.5, label="p").xlogy(Value(0.0, label="q"))
    with pytest.raises(TypeError, match="xlogy: the other operand must be a Value or a real"):
        Value(0.5).xlogy("q")


@pytest.mark.parity
def test_xlogy_and_step_match_torch():
    torch = pytest.importorskip("torch")
    from tracegrad.engine import grad
    from tracegrad.engine.teach.torch_check import torch_grad
    for a, b in [(0.5, 0.3), (-2.0, 4.0), (0.0, 0.2), (0.0, 3.0)]:
        ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
        out = torch.xlogy(ta, tb)
        out.backward()
        va, vb = Value(a), Value(b)
        ours = va.xlogy(vb)
        assert ours.data == pytest.approx(out.item(), rel=1e-15)
        assert grad(ours, [va, vb]) == pytest.approx([ta.grad.item(), tb.grad.item()], rel=1e-15)
        assert torch_grad(ours, [va, vb]) == pytest.approx(grad(ours, [va, vb]), rel=1e-15)
    x = Value(0.7)
    y = x.step() * x + x.step()                              # step passes no gradient: d/dx = 1
    assert torch_grad(y, [x]) == grad(y, [x]) == [1.0]


NUMBERS = [0.0, -0.0, 0.5, -2.0, 3.0, 1e-300, -1e-300, 1e300, math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("name", sorted(n for n, op in OPS.items() if op.array is not None))
def test_each_array_form_equals_its_row(name):
    # the SPEED TRICK of the replay: the same numbers as the row, on every lane where the row
    # gives a number (where it raises, the replay reruns the row to raise the same error)
    np = pytest.importorskip("numpy")
    op = OPS[name]
    two = len(op.rules) == 2
    args = {"pow": [3, -1, 0.5, 0], "leaky_relu": [0.1, 0]}.get(name, [None])
    pairs = [(a, b) for a in NUMBERS for b in (NUMBERS if two else [None])]
    for arg in args:
        lanes = []
        for a, b in pairs:
            try:
                out = op.forward(a, b) if two else op.forward(a, arg) if arg is not None \
                    else op.forward(a)
                local = op.local(out, a, b, arg)
            except (ValueError, ZeroDivisionError, OverflowError):
                continue
            if any(isinstance(x, complex) for x in (out, *local)):
                continue
            if name == "pow" and a == -math.inf and arg != int(arg):
                continue        # Python's (-inf) ** 0.5 is inf, numpy's NaN: left as it is
            lanes.append((a, b, out, local))
        A = np.array([a for a, _, _, _ in lanes])
        B = np.array([b for _, b, _, _ in lanes]) if two else None
        with np.errstate(all="ignore"):
            out = op.array.forward(A, B) if two else op.array.forward(A, arg)
            local = op.array.local(out, A, B, arg)
        want = np.array([o for _, _, o, _ in lanes], dtype=float)
        np.testing.assert_array_equal(np.broadcast_to(out, want.shape), want, err_msg=name)
        for slot in range(len(op.rules)):
            want = np.array([d[slot] for _, _, _, d in lanes], dtype=float)
            np.testing.assert_array_equal(np.broadcast_to(local[slot], want.shape), want,
                                          err_msg=f"{name} d/d{'ab'[slot]} at arg {arg}")

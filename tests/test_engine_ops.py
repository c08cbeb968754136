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
    "maximum": (lambda a, b: a.maximum(b), max, [(1.5, -2.0), (-3.0, 0.7)], [(-5, 5), (-5, 5)]),
}

KINKS = {name for name, op in OPS.items() if op.kinks}   # corners at 0: keep central differences away


def test_kinks_are_the_ops_with_a_corner():
    assert KINKS == {"relu", "leaky_relu", "abs"}


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
                  "sin": math.sin, "sigmoid": sigmoid, "sign": lambda a: (a > 0) - (a < 0)}


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

"""Checking gradients: numerical_grad() by central differences, and check_grad(), which puts
autograd, central differences and the values worked out on paper side by side in a table
and fails with an AssertionError whose message is that table.
"""
import inspect
import math
from fractions import Fraction
from typing import NamedTuple

from .graph import grad, topological_order
from .modes import no_grad
from .text import fmt, table
from .value import Value

EPS = 1e-6             # central-difference step, relative to max(1, |x|)
RTOL, ATOL = 1e-5, 1e-6            # autograd vs central differences
EXPECTED_RTOL, EXPECTED_ATOL = 1e-9, 1e-12   # autograd vs a float worked out on paper
_KINKS = {"relu", "abs", "leaky_relu"}     # ops with a corner at 0


def numerical_grad(f, values, eps=EPS):
    """d f / d x for each x in values by central differences, in float64:

        (f(x + h) - f(x - h)) / (2h),   h = eps * max(1, |x|)

    f is called with one Value per input, under no_grad(). The error is about
    h**2 * f''' / 6 (truncation) plus 1e-16 * |f| / h (rounding): near 1e-10 with eps=1e-6."""
    xs = [float(getattr(v, "data", v)) for v in values]
    grads = []
    with no_grad():
        for i, x in enumerate(xs):
            step = eps * max(1.0, abs(x))
            hi, lo = x + step, x - step
            grads.append((_at(f, xs, i, hi) - _at(f, xs, i, lo)) / (hi - lo))
    return grads


def _at(f, xs, i, x):
    out = f(*[Value(x if j == i else v) for j, v in enumerate(xs)])
    return float(getattr(out, "data", out))


class GradCheck(NamedTuple):
    """The outcome of check_grad: str() of it is the table."""
    table: str
    passed: bool
    autograd: list
    numerical: list

    def __str__(self):
        return self.table


def check_grad(f, values, expected=None, *, eps=EPS, rtol=RTOL, atol=ATOL,
               expected_rtol=EXPECTED_RTOL):
    """Compare, per input, autograd with central differences and with expected values.

    values: numbers (or Values) to call f at; expected: a list (None to skip one), a
    dict by input name, or a single number for a single input. Passes when
    |autograd - numerical| <= atol + rtol * |autograd| and autograd matches expected:
    exactly when expected is a Fraction (exact mode), else within expected_rtol.
    Returns a GradCheck; raises AssertionError with the table when anything fails."""
    names = _names(f, values)
    inputs = [v if isinstance(v, Value) else Value(v, label=n) for v, n in zip(values, names)]
    out = f(*inputs)
    autograd = grad(out, inputs)
    numerical = numerical_grad(f, inputs, eps)
    expected = _expected(expected, names)
    rows, passed, kink = [], True, _near_kink(out)
    for name, x, g, num, want in zip(names, inputs, autograd, numerical, expected):
        problems = _compare(g, num, want, rtol, atol, expected_rtol)
        if problems and kink and "central" in problems[0]:
            problems.append(f"{kink} is at its corner: no derivative there")
        passed = passed and not problems
        rows.append([name, fmt(x.data, 8), fmt(g, 10), fmt(num, 10),
                     "" if want is None else fmt(want, 10), "; ".join(problems) or "ok"])
    verdict = "passed" if passed else "FAILED"
    text = "\n".join([f"check_grad {verdict}: autograd vs central differences (eps={eps}, "
                      f"rtol={rtol}, atol={atol}) and vs expected", table(
                          ["input", "at", "autograd", "numerical", "expected", "result"], rows)])
    if not passed:
        raise AssertionError(text)
    return GradCheck(text, passed, autograd, numerical)


def _names(f, values):
    labels = [getattr(v, "label", None) for v in values]
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        params = []
    if len(params) != len(values):
        params = [f"x{i}" for i in range(len(values))]
    return [label if label is not None else p for label, p in zip(labels, params)]


def _expected(expected, names):
    if expected is None:
        return [None] * len(names)
    if isinstance(expected, dict):
        unknown = set(expected) - set(names)
        if unknown:
            raise ValueError(f"check_grad: expected names {sorted(unknown)} are not inputs; "
                             f"the inputs are {names}")
        return [expected.get(n) for n in names]
    if not isinstance(expected, (list, tuple)):
        expected = [expected]
    if len(expected) != len(names):
        raise ValueError(f"check_grad: {len(expected)} expected values for {len(names)} "
                         f"inputs {names}; give one per input (None to skip one)")
    return list(expected)


def _compare(g, num, want, rtol, atol, expected_rtol):
    """The reasons autograd g fails (an empty list when it passes)."""
    g = getattr(g, "data", g)
    problems = []
    if not abs(float(g) - num) <= atol + rtol * abs(float(g)):
        problems.append(f"autograd and central differences differ by {abs(float(g) - num):.2g}")
    if want is None:
        return problems
    exact = isinstance(want, Fraction) and isinstance(g, (int, Fraction))
    if isinstance(want, Fraction) and not exact:
        problems.append(f"expected exactly {want} but autograd is the float {g!r}: "
                        "use Fraction inputs (--exact) for an exact check")
    elif exact and g != want:
        problems.append(f"expected exactly {want}, autograd gives {g}")
    elif not exact and not math.isclose(g, want, rel_tol=expected_rtol,
                                        abs_tol=EXPECTED_ATOL):
        problems.append(f"expected {fmt(want, 10)}, autograd gives {fmt(g, 10)}")
    return problems


def _near_kink(out):
    """The first node sitting on the corner of relu/abs/leaky_relu, or ''."""
    for node in topological_order(out):
        if node.op in _KINKS and abs(node.parents[0].data) <= 1e-5:
            return f"{node.op}({fmt(node.parents[0].data)})"
    return ""

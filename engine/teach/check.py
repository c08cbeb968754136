"""Checking gradients: numerical_grad() by central differences, and check_grad(), which puts
autograd, central differences and the values worked out on paper side by side in a table
and fails with an AssertionError whose message is that table.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Union, cast

from ..graph import topological_order
from ..modes import no_grad
from ..ops import value_of
from ..text import fmt
# GradCheck and GradCheckFailed are importable from here too, as before
from .verdict import EXPECTED_ATOL, EXPECTED_RTOL, GradCheck, GradCheckFailed, Loosen
from ..value import Gradient, Number, Value, expect_value, grad

# what check_grad may be told the answers are: one per input (None to skip one), by name,
# or a single number for a single input
Answer = Union[Number, str, None]          # a str: a formula (formula.py)
Expected = Union[Number, str, list[Answer], tuple[Answer, ...], dict[str, Answer], None]

EPS = 1e-6             # central-difference step, relative to max(1, |x|)
RTOL, ATOL = 1e-5, 1e-6            # autograd vs central differences


def numerical_grad(f: Callable[..., Gradient], values: Iterable[Value | Number],
                   eps: float = EPS) -> list[float]:
    """d f / d x for each x in values by central differences, in float64:

        (f(x + h) - f(x - h)) / (2h),   h = eps * max(1, |x|)

    f is called with one Value per input, under no_grad(). The error is about
    h**2 * f''' / 6 (truncation) plus 1e-16 * |f| / h (rounding): near 1e-10 with eps=1e-6.
    Near the edge of f's domain, where x - h or x + h fails (log at 1e-300, 2**x at the
    largest exponent), it takes h = eps * |x| instead, and else the one-sided differences
    (3f(x) - 4f(x - h) + f(x - 2h)) / 2h or (-3f(x) + 4f(x + h) - f(x + 2h)) / 2h, whose
    error is also of order h**2."""
    _positive("numerical_grad", "eps", eps)
    xs = [float(value_of(v)) for v in values]
    grads: list[float] = []
    with no_grad():
        for i, x in enumerate(xs):
            grads.append(_difference(f, xs, i, x, eps))
    return grads


def _difference(f: Callable[..., Gradient], xs: list[float], i: int, x: float,
                eps: float) -> float:
    """Input i's central difference, or the fallbacks numerical_grad describes."""
    steps = [eps * max(1.0, abs(x))] + ([eps * abs(x)] if 0 < abs(x) < 1 else [])
    for step in steps:                                   # central, then a smaller step
        hi, lo = x + step, x - step
        found = _tried(lambda: (_at(f, xs, i, hi) - _at(f, xs, i, lo)) / (hi - lo))
        if found is not None:
            return found
    step = steps[0]
    for h in (-step, step):                              # one-sided: inside, then outside
        middle = _at(f, xs, i, x)
        found = _tried(lambda: (-3 * middle + 4 * _at(f, xs, i, x + h)
                                - _at(f, xs, i, x + 2 * h)) / (2 * h))
        if found is not None:
            return found
    return (_at(f, xs, i, x + steps[0]) - _at(f, xs, i, x - steps[0])) / (2 * steps[0])


def _tried(difference: Callable[[], float]) -> float | None:
    """difference(), or None where a point it needs is outside f's domain (or not finite)."""
    try:
        found = difference()
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return found if math.isfinite(found) else None


def _at(f: Callable[..., Gradient], xs: list[float], i: int, x: float) -> float:
    out = f(*[Value(x if j == i else v) for j, v in enumerate(xs)])
    return float(value_of(out))


def _positive(function: str, name: str, x: object, zero: bool = False) -> None:
    """A tolerance or step: a finite real number above 0 (or at least 0 when zero)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, Fraction)) or \
            not math.isfinite(x) or x < 0 or (x == 0 and not zero):
        raise ValueError(f"{function}: {name}={x!r}; give a finite number "
                         f"{'of at least 0' if zero else 'above 0'}")


def check_grad(f: Callable[..., Value], values: Sequence[Value | Number],
               expected: Expected = None, *, eps: float = EPS, rtol: float = RTOL,
               atol: float = ATOL, expected_rtol: float | None = None,
               digits: int | None = None, against: str = "numerical",
               at: Sequence[Sequence[Number] | Mapping[str, Number]] | None = None) -> GradCheck:
    """Compare, per input, autograd with central differences and with expected values.

    values: numbers (or Values) to call f at; expected: a list (None to skip one), a
    dict by input name, or a single number for a single input. Passes when
    |autograd - numerical| <= atol + rtol * |autograd| and autograd matches expected:
    exactly when expected is a Fraction (exact mode), else within expected_rtol (1e-9 by
    default), or, with digits=N, to N significant digits (a hand answer rounded to N digits).
    against="torch" compares with PyTorch's gradients of the same graph instead of central
    differences (engine/torch_check.py; the torch extra): then rtol and atol bound
    |autograd - torch|, and .numerical holds torch's gradients.
    Returns a GradCheck; raises GradCheckFailed (an AssertionError) with the table when
    anything fails, saying which keyword would loosen the comparison.
    expected may hold formulas ("3.8 + 2*b", in f's parameter names): then each is compared
    with autograd at values and at several more points, or at the points listed in `at`
    (formula.py), exactly when the inputs are Fractions."""
    from .formula import check_formula, has_formula
    if has_formula(expected):
        names = _names(f, values)
        return check_formula(f, values, _expected(expected, names), names, at)
    if at is not None:
        raise ValueError("check_grad: at= lists points to check a formula at; give the "
                         'formula as expected (expected="3.8 + 2*b")')
    if digits is not None and (type(digits) is not int or not 1 <= digits <= 17):
        raise ValueError(f"check_grad: digits={digits!r}; give the number of significant "
                         "digits a rounded value must agree to, a whole number from 1 to 17")
    _positive("check_grad", "eps", eps)
    for name, tolerance in (("rtol", rtol), ("atol", atol), ("expected_rtol", expected_rtol)):
        if tolerance is not None:
            _positive("check_grad", name, tolerance, zero=True)
    names = _names(f, values)
    inputs = [v if isinstance(v, Value) else Value(v, label=n) for v, n in zip(values, names)]
    out = expect_value(f(*inputs), "check_grad", "f must return the Value it computes")
    autograd = grad(out, inputs)
    reference, numerical = _reference(against, f, inputs, out, eps)
    # numbers only here: expected with a formula went to formula.py above
    wanted = cast(list[Union[Number, None]], _expected(expected, names))
    rows: list[tuple[str, ...]] = []
    loosen: list[Loosen] = []
    passed, kink = True, _near_kink(out)
    for name, x, g, num, want in zip(names, inputs, autograd, numerical, wanted):
        problems, wider = _compare(g, num, want, rtol, atol, expected_rtol, digits, reference)
        if problems and kink and "central" in problems[0]:
            problems.append(f"{kink} is at its corner: no derivative there")
            wider = [w for w in wider if w[0] != "rtol"]
        passed = passed and not problems
        loosen += wider
        rows.append((name, fmt(x.data, 8), fmt(g, 10), fmt(num, 10),
                     "" if want is None else fmt(want, 10), "; ".join(problems) or "ok"))
    verdict = "passed" if passed else "FAILED"
    wording = (f"to {digits} significant digits" if digits is not None else
               f"expected_rtol={expected_rtol}" if expected_rtol is not None else "")
    result = GradCheck("", passed, autograd, numerical,
                       f"check_grad {verdict}: autograd vs {reference} ("
                       f"{f'eps={eps}, ' if reference == 'central differences' else ''}"
                       f"rtol={rtol}, atol={atol}) and vs expected" +
                       (f" ({wording})" if wording else ""),
                       ("input", "at", "autograd",
                        "torch" if reference == "torch" else "numerical", "expected", "result"),
                       tuple(rows), _loosest(loosen))
    result = result._replace(table=result.text())
    if not passed:
        raise GradCheckFailed(result)
    return result


def _names(f: Callable[..., object], values: Sequence[object]) -> list[str]:
    labels = [getattr(v, "label", None) for v in values]
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        params = []
    if len(params) != len(values):
        params = [f"x{i}" for i in range(len(values))]
    return [label if label is not None else p for label, p in zip(labels, params)]


def _expected(expected: Expected, names: list[str]) -> list[Answer]:
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


def _reference(against: str, f: Callable[..., Value], inputs: list[Value], out: Value,
               eps: float) -> tuple[str, list[float]]:
    """(what autograd is compared with, its gradients): central differences or torch's."""
    if against == "numerical":
        return "central differences", numerical_grad(f, inputs, eps)
    if against == "torch":
        from .torch_check import torch_grad
        return "torch", torch_grad(out, inputs)
    raise ValueError(f"check_grad: against={against!r}; give 'numerical' (central "
                     "differences, the default) or 'torch' (PyTorch's autograd)")


def _compare(g: Number, num: float, want: Number | None, rtol: float, atol: float,
             expected_rtol: float | None, digits: int | None,
             reference: str = "central differences") -> tuple[list[str], list[Loosen]]:
    """The reasons autograd g fails (an empty list when it passes), and the (keyword,
    value) pairs that would make those comparisons pass."""
    g = value_of(g)
    problems: list[str] = []
    loosen: list[Loosen] = []
    gap = abs(float(g) - num)
    if not gap <= atol + rtol * abs(float(g)):
        problems.append(f"autograd and {reference} differ by {gap:.2g}")
        if g != 0 and reference == "central differences":    # torch's are not approximate
            loosen.append(("rtol", _round_up(gap / abs(float(g)))))
    if want is None:
        return problems, loosen
    exact = (isinstance(want, Fraction) and isinstance(g, (int, Fraction))
             and expected_rtol is None and digits is None)
    if isinstance(want, Fraction) and not isinstance(g, (int, Fraction)) and digits is None \
            and expected_rtol is None:
        problems.append(f"expected exactly {want} but autograd is the float {g!r}: "
                        "use Fraction inputs (--exact) for an exact check")
    elif exact and g != want:
        problems.append(f"expected exactly {want}, autograd gives {g}")
    elif not exact and not _agrees(g, want, expected_rtol, digits):
        agree = agreeing_digits(g, want)
        problems.append(f"expected {fmt(want, 10)}, autograd gives {fmt(g, 10)}"
                        + (f" (they agree to {agree} significant digit{'s' * (agree != 1)})"
                           if agree else ""))
        if agree:
            loosen.append(("digits", agree))
        loosen.append(("expected_rtol", _round_up(_relative_gap(g, want))))
    return problems, loosen


def _agrees(g: Number, want: Number, expected_rtol: float | None,
            digits: int | None) -> bool:
    if digits is not None:
        return agreeing_digits(g, want) >= digits
    rtol = EXPECTED_RTOL if expected_rtol is None else expected_rtol
    return math.isclose(g, want, rel_tol=rtol, abs_tol=EXPECTED_ATOL)


def agreeing_digits(g: Number, want: Number) -> int:
    """To how many significant digits want agrees with g (0 to 17): the most N for which
    want is g rounded to N digits, give or take half a unit in the N-th digit.

    agreeing_digits(0.7864477, 0.7864) == 4; agreeing_digits(-0.19661, -0.2) == 2."""
    g, want = float(g), float(want)
    scale = abs(g) or abs(want)
    if scale == 0 or g == want:
        return 17
    first = math.floor(math.log10(scale))           # the place of the first significant digit
    agree = 0
    while agree < 17 and abs(g - want) <= 0.5 * 10.0 ** (first - agree) * (1 + 1e-9):
        agree += 1
    return agree


def _relative_gap(g: Number, want: Number) -> float:
    return abs(float(g) - float(want)) / max(abs(float(g)), abs(float(want)))


def _round_up(x: float) -> float:
    """x rounded up to one significant digit: 0.0057 -> 0.006, as a tolerance to suggest."""
    if x == 0 or not math.isfinite(x):
        return x
    unit = 10.0 ** math.floor(math.log10(x))
    return float(f"{math.ceil(x / unit - 1e-9) * unit:.1g}")


def _loosest(loosen: Iterable[Loosen]) -> tuple[Loosen, ...]:
    """One suggestion per keyword: the fewest digits, the largest tolerance."""
    best: dict[str, Number] = {}
    for key, value in loosen:
        best[key] = value if key not in best else (min if key == "digits" else max)(best[key], value)
    return tuple(best.items())


def _near_kink(out: Value) -> str:
    """The first node sitting on a corner of its op (the table's kinks: relu's 0 ...), or ''."""
    for node in topological_order(out):
        x = node.parents[0].data if node.parents else None
        if node._op is not None and any(abs(x - k) <= 1e-5 for k in node._op.kinks):
            return f"{node.op}({fmt(x)})"
    return ""

"""Checking a derivation, not a number: check_grad(f, values, expected="3.8 + 2*b") reads
the student's formula with the safe expression reader (expr.py) and compares it with
autograd at the given point and at several more, exactly with Fractions where the graph
allows; the first point where they differ is named.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

from .answers import is_exact
from .expr import ExprError, parse
from ..ops import value_of
from ..text import fmt
from ..value import Number, Value, expect_value, grad
from .verdict import EXPECTED_ATOL, EXPECTED_RTOL, GradCheck, GradCheckFailed

# the points tried beyond the given one: each input moved by one of these (a different one
# per input, so a formula with a and b swapped is caught), as Fractions in exact mode
OFFSETS = (1, Fraction(-1, 2), 2, Fraction(-3, 2), 3, Fraction(1, 4), -2)
EXTRA_POINTS = 4


def has_formula(expected: object) -> bool:
    """True when expected (check_grad's) holds a formula: a str, alone or in a list/dict."""
    if isinstance(expected, str):
        return True
    items = expected.values() if isinstance(expected, dict) else \
        expected if isinstance(expected, (list, tuple)) else ()
    return any(isinstance(x, str) for x in items)


def check_formula(f: Callable[..., Value], values: Sequence[Value | Number],
                  formulas: Sequence[str | Number | None], names: Sequence[str],
                  at: Sequence[Sequence[Number] | Mapping[str, Number]] | None = None,
                  fixed: Mapping[str, Number] | None = None) -> GradCheck:
    """Compare autograd's d f / d input with the formula given for it, input by input, at
    values and EXTRA_POINTS more points (or exactly the points in `at`). fixed: other
    variables a formula may use, held at these values. Raises GradCheckFailed naming the
    first point where a formula and autograd differ."""
    fixed = dict(fixed or {})
    base = [value_of(v) for v in values]
    exact = all(is_exact(x) for x in base + list(fixed.values()))
    parsed = [None if t is None else parse(str(t), exact=exact) for t in formulas]
    for text, expr in zip(formulas, parsed):
        unknown = [] if expr is None else [n for n in expr.names
                                           if n not in names and n not in fixed]
        if unknown:
            raise ExprError(f"check_grad: the formula {text!r} uses {', '.join(unknown)}, "
                            f"which {'is' if len(unknown) == 1 else 'are'} not a variable "
                            f"here (the variables: {', '.join(list(names) + list(fixed))})")
    points = [_point(p, names) for p in at] if at else [base] + _more(f, base)
    rows: list[tuple[str, ...]] = []
    first_bad = ""
    autograd_at_base: list[Number] = []
    for point in points:
        inputs = [Value(x, label=n) for x, n in zip(point, names)]
        out = expect_value(f(*inputs), "check_grad", "f must return the Value it computes")
        grads = grad(out, inputs)
        autograd_at_base = autograd_at_base or list(grads)
        where = ", ".join(f"{n}={fmt(x, 8)}" for n, x in zip(names, point))
        env = {**fixed, **dict(zip(names, point))}
        for name, text, expr, g in zip(names, formulas, parsed, grads):
            if expr is None:
                continue
            want = value_of(expr.evaluate(env))
            same = (want == g) if is_exact(g) and is_exact(want) else math.isclose(
                float(g), float(want), rel_tol=EXPECTED_RTOL, abs_tol=EXPECTED_ATOL)
            result = "ok" if same else f"differ: autograd {fmt(g, 10)}, formula {fmt(want, 10)}"
            if not same and not first_bad:
                first_bad = f"d/d{name} = {text} differs from autograd first at {where}"
            rows.append((where, name, str(text), fmt(g, 10), fmt(want, 10), result))
    how = "exactly (Fractions)" if exact else f"to rtol={EXPECTED_RTOL}"
    title = (f"check_grad FAILED: {first_bad}" if first_bad else
             f"check_grad passed: each formula equals autograd at {len(points)} "
             f"point{'s' * (len(points) != 1)}, {how}")
    check = GradCheck("", not first_bad, autograd_at_base, [], title,
                      ("at", "input", "formula", "autograd", "formula gives", "result"),
                      tuple(rows))
    check = check._replace(table=check.text())
    if first_bad:
        raise GradCheckFailed(check)
    return check


def _point(p: Sequence[Number] | Mapping[str, Number], names: Sequence[str]) -> list[Number]:
    if isinstance(p, Mapping):
        missing = [n for n in names if n not in p]
        if missing:
            raise ValueError(f"check_grad: the point {dict(p)} gives no value for "
                             f"{', '.join(missing)}")
        return [p[n] for n in names]
    if len(p) != len(names):
        raise ValueError(f"check_grad: the point {list(p)} has {len(p)} values for "
                         f"{len(names)} inputs {list(names)}")
    return list(p)


def _more(f: Callable[..., Value], base: list[Number]) -> list[list[Number]]:
    """EXTRA_POINTS points near base where f can be evaluated (a log of a negative number,
    a division by zero: that offset is passed over)."""
    found: list[list[Number]] = []
    for i in range(len(OFFSETS)):
        point = [x + (OFFSETS[(i + j) % len(OFFSETS)] if is_exact(x)
                      else float(OFFSETS[(i + j) % len(OFFSETS)]))
                 for j, x in enumerate(base)]
        try:
            out = f(*[Value(x) for x in point])
            if not math.isfinite(float(value_of(out))):
                continue
        except (ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
            continue
        found.append(point)
        if len(found) == EXTRA_POINTS:
            break
    return found

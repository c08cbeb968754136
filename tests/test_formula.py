"""Checking a derivation, not a number: check_grad(expected="3.8 + 2*b") and tracegrad check
--expect FORMULA compare the student's formula with autograd at the given point and more
(exactly with Fractions), naming the first point where they differ; --at b=0,1,2 lists points.
"""
import subprocess
import sys
from fractions import Fraction

import pytest

from tracegrad.engine import check_grad
from tracegrad.engine.teach.check import GradCheckFailed
from tracegrad.engine.teach.expr import ExprError


def ssr(intercept):              # the seeds' sum of squared residuals, one point, exact
    return (Fraction(13, 10) - (intercept + Fraction(64, 100) * 5)) ** 2


def test_the_seeds_derivation_passes_exactly_at_several_points():
    # d/d intercept (1.3 - (intercept + 3.2))^2 = -2 (1.3 - intercept - 3.2) = 3.8 + 2 intercept
    result = check_grad(ssr, [0], expected="3.8 + 2*intercept")
    assert result.passed and result.title.endswith("at 5 points, exactly (Fractions)")
    assert result.autograd == [Fraction(19, 5)]
    assert [r[3] for r in result.rows] == ["19/5", "29/5", "14/5", "39/5", "4/5"]


def test_a_wrong_formula_fails_and_names_the_first_point_where_it_differs():
    # 3.8 + intercept agrees at 0 (both 19/5) and first differs at intercept = 1: 29/5 vs 24/5
    with pytest.raises(GradCheckFailed) as failed:
        check_grad(ssr, [0], expected="3.8 + intercept")
    result = failed.value.result
    assert result.title == ("check_grad FAILED: d/dintercept = 3.8 + intercept differs from "
                            "autograd first at intercept=1")
    assert result.rows[0][-1] == "ok" and result.rows[1][-1] == ("differ: autograd 29/5, "
                                                                 "formula 24/5")


def test_points_listed_and_several_inputs():
    f = lambda a, b: (a * b) * (a + b)
    result = check_grad(f, [3, 2], expected=["2*a*b + b^2", "a^2 + 2*a*b"])
    assert result.passed and len(result.rows) == 2 * 5
    with pytest.raises(GradCheckFailed, match=r"d/db = a\^2 \+ a\*b differs from autograd "
                                              r"first at a=3, b=2"):
        check_grad(f, [3, 2], expected={"b": "a^2 + a*b"})
    floats = check_grad(lambda b: (1.3 - (b + 0.64 * 5)) ** 2, [0.0], expected="3.8 + 2*b",
                        at=[[0.0], [1.0], [2.0]])
    assert [r[0] for r in floats.rows] == ["b=0", "b=1", "b=2"]
    with pytest.raises(ValueError, match="at= lists points to check a formula at"):
        check_grad(f, [3, 2], expected=[16, 21], at=[[1, 1]])


def test_an_unsafe_or_unknown_formula_is_refused_as_any_expression_is():
    with pytest.raises(ExprError, match="attribute access"):
        check_grad(ssr, [0], expected="intercept.__class__")
    with pytest.raises(ExprError, match="unknown function '__import__'"):
        check_grad(ssr, [0], expected="__import__('os')")
    with pytest.raises(ExprError, match="uses c, which is not a variable here"):
        check_grad(ssr, [0], expected="3.8 + 2*c")


def run(*args):
    return subprocess.run([sys.executable, "-m", "tracegrad", "check", *args],
                          capture_output=True, text=True, timeout=120)


def test_the_command_checks_formulas():
    ssr_text = "(1.3 - (intercept + 0.64*5))**2"
    done = run(ssr_text, "--wrt", "intercept", "--at", "intercept=0", "--expect",
               "3.8 + 2*intercept", "--exact")
    assert done.returncode == 0, done.stderr
    assert "exactly (Fractions)" in done.stdout.splitlines()[0]
    done = run(ssr_text, "--wrt", "intercept", "--at", "intercept=0,1,2", "--expect",
               "3.8 + intercept")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == ("check_grad FAILED: d/dintercept = 3.8 + intercept "
                                           "differs from autograd first at intercept=1")
    assert len(done.stdout.splitlines()) == 3 + 3      # title, header, rule, 3 points
    done = run("(a*b)*(a+b)", "--at", "a=3", "b=2", "--wrt", "a", "b", "--expect",
               "2*a*b + b^2", "a^2 + 2*a*b")
    assert done.returncode == 0, done.stderr
    done = run("(a*b)*(a+b)", "--at", "a=3", "b=2", "--wrt", "b", "--expect", "a^2 + 2*a*b",
               "--exact")                                     # a held at 3
    assert done.returncode == 0 and "a=" not in done.stdout
    done = run("(a*b)*(a+b)", "--at", "a=3", "b=2", "--wrt", "b", "--expect", "a.real")
    assert done.returncode == 2 and "attribute access (a.b) is not allowed" in done.stderr
    done = run(ssr_text, "--at", "intercept=0,1", "--expect", "3.8")
    assert done.returncode == 1                                # a number is a constant formula
    done = run(ssr_text, "--at", "intercept=0,1")
    assert done.returncode == 2 and "give it with --expect" in done.stderr

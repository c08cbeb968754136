"""Faults on the command line: every input ends within seconds with a result or a one-line
error (tests/faults/cli.py has the cases: names that leave the root no label, exact numbers
that grow without bound, repeated names, bad tolerances, checks at a domain's edge)."""
import pytest

from tracegrad.engine import Value
from tracegrad.engine.teach.check import check_grad, numerical_grad

from . import cli


@pytest.mark.parametrize("args, status, words", cli.CASES,
                         ids=[" ".join(c[0][:2])[:40] + f" {i}" for i, c in enumerate(cli.CASES)])
def test_the_command_ends_with_a_result_or_one_line(args, status, words):
    assert cli.problems(args, status, words) == []


@pytest.mark.parametrize("keyword, value", [("eps", float("nan")), ("eps", 0), ("eps", -1e-6),
                                            ("rtol", float("inf")), ("atol", -1),
                                            ("expected_rtol", float("nan"))])
def test_check_grad_refuses_a_tolerance_that_is_not_a_finite_positive_number(keyword, value):
    with pytest.raises(ValueError, match=f"check_grad: {keyword}={value!r}; give a finite"):
        check_grad(lambda x: x * 2, [1.0], **{keyword: value})


def test_numerical_grad_steps_inside_the_domain_at_its_edge():
    # log at 1e-300: x - 1e-6 < 0, so the step shrinks to eps * |x|: d log/dx = 1e300
    (d,) = numerical_grad(lambda x: x.log(), [1e-300])
    assert d == pytest.approx(1e300, rel=1e-6)
    # a function defined only for x <= 1: one-sided (second order) from the left
    def left(x):
        if x.data > 1:
            raise ValueError("outside the domain")
        return x * x * x
    (d,) = numerical_grad(left, [1.0])
    assert d == pytest.approx(3.0, rel=1e-9)
    check_grad(lambda x: (x * 0.6931471805599453).exp(), [709.0])

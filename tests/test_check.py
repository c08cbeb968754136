"""numerical_grad and check_grad: central differences, exact expectations, and failures
that pytest shows as the comparison table."""
import math
from fractions import Fraction

import pytest

from tracegrad.engine import Value, check_grad, numerical_grad
from tracegrad.engine.teach.check import ATOL, RTOL

NEURON_AT = [2.0, -3.0, 0.0, 1.0, 6.8813735870195432]


def neuron(x1, w1, x2, w2, b):
    return (x1 * w1 + x2 * w2 + b).tanh()


def ssr(b):
    return (Fraction(13, 10) - (b + Fraction(64, 100) * 5)) ** 2


def test_numerical_grad_matches_calculus():
    (g,) = numerical_grad(lambda x: x ** 3, [2.0])
    assert g == pytest.approx(12, abs=1e-7)
    grads = numerical_grad(lambda x, y: (x * y).sin(), [0.5, 2.0])
    assert grads == pytest.approx([2 * math.cos(1.0), 0.5 * math.cos(1.0)], abs=1e-8)


def test_numerical_grad_scales_its_step_with_x():
    (g,) = numerical_grad(lambda x: x.log(), [1e6])
    assert g == pytest.approx(1e-6, rel=1e-6)


def test_lecture_neuron_passes_with_paper_values():
    result = check_grad(neuron, NEURON_AT, [-1.5, 1, 0.5, 0, 0.5])
    assert result.passed
    assert result.autograd == pytest.approx([-1.5, 1, 0.5, 0, 0.5])
    lines = str(result).splitlines()
    assert lines[1].split() == ["input", "at", "autograd", "numerical", "expected", "result"]
    assert [line.split()[0] for line in lines[3:]] == ["x1", "w1", "x2", "w2", "b"]


def test_failure_is_an_assertion_error_whose_message_is_the_table():
    with pytest.raises(AssertionError) as failure:
        check_grad(neuron, NEURON_AT, [-1.5, 1, 0.5, 0, 0.25])
    message = str(failure.value)
    assert message.startswith("check_grad FAILED")
    assert "expected 0.25, autograd gives 0.5" in message.splitlines()[-1]
    assert message.splitlines()[-2].endswith("ok")


def test_exact_fraction_expectation_must_match_exactly():
    assert check_grad(ssr, [Fraction(0)], [Fraction(19, 5)]).autograd == [Fraction(19, 5)]
    with pytest.raises(AssertionError, match="expected exactly 19/10, autograd gives 19/5"):
        check_grad(ssr, [Fraction(0)], [Fraction(19, 10)])


def test_float_inputs_cannot_meet_an_exact_expectation():
    with pytest.raises(AssertionError, match=r"use Fraction inputs \(--exact\)"):
        check_grad(lambda b: (1.3 - (b + 0.64 * 5)) ** 2, [0.0], [Fraction(19, 5)])
    check_grad(lambda b: (1.3 - (b + 0.64 * 5)) ** 2, [0.0], [3.8])   # 3.8000000000000003


def test_autograd_against_central_differences_catches_a_kink():
    with pytest.raises(AssertionError, match=r"relu\(0\) is at its corner"):
        check_grad(lambda x: x.relu(), [0.0])


def test_expected_by_name_and_skipped_entries():
    check_grad(neuron, NEURON_AT, {"x1": -1.5, "b": 0.5})
    check_grad(neuron, NEURON_AT, [None, 1, None, None, None])
    with pytest.raises(ValueError, match="2 expected values for 5 inputs"):
        check_grad(neuron, NEURON_AT, [1, 2])
    with pytest.raises(ValueError, match=r"\['q'\] are not inputs"):
        check_grad(neuron, NEURON_AT, {"q": 1})


def test_values_keep_their_grad_and_their_labels():
    x = Value(2.0, label="x")
    result = check_grad(lambda v: v * v, [x], [4.0])
    assert x.grad == 0 and result.table.splitlines()[-1].startswith("x ")


def test_tolerances_are_the_documented_ones():
    assert (RTOL, ATOL) == (1e-5, 1e-6)
    # central differences on smooth float64 functions land well inside them
    for f, at in [(lambda x: x.exp(), 3.0), (lambda x: x.sigmoid(), -4.0),
                  (lambda x: (x * x + 1).sqrt(), 10.0), (lambda x: x.softplus(), 0.3)]:
        check_grad(f, [at])

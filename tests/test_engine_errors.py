"""Bad input raises errors that name the op, the value and what is valid; extreme but
finite inputs stay finite; no_grad and detect_anomaly behave as in PyTorch."""
import math

import pytest

from tracegrad.engine import Value, detect_anomaly, grad, is_grad_enabled, no_grad


@pytest.mark.parametrize("bad", ["abc", None, [1.0], 1j])
def test_value_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match="int, float or Fraction"):
        Value(bad)


def test_numpy_like_numbers_are_converted():
    import fractions
    import decimal
    assert Value(True).data == 1 and type(Value(True).data) is int
    assert Value(fractions.Fraction(2, 4)).data == fractions.Fraction(1, 2)
    with pytest.raises(TypeError):
        Value(decimal.Decimal("1.5"))


def test_log_of_non_positive():
    with pytest.raises(ValueError, match=r"log: log\(0.0\) failed: log is defined for positive numbers only"):
        Value(0.0).log()
    with pytest.raises(ValueError, match="log"):
        Value(-2).log()


def test_sqrt_of_negative():
    with pytest.raises(ValueError, match=r"sqrt.*-4.*negative"):
        Value(-4.0).sqrt()


def test_division_by_zero():
    with pytest.raises(ZeroDivisionError, match="div.*division by zero"):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError, match="div"):
        1 / Value(0)
    with pytest.raises(ZeroDivisionError, match="pow"):
        Value(0.0) ** -1


def test_exp_overflow_names_the_node():
    with pytest.raises(OverflowError, match=r"exp: exp\(x\) with x=1000.0 failed"):
        Value(1000.0, label="x").exp()


def test_negative_base_to_fractional_power_is_refused():
    with pytest.raises(ValueError, match="pow.*not a real number"):
        Value(-8.0) ** 0.5


def test_negative_base_with_value_exponent_follows_pytorch():
    a, b = Value(-2.0), Value(2.0)
    y = a ** b
    assert y.data == 4.0
    y.backward()
    assert a.grad == -4.0                    # b a^(b-1) = 2 * (-2)
    assert math.isnan(b.grad)                # a^b ln(a): no real log of -2


def test_pow_rejects_non_numbers():
    # Python's own message names the operator, as for any number type
    with pytest.raises(TypeError, match=r"unsupported operand type\(s\) for \*\* or pow\(\): 'Value' and 'str'"):
        Value(2.0) ** "2"


@pytest.mark.parametrize("x", [-1000.0, -800.0, 0.0, 800.0, 1000.0])
def test_saturating_functions_are_stable(x):
    s, t, p = Value(x).sigmoid(), Value(x).tanh(), Value(x).softplus()
    assert 0.0 <= s.data <= 1.0 and -1.0 <= t.data <= 1.0
    assert p.data == pytest.approx(max(x, 0.0) + math.log1p(math.exp(-abs(x))))
    for node in (s, t, p):
        node.backward()
        assert math.isfinite(node.parents[0].grad)


def test_sigmoid_of_minus_800_is_tiny_not_an_error():
    assert 0.0 <= Value(-800.0).sigmoid().data < 1e-300


def test_no_grad_records_nothing():
    x = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = x * 3 + 1
    assert y.data == 7.0 and y.is_leaf and y.parents == ()
    assert is_grad_enabled()


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with no_grad():
            Value(-1.0).log()
    assert is_grad_enabled()


def test_detect_anomaly_stops_at_the_first_non_finite_forward():
    x = Value(1e308, label="x")
    y = x * 10                               # outside the block nothing is checked
    assert y.data == math.inf
    with pytest.raises(FloatingPointError, match=r"mul produced inf from x \* 10.0 with x=1e\+308"):
        with detect_anomaly():
            (x * 10).tanh()


def test_detect_anomaly_catches_a_nan_gradient():
    a, b = Value(-2.0), Value(2.0)
    y = a ** b
    with pytest.raises(FloatingPointError, match="powv"):
        with detect_anomaly():
            y.backward()


def test_detect_anomaly_passes_clean_graphs():
    x = Value(0.5)
    with detect_anomaly():
        y = (x * 3).tanh()
        y.backward()
    assert x.grad == pytest.approx(3 * (1 - math.tanh(1.5) ** 2))


def test_grad_rejects_non_values():
    with pytest.raises(TypeError, match="grad"):
        grad(Value(1.0) * 2, [1.0])

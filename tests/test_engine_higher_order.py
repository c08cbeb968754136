"""grad() and create_graph: gradients that are Values can be differentiated again.
Checked against closed forms worked out by hand."""
import math

import pytest

from tracegrad.engine import Value, grad


def derivatives(f, x0, n):
    """[f'(x0), f''(x0), ...] up to the n-th, by repeated grad(create_graph=True)."""
    x = Value(x0)
    y, out = f(x), []
    for _ in range(n):
        (y,) = grad(y, [x], create_graph=True)
        out.append(y.data)
    return out


def test_cubic_polynomial():
    # f = x^3 + 2x^2 - 3x + 1: f' = 3x^2 + 4x - 3, f'' = 6x + 4, f''' = 6, f'''' = 0
    f = lambda x: x ** 3 + 2 * x ** 2 - 3 * x + 1
    assert derivatives(f, 1, 3) == [4, 10, 6]
    assert derivatives(f, 2.0, 3) == [17.0, 16.0, 6.0]


def test_exp_is_its_own_derivative():
    assert derivatives(lambda x: x.exp(), 0.7, 4) == pytest.approx([math.exp(0.7)] * 4)


def test_tanh_closed_forms():
    # tanh' = 1 - t^2, tanh'' = -2t(1 - t^2), tanh''' = (6t^2 - 2)(1 - t^2)
    t = math.tanh(0.4)
    expected = [1 - t * t, -2 * t * (1 - t * t), (6 * t * t - 2) * (1 - t * t)]
    assert derivatives(lambda x: x.tanh(), 0.4, 3) == pytest.approx(expected, rel=1e-12)


def test_sigmoid_closed_forms():
    # s' = s(1-s), s'' = s(1-s)(1-2s)
    s = 1 / (1 + math.exp(0.3))
    expected = [s * (1 - s), s * (1 - s) * (1 - 2 * s)]
    assert derivatives(lambda x: x.sigmoid(), -0.3, 2) == pytest.approx(expected, rel=1e-12)


def test_sin_cycles():
    x0 = 0.9
    expected = [math.cos(x0), -math.sin(x0), -math.cos(x0), math.sin(x0)]
    assert derivatives(lambda x: x.sin(), x0, 4) == pytest.approx(expected, rel=1e-12)


def test_log_and_value_power():
    # d/dx log x = 1/x, d2 = -1/x^2;  d/dx x^x = x^x (ln x + 1)
    assert derivatives(lambda x: x.log(), 2.0, 2) == pytest.approx([0.5, -0.25])
    x0 = 1.5
    assert derivatives(lambda x: x ** x, x0, 1) == pytest.approx([x0 ** x0 * (math.log(x0) + 1)])


def test_mixed_second_derivative():
    x, y = Value(2.0), Value(3.0)
    f = x * x * y                             # df/dx = 2xy, d2f/dxdy = 2x = 4
    dfdx, = grad(f, [x], create_graph=True)
    assert dfdx.data == 12.0
    assert grad(dfdx, [y]) == [4.0]


def test_grad_does_not_touch_dot_grad():
    x = Value(3.0)
    x.grad = 7.0
    y = x * x
    assert grad(y, [x]) == [6.0]
    assert x.grad == 7.0 and y.grad == 0


def test_grad_of_an_unused_input_is_zero():
    x, z = Value(1.0), Value(2.0)
    assert grad(x * 3, [x, z]) == [3.0, 0]


def test_backward_with_create_graph():
    x = Value(3.0)
    (x ** 3).backward(create_graph=True)      # x.grad = 3x^2, a Value
    g = x.grad
    assert isinstance(g, Value) and g.data == 27.0
    x.grad = 0
    g.backward()                              # d/dx 3x^2 = 6x = 18
    assert x.grad == 18.0


def test_newton_step_on_a_quadratic_lands_on_the_minimum():
    x = Value(5.0)
    f = (x - 2) ** 2 + 1
    d1, = grad(f, [x], create_graph=True)
    d2, = grad(d1, [x])
    assert x.data - d1.data / d2 == 2.0

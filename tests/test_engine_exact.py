"""Exact mode: int and Fraction data stay exact through + - * / and integer powers,
in the forward pass and in every gradient, so hand calculations compare with ==."""
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracegrad.engine import Value, grad


def test_a_third_times_three_is_one():
    y = Value(Fraction(1, 3)) * 3
    assert y.data == 1 and isinstance(y.data, (int, Fraction))


def test_division_of_ints_is_a_fraction():
    a, b = Value(1), Value(3)
    q = a / b
    assert q.data == Fraction(1, 3)
    q.backward()
    assert a.grad == Fraction(1, 3)         # d(a/b)/da = 1/b
    assert b.grad == Fraction(-1, 9)        # d(a/b)/db = -a/b^2


def test_ssr_intercept_example():
    # d/db (1.3 - (b + 0.64*5))^2 at b = 0 is -2 (1.3 - 3.2) = 3.8 = 19/5
    b = Value(0)
    ssr = (Fraction(13, 10) - (b + Fraction(64, 100) * 5)) ** 2
    ssr.backward()
    assert ssr.data == Fraction(361, 100)
    assert b.grad == Fraction(19, 5)


def test_negative_integer_powers_stay_exact():
    x = Value(Fraction(2, 3))
    y = x ** -2                             # 9/4; dy/dx = -2 x^-3 = -27/4
    y.backward()
    assert y.data == Fraction(9, 4)
    assert x.grad == Fraction(-27, 4)


def test_higher_order_gradients_stay_exact():
    x = Value(Fraction(1, 2))
    f = x ** 3 / 3                          # f' = x^2, f'' = 2x, f''' = 2
    d1 = grad(f, [x], create_graph=True)[0]
    d2 = grad(d1, [x], create_graph=True)[0]
    d3 = grad(d2, [x])[0]
    assert (d1.data, d2.data, d3) == (Fraction(1, 4), 1, 2)


def test_non_exact_ops_return_floats():
    assert isinstance(Value(Fraction(1, 2)).exp().data, float)
    assert isinstance(Value(1).tanh().data, float)


fractions = st.fractions(min_value=-10, max_value=10, max_denominator=50)


@given(a=fractions, b=fractions, c=fractions.filter(lambda f: f != 0))
def test_random_rational_expressions_match_hand_derivatives(a, b, c):
    x, y, z = Value(a), Value(b), Value(c)
    f = (x * y - y / z) ** 2 + x
    f.backward()
    inner = a * b - b / c
    assert f.data == inner ** 2 + a
    assert x.grad == 2 * inner * b + 1
    assert y.grad == 2 * inner * (a - 1 / c)
    assert z.grad == 2 * inner * b / c ** 2


def test_float_and_fraction_mixing_gives_floats():
    v = Value(Fraction(1, 2)) * 0.5
    assert v.data == pytest.approx(0.25) and isinstance(v.data, float)


def test_a_float_graph_stays_float():
    # an exact constant beside a float Value becomes a float, and the seed of a float
    # root is 1.0, so gradients are floats even through abs, relu and division by an int
    x = Value(2.0)
    y = abs(x / 4) + (x - 1).relu()
    y.backward()
    assert y.grad == 1.0 and type(y.grad) is float
    assert x.grad == 1.25 and type(x.grad) is float
    assert type((x / 4).parents[1].data) is float


def test_an_int_graph_stays_exact():
    x = Value(2)
    y = abs(x / 4) + (x - 1).relu()
    y.backward()
    assert y.data == Fraction(3, 2) and x.grad == Fraction(5, 4)

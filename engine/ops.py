"""The derivative table: one row per primitive operation.

Each row gives the forward function on plain numbers and the local derivatives
d out / d input, written with arithmetic that works on ints, floats, Fractions and
Values alike, so the same row serves plain backward and create_graph backward.
A constant derivative (add's 1 and 1) is written as the tuple itself: no call per node.
"""
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Union


@dataclass(frozen=True, slots=True)    # slots: read faster than a NamedTuple's fields
class Op:
    name: str          # 'mul'
    symbol: str        # how it prints: '{a} * {b}', 'tanh({a})'
    arity: int         # how many Value inputs
    forward: Callable  # forward(a, b) or forward(a[, arg]) -> number
    # d out / d input, one per input: local(out, a, b) for two inputs, local(out, a, arg)
    # for one (arg: the exponent of x**3, the slope of leaky_relu, else None); or the tuple
    local: Union[Callable, tuple]
    math: str          # the derivative in words, for explanations


def value_of(x):
    """The number inside x, whether x is a Value or already a number."""
    return getattr(x, "data", x)


def power(a, n):
    """a ** n that stays exact: an int or Fraction to an int power is a Fraction."""
    if type(n) is int and n < 0 and isinstance(a, (int, Fraction)) and not isinstance(a, bool):
        return Fraction(a) ** n
    return a ** n


def _pow_forward(a, n):
    if value_of(a) == 0 and value_of(n) < 0:
        raise ZeroDivisionError("0 raised to a negative power")
    out = power(a, n)
    if isinstance(out, complex):
        raise ValueError("a negative base to a non-integer power is not a real number")
    return out


def _either(method, fn):
    """fn on a number; on a Value, its method of that name (so create_graph records it)."""
    return lambda a: getattr(a, method)() if hasattr(a, "data") else fn(a)


_log, _sin, _cos = _either("log", math.log), _either("sin", math.sin), _either("cos", math.cos)


def _base_local(a, n):
    # d a**n / da = n * a**(n-1); at a == 0 with n < 1 it is infinite, as in PyTorch
    if value_of(a) == 0 and value_of(n) < 1:
        return 0 if value_of(n) == 0 else math.inf
    return n * power(a, n - 1)


def _exponent_local(out, a):
    # d a**b / db = a**b * log(a); 0 where a == 0 and NaN where a < 0, as in PyTorch
    a_num = value_of(a)
    if a_num > 0:
        return out * _log(a)
    return 0 if a_num == 0 else math.nan


def _sqrt_forward(a):
    if a < 0:
        raise ValueError("square root of a negative number")
    return math.sqrt(a)


def _log_forward(a):
    if a <= 0:
        raise ValueError("log is defined for positive numbers only")
    return math.log(a)


def _sigmoid_forward(a):
    # written so that exp never overflows: exp of a non-positive number only
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _softplus_forward(a):
    # log(1 + e^a) = max(a, 0) + log1p(e^-|a|), stable for any finite a
    return max(float(a), 0.0) + math.log1p(math.exp(-abs(a)))


def _sign(a):
    a = value_of(a)
    return 1 if a > 0 else (-1 if a < 0 else 0)


def _step(a):
    return 1 if value_of(a) > 0 else 0


def _sqrt_local(out, a, arg):
    # d sqrt(a)/da = 1 / (2 sqrt(a)); infinite at 0, as in PyTorch
    if value_of(out) == 0:
        return (math.inf,)
    return (0.5 / out,)


_sigmoid = _either("sigmoid", _sigmoid_forward)


# One row per primitive: Op(name, symbol, arity, forward, local derivatives, the math).
# sub, div, and exponents on either side are compositions of these (see value.py).
OPS = {op.name: op for op in [
    Op("add", "{a} + {b}", 2, lambda a, b: a + b,
       (1, 1),
       "d(a+b)/da = 1, d(a+b)/db = 1"),
    Op("mul", "{a} * {b}", 2, lambda a, b: a * b,
       lambda out, a, b: (b, a),
       "d(a*b)/da = b, d(a*b)/db = a"),
    Op("neg", "-{a}", 1, lambda a: -a,
       (-1,),
       "d(-a)/da = -1"),
    Op("pow", "{a}**{arg}", 1, _pow_forward,                 # the exponent n is a number
       lambda out, a, n: (_base_local(a, n),),
       "d(a**n)/da = n * a**(n-1)"),
    Op("powv", "{a}**{b}", 2, _pow_forward,                  # the exponent b is a Value
       lambda out, a, b: (_base_local(a, b), _exponent_local(out, a)),
       "d(a**b)/da = b * a**(b-1), d(a**b)/db = a**b * log(a)"),
    Op("exp", "exp({a})", 1, math.exp,
       lambda out, a, arg: (out,),
       "d exp(a)/da = exp(a)"),
    Op("log", "log({a})", 1, _log_forward,
       lambda out, a, arg: (1 / a,),
       "d log(a)/da = 1/a"),
    Op("sqrt", "sqrt({a})", 1, _sqrt_forward,
       _sqrt_local,
       "d sqrt(a)/da = 1 / (2 sqrt(a))"),
    Op("tanh", "tanh({a})", 1, math.tanh,
       lambda out, a, arg: (1 - out * out,),
       "d tanh(a)/da = 1 - tanh(a)**2"),
    Op("sigmoid", "sigmoid({a})", 1, _sigmoid_forward,
       lambda out, a, arg: (out * (1 - out),),
       "d sigmoid(a)/da = sigmoid(a) (1 - sigmoid(a))"),
    Op("relu", "relu({a})", 1, lambda a: a if a > 0 else type(a)(0),
       lambda out, a, arg: (_step(a),),
       "d relu(a)/da = 1 if a > 0 else 0"),
    Op("leaky_relu", "leaky_relu({a}, {arg})", 1, lambda a, s: a if a > 0 else s * a,
       lambda out, a, s: (1 if value_of(a) > 0 else s,),
       "d leaky_relu(a)/da = 1 if a > 0 else slope"),
    Op("softplus", "softplus({a})", 1, _softplus_forward,
       lambda out, a, arg: (_sigmoid(a),),
       "d softplus(a)/da = sigmoid(a)"),
    Op("sin", "sin({a})", 1, math.sin,
       lambda out, a, arg: (_cos(a),),
       "d sin(a)/da = cos(a)"),
    Op("cos", "cos({a})", 1, math.cos,
       lambda out, a, arg: (-_sin(a),),
       "d cos(a)/da = -sin(a)"),
    Op("abs", "abs({a})", 1, abs,
       lambda out, a, arg: (_sign(a),),
       "d |a|/da = sign(a) (0 at 0)"),
]}

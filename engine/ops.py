"""The derivative table: one row per primitive operation, each in one keyword form.

A row gives the forward function on plain numbers, the local derivatives d out / d input as
`local(out, a, b, arg)` (always called with those four; b is None for one input, arg None
without a parameter; written with arithmetic that works on ints, floats, Fractions and Values
alike, so the same row serves plain backward and create_graph backward) and the same
derivatives as a teacher writes them (`rules`). Value's methods, the parser, --help,
check_grad, torch parity and explanations read their facts here: a new primitive is a new row.
"""
import math
import numbers
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable


@dataclass(frozen=True, slots=True)    # slots: read faster than a NamedTuple's fields
class Op:
    name: str          # 'mul'
    symbol: str        # how it prints: '{a} * {b}', 'tanh({a})', 'leaky_relu({a}, {arg})'
    forward: Callable  # on numbers: forward(a, b), forward(a), or forward(a, arg) with a parameter
    # d out / d input, one per input, always called local(out, a, b, arg) -> tuple
    local: Callable[[Any, Any, Any, Any], tuple]
    # the same derivatives written out, one per input, over the node's names {a} {b} {out} {arg}
    rules: tuple
    arg: str = ""      # the name of the op's number parameter ('n', 'slope'), if it takes one
    kinks: tuple = ()  # inputs where the op has a corner, so no derivative: relu's 0
    # SPEED TRICK for the batch replay: the same forward and local derivatives on whole float64
    # arrays, for a row whose number code branches (`if a <= 0`); tested equal to the row
    array: "Arrays | None" = None

    @property
    def inputs(self):
        """How many inputs the op takes: 1 or 2 (one rule per input)."""
        return len(self.rules)

    @property
    def function(self):
        """True for an op written as a call, name(x): the functions of the command line."""
        return self.symbol.startswith(self.name + "(")

    @property
    def math(self):
        """The rules with the table's own names: 'd(a*b)/da = b, d(a*b)/db = a'."""
        names = {"a": "a", "b": "b", "arg": self.arg}
        out = self.symbol.format(**names)
        d = f"d {out}" if self.function else f"d({out})"
        return ", ".join(f"{d}/d{x} = " + rule.format(out=out, **names)
                         for x, rule in zip("ab", self.rules))


@dataclass(frozen=True, slots=True)
class Arrays:
    """A row's forward(a, arg) and local(out, a, b, arg) -> tuple, written with array methods
    and comparisons (no numpy import here): what the row computes, one lane per sample."""
    forward: Callable
    local: Callable


def _kept_nan(d, a):
    """d where a is a number, NaN where a is NaN (a NaN input must not look like a flat spot)."""
    nan = a != a
    if nan.any():
        d[nan] = math.nan
    return d


def _array_step(a, below=0.0):
    # 1 where a > 0, `below` where a <= 0, NaN where a is NaN: _step on every lane at once
    d = (a > 0) * 1.0 if below == 0 else (a > 0) + (a <= 0) * below
    return _kept_nan(d, a)


def _numpy():
    """numpy, for an array form: it is loaded, since the arrays came from it."""
    return sys.modules["numpy"]


def _max_forward(a, b):
    return a if a >= b or a != a else b          # a NaN on either side gives NaN


def _max_local(out, a, b, arg):
    # d max(a, b)/da = 1 where a >= b (a tie goes to a), d/db = 1 where b > a
    a, b = value_of(a), value_of(b)
    if a != a or b != b:
        return (math.nan, math.nan)
    return (1, 0) if a >= b else (0, 1)


def _array_max(a, b):
    take = (a >= b) | (a != a)
    return take.choose([b, a]) if hasattr(take, "choose") else _max_forward(a, b)


def _array_max_local(out, a, b, arg):
    da = (a >= b) * 1.0
    return _kept_nan(da, out), _kept_nan(1.0 - da, out)


def _add(a, b):
    return a + b


def _add_local(out, a, b, arg):
    return (1, 1)


def _sub(a, b):
    return a - b


def _sub_local(out, a, b, arg):
    return (1, -1)


def _mul(a, b):
    return a * b


def _mul_local(out, a, b, arg):
    return (b, a)


def value_of(x):
    """The number inside x, whether x is a Value or already a number. (A numpy scalar is a
    number: its .data is a memory buffer, so numbers are recognised by type, not by .data.)"""
    return x if isinstance(x, numbers.Number) else x.data


def divide(a, b):
    """a / b that stays exact: an int over an int is a Fraction (floats: IEEE division)."""
    if type(a) is int and type(b) is int:
        return Fraction(a, b)
    return a / b


def _either(method, fn):
    """fn on a number; on a Value, its method of that name (so create_graph records it)."""
    return lambda a: fn(a) if isinstance(a, numbers.Number) else getattr(a, method)()


def _defined(name, test, where, fn):
    """fn, refusing inputs outside its domain with a message that names the op and the
    domain. `test` is written so that NaN passes (to give NaN, as math does)."""
    def forward(a):
        if test(a):
            raise ValueError(f"{name} is defined for {where} only")
        return fn(a)
    return forward


def _over_root(sign, square):
    """sign / sqrt(square): the derivative of asin, acos, asinh, acosh; infinite where the
    root is 0 (at the ends of asin's domain, as in PyTorch)."""
    if value_of(square) == 0:
        return sign * math.inf
    return divide(sign, _sqrt(square))


_log, _sin, _cos = _either("log", math.log), _either("sin", math.sin), _either("cos", math.cos)
_sinh, _cosh = _either("sinh", math.sinh), _either("cosh", math.cosh)
_sqrt = _either("sqrt", math.sqrt)


# --- arithmetic: sub and div are rows (not a + (-b), a * b**-1), so a table shows one step
# for each and a quotient is correctly rounded
def _div_forward(a, b):
    if b == 0:
        raise ZeroDivisionError("division by zero (the divisor must be non-zero)")
    return divide(a, b)


ARITHMETIC = [
    # add, sub and mul never branch: their own functions are their array forms (the replay
    # then hands them plain arrays, not the Lanes that watch for a branch)
    Op(name="add", symbol="{a} + {b}", forward=_add, local=_add_local, rules=("1", "1"),
       array=Arrays(_add, _add_local)),
    Op(name="sub", symbol="{a} - {b}", forward=_sub, local=_sub_local, rules=("1", "-1"),
       array=Arrays(_sub, _sub_local)),
    Op(name="mul", symbol="{a} * {b}", forward=_mul, local=_mul_local, rules=("{b}", "{a}"),
       array=Arrays(_mul, _mul_local)),
    # -(out / b) rather than -a / b**2: b**2 overflows for tiny b even when a/b is finite
    Op(name="div", symbol="{a} / {b}", forward=_div_forward,
       local=lambda out, a, b, arg: (divide(1, b), -(out / b)),
       rules=("1/{b}", "-{a}/{b}^2")),
    # the larger of a and b: softmax's and logsumexp's shift by the largest input (a row, so
    # the shift is a step of the graph, the same for every sample, not a number frozen in)
    Op(name="maximum", symbol="max({a}, {b})", forward=_max_forward,
       local=_max_local,
       rules=("1 if {a} >= {b} else 0", "1 if {b} > {a} else 0"),
       array=Arrays(_array_max, _array_max_local)),
    Op(name="neg", symbol="-{a}", forward=lambda a: -a,
       local=lambda out, a, b, arg: (-1,),
       rules=("-1",)),
]


# --- powers: a number exponent (pow, x**3) or a Value exponent (powv, x**y and 2**x)
def power(a, n):
    """a ** n that stays exact: an int or Fraction to an int power is a Fraction."""
    if type(n) is int and n < 0 and isinstance(a, (int, Fraction)) and not isinstance(a, bool):
        return Fraction(a) ** n
    return a ** n


def _pow_forward(a, n):
    if a == 0 and n < 0:
        raise ZeroDivisionError("0 raised to a negative power")
    out = power(a, n)
    if isinstance(out, complex):
        raise ValueError("a negative base to a non-integer power is not a real number")
    return out


def _base_local(a, n):
    # d a**n / da = n * a**(n-1); at a == 0 with n < 1 it is infinite, as in PyTorch
    if value_of(a) == 0 and value_of(n) < 1:
        return 0 if value_of(n) == 0 else math.inf
    try:
        return n * power(a, n - 1)
    except OverflowError:       # too large for a float: infinite, as in PyTorch
        a, n = value_of(a), value_of(n)
        negative = (n < 0) != (a < 0 and (n - 1) % 2 == 1)     # the sign of n * a**(n-1)
        return -math.inf if negative else math.inf


def _array_base_local(out, a, b, n):
    # n * a**(n-1) on every lane, with _base_local's answer where a == 0 and n < 1
    d = n * a ** (n - 1)
    if n < 1:
        zero = a == 0
        if zero.any():
            d[zero] = 0 if n == 0 else math.inf
    return (d,)


def _exponent_local(out, a):
    # d a**b / db = a**b * log(a); 0 where a == 0 and NaN where a < 0, as in PyTorch
    a_num = value_of(a)
    if a_num > 0:
        return out * _log(a)
    return 0 if a_num == 0 else math.nan


POWERS = [
    Op(name="pow", symbol="{a}**{arg}", forward=_pow_forward,       # the exponent n is a number
       local=lambda out, a, b, n: (_base_local(a, n),),
       rules=("{arg} * {a}^({arg}-1)",), arg="n",
       # 0 to a negative power, a negative base to a fraction: inf or NaN here, and the
       # replay then reruns the row to raise its error
       array=Arrays(lambda a, n: a ** n, _array_base_local)),
    Op(name="powv", symbol="{a}**{b}", forward=_pow_forward,        # the exponent b is a Value
       local=lambda out, a, b, arg: (_base_local(a, b), _exponent_local(out, a)),
       rules=("{b} * {a}^({b}-1)", "{a}^{b} * log({a})")),
]


# --- exp, log, sqrt and the activations of neural networks
def _sqrt_local(out, a, b, arg):
    # d sqrt(a)/da = 1 / (2 sqrt(a)); infinite at 0, as in PyTorch
    if value_of(out) == 0:
        return (math.inf,)
    return (0.5 / out,)


def _sigmoid_forward(a):
    # written so that exp never overflows: exp of a non-positive number only
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _softplus_forward(a):
    # log(1 + e^a) = max(a, 0) + log1p(e^-|a|), stable for any finite a
    return max(float(a), 0.0) + math.log1p(math.exp(-abs(a)))


def _relu(a):
    return type(a)(0) if a <= 0 else a      # `<= 0`, not `> 0`: relu(nan) is nan


def _sign(a):
    # sign(nan) is nan: a NaN input must not look like a flat spot to the gradient
    a = value_of(a)
    return 1 if a > 0 else -1 if a < 0 else 0 if a == 0 else math.nan


def _step(a, below=0):
    a = value_of(a)
    return 1 if a > 0 else below if a <= 0 else math.nan


def _step_forward(a):
    # the perceptron's unit: 1 or 0 in a's type, as relu keeps it (an int stays an int);
    # step(nan) is nan (relu's derivative, _step, is the same function)
    return type(a)(_step(a))


def _xlogy_forward(a, b):
    # a log(b), and 0 where a == 0 whatever b is (0 log 0 = 0, the limit of x log x): an
    # entropy's or a divergence's term for an outcome of probability 0 (NaN stays NaN)
    if a == 0 and b == b:
        return type(a)(0)
    if a != a or b != b:
        return math.nan
    if b <= 0:
        raise ValueError("xlogy(a, b) = a log(b) is defined for b > 0 (or a = 0) only")
    return a * math.log(b)


def _xlogy_local(out, a, b, arg):
    # d xlogy(a, b)/da = log(b), d/db = a/b. Where a == 0 the row is 0 for every b, so d/db
    # = 0 there (0/b, and 0 also at b == 0, where a/b is 0/0); d/da stays log(b) (a log b is
    # a straight line in a), except where b <= 0 has no log: 0 there, as in PyTorch.
    # (Past those, b <= 0 only comes with a NaN: NaN.)
    a_num, b_num = value_of(a), value_of(b)
    if a_num == 0 and b_num == b_num:
        return (_log(b) if b_num > 0 else 0, 0)
    return (_log(b) if b_num > 0 else math.nan, divide(a, b) if b_num != 0 else math.nan)


def _array_xlogy(a, b):
    zero = (a == 0) & (b == b)          # _xlogy_forward's 0, on the lanes where it applies
    np = _numpy()
    return np.where(zero, 0.0, a * np.log(b))


def _array_xlogy_local(out, a, b, arg):
    zero = (a == 0) & (b == b)          # _xlogy_local's branches, lane by lane
    np = _numpy()
    return (np.where(b > 0, np.log(b), np.where(zero, 0.0, math.nan)),
            np.where(zero, 0.0, a / b))


_sigmoid = _either("sigmoid", _sigmoid_forward)

FUNCTIONS = [
    Op(name="exp", symbol="exp({a})", forward=math.exp,
       local=lambda out, a, b, arg: (out,),
       rules=("exp({a})",)),
    Op(name="log", symbol="log({a})",
       forward=_defined("log", lambda a: a <= 0, "positive numbers", math.log),
       local=lambda out, a, b, arg: (divide(1, a),),
       rules=("1/{a}",),
       # log <= 0 gives NaN or -inf here; the replay then reruns the row to raise its error
       array=Arrays(lambda a, arg: _numpy().log(a), lambda out, a, b, arg: (1.0 / a,))),
    # x log y with 0 log y = 0 (torch.xlogy, scipy.special.xlogy): kl_div's and entropy's
    # terms, the same graph whether a probability is 0 or not (so a batch of labels replays)
    Op(name="xlogy", symbol="xlogy({a}, {b})", forward=_xlogy_forward,
       local=_xlogy_local,
       rules=("log({b}) if {b} > 0 else 0", "{a}/{b} if {a} != 0 else 0"),
       # b <= 0 where a != 0 gives NaN or -inf here; the replay then reruns the row to raise
       array=Arrays(_array_xlogy, _array_xlogy_local)),
    Op(name="sqrt", symbol="sqrt({a})",
       forward=_defined("sqrt", lambda a: a < 0, "non-negative numbers", math.sqrt),
       local=_sqrt_local,
       rules=("1/(2 * sqrt({a}))",)),
    Op(name="tanh", symbol="tanh({a})", forward=math.tanh,
       local=lambda out, a, b, arg: (1 - out * out,),
       rules=("1 - {out}^2",)),
    Op(name="sigmoid", symbol="sigmoid({a})", forward=_sigmoid_forward,
       local=lambda out, a, b, arg: (out * (1 - out),),
       rules=("{out} * (1 - {out})",)),
    Op(name="relu", symbol="relu({a})", forward=_relu,
       local=lambda out, a, b, arg: (_step(a),),
       rules=("1 if {a} > 0 else 0",), kinks=(0,),
       # the step from the output in one pass: sign(max(a, 0)) is 1, 0, or NaN for NaN
       array=Arrays(lambda a, arg: _numpy().maximum(a, 0.0),
                    lambda out, a, b, arg: (_numpy().sign(out),))),
    # the binary step: no gradient flows back through it (why perceptrons were not trained
    # by gradient descent); a row, so its 1 or 0 is a step of the graph, not a frozen number
    Op(name="step", symbol="step({a})", forward=_step_forward,
       local=lambda out, a, b, arg: (0,),      # 0 on both sides of the jump, and at it
       rules=("0",), kinks=(0,),
       array=Arrays(lambda a, arg: _array_step(a),
                    lambda out, a, b, arg: (_numpy().zeros_like(a),))),   # 0 in every lane
    Op(name="leaky_relu", symbol="leaky_relu({a}, {arg})",
       forward=lambda a, s: a if a > 0 else s * a,
       local=lambda out, a, b, s: (_step(a, below=s),),
       rules=("1 if {a} > 0 else {arg}",), arg="slope", kinks=(0,),
       array=Arrays(lambda a, s: a * _array_step(a, s),
                    lambda out, a, b, s: (_array_step(a, s),))),
    Op(name="softplus", symbol="softplus({a})", forward=_softplus_forward,
       local=lambda out, a, b, arg: (_sigmoid(a),),
       rules=("sigmoid({a})",)),
    Op(name="sin", symbol="sin({a})", forward=math.sin,
       local=lambda out, a, b, arg: (_cos(a),),
       rules=("cos({a})",)),
    Op(name="cos", symbol="cos({a})", forward=math.cos,
       local=lambda out, a, b, arg: (-_sin(a),),
       rules=("-sin({a})",)),
    Op(name="tan", symbol="tan({a})", forward=math.tan,
       local=lambda out, a, b, arg: (1 + out * out,),
       rules=("1 + {out}^2",)),
    Op(name="abs", symbol="abs({a})", forward=abs,
       local=lambda out, a, b, arg: (_sign(a),),
       rules=("sign({a})",), kinks=(0,),
       array=Arrays(lambda a, arg: abs(a),
                    lambda out, a, b, arg: (_kept_nan((a > 0) - (a < 0) * 1.0, a),))),
]


# --- the inverse trigonometric functions and the hyperbolic functions and their inverses
INVERSES_AND_HYPERBOLIC = [
    Op(name="asin", symbol="asin({a})",
       forward=_defined("asin", lambda a: a < -1 or a > 1, "-1 <= x <= 1", math.asin),
       local=lambda out, a, b, arg: (_over_root(1, 1 - a * a),),
       rules=("1/sqrt(1 - {a}^2)",)),
    Op(name="acos", symbol="acos({a})",
       forward=_defined("acos", lambda a: a < -1 or a > 1, "-1 <= x <= 1", math.acos),
       local=lambda out, a, b, arg: (_over_root(-1, 1 - a * a),),
       rules=("-1/sqrt(1 - {a}^2)",)),
    Op(name="atan", symbol="atan({a})", forward=math.atan,
       local=lambda out, a, b, arg: (divide(1, 1 + a * a),),
       rules=("1/(1 + {a}^2)",)),
    Op(name="sinh", symbol="sinh({a})", forward=math.sinh,
       local=lambda out, a, b, arg: (_cosh(a),),
       rules=("cosh({a})",)),
    Op(name="cosh", symbol="cosh({a})", forward=math.cosh,
       local=lambda out, a, b, arg: (_sinh(a),),
       rules=("sinh({a})",)),
    Op(name="asinh", symbol="asinh({a})", forward=math.asinh,
       local=lambda out, a, b, arg: (_over_root(1, a * a + 1),),
       rules=("1/sqrt({a}^2 + 1)",)),
    Op(name="acosh", symbol="acosh({a})",
       forward=_defined("acosh", lambda a: a < 1, "x >= 1", math.acosh),
       local=lambda out, a, b, arg: (_over_root(1, a * a - 1),),
       rules=("1/sqrt({a}^2 - 1)",)),
    Op(name="atanh", symbol="atanh({a})",
       forward=_defined("atanh", lambda a: a <= -1 or a >= 1, "-1 < x < 1", math.atanh),
       local=lambda out, a, b, arg: (divide(1, 1 - a * a),),
       rules=("1/(1 - {a}^2)",)),
]

OPS = {op.name: op for op in ARITHMETIC + POWERS + FUNCTIONS + INVERSES_AND_HYPERBOLIC}

"""Value: one scalar node of a computation graph.

A Value holds its number (`data`), its gradient (`grad`), the ordered tuple of Values it
was computed from (`parents`) and the row of the derivative table that computed it.
Operators and methods look the operation up in `ops.OPS`; they never touch `.grad`.
"""
import math
import numbers
from fractions import Fraction

from . import modes
from .ops import OPS
from .text import fmt, written

_ADD, _MUL, _NEG, _POW, _POWV = OPS["add"], OPS["mul"], OPS["neg"], OPS["pow"], OPS["powv"]


def _number(data):
    """Check and normalise what may be stored in a Value: int, float or Fraction."""
    kind = type(data)
    if kind is float or kind is int or kind is Fraction:
        return data
    if isinstance(data, bool):
        return int(data)
    if isinstance(data, numbers.Integral):
        return int(data)
    if isinstance(data, numbers.Rational):
        return Fraction(data)
    if isinstance(data, numbers.Real):
        return float(data)
    raise TypeError(f"Value(data={data!r}): data must be an int, float or Fraction, "
                    f"not {kind.__name__}")


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back to it."""

    # The parents are two slots, _a and _b (None when absent), rather than a tuple: one
    # object per node instead of two halves the cyclic garbage collector's work while a
    # graph is built and saves 48 bytes a node. `parents` gives them back as a tuple.
    # _arg (set by unary ops only) and _label (set when named) are left empty otherwise:
    # a store fewer per node each, and a reference fewer for the collector to visit.
    __slots__ = ("data", "grad", "_a", "_b", "_op", "_arg", "_label", "__weakref__")

    def __init__(self, data, parents=(), _op=None, label=None, _arg=None):
        self.data = _number(data) if _op is None else data
        self.grad = 0
        if len(parents) > 2:
            raise ValueError(f"Value: at most two parents (every op has arity 1 or 2), "
                             f"got {len(parents)}")
        self._a = parents[0] if parents else None
        self._b = parents[1] if len(parents) > 1 else None
        self._op = _op
        self._arg = _arg
        if label is not None:
            self._label = label

    # --- what a node is ---------------------------------------------------------
    @property
    def op(self):
        """Name of the operation that made this node ('' for a leaf): 'mul', 'tanh', ..."""
        return self._op.name if self._op is not None else ""

    @property
    def parents(self):
        """The Values this one was computed from, in order: x*x has (x, x); () for a leaf."""
        a, b = self._a, self._b
        return () if a is None else (a,) if b is None else (a, b)

    @property
    def arg(self):
        """The op's number parameter, if any: the exponent of x**3, the slope of leaky_relu."""
        return getattr(self, "_arg", None)

    @property
    def label(self):
        """A name for this Value in tables, explanations and drawings (None: unnamed)."""
        return getattr(self, "_label", None)

    @label.setter
    def label(self, name):
        self._label = name

    @property
    def is_leaf(self):
        """True for a Value made by the user (or a constant), not by an operation."""
        return self._a is None

    def __repr__(self):
        parts = [f"data={fmt(self.data, typed=True)}", f"grad={fmt(self.grad, typed=True)}"]
        if self._op is not None:
            parts.append(f"op={self.op!r}")
        if self.label is not None:
            parts.append(f"label={self.label!r}")
        return f"Value({', '.join(parts)})"

    # --- differentiation ----------------------------------------------------------
    def backward(self, gradient=1, create_graph=False):
        """Fill `.grad` on every node of this Value's graph with d self / d node.

        Leaf gradients accumulate across calls until zeroed; interior nodes hold this
        pass's gradient. With create_graph=True the gradients are Values themselves."""
        from .graph import backward
        backward(self, gradient, create_graph)

    # --- arithmetic: add, mul, neg and pow are primitives; the rest compose them ----
    # add, mul and neg compute the table's forward inline: they are most of every graph.
    # add and mul also make their node inline (what _node does when recording plainly):
    # a call fewer per node is 11% of the time to build a graph.
    def __add__(self, other):
        if type(other) is not Value:
            other = _constant(other, self.data)
        if not modes.plain:
            return _node(self.data + other.data, self, other, _ADD)
        node = _new(Value)
        node.data = self.data + other.data
        node.grad = 0
        node._a = self
        node._b = other
        node._op = _ADD
        return node

    def __mul__(self, other):
        if type(other) is not Value:
            other = _constant(other, self.data)
        if not modes.plain:
            return _node(self.data * other.data, self, other, _MUL)
        node = _new(Value)
        node.data = self.data * other.data
        node.grad = 0
        node._a = self
        node._b = other
        node._op = _MUL
        return node

    def __neg__(self):
        return _node(-self.data, self, None, _NEG)

    def __pow__(self, other):
        if isinstance(other, Value):
            return _apply(_POWV, self, other)
        if not isinstance(other, (int, float, Fraction)) or isinstance(other, bool):
            raise TypeError(f"pow: exponent must be a number or a Value, not {type(other).__name__}")
        return _apply(_POW, self, None, other)

    def __rpow__(self, other):          # 2 ** x: the base is a constant
        return _constant(other, self.data) ** self

    def __radd__(self, other):          # other + self (sum() starts with 0 + first)
        return _constant(other, self.data) + self

    def __rmul__(self, other):
        return _constant(other, self.data) * self

    def __sub__(self, other):           # a - b = a + (-b)
        return self + (-other)

    def __rsub__(self, other):          # other - self = other + (-self)
        return _constant(other, self.data) + (-self)

    def __truediv__(self, other):       # a / b = a * b**-1
        if type(other) is not Value:
            other = _constant(other, self.data)
        _check_divisor(self, other)
        return self * other ** -1

    def __rtruediv__(self, other):      # other / self = other * self**-1
        other = _constant(other, self.data)
        _check_divisor(other, self)
        return other * self ** -1

    def __abs__(self):
        return _apply(OPS["abs"], self)

    # --- functions -----------------------------------------------------------------
    def exp(self):
        return _apply(OPS["exp"], self)

    def log(self):
        return _apply(OPS["log"], self)

    def sqrt(self):
        return _apply(OPS["sqrt"], self)

    def tanh(self):
        return _apply(OPS["tanh"], self)

    def sigmoid(self):
        return _apply(OPS["sigmoid"], self)

    def relu(self):
        return _apply(OPS["relu"], self)

    def leaky_relu(self, slope=0.01):
        return _apply(OPS["leaky_relu"], self, None, slope)

    def softplus(self):
        return _apply(OPS["softplus"], self)

    def sin(self):
        return _apply(OPS["sin"], self)

    def cos(self):
        return _apply(OPS["cos"], self)

    def abs(self):
        return _apply(OPS["abs"], self)


_new = object.__new__


def _constant(number, partner):
    """A number met in an expression (the 3 in x * 3) as a leaf Value.

    Beside a float partner an exact constant (int, Fraction) becomes a float, so a float
    graph stays float: x / 4 has d/dx = 0.25, not Fraction(1, 4); beside an int or a
    Fraction it stays exact. An int or float is stored without Value.__init__'s checks;
    anything else goes through them (and so raises the usual TypeError)."""
    kind = type(number)
    if kind is not float and type(partner) is float and isinstance(number, (int, Fraction)):
        number, kind = float(number), float
    if kind is not float and kind is not int:
        return Value(number)
    leaf = _new(Value)
    leaf.data = number
    leaf.grad = 0
    leaf._a = leaf._b = leaf._op = None
    return leaf


def _node(data, a, b, op, arg=None):
    """The result of op on parents a (and b): a graph node, or a plain leaf under no_grad().

    The hot path of every operation: one flag test, then the slots written directly
    (data is already a number, so Value.__init__'s checks are skipped)."""
    if not modes.plain:
        if modes.anomaly:
            _check_finite(data, op, (a,) if b is None else (a, b), arg)
        if not modes.grad_enabled:
            return Value(data)
    node = _new(Value)
    node.data = data
    node.grad = 0
    node._a = a
    node._b = b
    node._op = op
    node._arg = arg
    return node


def _apply(op, a, b=None, arg=None):
    """Run op's forward function on the parents' data, with errors that name the op."""
    try:
        if b is not None:
            data = op.forward(a.data, b.data)
        elif arg is not None:
            data = op.forward(a.data, arg)
        else:
            data = op.forward(a.data)
    except (ValueError, ZeroDivisionError, OverflowError) as err:
        parents = (a,) if b is None else (a, b)
        raise type(err)(f"{op.name}: {describe(op, parents, arg)} failed: {err}") from None
    return _node(data, a, b, op, arg)


def describe(op, parents, arg=None):
    """An operation written out with its inputs: 'exp(1000.0)', 'x * 2 with x=inf'."""
    names = [fmt(p.data, typed=True) if p.label is None else p.label for p in parents]
    text = written(op, names, arg)
    labelled = [f"{p.label}={fmt(p.data, typed=True)}" for p in parents if p.label is not None]
    return text + (" with " + ", ".join(dict.fromkeys(labelled)) if labelled else "")


def _check_divisor(a, b):
    if b.data == 0:
        raise ZeroDivisionError(f"div: {fmt(a.data, typed=True)} / {fmt(b.data, typed=True)}: "
                                "division by zero (the divisor must be non-zero)")


def _check_finite(data, op, parents, arg):
    if isinstance(data, float) and not math.isfinite(data):
        raise FloatingPointError(f"detect_anomaly: {op.name} produced {data} "
                                 f"from {describe(op, parents, arg)}")

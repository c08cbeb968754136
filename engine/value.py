"""Value: one scalar node of a computation graph.

A Value holds its number (`data`), its gradient (`grad`), the ordered tuple of Values it
was computed from (`parents`) and the row of the derivative table that computed it.
Operators and methods look the operation up in `ops.OPS`; they never touch `.grad`.
backward() and grad() run graph.py's chain rule over a Value's graph.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Callable, Literal, overload

from . import graph
from .modes import PLAIN, current as _mode
from .ops import OPS, Op
from .text import describe, fmt

_ADD, _SUB, _MUL, _DIV = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"]
_POW, _POWV = OPS["pow"], OPS["powv"]

# The engine's numbers: a Value's data, a constant, an exponent, a slope (see _number).
Number = int | float | Fraction


def _number(x: object) -> Number | None:
    """The one rule for a number met anywhere (data, a constant, an exponent, a slope):
    int, float and Fraction are kept; any other real number is converted by its kind
    (numbers.Integral -> int, numbers.Rational -> Fraction, numbers.Real -> float: so
    True is 1 and numpy's float64 is a float). Anything else gives None."""
    if isinstance(x, float):
        return x if type(x) is float else float(x)
    if isinstance(x, int):
        return x if type(x) is int else int(x)          # True is 1
    if isinstance(x, Fraction):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Rational):
        return Fraction(int(x.numerator), int(x.denominator))
    if isinstance(x, numbers.Real):
        return float(x)
    return None


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back to it."""

    # The parents are two slots, _a and _b (None when absent), rather than a tuple: one
    # object per node instead of two means less work for the cyclic garbage collector
    # while a graph is built, and less memory (README, Performance). `parents` gives them
    # back as a tuple.
    # _arg (set by one-input ops) and _label (set when named) are left empty otherwise:
    # a store fewer per node each, and a reference fewer for the collector to visit.
    __slots__ = ("data", "grad", "_a", "_b", "_op", "_arg", "_label", "__weakref__")
    data: Number
    grad: Gradient          # a Value after backward(create_graph=True)
    _a: Value | None
    _b: Value | None
    _op: Op | None
    _arg: Number | None
    _label: str | None

    def __init__(self, data: Number, label: str | None = None) -> None:
        """A leaf: a number you give (int, float or Fraction), optionally named."""
        number = _number(data)
        if number is None:
            raise TypeError(f"Value(data={data!r}): data must be an int, float or Fraction "
                            f"(or another real number), not {type(data).__name__}")
        self.data = number
        self.grad = 0
        self._a = self._b = self._op = None
        if label is not None:
            self._label = label

    # --- what a node is ---------------------------------------------------------
    @property
    def op(self) -> str:
        """Name of the operation that made this node ('' for a leaf): 'mul', 'tanh', ..."""
        return self._op.name if self._op is not None else ""

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in order: x*x has (x, x); () for a leaf."""
        a, b = self._a, self._b
        return () if a is None else (a,) if b is None else (a, b)

    @property
    def arg(self) -> Number | None:
        """The op's number parameter, if any: the exponent of x**3, the slope of leaky_relu."""
        return getattr(self, "_arg", None)

    @property
    def label(self) -> str | None:
        """A name for this Value in tables, explanations and drawings (None: unnamed)."""
        return getattr(self, "_label", None)

    @label.setter
    def label(self, name: str | None) -> None:
        self._label = name

    @property
    def is_leaf(self) -> bool:
        """True for a Value made by the user (or a constant), not by an operation."""
        return self._a is None

    def __repr__(self) -> str:
        parts = [f"data={fmt(self.data, typed=True)}", f"grad={fmt(self.grad, typed=True)}"]
        if self._op is not None:
            parts.append(f"op={self.op!r}")
        if self.label is not None:
            parts.append(f"label={self.label!r}")
        return f"Value({', '.join(parts)})"

    # --- differentiation ----------------------------------------------------------
    def backward(self, gradient: Number = 1, create_graph: bool = False) -> None:
        """Fill `.grad` on every node of this Value's graph with d self / d node.

        Leaf gradients accumulate across calls until zeroed; interior nodes hold this
        pass's gradient. With create_graph=True the gradients are Values themselves."""
        backward(self, gradient, create_graph)

    # --- arithmetic: add, sub, mul, div, neg and pow are rows of the table --------------
    # A number on the other side becomes a constant leaf; anything else is NotImplemented,
    # so Python says which operator failed: "unsupported operand type(s) for -".
    def __add__(self, other: Value | Number) -> Value:
        if type(other) is not Value:            # a number, or a subclass of Value
            b = _operand(other, self.data)
            if b is None:
                return NotImplemented
            other = b
        if _mode() is not PLAIN:
            return _node(self.data + other.data, self, other, _ADD)
        # speed trick: what _node does in the usual mode, written inline (add and mul are
        # most nodes of a graph; benchmarks/results.md measures what it saves, and
        # tests/test_engine_chain_rule.py checks both ways give the same node)
        node = _new(Value)
        node.data = self.data + other.data
        node.grad = 0
        node._a = self
        node._b = other
        node._op = _ADD
        return node

    def __radd__(self, other: Number) -> Value:          # other + self
        if type(other) is int and other == 0:
            return self                 # sum() starts from the int 0: 0 + v is v, no node
        constant = _constant(other, self.data)
        return NotImplemented if constant is None else constant + self

    def __mul__(self, other: Value | Number) -> Value:
        if type(other) is not Value:            # as in __add__
            b = _operand(other, self.data)
            if b is None:
                return NotImplemented
            other = b
        if _mode() is not PLAIN:
            return _node(self.data * other.data, self, other, _MUL)
        node = _new(Value)                      # the speed trick of __add__
        node.data = self.data * other.data
        node.grad = 0
        node._a = self
        node._b = other
        node._op = _MUL
        return node

    def __rmul__(self, other: Number) -> Value:
        constant = _constant(other, self.data)
        return NotImplemented if constant is None else constant * self

    def __neg__(self) -> Value:
        return _node(-self.data, self, None, OPS["neg"])

    def __sub__(self, other: Value | Number) -> Value:
        b = _operand(other, self.data)
        return NotImplemented if b is None else _node(self.data - b.data, self, b, _SUB)

    def __rsub__(self, other: Number) -> Value:          # other - self
        constant = _constant(other, self.data)
        return NotImplemented if constant is None else constant - self

    def __truediv__(self, other: Value | Number) -> Value:
        b = _operand(other, self.data)
        return NotImplemented if b is None else _apply(_DIV, self, b)

    def __rtruediv__(self, other: Number) -> Value:      # other / self: 1 / x is one division
        constant = _constant(other, self.data)
        return NotImplemented if constant is None else _apply(_DIV, constant, self)

    def __pow__(self, other: Value | Number) -> Value:
        if isinstance(other, Value):
            return _apply(_POWV, self, other)
        n = _number(other)
        return NotImplemented if n is None else _apply(_POW, self, None, n)

    def __rpow__(self, other: Number) -> Value:          # 2 ** x: the base is a constant
        constant = _constant(other, self.data)
        return NotImplemented if constant is None else _apply(_POWV, constant, self)

    def __abs__(self) -> Value:
        return _apply(OPS["abs"], self)

    def maximum(self, other: Value | Number) -> Value:
        """max(self, other), a node of the graph (torch.maximum): the gradient goes to the
        larger (to self on a tie)."""
        return self._with("maximum", other)

    def xlogy(self, other: Value | Number) -> Value:
        """self * log(other), and 0 where self == 0 (torch.xlogy): the term p log q of an
        entropy or a divergence, 0 for an outcome of probability 0 whatever q is."""
        return self._with("xlogy", other)

    def _with(self, name: str, other: Value | Number) -> Value:
        """The two-input row `name` on self and other (a Value, a subclass's, or a number)."""
        operand = _operand(other, self.data)
        if operand is None:
            raise TypeError(f"{name}: the other operand must be a Value or a real number, "
                            f"not {type(other).__name__} {other!r}")
        return _apply(OPS[name], self, operand)

    # --- functions: exp, log, tanh ... are made from the table below this class ------
    def leaky_relu(self, slope: Number = 0.01) -> Value:
        """x if x > 0 else slope * x (slope: a number)."""
        op = OPS["leaky_relu"]
        number = _number(slope) if not isinstance(slope, Value) else None
        if number is None:
            raise TypeError(f"leaky_relu: the slope must be a real number (int, float or "
                            f"Fraction), not {type(slope).__name__} {slope!r}")
        return _apply(op, self, None, number)

    if TYPE_CHECKING:
        # Made by the loop below from the table's one-input rows; declared here only so
        # type checkers see them (tests check these names are exactly those rows).
        def exp(self) -> Value: ...
        def log(self) -> Value: ...
        def sqrt(self) -> Value: ...
        def tanh(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def relu(self) -> Value: ...
        def step(self) -> Value: ...
        def softplus(self) -> Value: ...
        def sin(self) -> Value: ...
        def cos(self) -> Value: ...
        def tan(self) -> Value: ...
        def abs(self) -> Value: ...
        def asin(self) -> Value: ...
        def acos(self) -> Value: ...
        def atan(self) -> Value: ...
        def sinh(self) -> Value: ...
        def cosh(self) -> Value: ...
        def asinh(self) -> Value: ...
        def acosh(self) -> Value: ...
        def atanh(self) -> Value: ...


# A gradient: a number, or a Value when the chain rule's arithmetic is recorded.
Gradient = Number | Value


def _function(op: Op) -> Callable[[Value], Value]:
    """The method x.name() for a one-input row of the table: op applied to x."""
    def method(self: Value) -> Value:
        return _apply(op, self)
    method.__name__, method.__qualname__ = op.name, f"Value.{op.name}"
    call = op.symbol.format(a="x")
    method.__doc__ = f"{call}, whose derivative is d/dx = {op.rules[0].format(a='x', out=call)}"
    return method


# exp, log, sqrt, tanh, sigmoid, relu, softplus, sin, cos, tan, abs, asin, ...: one method
# per one-input row written as a call and taking no parameter, so a new row is a new method
# at once (a two-input call, xlogy, is a method of its own above)
for _op in OPS.values():
    if _op.function and not _op.arg and _op.inputs == 1:
        setattr(Value, _op.name, _function(_op))

_new = object.__new__


def _node(data: Number, a: Value | None = None, b: Value | None = None,
          op: Op | None = None, arg: Number | None = None) -> Value:
    """The one way the engine makes a Value: the result of op on parents a (and b), or
    with no op a leaf (a constant). Under no_grad() an op's result is a leaf too.

    The hot path of every operation: data is already a number, so Value.__init__'s checks
    are skipped, and in the usual mode (recording, no anomaly checks) one test is made."""
    if op is not None and (mode := _mode()) is not PLAIN:
        if mode.anomaly and a is not None:
            _check_finite(data, op, (a,) if b is None else (a, b), arg)
        if not mode.grad_enabled:
            a = b = op = arg = None
    node = _new(Value)
    node.data = data
    node.grad = 0
    node._a = a
    node._b = b
    node._op = op
    if b is None:
        node._arg = arg             # read by one-input ops' local derivatives
    return node


def _operand(other: object, partner: Number) -> Value | None:
    """The other side of a binary op as a Value: itself (a Value, or a subclass's), a
    constant leaf for a number, or None for anything else (the operator then returns
    NotImplemented)."""
    if type(other) is Value or isinstance(other, Value):    # the first test: the usual case, quick
        return other
    return _constant(other, partner)


def _constant(number: object, partner: Number) -> Value | None:
    """A number met in an expression (the 3 in x * 3) as a leaf Value; None if it is not
    a number (by the rule of _number).

    Beside a float partner an exact constant (int, Fraction) becomes a float, so a float
    graph stays float: x / 4 has d/dx = 0.25, not Fraction(1, 4); beside an int or a
    Fraction it stays exact."""
    exact = _number(number)
    if exact is None:
        return None
    if type(partner) is float and type(exact) is not float:
        exact = float(exact)
    return _node(exact)


def _apply(op: Op, a: Value, b: Value | None = None, arg: Number | None = None) -> Value:
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


def _check_finite(data: Number, op: Op, parents: tuple[Value, ...],
                  arg: Number | None) -> None:
    if isinstance(data, float) and not math.isfinite(data):
        raise FloatingPointError(f"detect_anomaly: {op.name} produced {data} "
                                 f"from {describe(op, parents, arg)}")


def expect_value(x: object, function: str, what: str = "the root of a graph") -> Value:
    """Raise a TypeError naming function unless x is a Value: grad(3.0, [x]) has no graph."""
    if not isinstance(x, Value):
        raise TypeError(f"{function}: expected a Value ({what}), got {type(x).__name__} "
                        f"{fmt(x, typed=True) if isinstance(x, numbers.Number) else repr(x)}")
    return x


# --- differentiation: a pass of graph.py's chain rule, one pass at a time ---------------------
def _as_value(gradient: Gradient) -> Value:
    # with create_graph every gradient is a Value; one that is still a number is constant
    # (x + 2 has d/dx = 1): it becomes a leaf, so it too can be differentiated (to 0). The
    # chain rule itself starts from the number seed, so constants add no nodes to the graph.
    return gradient if isinstance(gradient, Value) else Value(gradient)


def backward(root: Value, gradient: Number = 1, create_graph: bool = False,
             observe: graph.Observer | None = None, order: list[Value] | None = None) -> None:
    """Fill .grad on every node of root's graph with d root/d node: a leaf's .grad
    accumulates (until zeroed, as in PyTorch), an interior node's is this pass's.

    observe: as for graph.chain_rule; order: root's topological order with every .grad set
    to the number its sum starts from (backward_steps passes both: it has walked already)."""
    expect_value(root, "backward")
    seed = graph.seed(root, gradient)
    with graph.passes:
        if root._op is None:                # a leaf: d root / d root, nothing to pass on
            root.grad = root.grad + seed
            if create_graph:
                root.grad = _as_value(root.grad)
            return
        order = graph.backward_pass(root, seed, create_graph, observe, order)
        if create_graph:
            for node in order:
                node.grad = _as_value(node.grad)


# what grad() returns: numbers, or Values with create_graph=True; one, or a list for a list
@overload
def grad(output: Value, inputs: Value, create_graph: Literal[False] = False,
         gradient: Number = 1) -> Number: ...
@overload
def grad(output: Value, inputs: Value, create_graph: Literal[True],
         gradient: Number = 1) -> Value: ...
@overload
def grad(output: Value, inputs: Value, create_graph: bool,
         gradient: Number = 1) -> Gradient: ...
@overload
def grad(output: Value, inputs: Iterable[Value], create_graph: Literal[False] = False,
         gradient: Number = 1) -> list[Number]: ...
@overload
def grad(output: Value, inputs: Iterable[Value], create_graph: Literal[True],
         gradient: Number = 1) -> list[Value]: ...
@overload
def grad(output: Value, inputs: Iterable[Value], create_graph: bool,
         gradient: Number = 1) -> list[Gradient]: ...
def grad(output: Value, inputs: Value | Iterable[Value], create_graph: bool = False,
         gradient: Number = 1) -> Gradient | Sequence[Gradient]:
    """The gradients d output / d input, returned as a list; no .grad is changed.

    With create_graph=True they are Values with their own graph (constants and unused
    inputs included), so they can be differentiated again: second, third ... derivatives."""
    expect_value(output, "grad", "the output to differentiate")
    single = isinstance(inputs, Value)
    inputs = [inputs] if isinstance(inputs, Value) else list(inputs)
    for x in inputs:
        expect_value(x, "grad", "an input to differentiate with respect to")
    with graph.passes:
        order = graph.topological_order(output)
        saved = [node.grad for node in order]
        try:
            for node in order:
                node.grad = 0               # leaves too: this pass's gradient only
            seed = graph.seed(output, gradient)
            if output._op is None:
                output.grad = seed
            else:
                graph.backward_pass(output, seed, create_graph, None, order)
            in_graph = set(order)
            result = [x.grad if x in in_graph else type(x.data)(0) for x in inputs]
            if create_graph:
                result = [_as_value(g) for g in result]
        finally:
            for node, g in zip(order, saved):
                node.grad = g
    return result[0] if single else result

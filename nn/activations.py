"""Activation functions, each a composition of engine Value operations, plus softmax,
log_softmax and argmax over a list of scores. `get(name_or_callable)` turns the names
used by Neuron/Layer/MLP ("relu", "tanh", ...) into functions.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from tracegrad.engine import Value

from tracegrad.engine.value import Number

Scalar = Value | Number                       # what an activation accepts
Activation = Callable[[Value], Value]
ActivationSpec = str | Activation | None     # what Neuron, Layer and MLP accept


def as_value(x: Scalar) -> Value:
    """x itself if it is a Value, else a new constant Value holding x."""
    return x if isinstance(x, Value) else Value(x)


def identity(x: Scalar) -> Value:
    """f(x) = x, f'(x) = 1: a linear unit (the usual output of a regression network)."""
    return as_value(x)


linear = identity


def relu(x: Scalar) -> Value:
    """f(x) = max(0, x); f'(x) = 1 for x > 0, else 0 (0 at x = 0, as in PyTorch)."""
    return as_value(x).relu()


def leaky_relu(x: Scalar, slope: Number = 0.01) -> Value:
    """f(x) = x for x > 0, else slope * x; f'(x) = 1 or slope, so no unit is ever 'dead'."""
    return as_value(x).leaky_relu(slope)


def sigmoid(x: Scalar) -> Value:
    """f(x) = 1 / (1 + e^-x), the logistic function; f'(x) = f(x) (1 - f(x))."""
    return as_value(x).sigmoid()


def tanh(x: Scalar) -> Value:
    """f(x) = (e^x - e^-x) / (e^x + e^-x); f'(x) = 1 - f(x)^2."""
    return as_value(x).tanh()


def softplus(x: Scalar) -> Value:
    """f(x) = log(1 + e^x), a smooth relu (StatQuest's 'soft plus'); f'(x) = sigmoid(x)."""
    return as_value(x).softplus()


def step(x: Scalar) -> Value:
    """The binary step of the perceptron: 1 if x > 0 else 0.

    Its derivative is 0 everywhere (and undefined at 0), so no gradient flows back
    through it: this is why perceptrons could not be trained by gradient descent, and why
    smooth units (sigmoid, tanh) replaced it. It is the table's `step` row: the graph
    connects x to the output with a local derivative of exactly 0, and is the same graph
    for every sample (so a model using it replays)."""
    return as_value(x).step()


def softmax(values: Iterable[Scalar], shift: bool = True) -> list[Value]:
    """softmax(z)_i = e^(z_i) / sum_j e^(z_j), a list of probabilities summing to 1.

    shift=True (default): computed as e^(z_i - m) / sum_j e^(z_j - m) with m = max(z), the
    shift one step 'subtract the max for stability' per logit: the same numbers (the shift
    cancels, so d/dz is unchanged), and exp never overflows, so logits like [1000, 999] work.
    m is itself a node (a chain of `maximum`), so the graph is the same for every sample and
    a recorded graph replays (nn.replay). shift=False: the textbook graph, e^(z_i) itself (for
    a lesson on small logits; exp overflows past about 709)."""
    return _normalized(_exps(values, "softmax", shift))


def _exps(values: Iterable[Scalar], name: str, shift: bool) -> list[Value]:
    """e^(z_i - max z) for each logit (or e^(z_i) with shift=False)."""
    zs = [as_value(z) for z in _nonempty(values, name)]
    if not shift:
        return [z.exp() for z in zs]
    m = _largest(zs)                     # softmax is unchanged by any shift
    return [(z - m).exp() for z in zs]


def _largest(zs: list[Value]) -> Value:
    """max(z) as a node of the graph (the maximum row), so the shift is a step the same for
    every sample: a graph recorded once replays for all (nn.replay). Its gradient cancels:
    the shift adds m and takes it away again."""
    m = zs[0]
    for z in zs[1:]:
        m = m.maximum(z)
    return m


def _normalized(exps: list[Value]) -> list[Value]:
    total = sum(exps)
    return [e / total for e in exps]


def logsumexp(values: Iterable[Scalar], shift: bool = True) -> Value:
    """log sum_j e^(z_j), computed as m + log sum_j e^(z_j - m) (m = max z) so it never
    overflows; shift=False: log sum_j e^(z_j) as written (see softmax)."""
    zs = [as_value(z) for z in _nonempty(values, "logsumexp")]
    if not shift:
        return cast(Value, sum(z.exp() for z in zs)).log()
    m = _largest(zs)
    exps = cast(Value, sum((z - m).exp() for z in zs))     # zs is not empty: a Value, not 0
    return exps.log() + m


def log_softmax(values: Iterable[Scalar], shift: bool = True) -> list[Value]:
    """log softmax(z)_i = z_i - logsumexp(z): stable for any logits (shift: see softmax)."""
    zs = [as_value(z) for z in _nonempty(values, "log_softmax")]
    lse = logsumexp(zs, shift)
    return [z - lse for z in zs]


def argmax(values: Iterable[Scalar]) -> int:
    """The index of the largest value (the first one on a tie): the predicted class."""
    numbers: list[Any] = [getattr(v, "data", v) for v in _nonempty(values, "argmax")]
    return max(range(len(numbers)), key=numbers.__getitem__)


def _nonempty(values: Iterable[Scalar], name: str) -> list[Scalar]:
    values = list(values)
    if not values:
        raise ValueError(f"{name}: needs at least one value, got an empty list")
    return values


BY_NAME = {
    "identity": identity, "linear": identity, "none": identity,
    "relu": relu, "leaky_relu": leaky_relu, "sigmoid": sigmoid, "logistic": sigmoid,
    "tanh": tanh, "softplus": softplus, "step": step,
}


def get(activation: ActivationSpec) -> Activation:
    """The function for an activation given by name ('relu', 'tanh', 'sigmoid', 'softplus',
    'leaky_relu', 'step', 'linear') or a callable from Value to Value; None means linear."""
    if activation is None:
        return identity
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation.lower() in BY_NAME:
        return BY_NAME[activation.lower()]
    names = ", ".join(sorted(k for k in BY_NAME if k not in ("none", "logistic")))
    raise ValueError(f"unknown activation {activation!r}: use one of {names}, "
                     "or any function from Value to Value")


def name_of(fn: Callable[..., object]) -> str:
    """The short name of an activation function, for reprs: 'relu', 'linear', 'my_fn'."""
    if fn is identity:
        return "linear"
    return getattr(fn, "__name__", type(fn).__name__)

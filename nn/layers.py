"""Neuron, Layer and MLP: a neuron computes activation(w . x + b) with Value operations,
a layer is a list of neurons, an MLP is a list of layers (hidden layers non-linear, the
last one linear unless told otherwise). Layers and MLPs always return lists of Values.

Initialisation (seeded with random.Random(seed)): each weight ~ Uniform(-s, s) with
s = 1 / sqrt(nin) (the bound PyTorch's nn.Linear uses), each bias 0. micrograd used s = 1:
pass weight_scale=1.0 to get that.
"""
from __future__ import annotations

import math
import random
from collections.abc import Sequence
from fractions import Fraction
from typing import cast

from tracegrad.engine import Value

from . import activations
from .activations import ActivationSpec
from .module import Module, Number

# what a layer takes: a list of numbers or Values (a lone one when nin == 1)
Inputs = Sequence[Number | Value] | Number | Value


def make_rng(seed: int | random.Random | None) -> random.Random:
    """A random.Random from a seed (int or None), or the generator itself if given one."""
    return seed if isinstance(seed, random.Random) else random.Random(seed)


class Neuron(Module):
    """One unit: out = activation(w_1 x_1 + ... + w_n x_n + b)."""

    def __init__(self, nin: int, activation: ActivationSpec = "relu",
                 seed: int | random.Random | None = None,
                 weight_scale: float | None = None) -> None:
        if not isinstance(nin, int) or isinstance(nin, bool) or nin < 1:
            raise ValueError(f"Neuron: nin (the number of inputs) must be a positive int, "
                             f"got {nin!r}")
        rng = make_rng(seed)
        scale = 1 / math.sqrt(nin) if weight_scale is None else weight_scale
        self.nin = nin
        self.w = [Value(rng.uniform(-scale, scale)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activations.get(activation)
        self.label_parameters()

    def __call__(self, x: Inputs) -> Value:
        x = _inputs(x, self.nin, self)
        w = self.w
        total = w[0] * x[0]                       # w . x, left to right, then + b:
        for i in range(1, self.nin):              # no '0 + ...' node in the graph
            total = total + w[i] * x[i]
        return self.activation(total + self.b)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, {activations.name_of(self.activation)})"


class Layer(Module):
    """nout neurons that all see the same nin inputs; returns a list of nout Values."""

    def __init__(self, nin: int, nout: int, activation: ActivationSpec = "relu",
                 seed: int | random.Random | None = None,
                 weight_scale: float | None = None) -> None:
        if not isinstance(nout, int) or isinstance(nout, bool) or nout < 1:
            raise ValueError(f"Layer: nout (the number of neurons) must be a positive int, "
                             f"got {nout!r}")
        rng = make_rng(seed)
        self.neurons = [Neuron(nin, activation, rng, weight_scale) for _ in range(nout)]
        self.label_parameters()

    def __call__(self, x: Inputs) -> list[Value]:
        x = _inputs(x, self.neurons[0].nin, self)
        return [n(x) for n in self.neurons]

    def __repr__(self) -> str:
        first = self.neurons[0]
        return f"Layer({first.nin}, {len(self.neurons)}, {activations.name_of(first.activation)})"


class MLP(Module):
    """A multi-layer perceptron: MLP(2, [16, 16, 1]) maps 2 inputs through two hidden
    layers of 16 `activation` units to 1 output (`output_activation`, linear by default)."""

    def __init__(self, nin: int, nouts: list[int] | tuple[int, ...],
                 activation: ActivationSpec = "relu",
                 output_activation: ActivationSpec = None,
                 seed: int | random.Random | None = None,
                 weight_scale: float | None = None) -> None:
        if not isinstance(nouts, (list, tuple)) or not nouts:
            raise ValueError("MLP: nouts must be a non-empty list of layer sizes, "
                             "such as [16, 16, 1]")
        sizes = [nin, *nouts]
        _check_size(sizes)
        rng = make_rng(seed)
        self.layers = [Layer(sizes[i], sizes[i + 1],
                             activation if i < len(nouts) - 1 else output_activation,
                             rng, weight_scale)
                       for i in range(len(nouts))]
        self.label_parameters()

    def __call__(self, x: Inputs) -> list[Value]:
        out = self.layers[0](x)
        for layer in self.layers[1:]:
            out = layer(out)
        return out

    def __repr__(self) -> str:
        first, last = self.layers[0].neurons[0], self.layers[-1].neurons[0]
        sizes = [len(layer.neurons) for layer in self.layers]
        text = f"MLP({first.nin}, {sizes}"
        hidden = activations.name_of(first.activation) if len(self.layers) > 1 else "relu"
        if hidden != "relu":
            text += f", activation={hidden!r}"
        if activations.name_of(last.activation) != "linear":
            text += f", output_activation={activations.name_of(last.activation)!r}"
        return text + ")"


MAX_PARAMETERS = 1_000_000     # each is a Python object, and each forward pass a node per weight


def _check_size(sizes: list[int]) -> None:
    """Refuse, before building anything, a network too big for a scalar engine."""
    for size in sizes:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"MLP: layer sizes must be positive ints, got {size!r} in {sizes}")
    count = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    if count > MAX_PARAMETERS:
        raise ValueError(f"MLP({sizes[0]}, {sizes[1:]}) would have {count:,} parameters; a "
                         f"scalar engine holds at most {MAX_PARAMETERS:,} (each is a Value)")


def _inputs(x: Inputs, nin: int, who: Module) -> Sequence[Number | Value]:
    """The input as a list of nin numbers or Values; a lone number is fine when nin == 1."""
    if isinstance(x, (int, float, Fraction, Value)) or not hasattr(x, "__len__"):
        x = [cast("Number | Value", x)]     # a lone input (mypy cannot narrow on hasattr)
    if len(x) != nin:
        raise ValueError(f"{who!r}: expected {nin} input{'s' if nin != 1 else ''}, "
                         f"got {len(x)}")
    return x

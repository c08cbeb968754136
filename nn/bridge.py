"""From tracegrad.nn to PyTorch and back: to_torch(model) builds the same network as a
float64 torch.nn.Sequential (Linear layers and activation modules) holding the model's
weights; load_torch(module) builds the tracegrad MLP from such a Sequential. torch is the
optional 'torch' extra, imported only when one of these is called.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracegrad.engine.extras import require

from . import activations
from .layers import MLP, Layer, Neuron

Module = Any               # a torch.nn.Module (torch is optional: not imported to type-check)


def _torch() -> Any:
    return require("torch", "torch", "tracegrad.nn.to_torch and load_torch")


def _modules(torch: Any) -> dict[str, tuple[type, Callable[[], Module]]]:
    """Each activation that converts: its name -> (the torch.nn class, the equal module)."""
    # here, not at the top: importing the teaching tools loads the stepper and graphviz
    from tracegrad.engine.teach.torch_check import SOFTPLUS_THRESHOLD
    return {
        "relu": (torch.nn.ReLU, torch.nn.ReLU),
        "leaky_relu": (torch.nn.LeakyReLU, lambda: torch.nn.LeakyReLU(0.01)),  # our default
        "sigmoid": (torch.nn.Sigmoid, torch.nn.Sigmoid),
        "tanh": (torch.nn.Tanh, torch.nn.Tanh),
        "softplus": (torch.nn.Softplus, lambda: torch.nn.Softplus(threshold=SOFTPLUS_THRESHOLD)),
    }


def to_torch(model: MLP | Layer | Neuron) -> Module:
    """The same network as a float64 torch.nn.Sequential with a copy of the weights.

    model: an MLP, a Layer or a Neuron. Each layer becomes torch.nn.Linear(nin, nout)
    (weight[j][i] = neuron j's w[i], bias[j] = its b), followed by its activation's module
    (none for a linear layer). Given the same inputs as a (batch, nin) tensor, it computes
    the same outputs, and backward gives the same gradients."""
    torch = _torch()
    modules = _modules(torch)
    parts = []
    for neurons in _layers(model):
        linear = torch.nn.Linear(neurons[0].nin, len(neurons), dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in neurons],
                                             dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n.b.data for n in neurons], dtype=torch.float64))
        parts.append(linear)
        name = activations.name_of(neurons[0].activation)
        if name != "linear":
            if name not in modules:
                raise ValueError(f"to_torch: {model!r} uses the activation {name!r}, which has "
                                 f"no torch.nn module here; the activations that convert are "
                                 f"linear, {', '.join(modules)}")
            parts.append(modules[name][1]())
    return torch.nn.Sequential(*parts)


def load_torch(module: Module) -> MLP:
    """The tracegrad MLP equal to a torch.nn.Sequential of Linear layers, each followed by
    at most one of ReLU, LeakyReLU(0.01), Sigmoid, Tanh, Softplus (or nothing: linear),
    with the same activation on every hidden layer; its weights become Values (floats)."""
    torch = _torch()
    layers = _linear_layers(torch, module)
    hidden = {name for _, name in layers[:-1]}
    if len(hidden) > 1:
        raise ValueError(f"load_torch: the hidden layers use different activations "
                         f"{sorted(hidden)}; a tracegrad MLP has one for all hidden layers")
    sizes = [linear.out_features for linear, _ in layers]
    model = MLP(layers[0][0].in_features, sizes, activation=hidden.pop() if hidden else "relu",
                output_activation=layers[-1][1])
    state: dict[str, float] = {}
    for i, (linear, _) in enumerate(layers):
        weight = linear.weight.detach().double().tolist()
        bias = linear.bias.detach().double().tolist()
        for j, (row, b) in enumerate(zip(weight, bias)):
            state.update({f"layers.{i}.neurons.{j}.w.{k}": w for k, w in enumerate(row)})
            state[f"layers.{i}.neurons.{j}.b"] = b
    model.load_state_dict(state, source="load_torch")
    return model


def _layers(model: MLP | Layer | Neuron) -> list[list[Neuron]]:
    """The model's neurons, layer by layer."""
    if isinstance(model, MLP):
        return [layer.neurons for layer in model.layers]
    if isinstance(model, Layer):
        return [model.neurons]
    if isinstance(model, Neuron):
        return [[model]]
    raise TypeError(f"to_torch: expected an MLP, Layer or Neuron, got {type(model).__name__}")


def _linear_layers(torch: Any, module: Module) -> list[tuple[Module, str]]:
    """[(Linear, activation name)] from a Sequential, or a ValueError naming what is not."""
    names = {kind: name for name, (kind, _) in _modules(torch).items()}
    names[torch.nn.Identity] = "linear"
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"load_torch: expected a torch.nn.Sequential of Linear layers and "
                        f"activations, got {type(module).__name__}")
    layers: list[list[Any]] = []
    for part in module:
        if isinstance(part, torch.nn.Linear):
            if part.bias is None:
                raise ValueError("load_torch: a Linear layer without a bias has no tracegrad "
                                 "counterpart (every Neuron has one)")
            layers.append([part, "linear"])
        elif type(part) in names and layers and layers[-1][1] == "linear":
            _same_as_tracegrad(part, torch)
            layers[-1][1] = names[type(part)]
        else:
            raise ValueError(f"load_torch: cannot convert {part!r} here: each Linear may be "
                             f"followed by one of {', '.join(sorted(set(names.values())))}")
    if not layers:
        raise ValueError("load_torch: the Sequential has no Linear layer")
    return [tuple(pair) for pair in layers]


def _same_as_tracegrad(part: Module, torch: Any) -> None:
    """An activation module whose parameters tracegrad's function does not share."""
    if isinstance(part, torch.nn.LeakyReLU) and part.negative_slope != 0.01:
        raise ValueError(f"load_torch: {part!r}: tracegrad's leaky_relu has slope 0.01")
    if isinstance(part, torch.nn.Softplus) and part.beta != 1:
        raise ValueError(f"load_torch: {part!r}: tracegrad's softplus has beta 1")

"""tracegrad's neural-net library: neurons, layers, losses, optimizers and training,
built only from tracegrad.engine Values so that every gradient in a network can be traced.
"""
if __name__ != "tracegrad.nn":
    # run from a clone's root, `import nn` would load these files a second time, as
    # other classes (a nn.Value is not a tracegrad.nn.Value): say what to write
    raise ImportError(f"this folder is the package tracegrad.nn: write "
                      f"`import tracegrad.nn` (or `from tracegrad.nn import ...`), "
                      f"not `import {__name__}`")
from . import activations, data, losses, optim, plot
from .activations import (argmax, identity, leaky_relu, linear, log_softmax, relu, sigmoid,
                          softmax, softplus, step, tanh)
from .layers import MLP, Layer, Neuron
from .module import Module
from .train import History, accuracy, evaluate, fit
from .bridge import load_torch, to_torch

__all__ = ["Module", "Neuron", "Layer", "MLP", "fit", "History", "accuracy", "evaluate",
           "activations", "losses", "optim", "data", "plot", "to_torch", "load_torch",
           "identity", "linear", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "step",
           "softmax", "log_softmax", "argmax"]


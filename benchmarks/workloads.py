"""The benchmark workloads, written once and run unchanged on every engine.

An engine here is anything with a number type: tracegrad's Value, micrograd's Value or
plain float (the floor: the same arithmetic with no graph). Data and weights are fixed.
"""
import math
import random


# --- data and weights -------------------------------------------------------------------
def moons(n=100, noise=0.1, seed=0):
    """Two interleaving half circles, labels -1 / +1 (micrograd's demo data, our own generator)."""
    rng = random.Random(seed)
    points, labels = [], []
    for i in range(n):
        t = math.pi * (i // 2) / max(1, n // 2 - 1)
        if i % 2 == 0:
            x, y, label = math.cos(t), math.sin(t), -1
        else:
            x, y, label = 1 - math.cos(t), 0.5 - math.sin(t), 1
        points.append([x + rng.gauss(0, noise), y + rng.gauss(0, noise)])
        labels.append(label)
    return points, labels


def mlp_weights(nin, nouts, seed=0):
    """Weights as micrograd initialises them (uniform in [-1, 1], bias 0), as floats.

    A list of layers; a layer is a list of neurons; a neuron is (weights, bias)."""
    rng = random.Random(seed)
    sizes = [nin] + list(nouts)
    return [[([rng.uniform(-1, 1) for _ in range(fan_in)], 0.0) for _ in range(fan_out)]
            for fan_in, fan_out in zip(sizes, sizes[1:])]


def flat(layers):
    """All parameters in micrograd's order: layer by layer, neuron by neuron, weights then bias."""
    return [p for layer in layers for w, b in layer for p in (*w, b)]


# --- the arithmetic ------------------------------------------------------------------------
def mlp(layers, x, relu):
    """micrograd's MLP forward: each neuron is relu(sum(w_i * x_i) + b), the last layer linear."""
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        x = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in layer]
        if not last:
            x = [relu(a) for a in x]
    return x[0]


def max_margin_loss(scores, labels, params, relu, alpha=1e-4):
    """micrograd demo's loss: mean(relu(1 - y * score)) + alpha * sum(p**2)."""
    losses = [relu(1 + -yi * si) for yi, si in zip(labels, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum((p * p for p in params))
    return data_loss + reg_loss


def chain(y, n):
    """y = y * 1.0001 + 0.1, n times: a graph n ops deep (4 nodes per step with constants)."""
    for _ in range(n):
        y = y * 1.0001 + 0.1
    return y


def wide_sum(a, b):
    """sum of a_i * b_i: a million-node graph that is wide at the leaves."""
    return sum(ai * bi for ai, bi in zip(a, b))


def float_relu(a):
    return a if a > 0 else 0.0


def value_relu(v):
    return v.relu()


def tanh_mlp(layers, x):
    """A small tanh network (so second derivatives are not all zero)."""
    for layer in layers:
        x = [sum((wi * xi for wi, xi in zip(w, x)), b).tanh() for w, b in layer]
    return x[0]

"""The teaching tools walk a graph once per call: stepper() and draw_frames() make one
walk.Walk (order, names, ids) and pass it down to backward_steps, towards() and draw(),
and no tool zeroes gradients that backward_steps zeroes."""
import importlib
import sys

import pytest

from tracegrad.engine import Value, backward_steps, stepper
from tracegrad.engine import graph


@pytest.fixture
def walks(monkeypatch):
    """Counts the graph walks: topological_order, from any module that imported it."""
    count = {"walks": 0}
    original = graph.topological_order

    def counted(root):
        count["walks"] += 1
        return original(root)
    import tracegrad.engine.teach.stepper  # noqa: F401 (loads the tools: each module below)
    for name, module in list(sys.modules.items()):
        if name.startswith("tracegrad.engine") and hasattr(module, "topological_order"):
            monkeypatch.setattr(module, "topological_order", counted)
    return count


def neuron():
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    return (x * w + b).tanh(), w


def test_backward_steps_walks_once(walks):
    f, w = neuron()
    steps = backward_steps(f)
    assert walks["walks"] == 1
    steps.towards(w)                         # reads the steps' names, in topological order
    assert walks["walks"] == 1


def test_a_stepper_walks_once_besides_its_explanations(walks, monkeypatch):
    # (each explanation walks for its own grad(): not counted here)
    monkeypatch.setattr(importlib.import_module("tracegrad.engine.teach.stepper"), "explain",
                        lambda *args, **kwargs: type("E", (), {"text": ""})())
    f, w = neuron()
    stepper(f, focus=w)
    assert walks["walks"] == 1

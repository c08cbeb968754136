"""The lecture neuron, o = tanh(x1*w1 + x2*w2 + b) with x1=2, w1=-3, x2=0, w2=1,
b=6.8813735870195432 (so that o = 1/sqrt(2)): its forward values, its backward steps and
its graph, as `tracegrad neuron` shows them.
"""
from pathlib import Path

from .draw import draw
from .render import save
from ..text import fmt
from .steps import backward_steps
from ..value import Value


def lecture_neuron():
    """o and its leaves [x1, w1, x2, w2, b], every node labelled as on the blackboard."""
    x1, w1 = Value(2.0, label="x1"), Value(-3.0, label="w1")
    x2, w2 = Value(0.0, label="x2"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1, x2w2 = x1 * w1, x2 * w2
    x1w1.label, x2w2.label = "x1w1", "x2w2"
    total = x1w1 + x2w2
    total.label = "x1w1x2w2"
    n = total + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, [x1, w1, x2, w2, b]


def demo(out="out", image=True):
    """Print the neuron forward and backward, write its graph as SVG and PNG into out.
    Returns the paths written."""
    o, leaves = lecture_neuron()
    print("The lecture neuron: o = tanh(x1*w1 + x2*w2 + b)\n")
    print("forward:  " + ", ".join(f"{v.label} = {fmt(v.data, 6)}" for v in leaves)
          + f"  ->  o = {fmt(o.data, 6)}\n")
    steps = backward_steps(o)
    print(steps.table() + "\n")
    if not image:
        return []
    graph = draw(o, title="o = tanh(x1*w1 + x2*w2 + b): data forward, grad backward")
    written = []
    for suffix in ("svg", "png"):
        written.append(save(graph, Path(out) / f"neuron.{suffix}"))
        if written[-1].suffix == ".dot":        # no renderer: the DOT text once is enough
            break
    print("graph: " + ", ".join(str(p) for p in written))
    return written

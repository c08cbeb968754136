"""Instruction counts of one mlp-step (the workload of run.py) under valgrind's callgrind:
load-independent, so a before/after comparison holds on a busy machine.

    valgrind --tool=callgrind --callgrind-out-file=/dev/null python benchmarks/instructions.py PHASE
PHASE is setup (imports, data, weights), build (+ forward and loss) or backward (+ backward);
build - setup and backward - build are the two phases' counts. readable runs backward's
readable chain rule (graph.chain_rule) instead of its fast path: readable - build is its cost.
"""
import sys

from tracegrad import engine
from workloads import flat, max_margin_loss, mlp, mlp_weights, moons, value_relu

phase = sys.argv[1]
points, labels = moons(100)
layers = [[([engine.Value(w) for w in ws], engine.Value(b)) for ws, b in layer]
          for layer in mlp_weights(2, [16, 16, 1])]
params = flat(layers)
if phase in ("build", "backward", "readable"):
    inputs = [[engine.Value(a) for a in row] for row in points]
    loss = max_margin_loss([mlp(layers, x, value_relu) for x in inputs], labels, params, value_relu)
    if phase == "backward":
        loss.backward()
    if phase == "readable":                 # what backward does with an observer, minus the observer
        from tracegrad.engine.graph import chain_rule
        order = engine.topological_order(loss)
        for node in order:
            if not node.is_leaf:
                node.grad = 0
        loss.grad = 1.0
        chain_rule(order)

"""Fault trials for training, in both engines: steps whose gradient or new parameters are
not finite, losses that explode, and bad data and labels. Each case must end the same way
in "scalar" and "replay" (the same stop and reason, or the same one-line error), with finite
parameters equal to those after the last good step. Shared by the tests and census.py."""
import math
import warnings

from tracegrad.nn import MLP, data, fit, optim

NAN, INF = float("nan"), float("inf")


def _dataset_cut(n_labels):
    ds = data.xor(n=40, seed=0)
    ds.y = ds.y[:n_labels]
    return ds


def _empty():
    ds = data.xor(n=40, seed=0)
    ds.X, ds.y = [], []
    return ds


# name, data maker, loss, lr, what must happen: "diverged" (with a reason naming this) or
# "error" (a ValueError whose message holds this)
CASES = [
    ("hinge at 1e308", lambda: [([1e308, 1e308], 1)] * 4, "hinge", 0.1,
     ("diverged", "the gradient of layers.")),
    ("mse at 1e300", lambda: [([1e300, 1e300], 1)] * 4, "mse", 0.1, ("diverged", "loss is inf")),
    ("mse at 1e154", lambda: [([1e154, -1e154], 1)] * 4, "mse", 0.1, ("diverged", "")),
    ("lr 1e300", lambda: [([1.0, 1.0], 1)] * 4, "mse", 1e300, ("diverged", "")),
    ("lr 1e308", lambda: [([3.0, 3.0], 5.0)] * 4, "mse", 1e308,
     ("diverged", "the step would make layers.1.neurons.0.w.0 inf")),
    ("lr 1e10", lambda: [([1.0, 1.0], 1)] * 4, "mse", 1e10, ("diverged", "")),
    ("a NaN input", lambda: [([NAN, 1.0], 1)] * 4, "mse", 0.1, ("error", "holds nan")),
    ("an inf input", lambda: [([1.0, INF], 1)] * 4, "mse", 0.1, ("error", "holds inf")),
    ("a NaN label", lambda: [([1.0, 1.0], NAN)] * 4, "mse", 0.1, ("error", "label holds nan")),
    ("None labels", lambda: [([1.0, 1.0], None)] * 4, "mse", 0.1, ("error", "label is None")),
    ("string labels", lambda: [([1.0, 1.0], "1"), ([0.0, 1.0], "-1")] * 2, "hinge", 0.1,
     ("error", "label is '1' (text)")),
    ("a dict label", lambda: [([1.0, 1.0], {"y": 1})] * 4, "mse", 0.1,
     ("error", "a label is a number")),
    ("40 inputs, 5 labels", lambda: _dataset_cut(5), "mse", 0.1,
     ("error", "40 inputs but 5 labels")),
    ("an empty Dataset", _empty, "mse", 0.1, ("error", "the data set is empty")),
    ("no pairs", lambda: [], "mse", 0.1, ("error", "the data set is empty")),
]


def run(case, engine, max_steps=30):
    """(outcome, message, parameters after fit, steps taken) for one case in one engine."""
    _, make, loss, lr, _ = case
    model = MLP(2, [4, 1], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            h = fit(model, make(), loss, optim.SGD(model.parameters(), lr=lr),
                    max_steps=max_steps, progress=False, engine=engine)
        except ValueError as err:
            return "error", str(err), None, 0
    return h.stopped, getattr(h, "reason", None) or "", [p.data for p in model.parameters()], len(h)


def last_good(case, engine, steps):
    """The parameters after `steps` steps of the same training (the last good one)."""
    _, make, loss, lr, _ = case
    model = MLP(2, [4, 1], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if steps:
            fit(model, make(), loss, optim.SGD(model.parameters(), lr=lr), max_steps=steps,
                progress=False, engine=engine)
    return [p.data for p in model.parameters()]


def problems(case):
    """What is wrong with one case across both engines (an empty list when nothing)."""
    name, *_, (want, words) = case
    found, wrong = {}, []
    for engine in ("scalar", "replay"):
        try:
            outcome, message, params, steps = found[engine] = run(case, engine)
        except Exception as err:            # anything else escaping fit is a failure
            wrong.append(f"{engine}: {type(err).__name__}: {err}")
            continue
        if outcome != want or words not in message:
            wrong.append(f"{engine}: {outcome} ({message}), not {want} ({words})")
        if params is not None:
            if not all(math.isfinite(p) for p in params):
                wrong.append(f"{engine}: parameters not finite")
            elif params != last_good(case, engine, steps):
                wrong.append(f"{engine}: parameters are not those of step {steps}")
    if len(found) == 2 and found["scalar"][:2] != found["replay"][:2]:
        wrong.append(f"the engines differ: {found['scalar'][:2]} vs {found['replay'][:2]}")
    return wrong


def trials():
    """(tried, passed, failures) over every case (each in both engines)."""
    failures = [(case[0], p) for case in CASES for p in [problems(case)] if p]
    return len(CASES), len(CASES) - len(failures), failures

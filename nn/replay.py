"""fit(..., engine="replay"): the model's graph for one sample recorded once as a tape
(tracegrad.engine.replay.tape) and replayed over each batch with numpy, with the same losses and
gradients as the scalar engine (to float rounding). Where that cannot be exact it says so and
trains with the scalar engine; materialize(i) gives any sample's graph back as Values.
"""
import math
import warnings
from fractions import Fraction

from tracegrad.engine import Value
from tracegrad.engine.replay.tape import TapeError, record
from tracegrad.engine.extras import require

from . import losses


class ReplayWarning(UserWarning):
    """Replay cannot be exact for this model and loss: training uses the scalar engine."""


ENGINES = ("scalar", "replay")


def gradients_for(engine, model, loss, pairs, batch_size, fallback):
    """The function fit calls for a batch's loss and gradients: fallback (the scalar
    engine's) for engine='scalar', else a Replayer with the same signature."""
    if isinstance(engine, Replayer):
        return engine
    if engine not in ENGINES:
        raise ValueError(f"fit: engine must be one of {', '.join(map(repr, ENGINES))}, "
                         f"got {engine!r}")
    if engine == "scalar":
        return fallback
    return Replayer(model, loss, pairs, batch_size, fallback=fallback)


class Replayer:
    """Records model + loss on a few samples of data, checks that their tapes are equal, and
    then computes a batch's loss and gradients by replaying the tape (the signature of
    nn.train.loss_and_gradients). If the tapes differ or recording fails, it warns once
    (ReplayWarning) and calls `fallback`, the scalar engine, instead.

    What the check guarantees: replay equals the scalar engine (to rounding) for every sample
    whose own graph is the recorded tape. Only the checked samples' graphs are compared: the
    first, the last, each input feature's smallest and largest, and one per distinct label
    (verify='some'), or every sample of the data set (verify='all', costing one scalar
    forward pass). A graph that branches on data in a way no checked sample shows is only
    caught by verify='all'."""

    def __init__(self, model, loss, data, batch_size=None, fused=True, verify="some",
                 fallback=None):
        self.np = require("numpy", "fast", 'fit(..., engine="replay")')
        if verify not in ("some", "all"):
            raise ValueError(f"Replayer: verify must be 'some' or 'all', got {verify!r}")
        self.model, self.loss = model, losses.get(loss)
        self.pairs = list(data)
        self.params = model.parameters()
        self.fallback, self.reason = fallback, None
        self.batch_size = batch_size or len(self.pairs)
        try:
            self.tape = self._checked_tape(verify)
        except (TapeError, TypeError, ValueError) as why:
            self.tape, self.reason = None, str(why)
            if fallback is None:
                raise
            warnings.warn(f'fit(engine="replay"): {why}; training with the scalar engine '
                          'instead', ReplayWarning, stacklevel=3)
            return
        self.run = self.tape.replay(self.batch_size, fused)
        self.last = None

    # --- recording ----------------------------------------------------------------------
    def _record(self, x, y):
        """The tape of one sample: its inputs and label as placeholder leaves, so that no
        per-sample number is frozen into the tape as a constant."""
        inputs = [Value(float(v), label=f"x{k}") for k, v in enumerate(_numbers(x, "input"))]
        labels = [Value(float(v), label=f"y{k}" if _is_list(y) else "y")
                  for k, v in enumerate(_numbers(y, "label"))]
        out = self.model(inputs)
        outputs = list(out) if isinstance(out, (list, tuple)) else [out]
        target = labels if _is_list(y) else labels[0]
        root = self.loss(out, target)
        if not isinstance(root, Value):
            raise TypeError(f"the loss returned {type(root).__name__}, not a Value")
        return record(root, self.params, inputs, labels, outputs)

    def _checked_tape(self, verify):
        chosen = _samples_to_check(self.pairs) if verify == "some" else range(len(self.pairs))
        tape = None
        for i in chosen:
            x, y = self.pairs[i]
            try:
                other = self._record(x, y)
            except OverflowError as err:     # the scalar engine calls it a diverged step
                raise TapeError(f"sample {i} overflows a float ({err})") from None
            except (TypeError, ValueError) as err:
                raise TapeError(f"the loss cannot take sample {i}'s label as a placeholder "
                                f"Value ({err})") from None
            if tape is None:
                tape, first = other, i
                continue
            difference = tape.difference(other)
            if difference is not None:
                raise TapeError(f"the graph is not the same for every sample (samples {first} "
                                f"and {i} differ at {difference}): a number computed from the "
                                "data outside the graph, or a branch on .data, is frozen into "
                                "the tape")
        return tape

    # --- a step ---------------------------------------------------------------------------
    def __call__(self, model, batch, loss, reduction="mean", penalty=None, metric=None,
                 accumulate=1):
        """(batch loss, mean metric or None), leaving the gradients in the parameters' .grad,
        as nn.train.loss_and_gradients does."""
        if self.tape is None:
            return self.fallback(model, batch, loss, reduction, penalty, metric, accumulate)
        np = self.np
        size = math.ceil(len(batch) / accumulate)
        weight = float(Fraction(1, len(batch))) if reduction == "mean" else 1.0
        params = [p.data for p in self.params]
        total, scores, grads = 0, [], np.zeros(len(params))
        try:
            for start in range(0, len(batch), size):
                micro = batch[start:start + size]
                self.run.base = start
                roots = self.run.forward(params, [_numbers(x, "input") for x, _ in micro],
                                         [_numbers(y, "label") for _, y in micro])
                # the scalar engine adds the terms left to right: a running sum does too
                value = float(np.cumsum(roots)[-1]) * weight if reduction == "mean" \
                    else float(np.cumsum(roots)[-1])
                if math.isfinite(value):
                    grads += self.run.backward(weight)
                if metric is not None:
                    scores += self._scores(metric, micro)
                if penalty is not None and start + size >= len(batch):
                    extra = penalty(model)
                    extra.backward()
                    value = value + extra.data
                total = total + value
        except OverflowError:
            return math.inf, None
        for p, g in zip(self.params, grads.tolist()):
            p.grad = p.grad + g
        self.last = (batch[start:start + size], weight)
        return total, (sum(scores) / len(scores) if scores else None)

    def _scores(self, metric, micro):
        """metric(outputs, y) per sample, the outputs as floats (the scalar engine passes
        Values; a metric reads .data or the number alike)."""
        columns = [self.np.broadcast_to(self.run.value(o), (len(micro),)).tolist()
                   for o in self.tape.outputs]
        return [metric(list(out), y) for out, (_, y) in zip(zip(*columns), micro)]

    # --- tracing any sample -------------------------------------------------------------
    def materialize(self, i):
        """Sample i of the last replayed micro-batch as a graph of real Values: the same
        numbers as the replay, the model's parameter names on its leaves, and .grad filled by
        backward with the replay's seed (sample i's share of the batch gradient). Use
        backward_steps, explain or draw on it."""
        if self.tape is None:
            raise ValueError(f"materialize: this model trains with the scalar engine "
                             f"({self.reason})")
        if self.last is None:
            raise ValueError("materialize: no batch replayed yet")
        micro, weight = self.last
        if not 0 <= i < len(micro):
            raise IndexError(f"materialize: sample {i} of a batch of {len(micro)}")
        x, y = micro[i]
        root, _ = self.tape.materialize([p.data for p in self.params], _numbers(x, "input"),
                                        _numbers(y, "label"))
        if root.label is None:
            root.label = "loss"
        root.backward(weight)
        return root


def _is_list(y):
    return isinstance(y, (list, tuple))


def _numbers(x, what):
    """A sample's input or label as a list of floats."""
    values = list(x) if _is_list(x) else [x]
    for v in values:
        if isinstance(v, Fraction):
            raise TapeError(f"the {what} {v} is an exact Fraction: replay computes in float64 "
                            "(use the scalar engine for exact training)")
    return [float(getattr(v, "data", v)) for v in values]


def _samples_to_check(pairs, limit=16):
    """Which samples' graphs are compared: the first and last, each input feature's smallest
    and largest value, and the first sample of each distinct label (at most `limit`)."""
    chosen = [0, len(pairs) - 1]
    xs = [_numbers(x, "input") for x, _ in pairs]
    for k in range(len(xs[0]) if xs else 0):
        column = [x[k] for x in xs]
        chosen += [column.index(min(column)), column.index(max(column))]
    seen = set()
    for i, (_, y) in enumerate(pairs):
        key = repr(y)
        if key not in seen:
            seen.add(key)
            chosen.append(i)
    return list(dict.fromkeys(chosen))[:limit]

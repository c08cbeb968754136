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

from . import collector, guards, losses


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
        self.pairs = data if isinstance(data, list) else list(data)
        self.params = model.parameters()
        self.fallback, self.reason = fallback, None
        self.batch_size = batch_size or len(self.pairs)
        self._order = None                      # fit's order of the samples, as an array
        self._penalties = {}                    # penalty function -> its Replay (or None)
        try:
            # the data as arrays, once per fit: one row per sample
            self.X = _array(self.np, [x for x, _ in self.pairs], "input")
            self.Y = _array(self.np, [y for _, y in self.pairs], "label")
            # cross_entropy with class indices replays as with one-hot labels: the same
            # numbers (lse - z_t = -sum_k t_k (z_k - lse)), a placeholder per class
            self.one_hot = (self.loss is losses.cross_entropy and
                            all(type(y) is int for _, y in self.pairs))
            with collector.paused():    # recording builds 100,000s of nodes, no cycles
                self.tape = self._checked_tape(verify)
            self.Y = self._labels(self.Y)
        except (TapeError, TypeError, ValueError) as why:
            self.tape, self.reason = None, str(why)
            if fallback is None:
                raise
            warnings.warn(f'fit(engine="replay"): {why}; training with the scalar engine '
                          'instead', ReplayWarning, stacklevel=3)
            return
        from .fuse import find_blocks             # numpy: imported only once replay is asked for
        with collector.paused():
            self.run = self.tape.replay(self.batch_size, find_blocks if fused else None)
        self.last = None

    # --- recording ----------------------------------------------------------------------
    def _graph(self, x, y):
        """One sample's graph, its inputs and label as placeholder leaves (so that no
        per-sample number is frozen into the tape as a constant): record's arguments."""
        inputs = [Value(float(v), label=f"x{k}") for k, v in enumerate(_numbers(x, "input"))]
        out = self.model(inputs)
        outputs = list(out) if isinstance(out, (list, tuple)) else [out]
        if self.one_hot:        # a class index as placeholders: cross_entropy's one-hot form
            self.classes = len(outputs)
            y = [float(k == y) for k in range(len(outputs))]
        labels = [Value(float(v), label=f"y{k}" if _is_list(y) else "y")
                  for k, v in enumerate(_numbers(y, "label"))]
        target = labels if _is_list(y) else labels[0]
        root = self.loss(out, target)
        if not isinstance(root, Value):
            raise TypeError(f"the loss returned {type(root).__name__}, not a Value")
        return root, self.params, inputs, labels, outputs

    def _checked_tape(self, verify):
        chosen = (_samples_to_check(self.X, self.pairs) if verify == "some"
                  else range(len(self.pairs)))
        tape = None
        for i in chosen:
            if verify == "some" and tape is not None and i != chosen[1] and \
                    len(tape) * (chosen.index(i) + 1) > NODE_BUDGET:
                break                       # a big graph: the first and last samples only
            x, y = self.pairs[i]
            try:
                graph = self._graph(x, y)
                if tape is None:
                    tape, first = record(*graph), i
                    continue
                # the same tape? decided without recording it; recorded only to say where
                difference = None if tape.same_graph(*graph) else \
                    tape.difference(record(*graph))
            except OverflowError as err:     # the scalar engine calls it a diverged step
                raise TapeError(f"sample {i} overflows a float ({err})") from None
            except (TypeError, ValueError) as err:
                raise TapeError(f"the loss cannot take sample {i}'s label as a placeholder "
                                f"Value ({err})") from None
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
        params = self.np.array([p.data for p in self.params], dtype=float)
        total, score, grads = self.step(params, batch, reduction, penalty, metric, accumulate)
        if grads is not None:
            for p, g in zip(self.params, grads.tolist()):
                p.grad = p.grad + g
        return total, score

    def step(self, params, batch, reduction="mean", penalty=None, metric=None, accumulate=1):
        """(batch loss, mean metric or None, gradient array or None when the loss overflowed)
        for the parameters `params` (an array in the order of model.parameters())."""
        np = self.np
        X, Y = self._arrays(batch)
        size = math.ceil(len(X) / accumulate)
        weight = 1.0 / len(X) if reduction == "mean" else 1.0   # float(Fraction(1, n))
        total, scores, grads = 0, [], None
        try:
            for start in range(0, len(X), size):
                micro = slice(start, start + size)
                self.run.base = start
                roots = self.run.forward(params, X[micro], Y[micro])
                # the scalar engine adds the terms left to right: a running sum does too
                value = float(np.cumsum(roots)[-1])
                value = value * weight if reduction == "mean" else value
                if math.isfinite(value):
                    more = self.run.backward(weight)
                    grads = more if grads is None else grads + more
                if grads is None:
                    grads = np.zeros(len(params))
                if metric is not None:
                    scores += self._scores(metric, batch[micro])
                if penalty is not None and start + size >= len(X):
                    extra, dextra = self._penalty(penalty, params)
                    grads += dextra
                    value = value + extra
                total = total + value
        except OverflowError:
            return math.inf, None, None
        self.last = (X[micro], Y[micro], weight)
        return total, (sum(scores) / len(scores) if scores else None), grads

    def _scores(self, metric, micro):
        """metric(outputs, y) per sample, the outputs as floats (the scalar engine passes
        Values; a metric reads .data or the number alike)."""
        columns = [self.np.broadcast_to(self.run.value(o), (len(micro),)).tolist()
                   for o in self.tape.outputs]
        return [metric(list(out), y) for out, (_, y) in zip(zip(*columns), micro)]

    def _labels(self, Y):
        """Y as the tape's label placeholders: class indices become one-hot rows."""
        if not self.one_hot:
            return Y
        return (Y.astype(self.np.intp) == self.np.arange(self.classes)).astype(float)

    def _arrays(self, batch):
        """The batch's inputs and labels as arrays: rows of the data's arrays for fit's
        batches (they carry their positions, order[start:stop]), else read from the pairs."""
        order = getattr(batch, "order", None)
        if order is not None and batch.pairs is not self.pairs and batch.pairs == self.pairs:
            self.pairs = batch.pairs           # fit's copy of the same pairs: rows of X, Y
        if order is None or batch.pairs is not self.pairs:
            return (_array(self.np, [x for x, _ in batch], "input"),
                    self._labels(_array(self.np, [y for _, y in batch], "label")))
        if self._order is None or self._order[0] is not order:
            index = self.np.array(order, dtype=self.np.intp)
            in_order = bool((index == self.np.arange(len(index))).all())
            self._order = (order, None if in_order else index)
        rows = self._order[1]
        if rows is None:                        # not shuffled: the rows as they are, no copy
            return self.X[batch.start:batch.stop], self.Y[batch.start:batch.stop]
        index = rows[batch.start:batch.stop]
        return self.X[index], self.Y[index]

    def _penalty(self, penalty, params):
        """(penalty(model), its gradient array): penalty's graph recorded once on the
        parameters and replayed (a sum over parameters as one array operation, nn.fuse); a
        penalty that cannot be recorded is built as a graph of Values each step."""
        np = self.np
        if penalty not in self._penalties:
            root = penalty(self.model)
            try:
                tape = record(root, self.params)
                from .fuse import find_blocks
                self._penalties[penalty] = tape.replay(1, find_blocks)
            except TapeError:
                self._penalties[penalty] = None
        run = self._penalties[penalty]
        if run is None:                        # a graph of Values, as the scalar engine
            for p, x in zip(self.params, params.tolist()):
                p.data, p.grad = x, 0
            extra = penalty(self.model)
            extra.backward()
            return extra.data, np.array([p.grad for p in self.params], dtype=float)
        value = float(run.forward(params, np.zeros((1, 0))))
        return value, run.backward(1.0)

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
        X, Y, weight = self.last
        if not 0 <= i < len(X):
            raise IndexError(f"materialize: sample {i} of a batch of {len(X)}")
        root, _ = self.tape.materialize([p.data for p in self.params], X[i].tolist(),
                                        Y[i].tolist())
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


def _array(np, column, what):
    """One sample per row, as float64: numbers go straight in; lists holding Values or exact
    Fractions are read one by one (a Fraction is refused: replay computes in float64)."""
    try:
        array = np.array(column)
    except (ValueError, TypeError):         # ragged, or not numbers
        array = None
    if array is None or array.dtype.kind not in "fiub":
        array = np.array([_numbers(x, what) for x in column], dtype=float)
    return array.astype(float).reshape(len(column), -1)


# verify="some" records at most this many nodes in all (but always the first and last
# samples): recording costs a few microseconds a node; a width-256 MLP's tape has 200,000
NODE_BUDGET = 100_000


def _samples_to_check(X, pairs, limit=16):
    """Which samples' graphs are compared: the first and last, each input feature's smallest
    and largest value, and the first sample of each distinct label (at most `limit`)."""
    chosen = [0, len(pairs) - 1]
    for k in range(X.shape[1]):
        chosen += [int(X[:, k].argmin()), int(X[:, k].argmax())]
    seen = set()
    for i, (_, y) in enumerate(pairs):
        key = repr(y)
        if key not in seen:
            seen.add(key)
            chosen.append(i)
    return list(dict.fromkeys(chosen))[:limit]


class ArrayTraining:
    """fit's replay path: the parameters and the optimizer's state held as arrays for the
    whole of training, each step's update the optimizer's own rule run on them
    (Optimizer.step_arrays), and the Values written back only when someone looks (tracked
    parameters each step, everything before a callback and when fit ends)."""

    def __init__(self, replayer, optimizer):
        np = self.np = replayer.np
        self.replayer, self.optimizer = replayer, optimizer
        # every parameter, in the model's order (compared by identity, at C speed): the
        # usual case, with nothing to gather; else the positions of the optimized ones
        self.every = optimizer.params == replayer.params
        self._where = None
        if not self.every:
            self.chosen = np.array([self.where[id(p)] for p in optimizer.params], dtype=np.intp)
        # a comprehension, not map(attrgetter): Python 3.11+ reads a slot in it faster
        # (66,817 parameters: 1.3 ms against 2.2)
        self.P = np.fromiter([p.data for p in replayer.params], float, len(replayer.params))
        self.G = np.zeros(len(self.P))
        self.state = {k: np.array(v, dtype=float) for k, v in optimizer.arrays().items()}
        self.moved = 0.0

    @property
    def where(self):
        """id(parameter) -> its position in the model's parameters (made when first asked)."""
        if self._where is None:
            self._where = {id(p): k for k, p in enumerate(self.replayer.params)}
        return self._where

    @classmethod
    def usable(cls, gradients, optimizer):
        """An ArrayTraining when gradients is a working Replayer and every optimized parameter
        is one of the model's, else None (fit then steps the Values)."""
        if not isinstance(gradients, Replayer) or gradients.tape is None:
            return None
        if optimizer.params != gradients.params:
            model = {id(p) for p in gradients.params}
            if not all(id(p) in model for p in optimizer.params):
                return None
        return cls(gradients, optimizer)

    def train_step(self, batch, reduction, penalty, metric, accumulate):
        """One step: (batch loss, mean metric or None); updates only when the loss is finite."""
        loss, score, grads = self.replayer.step(self.P, batch, reduction, penalty, metric,
                                                accumulate)
        if grads is None or not math.isfinite(loss):
            return loss, score
        self.G = grads
        if self.every:                 # every parameter, in order: no gathering
            old, grads = self.P, grads
        else:
            old, grads = self.P[self.chosen], grads[self.chosen]
        np, params, model = self.np, self.optimizer.params, self.replayer.model
        # the scalar path's guards with the same messages, looked for only when a quick test
        # fails: a sum of squares or a largest change is finite when every number is (it
        # can also overflow with every number finite: then the guard finds nothing)
        if not math.isfinite(grads @ grads):
            guards.check_gradients(params, model, grads.tolist())
        new, state = self.optimizer.step_arrays(old, grads, self.state)
        moved = float(np.maximum.reduce(np.abs(new - old)))
        if not math.isfinite(moved):
            guards.check_parameters(params, model, new.tolist(), grads.tolist())
        self.state = state
        self.moved = moved
        if self.every:
            self.P = new               # new arrays each step, never written in place: a
        else:                          # snapshot keeps the old ones without copying
            self.P = self.P.copy()
            self.P[self.chosen] = new
        return loss, score

    def snapshot(self, history):
        return (self.P, dict(self.state), self.optimizer.t, self.optimizer.lr, len(history))

    def restore(self, history, snapshot):
        self.P, self.state, self.optimizer.t, self.optimizer.lr, steps = snapshot
        history.truncate(steps)
        self.sync()

    def sync(self, params=None):
        """Write the parameters (all, or those given) back into their Values' .data, and with
        all of them the last gradients into .grad and the state into the optimizer."""
        if params is not None:
            for p in params:
                p.data = float(self.P[self.where[id(p)]])
            return
        params = self.replayer.params
        # a plain loop: Python 3.11+ stores a slot in it twice as fast as map(setattr)
        # does (66,817 parameters: 2.6 ms against 5.3; on 3.10 they are even)
        for p, x, g in zip(params, self.P.tolist(), self.G.tolist()):
            p.data = x
            p.grad = g
        self.optimizer.sync_arrays(self.state)

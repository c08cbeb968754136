"""Training: fit() runs gradient descent over a data set in (mini-)batches, with gradient
accumulation, stop rules, a tqdm progress bar and a History for plotting; Ctrl-C stops it
and keeps the weights of the last completed step. train_step() is one step on its own;
accuracy() and evaluate() measure a model.
"""
from __future__ import annotations

import functools
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import copy_context
from typing import TYPE_CHECKING, Any, cast

from tracegrad.engine import Value, no_grad
from tracegrad.engine.value import Number
from .jupyter import someone_watching

from . import collector, guards, losses, replay
from .activations import Scalar, argmax
from .losses import Loss
from .optim import Optimizer, Saved

if TYPE_CHECKING:
    from .data import Dataset

# A sample (x, y): x is whatever the model takes, y whatever the loss and metric take.
Pair = tuple[Any, Any]
Output = Value | Sequence[Value]                    # what a model returns
Model = Callable[[Any], Output]
Metric = Callable[[Any, Any], Number]               # (outputs, y) -> a score
Penalty = Callable[[Any], Value]                    # model -> a term added to the loss
Gradients = Callable[[Model, Sequence[Pair], Loss, str, "Penalty | None", "Metric | None", int],
                     "tuple[Number, Number | None]"]   # loss_and_gradients' signature
Snapshot = tuple[list[Number], Saved, int]          # parameters, optimizer state, steps
Bar = Any                                           # a tqdm.auto bar (tqdm ships no hints)


class History:
    """What fit() saw, one entry per optimizer step (step 1, 2, ...):
    loss (the batch loss before the update), lr, step_size (the largest |change| of any
    parameter), metric (e.g. batch accuracy, when fit was given one) and epoch.
    tracked[name] holds a parameter's value before training, then after every step.
    stopped says why training ended: 'epochs', 'max_steps', 'min_step', 'callback',
    'diverged' or 'interrupted'; reason says why it diverged (the loss, or which
    parameter's gradient or new value was not finite)."""

    def __init__(self, tracked_names: Iterable[str] = ()) -> None:
        self.step: list[int] = []
        self.epoch: list[int] = []
        self.loss: list[Number] = []
        self.lr: list[Number] = []
        self.step_size: list[Number] = []
        self.metric: list[Number] = []
        self.tracked: dict[str, list[Number]] = {name: [] for name in tracked_names}
        self.stopped: str | None = None
        self.reason: str | None = None
        self.seconds = 0.0

    def __len__(self) -> int:
        return len(self.step)

    def __repr__(self) -> str:
        if not self.loss:
            return "History(0 steps)"
        return (f"History({len(self)} steps, loss {float(self.loss[0]):.4g} -> "
                f"{float(self.loss[-1]):.4g}, stopped: {self.stopped})")

    def record(self, step: int, epoch: int, loss: Number, lr: Number, moved: Number,
               score: Number | None, tracked: dict[str, Value]) -> None:
        """Append one step's entries (score None: no metric)."""
        self.step.append(step)
        self.epoch.append(epoch)
        self.loss.append(loss)
        self.lr.append(lr)
        self.step_size.append(moved)
        if score is not None:
            self.metric.append(score)
        for name, p in tracked.items():
            self.tracked[name].append(p.data)

    def truncate(self, n: int) -> None:
        """Keep the first n steps (an interrupted record() may have appended some entries)."""
        for entries in (self.step, self.epoch, self.loss, self.lr, self.step_size, self.metric):
            del entries[n:]
        for values in self.tracked.values():
            del values[n + 1:]                      # tracked[0] is the value before training


def train_step(model: Model, batch: Sequence[Pair], loss: Loss, optimizer: Optimizer,
               reduction: str = "mean", penalty: Penalty | None = None,
               metric: Metric | None = None, accumulate: int = 1,
               gradients: Gradients | None = None) -> tuple[Number, Number | None]:
    """One step of gradient descent on a batch of (x, y) pairs, PyTorch's four steps.
    Returns (batch loss, mean metric or None); a loss that is not finite is returned
    without updating (the step diverged). A gradient that is not finite raises
    guards.Diverged naming its parameter before the step; a new value that is not finite
    raises it after the step (fit undoes that step). gradients: loss_and_gradients or another engine's
    function of the same signature (nn.replay)."""
    with collector.paused():              # graphs have no cycles: nothing for it to find
        optimizer.zero_grad()                                 # 1. forget the last gradients
        batch_loss, score = (gradients or loss_and_gradients)(
            model, batch, loss, reduction, penalty, metric, accumulate)  # 2. forward + loss, 3. backward
        if math.isfinite(batch_loss):
            guards.check_gradients(optimizer.params, model)
            optimizer.step()                                  # 4. update the parameters
            guards.check_parameters(optimizer.params, model)
    return batch_loss, score


def loss_and_gradients(model: Model, batch: Sequence[Pair], loss: Loss, reduction: str = "mean",
                       penalty: Penalty | None = None, metric: Metric | None = None,
                       accumulate: int = 1) -> tuple[Number, Number | None]:
    """The batch loss, mean (or sum) of loss(model(x), y) [+ penalty(model)], backward()ed
    in `accumulate` micro-batches: leaf gradients add up to the full batch's, and only one
    micro-batch's graph is in memory at a time. Returns (loss, mean metric or None); a
    number that outgrows float gives the loss inf."""
    size = math.ceil(len(batch) / accumulate)
    total: Number = 0
    scores: list[Number] = []
    try:
        for start in range(0, len(batch), size):
            terms: list[Value] = []
            for x, y in batch[start:start + size]:
                out = model(x)
                terms.append(loss(out, y))
                if metric is not None:
                    scores.append(metric(out, y))
            # each micro-batch's share of the batch mean: its sum times 1/len(batch)
            micro = (losses.mean(terms, len(batch)) if reduction == "mean"
                     else losses.total(terms))
            if penalty is not None and start + size >= len(batch):   # once, on the last one
                micro = micro + penalty(model)
            micro.backward()
            total = total + micro.data
    except OverflowError:                  # a number grew past float: diverged too
        return math.inf, None
    return total, (sum(scores) / len(scores) if scores else None)


def fit(model: Model, data: Iterable[Pair] | Dataset, loss: str | Loss, optimizer: Optimizer, *,
        epochs: int | None = None, max_steps: int | None = None,
        batch_size: int | None = None, accumulate: int = 1, reduction: str = "mean",
        penalty: Penalty | None = None, min_step: Number | None = None,
        metric: str | Metric | None = None, shuffle: bool = True, seed: int | None = 0,
        track: Iterable[str | Value] = (),
        callback: Callable[[History], object] | None = None,
        progress: bool | None = None, engine: str = "scalar") -> History:
    """Train model on data = [(x, y), ...] (or an nn.data Dataset) and return a History.

    Each step is train_step() on a batch (all the data when batch_size is None, else
    batch_size samples, shuffled each epoch with random.Random(seed)):
        batch loss = mean (or sum, with reduction='sum') of loss(model(x), y)  [+ penalty(model)]
    then backward() and optimizer.step(). With accumulate=k the batch is split into k
    micro-batches, each backward()ed on its own; leaf gradients add up, so the update is
    the full batch's (only the graph of one micro-batch is in memory at a time).

    Stops after `epochs` passes or `max_steps` steps (1000 steps if neither is given), when
    the largest parameter change is below `min_step` (e.g. 0.001), when callback(history)
    returns True, before a step whose loss, gradient or new parameters are not finite or
    whose loss is a million times the first ('diverged': history.reason and a line on
    stderr say why, naming the parameter), or on Ctrl-C (KeyboardInterrupt). A step
    is all or nothing: interrupted at any moment, fit keeps the weights (and optimizer state)
    of the last step in the history. metric(outputs, y) (nn.accuracy, or its name
    "accuracy") is averaged over each batch; track lists parameters (Values or dotted
    names) whose values are recorded.
    progress: a tqdm.auto bar when stderr is a terminal or in Jupyter (None), always (True)
    or never (False).
    engine="replay" records one sample's graph and replays it over each batch with numpy
    (nn.replay: same losses and gradients to float rounding, or a warning and the scalar
    engine where it cannot be exact)."""
    loss_fn, metric_fn = losses.get(loss), _metric(metric)
    pairs = guards.pairs(data)           # checked once, the same for both engines
    _check_options(batch_size, accumulate, reduction, epochs, max_steps, len(pairs))
    size = len(pairs) if batch_size is None else min(batch_size, len(pairs))
    total = _total_steps(epochs, max_steps, math.ceil(len(pairs) / size))
    gradients = replay.gradients_for(engine, model, loss_fn, pairs, size, loss_and_gradients)
    arrays = replay.ArrayTraining.usable(gradients, optimizer)   # the replay path, or None
    tracked = _tracked(model, track)
    history = History(tracked)
    for name, p in tracked.items():
        history.tracked[name].append(p.data)
    bar = _progress_bar(total, progress)
    start = time.perf_counter()
    try:
        for step, epoch, batch in _batches(pairs, size, total, shuffle, seed):
            try:
                # a step records itself in history before it counts as done
                done = functools.partial(history.record, step, epoch, tracked=tracked)
                # each step in a copy of the caller's context: a no_grad() or
                # detect_anomaly() a Ctrl-C cut short inside the step (between setting the
                # mode and entering its block) cannot outlive the step
                if arrays is not None:     # the replay path: parameters held as arrays
                    batch_loss, score = copy_context().run(
                        _array_step, arrays, batch, reduction, penalty, metric_fn, accumulate,
                        history, tracked, done)
                else:
                    batch_loss, score = copy_context().run(
                        _value_step, model, batch, loss_fn, optimizer, reduction, penalty,
                        metric_fn, accumulate, gradients, history, done)
            except guards.Diverged as why:  # stopped before this step (it was undone)
                history.stopped, history.reason = "diverged", f"step {step}: {why}"
                print(f"fit stopped (diverged) at {history.reason}", file=sys.stderr)
                break
            if arrays is not None and callback is not None:
                arrays.sync()
            _show(bar, batch_loss, score)
            history.stopped = _stop_rule(history, min_step, callback)
            if history.stopped:
                break
        else:
            history.stopped = "max_steps" if total == max_steps else "epochs"
    except KeyboardInterrupt:
        history.stopped = "interrupted"
        print(f"\ninterrupted after {len(history)} steps: keeping the weights learned so far",
              file=sys.stderr)
    finally:
        if arrays is not None:
            arrays.sync()
        if bar is not None:
            bar.close()
        history.seconds = time.perf_counter() - start
    return history


def _value_step(model: Model, batch: Batch, loss_fn: Loss, optimizer: Optimizer,
                reduction: str, penalty: Penalty | None, metric: Metric | None,
                accumulate: int, gradients: Gradients, history: History,
                done: Callable[..., None]) -> tuple[Number, Number | None]:
    """One step of the scalar path, all or nothing: (loss, metric), recorded by done."""
    before = _snapshot(optimizer, history)
    try:
        batch_loss, score = train_step(model, batch, loss_fn, optimizer, reduction, penalty,
                                       metric, accumulate, gradients)
        guards.check_loss(batch_loss, history.loss[0] if history.loss else None)
        # Number - Number is a Number; mypy's arithmetic on the union says object
        changes: list[Any] = [abs(p.data - b) for p, b in zip(optimizer.params, before[0])]
        done(batch_loss, optimizer.lr, max(changes), score)
    except BaseException:              # diverged, interrupted or failed: undo the step
        _restore(optimizer, history, before)
        raise
    return batch_loss, score


def _array_step(arrays: replay.ArrayTraining, batch: Batch, reduction: str,
                penalty: Penalty | None, metric: Metric | None, accumulate: int,
                history: History, tracked: dict[str, Value],
                done: Callable[..., None]) -> tuple[Number, Number | None]:
    """One step of the replay path, all or nothing: (loss, metric), recorded by done."""
    before = arrays.snapshot(history)
    try:
        batch_loss, score = arrays.train_step(batch, reduction, penalty, metric, accumulate)
        guards.check_loss(batch_loss, history.loss[0] if history.loss else None)
        arrays.sync(tracked.values())      # what history records each step
        done(batch_loss, arrays.optimizer.lr, arrays.moved, score)
    except BaseException:              # diverged, interrupted or failed: undo the step
        arrays.restore(history, before)
        raise
    return batch_loss, score


def _total_steps(epochs: int | None, max_steps: int | None, per_epoch: int) -> int:
    """The step budget: the smaller of max_steps and epochs * per_epoch (1000 if neither)."""
    if epochs is None and max_steps is None:
        return 1000
    return min(x for x in (max_steps, epochs and epochs * per_epoch) if x is not None)


class Batch(Sequence[Pair]):
    """One step's samples, pairs[order[start:stop]], read when asked for: a list to the
    scalar engine; the replay engine takes order[start:stop] as rows of its data arrays."""

    def __init__(self, pairs: list[Pair], order: list[int], start: int, stop: int) -> None:
        self.pairs, self.order, self.start, self.stop = pairs, order, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    def __iter__(self) -> Iterator[Pair]:
        return (self.pairs[i] for i in self.order[self.start:self.stop])

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self.pairs[i] for i in self.order[self.start:self.stop][k]]
        return self.pairs[self.order[range(self.start, self.stop)[k]]]


def _batches(pairs: list[Pair], size: int, total: int, shuffle: bool,
             seed: int | None) -> Iterator[tuple[int, int, Batch]]:
    """(step, epoch, batch) for steps 1..total: consecutive slices of `size` samples,
    reshuffled (random.Random(seed)) as each epoch starts when a batch is not all the data.
    (Shuffling the positions shuffles as shuffling the pairs would: shuffle() never reads
    what it moves.)"""
    rng = random.Random(seed)
    per_epoch = math.ceil(len(pairs) / size)
    order = list(range(len(pairs)))
    for step in range(1, total + 1):
        epoch, index = divmod(step - 1, per_epoch)
        if index == 0 and size < len(pairs) and shuffle:
            order = order[:]                # a new list each epoch: the replay keys on it
            rng.shuffle(order)
        yield step, epoch + 1, Batch(pairs, order, index * size, min((index + 1) * size,
                                                                       len(pairs)))


def _snapshot(optimizer: Optimizer, history: History) -> Snapshot:
    """What a step changes: the parameters, the optimizer's state and the history's length."""
    return [p.data for p in optimizer.params], optimizer.state_dict(), len(history)


def _restore(optimizer: Optimizer, history: History, snapshot: Snapshot) -> None:
    values, state, steps = snapshot
    for p, value in zip(optimizer.params, values):
        p.data = value
    optimizer.load_state_dict(state)
    history.truncate(steps)


def _stop_rule(history: History, min_step: Number | None,
               callback: Callable[[History], object] | None) -> str | None:
    """Why training stops after this step ('min_step', 'callback'), or None to go on."""
    if min_step is not None and history.step_size[-1] < min_step:
        return "min_step"
    if callback is not None and callback(history):
        return "callback"
    return None


def _show(bar: Bar | None, loss: Number, score: Number | None) -> None:
    if bar is None:
        return
    bar.update(1)
    postfix = {"loss": f"{float(loss):.4g}"}
    if score is not None:
        postfix["metric"] = f"{score:.3f}"
    bar.set_postfix(postfix, refresh=False)


def _progress_bar(total: int, progress: bool | None) -> Bar | None:
    # None: a bar only where someone watches it (a terminal, or Jupyter, where tqdm.auto
    # draws a widget), never in pipes and logs; True forces it, False turns it off
    if progress is None:
        progress = someone_watching()
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:         # tqdm is a dependency, but training must not need it
        return None
    return tqdm(total=total, unit="step", dynamic_ncols=True, leave=True)


def _as_pairs(data: Iterable[Pair] | Dataset) -> list[Pair]:
    return guards.pairs(data)


def _check_options(batch_size: int | None, accumulate: int, reduction: str,
                   epochs: int | None, max_steps: int | None, n: int) -> None:
    for name, x in (("batch_size", batch_size), ("epochs", epochs), ("max_steps", max_steps),
                    ("accumulate", accumulate)):
        if x is not None and (isinstance(x, bool) or not isinstance(x, int) or x < 1):
            raise ValueError(f"fit: {name} must be a positive int, got {x!r}")
    if accumulate > min(batch_size or n, n):
        raise ValueError(f"fit: accumulate={accumulate} micro-batches, but a batch has only "
                         f"{min(batch_size or n, n)} samples")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"fit: reduction must be 'mean' or 'sum', got {reduction!r}")


def _tracked(model: Model, track: Iterable[str | Value]) -> dict[str, Value]:
    track = list(track)
    if not track:                 # nothing to name: skip walking a big model's parameters
        return {}
    named = dict(model.named_parameters()) if hasattr(model, "named_parameters") else {}
    by_value = {id(p): name for name, p in named.items()}
    out: dict[str, Value] = {}
    for item in track:
        if isinstance(item, str):
            if item not in named:
                raise ValueError(f"fit: track: no parameter named {item!r}")
            out[item] = named[item]
        elif isinstance(item, Value):
            out[by_value.get(id(item), item.label or f"param{len(out)}")] = item
        else:
            raise TypeError(f"fit: track takes parameters or their names, got {item!r}")
    return out


# --- measuring ----------------------------------------------------------------------------
def accuracy(outputs: Scalar | list[Scalar] | tuple[Scalar, ...], target: Number,
             threshold: Number = 0.0) -> int:
    """1 if the prediction is right, else 0. Several outputs: argmax == target (a class
    index). One output: it predicts the positive class when it is > threshold, and the
    target is positive when > 0, so labels may be -1/+1 or 0/1. The default threshold 0
    suits linear, tanh and logit outputs; pass threshold=0.5 for a sigmoid (probability)."""
    outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    if len(outs) > 1:
        return int(argmax(outs) == target)
    score = cast(Number, getattr(outs[0], "data", outs[0]))
    return int((score > threshold) == (target > 0))


METRICS = {"accuracy": accuracy}


def _metric(metric: str | Metric | None) -> Metric | None:
    if metric is None or callable(metric):
        return metric
    if isinstance(metric, str) and metric in METRICS:
        return METRICS[metric]
    raise ValueError(f"fit: unknown metric {metric!r}: use {', '.join(METRICS)} or a function "
                     "(outputs, target) -> number")


def evaluate(model: Model, data: Iterable[Pair] | Dataset,
             metric: Metric = accuracy) -> Number:
    """The mean of metric(model(x), y) over the data, computed under no_grad()."""
    pairs = _as_pairs(data)
    with no_grad():
        return sum(metric(model(x), y) for x, y in pairs) / len(pairs)


def data_loss(model: Model, data: Iterable[Pair] | Dataset, loss: str | Loss,
              reduction: str = "mean") -> Value:
    """The loss over a whole data set, mean (or sum) of loss(model(x), y): one Value."""
    loss_fn = losses.get(loss)
    terms = [loss_fn(model(x), y) for x, y in _as_pairs(data)]
    return losses.mean(terms) if reduction == "mean" else losses.total(terms)

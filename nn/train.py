"""Training: fit() runs gradient descent over a data set in (mini-)batches, with gradient
accumulation, stop rules, a tqdm progress bar and a History for plotting; Ctrl-C stops it
and keeps the weights learned so far. accuracy() and evaluate() measure a model.
"""
import math
import random
import sys
import time

from tracegrad.engine import Value, no_grad

from . import losses
from .activations import argmax


class History:
    """What fit() saw, one entry per optimizer step (step 1, 2, ...):
    loss (the batch loss before the update), lr, step_size (the largest |change| of any
    parameter), metric (e.g. batch accuracy, when fit was given one) and epoch.
    tracked[name] holds a parameter's value before training, then after every step.
    stopped says why training ended: 'epochs', 'max_steps', 'min_step', 'callback',
    'diverged' or 'interrupted'."""

    def __init__(self, tracked_names=()):
        self.step, self.epoch, self.loss, self.lr, self.step_size = [], [], [], [], []
        self.metric = []
        self.tracked = {name: [] for name in tracked_names}
        self.stopped = None
        self.seconds = 0.0

    def __len__(self):
        return len(self.step)

    def __repr__(self):
        if not self.loss:
            return "History(0 steps)"
        return (f"History({len(self)} steps, loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}, "
                f"stopped: {self.stopped})")


def fit(model, data, loss, optimizer, *, epochs=None, max_steps=None, batch_size=None,
        accumulate=1, reduction="mean", penalty=None, min_step=None, metric=None,
        shuffle=True, seed=0, track=(), callback=None, progress=True):
    """Train model on data = [(x, y), ...] (or an nn.data Dataset) and return a History.

    Each step takes a batch (all the data when batch_size is None, else batch_size samples,
    shuffled each epoch with random.Random(seed)), computes
        batch loss = mean (or sum, with reduction='sum') of loss(model(x), y)  [+ penalty(model)]
    then backward() and optimizer.step(). With accumulate=k the batch is split into k
    micro-batches, each backward()ed on its own; leaf gradients add up, so the update is
    the full batch's (only the graph of one micro-batch is in memory at a time).

    Stops after `epochs` passes or `max_steps` steps (1000 steps if neither is given), when
    the largest parameter change is below `min_step` (e.g. 0.001), when callback(history)
    returns True, when the loss stops being finite, or on Ctrl-C (KeyboardInterrupt): the
    weights learned so far are kept. metric(outputs, y) (e.g. nn.accuracy) is averaged over
    each batch; track lists parameters (Values or dotted names) whose values are recorded."""
    loss_fn = losses.get(loss)
    pairs = _as_pairs(data)
    _check_options(batch_size, accumulate, reduction, epochs, max_steps, len(pairs))
    if epochs is None and max_steps is None:
        max_steps = 1000
    size = len(pairs) if batch_size is None else min(batch_size, len(pairs))
    per_epoch = math.ceil(len(pairs) / size)
    total = min(x for x in (max_steps, epochs and epochs * per_epoch) if x is not None)
    params = optimizer.params
    tracked = _tracked(model, track)
    history = History(tracked)
    for name, p in tracked.items():
        history.tracked[name].append(p.data)
    rng = random.Random(seed)
    bar = _progress_bar(total, progress)
    start = time.perf_counter()
    try:
        for step in range(1, total + 1):
            epoch, index = divmod(step - 1, per_epoch)
            if index == 0 and size < len(pairs) and shuffle:
                rng.shuffle(pairs)
            batch = pairs[index * size:(index + 1) * size]
            before = [p.data for p in params]
            optimizer.zero_grad()
            try:
                batch_loss, score = _backward(model, batch, loss_fn, reduction, penalty,
                                              metric, accumulate)
            except OverflowError:              # a number grew past float: diverged too
                batch_loss, score = math.inf, None
            if not math.isfinite(batch_loss):
                history.stopped = "diverged"
                break
            optimizer.step()
            moved = max(abs(p.data - b) for p, b in zip(params, before))
            _record(history, step, epoch + 1, batch_loss, optimizer.lr, moved, score, tracked)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(_postfix(batch_loss, score), refresh=False)
            if min_step is not None and moved < min_step:
                history.stopped = "min_step"
                break
            if callback is not None and callback(history):
                history.stopped = "callback"
                break
        else:
            history.stopped = "max_steps" if total == max_steps else "epochs"
    except KeyboardInterrupt:
        history.stopped = "interrupted"
        print(f"\ninterrupted after {len(history)} steps: keeping the weights learned so far",
              file=sys.stderr)
    finally:
        if bar is not None:
            bar.close()
        history.seconds = time.perf_counter() - start
    return history


def _backward(model, batch, loss_fn, reduction, penalty, metric, k):
    """backward() over the batch in k micro-batches; returns (batch loss, mean metric)."""
    weight = 1 / len(batch) if reduction == "mean" else 1
    size = math.ceil(len(batch) / k)
    total, scores = 0.0, []
    for start in range(0, len(batch), size):
        terms = []
        for x, y in batch[start:start + size]:
            out = model(x)
            terms.append(loss_fn(out, y))
            if metric is not None:
                scores.append(metric(out, y))
        micro = losses.total(terms) * weight
        if penalty is not None and start + size >= len(batch):   # once, on the last one
            micro = micro + penalty(model)
        micro.backward()
        total += micro.data
    return total, (sum(scores) / len(scores) if scores else None)


def _record(history, step, epoch, loss, lr, moved, score, tracked):
    history.step.append(step)
    history.epoch.append(epoch)
    history.loss.append(loss)
    history.lr.append(lr)
    history.step_size.append(moved)
    if score is not None:
        history.metric.append(score)
    for name, p in tracked.items():
        history.tracked[name].append(p.data)


def _postfix(loss, score):
    out = {"loss": f"{loss:.4g}"}
    if score is not None:
        out["metric"] = f"{score:.3f}"
    return out


def _progress_bar(total, progress):
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:         # tqdm is a dependency, but training must not need it
        return None
    return tqdm(total=total, unit="step", dynamic_ncols=True, leave=True)


def _as_pairs(data):
    if hasattr(data, "X") and hasattr(data, "y"):
        return list(zip(data.X, data.y))
    pairs = list(data)
    for item in pairs:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"fit: data must be (input, target) pairs, got {item!r}")
    if not pairs:
        raise ValueError("fit: the data set is empty")
    return pairs


def _check_options(batch_size, accumulate, reduction, epochs, max_steps, n):
    for name, x in (("batch_size", batch_size), ("epochs", epochs), ("max_steps", max_steps),
                    ("accumulate", accumulate)):
        if x is not None and (isinstance(x, bool) or not isinstance(x, int) or x < 1):
            raise ValueError(f"fit: {name} must be a positive int, got {x!r}")
    if accumulate > min(batch_size or n, n):
        raise ValueError(f"fit: accumulate={accumulate} micro-batches, but a batch has only "
                         f"{min(batch_size or n, n)} samples")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"fit: reduction must be 'mean' or 'sum', got {reduction!r}")


def _tracked(model, track):
    named = dict(model.named_parameters()) if hasattr(model, "named_parameters") else {}
    by_value = {id(p): name for name, p in named.items()}
    out = {}
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
def accuracy(outputs, target, threshold=0.0):
    """1 if the prediction is right, else 0. Several outputs: argmax == target (a class
    index). One output: it predicts the positive class when it is > threshold, and the
    target is positive when > 0, so labels may be -1/+1 or 0/1. The default threshold 0
    suits linear, tanh and logit outputs; pass threshold=0.5 for a sigmoid (probability)."""
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    if len(outputs) > 1:
        return int(argmax(outputs) == target)
    score = getattr(outputs[0], "data", outputs[0])
    return int((score > threshold) == (target > 0))


def evaluate(model, data, metric=accuracy):
    """The mean of metric(model(x), y) over the data, computed under no_grad()."""
    pairs = _as_pairs(data)
    with no_grad():
        return sum(metric(model(x), y) for x, y in pairs) / len(pairs)


def data_loss(model, data, loss, reduction="mean"):
    """The loss over a whole data set, mean (or sum) of loss(model(x), y): one Value."""
    loss_fn = losses.get(loss)
    terms = [loss_fn(model(x), y) for x, y in _as_pairs(data)]
    total = losses.total(terms)
    return total * (1 / len(terms)) if reduction == "mean" else total

"""fit()'s guards, shared by both engines: the data and labels checked once, up front (one
clear error for None, a string, a wrong type, inputs and labels of different lengths, no
data), and the finite-step guard: no step whose gradient or new parameters are not finite,
nor one after the loss has grown by orders of magnitude (fit stops as 'diverged')."""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from tracegrad.engine import Value

Pair = tuple[Any, Any]
GROWTH = 1e6      # a loss above GROWTH * max(first loss, 1) has diverged


class Diverged(ArithmeticError):
    """A step fit refuses to apply: its message says why and names the parameter."""


# --- data ---------------------------------------------------------------------------------
def pairs(data: Iterable[Pair] | Any, caller: str = "fit") -> list[Pair]:
    """The (input, label) pairs of data (pairs, or a Dataset with X and y of equal length),
    each label a number, a Value or a sequence of them, every number finite; else a
    ValueError naming the caller, the sample and what is valid."""
    if hasattr(data, "X") and hasattr(data, "y"):
        if len(data.X) != len(data.y):
            raise ValueError(f"{caller}: the data set has {len(data.X)} inputs but "
                             f"{len(data.y)} labels: they must pair up one to one")
        found = list(zip(data.X, data.y))
    else:
        found = list(data)
        for i, item in enumerate(found):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise ValueError(f"{caller}: data must be (input, target) pairs, sample {i} "
                                 f"is {_short(item)}")
    if not found:
        raise ValueError(f"{caller}: the data set is empty (no samples to train on)")
    for i, (x, y) in enumerate(found):
        if not (_finite_floats(y) and _finite_floats(x)):     # the usual data, at once
            _check_label(caller, i, y)
            _check_finite(caller, i, "input", x)
    return found


def _finite_floats(x: object) -> bool:
    """True for a finite float or a list or tuple of them (every other case is checked
    one by one, with the error message): math.fsum is inf or NaN, or raises, when one is."""
    if type(x) is float:
        return math.isfinite(x)
    if type(x) is not list and type(x) is not tuple:
        return False
    if not all(type(v) is float for v in x):
        return False
    try:
        return math.isfinite(math.fsum(x))
    except (OverflowError, ValueError):
        return False


def _check_label(caller: str, i: int, y: object) -> None:
    items = list(y) if _is_sequence(y) else [y]    # type: ignore[call-overload]
    for item in items:
        if isinstance(item, (str, bytes)):
            raise ValueError(f"{caller}: sample {i}'s label is {_short(y)} (text); labels "
                             "are numbers: convert them, e.g. float(label)")
        if not isinstance(item, (numbers.Real, Value)) or not items:
            raise ValueError(f"{caller}: sample {i}'s label is {_short(y)}; a label is a "
                             "number, a Value or a list of numbers")
    _check_finite(caller, i, "label", y)


def _check_finite(caller: str, i: int, what: str, x: object) -> None:
    """Numbers in x (a number, a Value or a flat sequence of them) must be finite; other
    inputs are the model's business."""
    for item in (list(x) if _is_sequence(x) else [x]):   # type: ignore[call-overload]
        number = item.data if isinstance(item, Value) else item
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"{caller}: sample {i}'s {what} holds {number}; training data "
                             "must be finite")


def _is_sequence(x: object) -> bool:
    if type(x) is list or type(x) is tuple:     # the usual data, without the ABC's check
        return True
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes)) or \
        type(x).__name__ == "ndarray"


def _short(x: object, width: int = 50) -> str:
    text = repr(x)
    return text if len(text) <= width else text[:width - 3] + "..."


# --- steps --------------------------------------------------------------------------------
def check_gradients(params: Sequence[Value], model: Any,
                    grads: Sequence[Any] | None = None) -> None:
    """Diverged, naming the first parameter whose gradient is not finite. grads: the
    gradients as numbers in params' order (the replay path's array), else each p.grad."""
    for k, g in enumerate([p.grad for p in params] if grads is None else grads):
        if not _finite(g):
            raise Diverged(f"the gradient of {name(model, params, k)} is {g}: "
                           "the step was not applied")


def check_parameters(params: Sequence[Value], model: Any, values: Sequence[Any] | None = None,
                     grads: Sequence[Any] | None = None) -> None:
    """Diverged, naming the first parameter the step made non-finite. values, grads: the
    new parameters and their gradients as numbers (the replay path's arrays), else p.data
    and p.grad."""
    values = [p.data for p in params] if values is None else values
    grads = [p.grad for p in params] if grads is None else grads
    for k, (x, g) in enumerate(zip(values, grads)):
        if not _finite(x):
            raise Diverged(f"the step would make {name(model, params, k)} {x} (its "
                           f"gradient is {_short_number(g)}): the step was not applied")


def name(model: Any, params: Sequence[Value], k: int) -> str:
    """params[k]'s dotted name in the model (else its label, else its index); looked up
    only when a guard fails, so a good step costs one isfinite per parameter."""
    named = model.named_parameters() if hasattr(model, "named_parameters") else []
    found = next((n for n, p in named if p is params[k]), None)
    return found or params[k].label or f"parameter {k}"


def check_loss(loss: Any, first: Any) -> None:
    """Diverged if the loss is not finite or has grown GROWTH-fold from the first step's."""
    if not _finite(loss):
        raise Diverged(f"the loss is {loss}")
    if first is not None and _finite(first) and loss > GROWTH * max(float(first), 1.0):
        raise Diverged(f"the loss grew from {float(first):.4g} (step 1) to {float(loss):.4g}")


def _short_number(x: Any) -> str:
    try:
        return f"{float(x):.4g}"
    except (OverflowError, TypeError):
        return str(x)


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:          # a Fraction or int beyond float is not a float's problem
        return True

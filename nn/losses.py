"""Loss functions built from Value operations. Each takes predictions and targets as
lists of Values or numbers (a lone value counts as a list of one) and returns one Value.

    residual r_i = prediction_i - target_i
    sse = sum r_i^2 (SSR, also l2)   mse = mean r_i^2   rmse = sqrt(mse)
    l1  = sum |r_i|                   mae = mean |r_i|
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import cast

from tracegrad.engine import Value
from tracegrad.engine.value import Number

from .activations import Scalar, as_value, log_softmax, logsumexp

Many = Iterable[Scalar] | Scalar          # predictions or targets: a list, or a lone one
Loss = Callable[..., Value]               # (outputs, target, ...) -> one Value


def _pairs(name: str, pred: Many, target: Many | None) -> tuple[list[Scalar], list[Scalar]]:
    """pred and target as equal-length lists (target None means all zeros: a penalty)."""
    pred = _listed(pred)
    target = [0] * len(pred) if target is None else _listed(target)
    if len(pred) != len(target):
        raise ValueError(f"{name}: {len(pred)} prediction{'s' if len(pred) != 1 else ''} "
                         f"but {len(target)} target{'s' if len(target) != 1 else ''}; "
                         "they must pair up one to one")
    if not pred:
        raise ValueError(f"{name}: no predictions (an empty list has no loss)")
    return pred, target


def _listed(x: Many) -> list[Scalar]:
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, Value) or not hasattr(x, "__iter__"):
        return [x]
    return list(x)


def _data(x: Scalar) -> Number:
    """x's number: a Value's .data (anything else with a .data too), or x itself."""
    return cast(Number, getattr(x, "data", x))


def total(terms: Sequence[Scalar]) -> Value:
    """terms[0] + terms[1] + ... as one Value, left to right, with no '0 + ...' node."""
    result = as_value(terms[0])
    for t in terms[1:]:
        result = result + t
    return result


def mean(terms: Sequence[Scalar], n: int | None = None) -> Value:
    """(terms[0] + ... + terms[-1]) * 1/n, n = len(terms) unless given (fit gives the batch
    size when the terms are one micro-batch of it). One multiplication by Fraction(1, n):
    exact terms stay exact, and beside a float it is the float 1/n. The mean of one term
    is that term: no '* 1' node (a one-sample loss reads as the teacher writes it)."""
    n = len(terms) if n is None else n
    return total(terms) if n == 1 else total(terms) * Fraction(1, n)


def _reduce(name: str, terms: Sequence[Scalar], reduction: str) -> Value:
    if reduction == "sum":
        return total(terms)
    if reduction == "mean":
        return mean(terms)
    raise ValueError(f"{name}: reduction must be 'mean' or 'sum', got {reduction!r}")


def _residuals(name: str, pred: Many, target: Many | None, reduction: str,
               penalty: Callable[[Value], Value]) -> Value:
    """reduce(penalty(p_i - t_i)): penalty squares (sse, mse) or takes abs (l1, mae)."""
    pred, target = _pairs(name, pred, target)
    return _reduce(name, [penalty(as_value(p) - t) for p, t in zip(pred, target)], reduction)


def _square(r: Value) -> Value:
    return r ** 2


def sse(pred: Many, target: Many | None = None, reduction: str = "sum") -> Value:
    """Sum of squared residuals, sum (p_i - t_i)^2: StatQuest's SSR. With no target it is the
    L2 penalty sum p_i^2 (e.g. sse(model.parameters()))."""
    return _residuals("sse", pred, target, reduction, _square)


ssr = l2 = sse


def mse(pred: Many, target: Many, reduction: str = "mean") -> Value:
    """Mean squared error: (1/n) sum (p_i - t_i)^2."""
    return _residuals("mse", pred, target, reduction, _square)


def rmse(pred: Many, target: Many) -> Value:
    """Root mean squared error: sqrt(mse), in the units of the target."""
    return _residuals("rmse", pred, target, "mean", _square).sqrt()


def l1(pred: Many, target: Many | None = None, reduction: str = "sum") -> Value:
    """Sum of absolute residuals, sum |p_i - t_i| (d|r|/dr = sign r). With no target it is
    the L1 penalty sum |p_i| (e.g. l1(model.parameters()))."""
    return _residuals("l1", pred, target, reduction, abs)


def mae(pred: Many, target: Many, reduction: str = "mean") -> Value:
    """Mean absolute error: (1/n) sum |p_i - t_i|."""
    return _residuals("mae", pred, target, reduction, abs)


def cross_entropy(logits: Many, target: int | list[Scalar] | tuple[Scalar, ...]) -> Value:
    """-log softmax(logits)[target] = logsumexp(logits) - logits[target].

    target is a class index, or a list of class probabilities (then -sum t_i log softmax_i).
    Stable for any logits. Its gradient with respect to the logits is softmax - one_hot."""
    logits = _listed(logits)
    if isinstance(target, (list, tuple)):
        logits, target = _pairs("cross_entropy", logits, target)
        return -_reduce("cross_entropy", [lp * t for lp, t in zip(log_softmax(logits), target)
                                          if t != 0] or [Value(0.0)], "sum")
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < len(logits):
        raise ValueError(f"cross_entropy: target must be a class index 0..{len(logits) - 1} "
                         f"(one per logit), got {target!r}")
    return logsumexp(logits) - logits[target]


def binary_cross_entropy(pred: Many, target: Many, from_logits: bool = False,
                         reduction: str = "mean") -> Value:
    """-[t log p + (1 - t) log(1 - p)] for probabilities p in (0, 1) and targets t in [0, 1].

    With from_logits=True, pred holds logits z (p = sigmoid z) and the loss is written with
    log-sigmoids, -log sigmoid(z) = softplus(-z) and -log(1 - sigmoid(z)) = softplus(z):
        t softplus(-z) + (1 - t) softplus(z)
    the same number, but it never takes log(0) and never subtracts two large numbers
    (softplus(z) - t z loses 4.2e-18 at z = 40, t = 1). Its gradient is sigmoid(z) - t."""
    pred, target = _pairs("binary_cross_entropy", pred, target)
    terms = []
    for p, t in zip(pred, target):
        p = as_value(p)
        if from_logits:
            terms.append(_binary_term(t, lambda: (-p).softplus(), lambda: p.softplus()))
            continue
        if not 0 <= p.data <= 1:
            raise ValueError(f"binary_cross_entropy: {p.data!r} is not a probability; "
                             "pass from_logits=True if these are logits")
        terms.append(_binary_term(t, lambda: -_log_probability(p, t),
                                  lambda: -_log_probability(1 - p, t)))
    return _reduce("binary_cross_entropy", terms, reduction)


def _binary_term(t: Scalar, minus_log_p: Callable[[], Value],
                 minus_log_not_p: Callable[[], Value]) -> Value:
    """t (-log p) + (1 - t) (-log(1 - p)), taking only the logs whose weight is not 0: for a
    hard target 0 or 1 the other log (perhaps log 0) is never taken."""
    parts = [(minus_log_p, t), (minus_log_not_p, 1 - t)]
    return total([f() if w == 1 else f() * w for f, w in parts if w != 0])


def _log_probability(p: Value, t: Scalar) -> Value:
    if p.data <= 0:
        raise ValueError(f"binary_cross_entropy: log(0) for target {t!r}: the loss is "
                         "infinite; use from_logits=True for a stable loss")
    return p.log()


def kl_div(p: Many, q: Many) -> Value:
    """KL(p || q) = sum p_i log(p_i / q_i), for probability lists p (the truth) and q (the
    model): the cross-entropy of q against p minus p's entropy. Each term is written
    xlogy(p_i, p_i) - xlogy(p_i, q_i) (xlogy(a, b) = a log b, and 0 where a = 0), so a term
    with p_i = 0 is 0 and passes no gradient to q_i, and the graph is the same whatever p
    holds: one-hot and soft labels replay. Note PyTorch's kl_div takes log q first."""
    p, q = _pairs("kl_div", p, q)
    for i, (pi, qi) in enumerate(zip(p, q)):
        if _data(qi) <= 0 < _data(pi):
            raise ValueError(f"kl_div: q[{i}] = {_data(qi)!r} where p[{i}] = "
                             f"{_data(pi)!r} > 0: the divergence is infinite")
    terms = []
    for pi, qi in zip(p, q):
        pi = as_value(pi)
        terms.append(pi.xlogy(pi) - pi.xlogy(qi))
    return _reduce("kl_div", terms, "sum")


def hinge(scores: Many, labels: Many, reduction: str = "mean") -> Value:
    """Max-margin loss for labels -1/+1: max(0, 1 - y s). micrograd's demo uses it: a point
    counts only until it is on the right side of the boundary with a margin of 1."""
    scores, labels = _pairs("hinge", scores, labels)
    for y in labels:
        if _data(y) not in (-1, 1):
            raise ValueError(f"hinge: labels must be -1 or +1, got {y!r} "
                             "(for 0/1 labels use binary_cross_entropy)")
    return _reduce("hinge", [(1 - as_value(s) * y).relu() for s, y in zip(scores, labels)],
                   reduction)


BY_NAME = {"mse": mse, "mae": mae, "rmse": rmse, "sse": sse, "ssr": sse, "l2": sse, "l1": l1,
           "cross_entropy": cross_entropy, "binary_cross_entropy": binary_cross_entropy,
           "bce": binary_cross_entropy, "kl_div": kl_div, "hinge": hinge}


def get(loss: str | Loss) -> Loss:
    """The loss function for a name ('mse', 'hinge', 'cross_entropy', ...) or a callable."""
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss.lower() in BY_NAME:
        return BY_NAME[loss.lower()]
    raise ValueError(f"unknown loss {loss!r}: use one of {', '.join(sorted(BY_NAME))}, "
                     "or a function (outputs, target) -> Value")

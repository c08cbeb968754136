"""Loss functions built from Value operations. Each takes predictions and targets as
lists of Values or numbers (a lone value counts as a list of one) and returns one Value.

    residual r_i = prediction_i - target_i
    sse = sum r_i^2 (SSR, also l2)   mse = mean r_i^2   rmse = sqrt(mse)
    l1  = sum |r_i|                   mae = mean |r_i|
"""
from fractions import Fraction

from tracegrad.engine import Value

from .activations import as_value, log_softmax, logsumexp


def _pairs(name, pred, target):
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


def _listed(x):
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, Value) or not hasattr(x, "__iter__"):
        return [x]
    return list(x)


def total(terms):
    """terms[0] + terms[1] + ... as one Value, left to right, with no '0 + ...' node."""
    result = as_value(terms[0])
    for t in terms[1:]:
        result = result + t
    return result


def mean(terms, n=None):
    """(terms[0] + ... + terms[-1]) * 1/n, n = len(terms) unless given (fit gives the batch
    size when the terms are one micro-batch of it). One multiplication by Fraction(1, n):
    exact terms stay exact, and beside a float it is the float 1/n."""
    return total(terms) * Fraction(1, len(terms) if n is None else n)


def _reduce(name, terms, reduction):
    if reduction == "sum":
        return total(terms)
    if reduction == "mean":
        return mean(terms)
    raise ValueError(f"{name}: reduction must be 'mean' or 'sum', got {reduction!r}")


def _residuals(name, pred, target, reduction, penalty):
    """reduce(penalty(p_i - t_i)): penalty squares (sse, mse) or takes abs (l1, mae)."""
    pred, target = _pairs(name, pred, target)
    return _reduce(name, [penalty(as_value(p) - t) for p, t in zip(pred, target)], reduction)


def _square(r):
    return r ** 2


def sse(pred, target=None, reduction="sum"):
    """Sum of squared residuals, sum (p_i - t_i)^2: StatQuest's SSR. With no target it is the
    L2 penalty sum p_i^2 (e.g. sse(model.parameters()))."""
    return _residuals("sse", pred, target, reduction, _square)


ssr = l2 = sse


def mse(pred, target, reduction="mean"):
    """Mean squared error: (1/n) sum (p_i - t_i)^2."""
    return _residuals("mse", pred, target, reduction, _square)


def rmse(pred, target):
    """Root mean squared error: sqrt(mse), in the units of the target."""
    return _residuals("rmse", pred, target, "mean", _square).sqrt()


def l1(pred, target=None, reduction="sum"):
    """Sum of absolute residuals, sum |p_i - t_i| (d|r|/dr = sign r). With no target it is
    the L1 penalty sum |p_i| (e.g. l1(model.parameters()))."""
    return _residuals("l1", pred, target, reduction, abs)


def mae(pred, target, reduction="mean"):
    """Mean absolute error: (1/n) sum |p_i - t_i|."""
    return _residuals("mae", pred, target, reduction, abs)


def cross_entropy(logits, target):
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


def binary_cross_entropy(pred, target, from_logits=False, reduction="mean"):
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


def _binary_term(t, minus_log_p, minus_log_not_p):
    """t (-log p) + (1 - t) (-log(1 - p)), taking only the logs whose weight is not 0: for a
    hard target 0 or 1 the other log (perhaps log 0) is never taken."""
    parts = [(minus_log_p, t), (minus_log_not_p, 1 - t)]
    return total([f() if w == 1 else f() * w for f, w in parts if w != 0])


def _log_probability(p, t):
    if p.data <= 0:
        raise ValueError(f"binary_cross_entropy: log(0) for target {t!r}: the loss is "
                         "infinite; use from_logits=True for a stable loss")
    return p.log()


def kl_div(p, q):
    """KL(p || q) = sum p_i log(p_i / q_i), for probability lists p (the truth) and q (the
    model). Terms with p_i = 0 contribute 0. Note PyTorch's kl_div takes log q first."""
    p, q = _pairs("kl_div", p, q)
    for i, (pi, qi) in enumerate(zip(p, q)):
        if getattr(qi, "data", qi) <= 0 < getattr(pi, "data", pi):
            raise ValueError(f"kl_div: q[{i}] = {getattr(qi, 'data', qi)!r} where p[{i}] = "
                             f"{getattr(pi, 'data', pi)!r} > 0: the divergence is infinite")
    terms = [as_value(pi) * (as_value(pi).log() - as_value(qi).log())
             for pi, qi in zip(p, q) if getattr(pi, "data", pi) != 0]
    return _reduce("kl_div", terms or [Value(0.0)], "sum")


def hinge(scores, labels, reduction="mean"):
    """Max-margin loss for labels -1/+1: max(0, 1 - y s). micrograd's demo uses it: a point
    counts only until it is on the right side of the boundary with a margin of 1."""
    scores, labels = _pairs("hinge", scores, labels)
    for y in labels:
        if getattr(y, "data", y) not in (-1, 1):
            raise ValueError(f"hinge: labels must be -1 or +1, got {y!r} "
                             "(for 0/1 labels use binary_cross_entropy)")
    return _reduce("hinge", [(1 - as_value(s) * y).relu() for s, y in zip(scores, labels)],
                   reduction)


BY_NAME = {"mse": mse, "mae": mae, "rmse": rmse, "sse": sse, "ssr": sse, "l2": sse, "l1": l1,
           "cross_entropy": cross_entropy, "binary_cross_entropy": binary_cross_entropy,
           "bce": binary_cross_entropy, "kl_div": kl_div, "hinge": hinge}


def get(loss):
    """The loss function for a name ('mse', 'hinge', 'cross_entropy', ...) or a callable."""
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss.lower() in BY_NAME:
        return BY_NAME[loss.lower()]
    raise ValueError(f"unknown loss {loss!r}: use one of {', '.join(sorted(BY_NAME))}, "
                     "or a function (outputs, target) -> Value")

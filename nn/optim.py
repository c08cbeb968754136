"""Optimizers, in order of complexity: SGD (with momentum and Nesterov), RMSProp, Adam, AdamW.
Each update rule is written once, as `update(p, g, state, lr, t)`, with arithmetic that works
on Values and on numpy arrays alike: step() runs it under no_grad() on every parameter,
explain(p) runs it recording a graph (one update drawn and checked by hand), and step_arrays()
runs it on all parameters at once as arrays (fit's replay engine). State is named as in the papers.
"""
from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable, Iterable
from itertools import repeat
from fractions import Fraction
from typing import Any, TypedDict

from tracegrad.engine import Value, enable_grad, no_grad
from tracegrad.engine.value import Gradient, Number

Schedule = Callable[[int], Number]                 # t (steps taken so far) -> lr
Update = tuple[Value, dict[str, Value]]            # (new p, new state) from update()


class Saved(TypedDict):
    """What state_dict() gives and load_state_dict() takes."""
    t: int
    lr: Number
    state: list[dict[str, Number]]


class Optimizer:
    """Holds the parameters, the learning rate `lr`, the step count `t` and per-parameter
    `state` ({p: {"m": number, ...}}). `schedule(t) -> lr`, if given, sets lr before each
    step (t = steps taken so far, 0 for the first)."""

    # the per-parameter state, all starting at 0 (exact, like a Fraction)
    state_names: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Value], lr: Number,
                 schedule: Schedule | None = None) -> None:
        self.params = _parameters(params, type(self).__name__)
        _check(type(self).__name__, "lr", lr, POSITIVE)
        if schedule is not None and not callable(schedule):
            raise TypeError(f"{type(self).__name__}: schedule must be a function of t -> lr, "
                            f"got {schedule!r}")
        self.lr = lr
        self.schedule = schedule
        self.t = 0
        self._pending: dict[str, Any] | None = None     # see sync_arrays
        self.state = {p: dict.fromkeys(self.state_names, 0) for p in self.params}

    @property
    def state(self) -> dict[Value, dict[str, Number]]:
        """{parameter: {state name: number}}, e.g. {p: {"m": 0.01, "v": 2e-6}}."""
        if self._pending is not None:       # fit's arrays, put back per parameter when asked
            pending, self._pending = self._pending, None
            states = list(map(self._state.__getitem__, self.params))
            for k, numbers in pending.items():      # map, not a Python loop: 66,817 at once
                deque(map(operator.setitem, states, repeat(k), numbers.tolist()), maxlen=0)
        return self._state

    @state.setter
    def state(self, state: dict[Value, dict[str, Number]]) -> None:
        self._pending, self._state = None, state

    def zero_grad(self) -> None:
        """Set every parameter's .grad to 0 before the next backward()."""
        for p in self.params:
            p.grad = 0

    def step(self) -> None:
        """Apply one update to every parameter from its current .grad. All new values are
        computed before any is stored, so an error in update() changes nothing."""
        lr = self.schedule(self.t) if self.schedule is not None else self.lr
        t, update, state = self.t + 1, self.update, self.state
        with no_grad():
            new = [update(p, Value(_number(p.grad)),
                          {k: Value(v) for k, v in state[p].items()}, lr, t)
                   for p in self.params]
        self.lr, self.t = lr, t
        for p, (new_p, new_s) in zip(self.params, new):
            p.data = new_p.data
            state[p].update((k, v.data) for k, v in new_s.items())

    def step_arrays(self, p: Any, g: Any, state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The same update on arrays: p and g hold every parameter and its gradient (in the
        order of .params), state one array per state name. Returns (new p, new state) and
        advances t and lr as step() does; .data and .state are left alone (see sync_arrays)."""
        lr = self.schedule(self.t) if self.schedule is not None else self.lr
        t = self.t + 1
        new_p, new_state = self.update(p, g, state, lr, t)
        self.lr, self.t = lr, t
        return new_p, {k: new_state.get(k, state[k]) for k in state}

    def arrays(self) -> dict[str, Any]:
        """The per-parameter state as one sequence of numbers per name, in the order of
        .params (the arrays sync_arrays was given, if nothing has read .state since)."""
        if self._pending is not None:
            return dict(self._pending)
        states = list(map(self.state.__getitem__, self.params))    # map: no Python loop
        return {k: list(map(operator.itemgetter(k), states)) for k in self.state_names}

    def sync_arrays(self, state: dict[str, Any]) -> None:
        """Take state (one numpy array per name, in the order of .params) as the optimizer's.
        It is put back per parameter when .state is next read (a fit that follows picks the
        arrays up from arrays() as they are: 66,817 parameters' state costs 14 ms a turn)."""
        if self._pending is not None and set(self._pending) - set(state):
            self.state                      # names the new arrays leave out go in first
        self._pending = dict(state)

    def state_dict(self) -> Saved:
        """{"t", "lr", "state": one {name: number} per parameter, in order}: a copy, so it can
        be put back with load_state_dict (fit does, to undo an interrupted step)."""
        return {"t": self.t, "lr": self.lr, "state": [dict(self.state[p]) for p in self.params]}

    def load_state_dict(self, saved: Saved) -> None:
        """Restore t, lr and the per-parameter state from state_dict()."""
        if len(saved["state"]) != len(self.params):
            raise ValueError(f"{type(self).__name__}.load_state_dict: {len(saved['state'])} "
                             f"parameter states for {len(self.params)} parameters")
        self.t, self.lr = saved["t"], saved["lr"]
        for p, s in zip(self.params, saved["state"]):
            self.state[p] = dict(s)

    def explain(self, p: Value) -> Value:
        """The graph of p's next update, without applying it: a Value p_new whose graph
        leads back to leaves labelled p, grad, lr and the state names (m, v, ...). Draw it,
        step through its backward pass, or read p_new.data."""
        if p not in self.state:
            raise ValueError(f"explain: {p!r} is not one of this optimizer's parameters")
        leaf_p = Value(p.data, label=p.label or "p")
        grad = Value(_number(p.grad), label="grad")
        lr = Value(self.schedule(self.t) if self.schedule else self.lr, label="lr")
        state = {k: Value(v, label=k) for k, v in self.state[p].items()}
        with enable_grad():
            new_p, new_state = self.update(leaf_p, grad, state, lr, self.t + 1)
        new_p.label = "p_new"
        for k, v in new_state.items():
            v.label = f"{k}_new"
        return new_p

    def update(self, p: Value, g: Value, state: dict[str, Value], lr: Number | Value,
               t: int) -> Update:
        """(new p, new state) from parameter p, gradient g, state, learning rate and step t."""
        raise NotImplementedError

    def __repr__(self) -> str:
        n = len(self.params)
        return f"{type(self).__name__}({n} parameter{'s' * (n != 1)}, lr={self.lr:g})"


class SGD(Optimizer):
    """Gradient descent: p <- p - lr * g.

    With momentum mu (PyTorch's form; the velocity is its 'momentum_buffer'):
        v <- mu v + g;   p <- p - lr v     (Nesterov: p <- p - lr (g + mu v))
    weight_decay wd adds wd * p to g first (an L2 penalty of wd/2 * p^2)."""

    def __init__(self, params: Iterable[Value], lr: Number, momentum: Number = 0.0,
                 nesterov: bool = False, weight_decay: Number = 0.0,
                 schedule: Schedule | None = None) -> None:
        _check("SGD", "momentum", momentum, AT_LEAST_0)
        _check("SGD", "weight_decay", weight_decay, AT_LEAST_0)
        if nesterov and not momentum:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.state_names = ("velocity",) if momentum else ()
        super().__init__(params, lr, schedule)
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def __repr__(self) -> str:
        extra = f", momentum={self.momentum:g}" if self.momentum else ""
        extra += ", nesterov" if self.nesterov else ""
        return super().__repr__()[:-1] + extra + ")"

    def update(self, p: Value, g: Value, state: dict[str, Value], lr: Number | Value,
               t: int) -> Update:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if not self.momentum:
            return p - lr * g, {}
        v = self.momentum * state["velocity"] + g
        step = g + self.momentum * v if self.nesterov else v
        return p - lr * step, {"velocity": v}


class RMSProp(Optimizer):
    """Hinton's RMSProp: keep a running mean of squared gradients and divide by its root.
        mean_square <- alpha mean_square + (1 - alpha) g^2
        p <- p - lr g / (sqrt(mean_square) + eps)"""

    state_names = ("mean_square",)

    def __init__(self, params: Iterable[Value], lr: Number = 0.01, alpha: Number = 0.99,
                 eps: Number = 1e-8, weight_decay: Number = 0.0,
                 schedule: Schedule | None = None) -> None:
        super().__init__(params, lr, schedule)
        _check("RMSProp", "alpha", alpha, IN_0_1)
        _check("RMSProp", "eps", eps, EPS)
        _check("RMSProp", "weight_decay", weight_decay, AT_LEAST_0)
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay

    def update(self, p: Value, g: Value, state: dict[str, Value], lr: Number | Value,
               t: int) -> Update:
        if self.weight_decay:
            g = g + self.weight_decay * p
        ms = self.alpha * state["mean_square"] + (1 - self.alpha) * g * g
        return p - lr * g / (sqrt(ms) + self.eps), {"mean_square": ms}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015, Algorithm 1), step t = 1, 2, ...:
        m <- beta1 m + (1 - beta1) g            first moment (mean of g)
        v <- beta2 v + (1 - beta2) g^2          second moment (mean of g^2)
        m_hat = m / (1 - beta1^t);  v_hat = v / (1 - beta2^t)     bias corrections
        p <- p - lr m_hat / (sqrt(v_hat) + eps)
    weight_decay adds wd * p to g first (L2, as torch.optim.Adam); AdamW decouples it."""

    state_names = ("m", "v")

    def __init__(self, params: Iterable[Value], lr: Number = 0.001,
                 betas: tuple[Number, Number] | list[Number] = (0.9, 0.999), eps: Number = 1e-8,
                 weight_decay: Number = 0.0, schedule: Schedule | None = None) -> None:
        super().__init__(params, lr, schedule)
        who = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{who}: betas must be a pair (beta1, beta2), got {betas!r}")
        for name, beta in zip(("beta1", "beta2"), betas):
            _check(who, name, beta, IN_0_1)
        _check(who, "eps", eps, EPS)
        _check(who, "weight_decay", weight_decay, AT_LEAST_0)
        (self.beta1, self.beta2), self.eps, self.weight_decay = betas, eps, weight_decay

    def update(self, p: Value, g: Value, state: dict[str, Value], lr: Number | Value,
               t: int) -> Update:
        if self.weight_decay:
            g = g + self.weight_decay * p
        return self._adam(p, g, state, lr, t)

    def _adam(self, p: Value, g: Value, state: dict[str, Value], lr: Number | Value,
              t: int) -> Update:
        b1, b2 = self.beta1, self.beta2
        m = b1 * state["m"] + (1 - b1) * g
        v = b2 * state["v"] + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        return p - lr * m_hat / (sqrt(v_hat) + self.eps), {"m": m, "v": v}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): first p <- p - lr wd p,
    then the Adam step on the unchanged gradient."""

    def __init__(self, params: Iterable[Value], lr: Number = 0.001,
                 betas: tuple[Number, Number] | list[Number] = (0.9, 0.999), eps: Number = 1e-8,
                 weight_decay: Number = 0.01, schedule: Schedule | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, schedule)

    def update(self, p: Value, g: Value, state: dict[str, Value], lr: Number | Value,
               t: int) -> Update:
        if self.weight_decay:
            p = p - lr * self.weight_decay * p
        return self._adam(p, g, state, lr, t)


def momentum(params: Iterable[Value], lr: Number, momentum: Number = 0.9,
             **options: Any) -> SGD:     # Any: any of SGD's other keywords
    """SGD with momentum 0.9 unless told otherwise: the command line's --optimizer momentum."""
    return SGD(params, lr, momentum=momentum, **options)


BY_NAME = {"sgd": SGD, "momentum": momentum, "rmsprop": RMSProp, "adam": Adam, "adamw": AdamW}


# --- learning-rate schedules: functions of t (steps taken so far) -> lr ------------------
def linear_decay(start: Number, end: Number, steps: int) -> Schedule:
    """lr falls in a straight line from start (t = 0) to end (t = steps), then stays at end.
    micrograd's demo uses linear_decay(1.0, 0.1, 100)."""
    return lambda t: start + (end - start) * min(t, steps) / steps


def exponential_decay(start: Number, rate: Number) -> Schedule:
    """lr = start * rate^t."""
    return lambda t: start * rate ** t


def _parameters(params: Iterable[Value], who: str) -> list[Value]:
    if hasattr(params, "parameters") and callable(params.parameters):
        raise TypeError(f"{who}: pass model.parameters(), not the model itself")
    params = list(params)
    if not params:
        raise ValueError(f"{who}: got an empty parameter list")
    first: dict[int, int] = {}       # id(p) -> its index
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"{who}: parameters must be Values, got {type(p).__name__}")
        if id(p) in first:           # it would be updated twice per step (PyTorch refuses too)
            raise ValueError(f"{who}: parameters {first[id(p)]} and {i} are the same Value "
                             f"{p!r}; list each parameter once")
        first[id(p)] = i
    return params


def sqrt(x: Any) -> Any:
    """The square root of a Value (its sqrt row, so explain() draws it) or of a numpy array
    (x ** 0.5, which numpy computes with its correctly rounded sqrt, as math.sqrt is)."""
    return x.sqrt() if isinstance(x, Value) else x ** 0.5


def _number(grad: Gradient) -> Number:
    return grad.data if isinstance(grad, Value) else grad


# Hyper-parameter rules, (test, what is valid), checked as torch.optim checks them; eps must
# be > 0 (PyTorch allows 0): with eps = 0 an exactly-zero gradient makes the step 0 / 0.
Rule = tuple[Callable[[Number], bool], str]
POSITIVE: Rule = (lambda x: x > 0, "a positive number")
AT_LEAST_0: Rule = (lambda x: x >= 0, "a number >= 0")
IN_0_1: Rule = (lambda x: 0 <= x < 1, "in [0, 1)")
EPS: Rule = (lambda x: x > 0, "a positive number (it keeps g / (sqrt(v) + eps) finite when g is 0)")


def _check(who: str, name: str, x: object, rule: Rule) -> None:
    test, valid = rule
    if (isinstance(x, bool) or not isinstance(x, (int, float, Fraction))
            or not math.isfinite(x) or not test(x)):
        raise ValueError(f"{who}: {name} must be {valid}, got {x!r}")

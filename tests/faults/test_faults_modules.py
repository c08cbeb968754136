"""Faults in odd models and extreme numbers: tied weights and back-references (cycles) in
modules, a parameter listed twice, hyper-parameters PyTorch refuses, and every loss and
optimizer at logits or gradients of +-1000 and beyond."""
import math

import pytest

from tracegrad.engine import Value
from tracegrad.nn import MLP, Module, losses, optim, softmax


class Tied(Module):
    def __init__(self):
        self.w = Value(1.0)
        self.w_again = self.w                  # the same Value under a second name


class Child(Module):
    def __init__(self, parent):
        self.parent = parent                   # a back-reference: a cycle of modules
        self.b = Value(2.0)


class WithCycle(Module):
    def __init__(self):
        self.w = Value(1.0)
        self.child = Child(self)
        self.me = [self]                       # the module inside its own list
        loop = []
        loop.append(loop)                      # a list that contains itself
        self.loop = loop


def test_a_tied_parameter_is_listed_once_and_updated_once():
    model = Tied()
    assert model.named_parameters() == [("w", model.w)]
    model.w.grad = 1.0
    optim.SGD(model.parameters(), lr=0.1).step()
    assert model.w.data == 0.9                 # as PyTorch; listed twice it went to 0.8


def test_back_references_and_cycles_are_walked_once():
    model = WithCycle()
    assert [name for name, _ in model.named_parameters()] == ["w", "child.b"]
    assert model.state_dict() == {"w": 1.0, "child.b": 2.0}
    model.zero_grad()


def test_tied_mlp_weights_between_layers():
    model = MLP(2, [2, 2], seed=0)
    model.layers[1].neurons[0].w = model.layers[0].neurons[0].w     # tie two weight lists
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == 12 - 2 and "layers.1.neurons.0.b" in names
    assert not any(n.startswith("layers.1.neurons.0.w") for n in names)


def test_a_parameter_listed_twice_is_refused():
    w = Value(1.0, label="w")
    with pytest.raises(ValueError, match=r"SGD: parameters 0 and 1 are the same Value"):
        optim.SGD([w, w], lr=0.1)


@pytest.mark.parametrize("kind, kwargs, message", [
    (optim.Adam, dict(eps=-1), "eps must be a positive number"),
    (optim.Adam, dict(eps=0), "eps must be a positive number"),
    (optim.AdamW, dict(eps=float("nan")), "eps must be a positive number"),
    (optim.Adam, dict(betas=(0.9,)), r"betas must be a pair"),
    (optim.Adam, dict(betas=(0.9, 1.0)), r"beta2 must be in \[0, 1\)"),
    (optim.Adam, dict(weight_decay=-0.1), "weight_decay must be a number >= 0"),
    (optim.Adam, dict(lr=float("inf")), "lr must be a positive number"),
    (optim.RMSProp, dict(eps=0.0), "eps must be a positive number"),
    (optim.RMSProp, dict(alpha=1.5), r"alpha must be in \[0, 1\)"),
    (optim.RMSProp, dict(weight_decay=-1), "weight_decay must be a number >= 0"),
    (optim.SGD, dict(lr=0.1, momentum=-0.5), "momentum must be a number >= 0"),
    (optim.SGD, dict(lr=True), "lr must be a positive number"),
    (optim.SGD, dict(lr="0.1"), "lr must be a positive number"),
])
def test_hyper_parameters_are_validated(kind, kwargs, message):
    with pytest.raises(ValueError, match=f"{kind.__name__}: {message}"):
        kind([Value(1.0)], **kwargs)


def test_a_bad_schedule_is_refused():
    with pytest.raises(TypeError, match="schedule must be a function"):
        optim.SGD([Value(1.0)], lr=0.1, schedule=0.5)


def test_binary_cross_entropy_from_logits_keeps_tiny_losses():
    z = Value(40.0)
    loss = losses.binary_cross_entropy([z], [1], from_logits=True)
    loss.backward()
    assert loss.data == pytest.approx(4.248354255291589e-18, rel=1e-12, abs=0)   # log1p(e^-40)
    assert z.grad == pytest.approx(-4.248354255291589e-18, rel=1e-12, abs=0)     # sigmoid(40) - 1


def value_and_grads(loss_fn, logits, target):
    zs = [Value(z) for z in logits]
    loss = loss_fn(zs, target)
    loss.backward()
    return loss.data, [z.grad for z in zs]


# Each loss at predictions/logits of +-1000, with its value and gradient worked by hand.
EXTREMES = [
    ("mse", losses.mse, [0, 0], 1e6, [1000, -1000]),                 # 2 r / n
    ("mae", losses.mae, [0, 0], 1000, [0.5, -0.5]),
    ("rmse", losses.rmse, [0, 0], 1000, [0.5, -0.5]),                # r / (n rmse)
    ("sse", losses.sse, [0, 0], 2e6, [2000, -2000]),
    ("l1", losses.l1, [0, 0], 2000, [1, -1]),
    ("cross_entropy, wrong", losses.cross_entropy, 1, 2000, [1, -1]),     # softmax - one_hot
    ("cross_entropy, right", losses.cross_entropy, 0, 0, [0, 0]),
    ("bce, wrong", lambda z, t: losses.binary_cross_entropy(z, t, from_logits=True), [0, 1],
     1000, [0.5, -0.5]),                                             # (sigmoid z - t) / n
    ("bce, right", lambda z, t: losses.binary_cross_entropy(z, t, from_logits=True), [1, 0],
     0, [0, 0]),
    ("hinge, wrong", losses.hinge, [-1, 1], 1001, [0.5, -0.5]),      # -y / n
    ("hinge, right", losses.hinge, [1, -1], 0, [0, 0]),
    ("kl_div", lambda z, p: losses.kl_div(p, softmax(z)), [1, 0], 0, [0, 0]),   # softmax - p
]


@pytest.mark.parametrize("name, loss_fn, target, value, grads", EXTREMES,
                         ids=[e[0] for e in EXTREMES])
def test_every_loss_at_logits_of_plus_minus_1000(name, loss_fn, target, value, grads):
    got, got_grads = value_and_grads(loss_fn, [1000.0, -1000.0], target)
    assert got == value and got_grads == grads


def test_every_named_loss_is_in_the_extreme_table():
    tested = {e[1] for e in EXTREMES} | {losses.binary_cross_entropy, losses.kl_div}
    assert set(losses.BY_NAME.values()) <= tested


def test_kl_div_with_an_impossible_outcome_names_the_entry():
    with pytest.raises(ValueError, match=r"kl_div: q\[1\] = 0.0 where p\[1\] = 1 > 0"):
        losses.kl_div([0, 1], softmax([1000.0, -1000.0]))


@pytest.mark.parametrize("kind", [optim.SGD, optim.RMSProp, optim.Adam, optim.AdamW])
@pytest.mark.parametrize("g", [0.0, 1e300, -1e300, 1e-300])
def test_every_optimizer_at_extreme_gradients(kind, g):
    p = Value(1.0)
    opt = kind([p], lr=0.1, momentum=0.9) if kind is optim.SGD else kind([p], lr=0.1)
    for _ in range(2):
        p.grad = g
        opt.step()
    if kind is optim.SGD:                   # v1 = g, v2 = 1.9 g: p = 1 - 0.1 (g + 1.9 g)
        assert p.data == pytest.approx(1 - 0.29 * g, rel=1e-15)
    else:
        # g = 0 moves nothing (0 / (0 + eps)); g^2 = inf for |g| = 1e300 makes the step
        # g / inf = 0; at g = 1e-300 the step, lr g / eps = 1e-293, is lost beside 1.0.
        # Only AdamW's decoupled decay moves p: twice by a factor 1 - lr * 0.01.
        assert p.data == ((1 - 0.1 * 0.01) ** 2 if kind is optim.AdamW else 1.0)

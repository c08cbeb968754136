"""Optimizers: hand-worked updates, named state, schedules, explain(p) graphs, speed, and
step-for-step parity with torch.optim (skipped when torch is absent)."""
import math

import pytest

from tracegrad.engine import Value
from tracegrad.nn import MLP, losses, optim


def quadratic_steps(opt, params, targets, steps):
    """Minimise sum (p - target)^2 for `steps` steps; return the parameter values per step."""
    seen = []
    for _ in range(steps):
        opt.zero_grad()
        losses.sse(params, targets).backward()
        opt.step()
        seen.append([p.data for p in params])
    return seen


def test_sgd_step_by_hand():
    p = Value(3.0)
    opt = optim.SGD([p], lr=0.1)
    quadratic_steps(opt, [p], [1.0], 1)          # g = 2 (3 - 1) = 4
    assert p.data == pytest.approx(3.0 - 0.4)
    assert opt.state[p] == {} and opt.t == 1


def test_sgd_momentum_and_nesterov_by_hand():
    p = Value(3.0)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    quadratic_steps(opt, [p], [1.0], 2)
    # step 1: g = 4, v = 4, p = 2.6; step 2: g = 3.2, v = 0.9*4 + 3.2 = 6.8, p = 2.6 - 0.68
    assert opt.state[p]["velocity"] == pytest.approx(6.8)
    assert p.data == pytest.approx(1.92)
    q = Value(3.0)
    quadratic_steps(optim.SGD([q], lr=0.1, momentum=0.9, nesterov=True), [q], [1.0], 1)
    assert q.data == pytest.approx(3.0 - 0.1 * (4 + 0.9 * 4))


def test_adam_first_step_moves_by_about_lr_whatever_the_gradient():
    ps = [Value(5.0), Value(-5.0)]
    opt = optim.Adam(ps, lr=0.01)
    quadratic_steps(opt, ps, [0.0, 0.0], 1)
    # m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps) = lr * sign(g)
    assert [p.data for p in ps] == pytest.approx([4.99, -4.99], abs=1e-9)
    assert opt.state[ps[0]]["m"] == pytest.approx(0.1 * 10)
    assert opt.state[ps[0]]["v"] == pytest.approx(0.001 * 100)


def test_adamw_decouples_weight_decay():
    p = Value(2.0)
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = 0.0                                    # no gradient: only the decay acts
    opt.step()
    assert p.data == pytest.approx(2.0 * (1 - 0.1 * 0.5))


def test_schedule_sets_lr_before_each_step():
    p = Value(0.0)
    opt = optim.SGD([p], lr=1.0, schedule=optim.linear_decay(1.0, 0.1, 10))
    rates = []
    for _ in range(12):
        p.grad = 1.0
        opt.step()
        rates.append(opt.lr)
    assert rates[0] == 1.0 and rates[10] == pytest.approx(0.1) and rates[11] == pytest.approx(0.1)
    assert p.data == pytest.approx(-sum(rates))
    assert optim.exponential_decay(1.0, 0.5)(3) == 0.125


def test_explain_draws_one_update_as_a_graph_without_applying_it():
    p = Value(3.0, label="w")
    opt = optim.Adam([p], lr=0.1)
    p.grad = 4.0
    new = opt.explain(p)
    assert new.label == "p_new" and p.data == 3.0 and opt.state[p] == {"m": 0.0, "v": 0.0}
    from tracegrad.engine import topological_order
    labels = {n.label for n in topological_order(new)}
    assert {"w", "grad", "lr", "m", "v"} <= labels
    opt.step()
    assert new.data == p.data                       # the graph computed the same update
    assert 0 < new.data < 3.0


def test_bad_arguments_are_clear_errors():
    with pytest.raises(TypeError, match="pass model.parameters\\(\\), not the model"):
        optim.SGD(MLP(1, [1], seed=0), lr=0.1)
    with pytest.raises(ValueError, match="lr must be a positive number, got -1"):
        optim.SGD([Value(1.0)], lr=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="nesterov=True needs a momentum"):
        optim.SGD([Value(1.0)], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta2 must be in \\[0, 1\\)"):
        optim.Adam([Value(1.0)], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="not one of this optimizer's parameters"):
        optim.SGD([Value(1.0)], lr=0.1).explain(Value(2.0))


def test_twenty_momentum_steps_on_337_parameters_match_the_closed_form():
    # constant gradient g: v_t = g (1 - mu^t) / (1 - mu), and p moves by lr times their sum
    model = MLP(2, [16, 16, 1], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    start = [p.data for p in model.parameters()]
    for _ in range(20):
        for p in model.parameters():
            p.grad = 0.5
        opt.step()
    moved = 0.1 * 0.5 * (20 - 9 * (1 - 0.9 ** 20)) / (1 - 0.9)
    assert [s - p.data for s, p in zip(start, model.parameters())] == pytest.approx(
        [moved] * 337, rel=1e-12)


TORCH_CASES = [
    ("SGD", dict(lr=0.1), dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01),
     dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True), dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("RMSProp", dict(lr=0.01), dict(lr=0.01)),
    ("Adam", dict(lr=0.1), dict(lr=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
     dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05), dict(lr=0.05)),
]


@pytest.mark.parity
@pytest.mark.parametrize("name, ours, theirs", TORCH_CASES)
def test_optimizers_match_torch_step_for_step(name, ours, theirs):
    torch = pytest.importorskip("torch")
    start, targets = [2.0, -1.5, 0.3, 0.0], [1.0, 1.0, -2.0, 0.5]
    ps = [Value(x) for x in start]
    mine = quadratic_steps(getattr(optim, name)(ps, **ours), ps, targets, 25)
    tp = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    kind = {"RMSProp": "RMSprop"}.get(name, name)
    topt = getattr(torch.optim, kind)([tp], **theirs)
    tt = torch.tensor(targets, dtype=torch.float64)
    for step, values in enumerate(mine):
        topt.zero_grad()
        ((tp - tt) ** 2).sum().backward()
        topt.step()
        assert values == pytest.approx(tp.tolist(), rel=1e-12, abs=1e-14), f"step {step + 1}"


@pytest.mark.parity
def test_adam_matches_torch_on_an_mlp():
    torch = pytest.importorskip("torch")
    model = MLP(2, [4, 1], activation="tanh", seed=0)
    params = model.parameters()
    tparams = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in params]
    opt, topt = optim.Adam(params, lr=0.05), torch.optim.Adam(tparams, lr=0.05)
    xs, ys = [[0.5, -1.0], [1.0, 2.0], [-0.3, 0.1]], [1.0, -1.0, 0.5]

    def torch_forward(x):
        hidden = [torch.tanh(tparams[3 * i] * x[0] + tparams[3 * i + 1] * x[1] + tparams[3 * i + 2])
                  for i in range(4)]
        return sum(w * h for w, h in zip(tparams[12:16], hidden)) + tparams[16]

    for _ in range(10):
        opt.zero_grad()
        losses.mse([model(x)[0] for x in xs], ys).backward()
        opt.step()
        topt.zero_grad()
        (sum((torch_forward(x) - y) ** 2 for x, y in zip(xs, ys)) / 3).backward()
        topt.step()
    assert [p.data for p in params] == pytest.approx([t.item() for t in tparams], rel=1e-10)
    assert math.isfinite(params[0].data)


def test_optimizer_repr_counts_its_parameters_in_words():
    w = Value(1.0)
    assert repr(optim.SGD([w], lr=0.1)) == "SGD(1 parameter, lr=0.1)"
    assert repr(optim.Adam([w, Value(2.0)], lr=0.01)) == "Adam(2 parameters, lr=0.01)"

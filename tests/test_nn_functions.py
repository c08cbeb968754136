"""Activations and losses: values, gradients (softmax minus one-hot), stability for large
logits, reductions, and the errors for mismatched or invalid inputs."""
import math

import pytest

from tracegrad.engine import Value, grad
from tracegrad.nn import activations as A
from tracegrad.nn import losses as L


@pytest.mark.parametrize("name, x, value, slope", [
    ("linear", -2.0, -2.0, 1.0), ("identity", 3.0, 3.0, 1.0),
    ("relu", -2.0, 0.0, 0.0), ("relu", 2.0, 2.0, 1.0),
    ("leaky_relu", -2.0, -0.02, 0.01), ("leaky_relu", 2.0, 2.0, 1.0),
    ("sigmoid", 0.0, 0.5, 0.25), ("tanh", 0.0, 0.0, 1.0),
    ("softplus", 0.0, math.log(2), 0.5),
    ("step", 2.0, 1.0, 0.0), ("step", -2.0, 0.0, 0.0), ("step", 1e-9, 1.0, 0.0),
])
def test_activation_values_and_slopes(name, x, value, slope):
    v = Value(x)
    out = A.get(name)(v)
    assert out.data == pytest.approx(value, abs=1e-15)
    assert grad(out, [v])[0] == pytest.approx(slope, abs=1e-15)


def test_step_is_connected_to_its_input_with_zero_gradient():
    x = Value(0.7)
    y = A.step(x)
    assert y.op == "step" and y.parents == (x,) and y.data == 1.0     # one row of the table
    y.backward()
    assert x.grad == 0
    assert A.step(-2.0).data == 0 and A.step(0.0).data == 0
    assert "derivative is 0 everywhere" in A.step.__doc__


def test_softmax_is_stable_for_huge_logits_and_sums_to_one():
    probs = A.softmax([1000.0, 999.0, -1000.0])
    assert [p.data for p in probs] == pytest.approx(
        [1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1)), 0.0], abs=1e-15)
    logs = A.log_softmax([1000.0, 0.0])
    assert logs[1].data == pytest.approx(-1000.0)
    assert A.logsumexp([1000.0, 1000.0]).data == pytest.approx(1000 + math.log(2))
    assert A.argmax([Value(1.0), Value(3.0), Value(3.0)]) == 1
    with pytest.raises(ValueError, match="softmax: needs at least one value"):
        A.softmax([])


@pytest.mark.parametrize("logits, target", [([2.0, 1.0, 0.1], 0), ([0.5, -1.5, 3.0, 0.0], 2),
                                            ([700.0, 0.0], 1)])
def test_cross_entropy_gradient_is_softmax_minus_one_hot(logits, target):
    zs = [Value(z) for z in logits]
    loss = L.cross_entropy(zs, target)
    grads = grad(loss, zs)
    probs = [p.data for p in A.softmax(logits)]
    expected = [p - (i == target) for i, p in enumerate(probs)]
    assert grads == pytest.approx(expected, abs=1e-12)
    assert loss.data == pytest.approx(-A.log_softmax(logits)[target].data, abs=1e-12)


def test_cross_entropy_with_probability_targets_and_bad_index():
    zs = [0.5, -1.0, 2.0]
    assert L.cross_entropy(zs, [0.0, 0.0, 1.0]).data == pytest.approx(L.cross_entropy(zs, 2).data)
    with pytest.raises(ValueError, match=r"class index 0\.\.2"):
        L.cross_entropy(zs, 3)


def test_regression_losses_known_values():
    pred, target = [1.0, 2.0, 4.0], [1.5, 2.0, 2.0]       # residuals -0.5, 0, 2
    assert L.sse(pred, target).data == 4.25
    assert L.ssr is L.sse and L.l2 is L.sse
    assert L.mse(pred, target).data == pytest.approx(4.25 / 3)
    assert L.mse(pred, target, reduction="sum").data == 4.25
    assert L.rmse(pred, target).data == pytest.approx(math.sqrt(4.25 / 3))
    assert L.l1(pred, target).data == 2.5
    assert L.mae(pred, target).data == pytest.approx(2.5 / 3)
    assert L.sse([3.0, -4.0]).data == 25.0                 # no target: the L2 penalty
    assert L.l1([3.0, -4.0]).data == 7.0
    assert L.mse(Value(3.0), 1.0).data == 4.0              # a lone value is a list of one


def test_mse_gradient_is_two_residuals_over_n():
    p = [Value(1.0), Value(4.0)]
    assert grad(L.mse(p, [0.0, 2.0]), p) == pytest.approx([1.0, 2.0])


@pytest.mark.parametrize("fn", [L.mse, L.mae, L.rmse, L.sse, L.l1, L.hinge, L.kl_div,
                                L.binary_cross_entropy])
def test_mismatched_lengths_are_clear_errors(fn):
    with pytest.raises(ValueError, match=r"2 predictions but 3 targets"):
        fn([0.5, 0.5], [1, 1, 1])


def test_reduction_must_be_mean_or_sum():
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        L.mse([1.0], [1.0], reduction="avg")


def test_binary_cross_entropy_probability_and_logit_forms_agree():
    z, t = [Value(0.3), Value(-2.0)], [1.0, 0.0]
    by_logits = L.binary_cross_entropy(z, t, from_logits=True)
    by_probs = L.binary_cross_entropy([v.sigmoid() for v in z], t)
    expected = -(math.log(1 / (1 + math.exp(-0.3))) + math.log(1 - 1 / (1 + math.exp(2.0)))) / 2
    assert by_logits.data == pytest.approx(expected, rel=1e-12)
    assert by_probs.data == pytest.approx(expected, rel=1e-12)
    assert grad(by_logits, z) == pytest.approx(grad(by_probs, z), rel=1e-9)
    assert L.binary_cross_entropy([1000.0], [0.0], from_logits=True).data == pytest.approx(1000)
    with pytest.raises(ValueError, match="not a probability.*from_logits=True"):
        L.binary_cross_entropy([1.5], [1.0])
    with pytest.raises(ValueError, match="log\\(0\\)"):
        L.binary_cross_entropy([0.0], [1.0])
    assert L.binary_cross_entropy([0.0], [0.0]).data == 0.0


def test_kl_divergence():
    p, q = [0.5, 0.5, 0.0], [0.25, 0.5, 0.25]
    assert L.kl_div(p, q).data == pytest.approx(0.5 * math.log(2))
    assert L.kl_div(q, q).data == 0.0


def test_kl_divergence_by_hand_with_a_zero_in_p():
    # p = [0, 0.5, 0.5], q = [0.2, 0.3, 0.5]: 0 + 0.5 log(0.5/0.3) + 0.5 log(1) = 0.5 log(5/3);
    # d/dq_i = -p_i / q_i = [0, -5/3, -1] (the p = 0 term passes nothing back)
    q = [Value(0.2), Value(0.3), Value(0.5)]
    loss = L.kl_div([0.0, 0.5, 0.5], q)
    assert loss.data == pytest.approx(0.5 * math.log(5 / 3), rel=1e-15)
    assert grad(loss, q) == pytest.approx([0.0, -5 / 3, -1.0], rel=1e-15)
    assert [n.op for n in loss.parents[0].parents[0].parents] == ["xlogy", "xlogy"]


@pytest.mark.parametrize("p", [[0.0, 0.5, 0.5], [0.0, 1.0, 0.0], [0.1, 0.6, 0.3]])
def test_kl_divergence_gradient_by_central_differences(p):
    qs = [0.2, 0.3, 0.5]
    q = [Value(x) for x in qs]
    got = grad(L.kl_div(p, q), q)
    for i in range(3):
        up, down = list(qs), list(qs)
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric = (L.kl_div(p, up).data - L.kl_div(p, down).data) / 2e-6
        assert got[i] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_hinge_is_micrograds_max_margin():
    assert L.hinge([2.0, 0.5, -1.0], [1, 1, 1]).data == pytest.approx((0 + 0.5 + 2.0) / 3)
    s = Value(0.5)
    L.hinge([s], [-1]).backward()
    assert s.grad == 1.0
    with pytest.raises(ValueError, match="labels must be -1 or \\+1"):
        L.hinge([1.0], [0])


def test_losses_by_name():
    assert L.get("mse") is L.mse and L.get(L.mae) is L.mae
    with pytest.raises(ValueError, match="unknown loss 'msq'"):
        L.get("msq")


@pytest.mark.parity
def test_losses_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    p, t = [0.3, -1.2, 2.5], [0.0, 1.0, 2.0]
    tp, tt = torch.tensor(p, dtype=torch.float64), torch.tensor(t, dtype=torch.float64)
    assert L.mse(p, t).data == pytest.approx(F.mse_loss(tp, tt).item(), rel=1e-14)
    assert L.mae(p, t).data == pytest.approx(F.l1_loss(tp, tt).item(), rel=1e-14)
    assert L.cross_entropy(p, 2).data == pytest.approx(
        F.cross_entropy(tp[None], torch.tensor([2])).item(), rel=1e-14)
    probs, targets = [0.2, 0.9], [0.0, 1.0]
    assert L.binary_cross_entropy(probs, targets).data == pytest.approx(
        F.binary_cross_entropy(torch.tensor(probs, dtype=torch.float64),
                               torch.tensor(targets, dtype=torch.float64)).item(), rel=1e-14)
    assert L.binary_cross_entropy(p, [0.0, 1.0, 1.0], from_logits=True).data == pytest.approx(
        F.binary_cross_entropy_with_logits(tp, torch.tensor([0.0, 1.0, 1.0],
                                                            dtype=torch.float64)).item(), rel=1e-14)
    for P, Q in [([0.1, 0.6, 0.3], [0.3, 0.3, 0.4]), ([0.0, 0.5, 0.5], [0.2, 0.3, 0.5]),
                 ([0.0, 1.0, 0.0], [0.2, 0.3, 0.5])]:
        tq = torch.tensor(Q, dtype=torch.float64, requires_grad=True)
        want = F.kl_div(tq.log(), torch.tensor(P, dtype=torch.float64), reduction="sum")
        want.backward()
        q = [Value(x) for x in Q]
        ours = L.kl_div(P, q)
        assert ours.data == pytest.approx(want.item(), rel=1e-14)
        assert grad(ours, q) == pytest.approx(tq.grad.tolist(), rel=1e-14)
    assert [v.data for v in A.softmax(p)] == pytest.approx(F.softmax(tp, 0).tolist(), rel=1e-14)

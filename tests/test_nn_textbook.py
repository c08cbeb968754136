"""Known numbers from the textbooks: Matt Mazur's step-by-step backpropagation example,
StatQuest's dosage network, softmax of [34, 32, 25]. Every expected number here was
recomputed independently (by hand and with torch in float64) before being pinned."""
import math

import pytest

from tracegrad.engine import Value
from tracegrad.nn import MLP, data, fit, losses, optim, softmax


def mazur_network():
    """2-2-2 logistic network; parameters() order is h1: w1 w2 b1, h2: w3 w4 b1,
    o1: w5 w6 b2, o2: w7 w8 b2 (Mazur shares b1 and b2 between the two units)."""
    model = MLP(2, [2, 2], activation="sigmoid", output_activation="sigmoid", seed=0)
    for p, v in zip(model.parameters(), [.15, .20, .35, .25, .30, .35,
                                         .40, .45, .60, .50, .55, .60]):
        p.data = v
    return model


def mazur_error(out, target):
    return 0.5 * losses.sse(out, target)          # E = sum 1/2 (t - o)^2


def test_mazur_forward_outputs_and_total_error():
    model = mazur_network()
    out = model([.05, .10])
    assert out[0].data == pytest.approx(0.75136507, abs=1e-8)
    assert out[1].data == pytest.approx(0.772928465, abs=1e-8)
    assert mazur_error(out, [.01, .99]).data == pytest.approx(0.298371109, abs=1e-9)


def test_mazur_one_step_updates_every_weight():
    model = mazur_network()
    layer1, layer2 = model.layers
    weights = [w for layer in (layer1, layer2) for n in layer.neurons for w in n.w]
    opt = optim.SGD(weights, lr=0.5)             # Mazur updates the weights, not the biases
    loss = mazur_error(model([.05, .10]), [.01, .99])
    opt.zero_grad()
    loss.backward()
    opt.step()
    expected = {"w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
                "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121}
    for (name, value), w in zip(expected.items(), weights):
        assert w.data == pytest.approx(value, abs=1e-8), name
    assert [n.b.data for n in layer1.neurons + layer2.neurons] == [.35, .35, .60, .60]


def statquest_network(b3=0.0):
    """Dosage -> two softplus units -> sum: y = w3 softplus(w1 x + b1) + w4 softplus(w2 x + b2) + b3."""
    model = MLP(1, [2, 1], activation="softplus", seed=0)
    model.load_state_dict({"layers.0.neurons.0.w.0": 3.34, "layers.0.neurons.0.b": -1.43,
                           "layers.0.neurons.1.w.0": -3.53, "layers.0.neurons.1.b": 0.57,
                           "layers.1.neurons.0.w.0": -1.22, "layers.1.neurons.0.w.1": -2.30,
                           "layers.1.neurons.0.b": b3})
    return model


def test_statquest_dosage_gradient_of_ssr_for_b3():
    model = statquest_network()
    ssr = sum((losses.sse(model(x), y) for x, y in data.dosage()), Value(0.0))
    ssr.backward()
    b3 = model.layers[1].neurons[0].b
    assert b3.grad == pytest.approx(-15.655, abs=5e-4)
    assert b3.grad == pytest.approx(-15.655108380577747, rel=1e-12)   # torch float64
    assert ssr.data == pytest.approx(20.423597677589214, rel=1e-12)


def test_statquest_gradient_descent_on_b3_finds_the_least_squares_bias():
    model = statquest_network()
    b3 = model.layers[1].neurons[0].b
    history = fit(model, data.dosage(), losses.sse, optim.SGD([b3], lr=0.1), reduction="sum",
                  min_step=0.001, max_steps=1000, track=[b3], progress=False)
    assert history.stopped == "min_step"
    assert history.step_size[0] == pytest.approx(1.5655108, abs=1e-6)   # lr * slope
    # SSR is a parabola in b3, minimised where b3 = mean residual with b3 = 0
    with_zero = statquest_network()
    best = sum(y - with_zero(x)[0].data for x, y in data.dosage()) / 3
    assert b3.data == pytest.approx(best, abs=0.003)
    assert history.tracked["layers.1.neurons.0.b"][0] == 0.0
    assert len(history.tracked["layers.1.neurons.0.b"]) == len(history) + 1


def test_softmax_of_34_32_25():
    probs = [p.data for p in softmax([34, 32, 25])]
    assert probs[1] == pytest.approx(0.1192, abs=5e-5)
    total = 1 + math.exp(-2) + math.exp(-9)            # divide through by e^34
    assert probs == pytest.approx([1 / total, math.exp(-2) / total, math.exp(-9) / total],
                                  rel=1e-14)
    assert probs == pytest.approx([0.88070135, 0.11918997, 0.00010868], abs=1e-8)
    assert math.fsum(probs) == pytest.approx(1.0, abs=1e-15)


def test_height_weight_line_by_least_squares():
    d = data.height_weight()
    xs, ys = [x[0] for x in d.X], d.y
    mx, my = sum(xs) / 3, sum(ys) / 3
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    assert (round(my - slope * mx, 2), round(slope, 2)) == (0.95, 0.64)

"""tracegrad.nn.to_torch / load_torch: the torch module computes the same outputs, loss
gradients and SGD step as the tracegrad model (to 1e-12), the way back restores the exact
weights, and what cannot convert says why. Skipped when torch is missing (but the import
and the install hint are checked without it)."""
import math
import subprocess
import sys

import pytest

from tracegrad.extras import MissingExtra
from tracegrad.nn import MLP, Neuron, data, fit, load_torch, losses, optim, to_torch

pytestmark = pytest.mark.parity
INPUTS = [[0.5, -1.0], [2.0, 0.25], [-1.5, 1.5]]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def trained(activation="tanh", output_activation=None):
    model = MLP(2, [5, 4, 1], activation=activation, output_activation=output_activation,
                seed=1)
    fit(model, data.moons(20, seed=0, labels=(-1, 1)), losses.hinge,
        optim.Adam(model.parameters(), lr=0.05), epochs=3, batch_size=5, progress=False)
    return model


def torch_grads(module):
    """Each parameter's gradient in tracegrad's order (neuron by neuron, weights then bias)."""
    out = []
    for linear in [m for m in module if hasattr(m, "weight")]:
        for row, b in zip(linear.weight.grad.tolist(), linear.bias.grad.tolist()):
            out += row + [b]
    return out


@pytest.mark.parametrize("activation", ["tanh", "relu", "leaky_relu", "sigmoid", "softplus"])
def test_outputs_and_gradients_equal(torch, activation):
    model = trained(activation, output_activation="sigmoid")
    module = to_torch(model)
    x = torch.tensor(INPUTS, dtype=torch.float64)
    assert [row[0] for row in module(x).tolist()] == pytest.approx(
        [model(v)[0].data for v in INPUTS], abs=1e-12, rel=1e-12)
    # the same loss over the same samples: mean squared error against targets
    targets = [1.0, 0.0, 1.0]
    loss = losses.mean([losses.mse(model(v), [y]) for v, y in zip(INPUTS, targets)])
    model.zero_grad()
    loss.backward()
    t_loss = torch.nn.functional.mse_loss(module(x)[:, 0],
                                          torch.tensor(targets, dtype=torch.float64))
    t_loss.backward()
    assert t_loss.item() == pytest.approx(loss.data, abs=1e-12)
    assert torch_grads(module) == pytest.approx([p.grad for p in model.parameters()], abs=1e-12)


def test_one_sgd_step_equals(torch):
    model = trained()
    module = to_torch(model)
    x, y = torch.tensor(INPUTS[:3], dtype=torch.float64), [1.0, -1.0, 1.0]
    opt, t_opt = optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(module.parameters(), lr=0.1)
    loss = losses.mean([losses.mse(model(v), [t]) for v, t in zip(INPUTS[:3], y)])
    opt.zero_grad(); loss.backward(); opt.step()
    t_loss = ((module(x)[:, 0] - torch.tensor(y, dtype=torch.float64)) ** 2).mean()
    t_opt.zero_grad(); t_loss.backward(); t_opt.step()
    assert load_torch(module).state_dict() == pytest.approx(model.state_dict(), abs=1e-12)


def test_the_way_back_is_exact(torch):
    model = trained("relu")
    back = load_torch(to_torch(model))
    assert repr(back) == repr(model) == "MLP(2, [5, 4, 1])"
    assert back.state_dict() == model.state_dict()                    # float64: no rounding


def test_a_torch_made_network_loads(torch):
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Softplus(),
                                 torch.nn.Linear(6, 2), torch.nn.Sigmoid())   # float32
    model = load_torch(module)
    assert repr(model) == "MLP(3, [6, 2], activation='softplus', output_activation='sigmoid')"
    x = [[0.1, -0.7, 2.0], [1.0, 1.0, -1.0]]
    want = module.double()(torch.tensor(x, dtype=torch.float64)).tolist()
    assert [[v.data for v in model(row)] for row in x] == [pytest.approx(w, abs=1e-12)
                                                            for w in want]


def test_a_neuron_and_a_layer_convert(torch):
    neuron = Neuron(3, activation="relu", seed=0)
    module = to_torch(neuron)
    assert [type(m).__name__ for m in module] == ["Linear", "ReLU"]
    x = [0.3, -0.2, 0.9]
    assert module(torch.tensor([x], dtype=torch.float64)).item() == pytest.approx(
        neuron(x).data, abs=1e-15)


def test_softplus_past_torchs_default_threshold(torch):
    # torch.nn.Softplus() is linear above 20, where log(1 + e^25) = 25 + 1.4e-11
    neuron = Neuron(1, activation="softplus", seed=0)
    neuron.w[0].data, neuron.b.data = 1.0, 0.0
    assert to_torch(neuron)(torch.tensor([[25.0]], dtype=torch.float64)).item() == \
        neuron(25.0).data == 25 + math.log1p(math.exp(-25))


def test_what_cannot_convert_says_why(torch):
    with pytest.raises(ValueError, match="activation 'step'.*linear, relu, leaky_relu"):
        to_torch(MLP(2, [3, 1], activation="step"))
    with pytest.raises(TypeError, match="expected an MLP, Layer or Neuron, got list"):
        to_torch([1, 2])
    with pytest.raises(ValueError, match="different activations"):
        load_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(),
                                       torch.nn.Linear(3, 3), torch.nn.Tanh(),
                                       torch.nn.Linear(3, 1)))
    with pytest.raises(ValueError, match="cannot convert Dropout"):
        load_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Dropout()))
    with pytest.raises(ValueError, match="slope 0.01"):
        load_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.LeakyReLU(0.2)))
    with pytest.raises(ValueError, match="without a bias"):
        load_torch(torch.nn.Sequential(torch.nn.Linear(2, 3, bias=False)))
    with pytest.raises(TypeError, match="expected a torch.nn.Sequential"):
        load_torch(torch.nn.Linear(2, 3))


def test_nn_imports_without_torch_and_names_the_extra(monkeypatch):
    code = "import sys, tracegrad.nn; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtra, match=r"tracegrad\[torch\]"):
        to_torch(MLP(2, [1], seed=0))

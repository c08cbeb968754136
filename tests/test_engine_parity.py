"""PyTorch parity: random expression graphs give the same values and gradients (and
second derivatives) in float64 to 1e-9. Skipped when torch is not installed."""
import random

import pytest

from tracegrad.engine import Value, grad

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.parity

# each step: (name, number of inputs, on Values, on torch tensors); domains kept safe by
# construction (log and sqrt of x*x + c, a positive base for a Value exponent)
STEPS = [
    ("add", 2, lambda a, b: a + b, lambda a, b: a + b),
    ("sub", 2, lambda a, b: a - b, lambda a, b: a - b),
    ("mul", 2, lambda a, b: a * b, lambda a, b: a * b),
    ("div", 2, lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    ("neg", 1, lambda a: -a, lambda a: -a),
    ("pow3", 1, lambda a: a ** 3, lambda a: a ** 3),
    ("powv", 2, lambda a, b: (a * a + 0.5) ** b.tanh(), lambda a, b: (a * a + 0.5) ** b.tanh()),
    ("rpow", 1, lambda a: 2 ** a.tanh(), lambda a: 2 ** a.tanh()),
    ("exp", 1, lambda a: a.tanh().exp(), lambda a: a.tanh().exp()),
    ("log", 1, lambda a: (a * a + 0.1).log(), lambda a: (a * a + 0.1).log()),
    ("sqrt", 1, lambda a: (a * a + 0.1).sqrt(), lambda a: (a * a + 0.1).sqrt()),
    ("tanh", 1, lambda a: a.tanh(), torch.tanh),
    ("sigmoid", 1, lambda a: a.sigmoid(), torch.sigmoid),
    ("relu", 1, lambda a: a.relu(), torch.relu),
    ("leaky_relu", 1, lambda a: a.leaky_relu(0.1), lambda a: torch.nn.functional.leaky_relu(a, 0.1)),
    ("softplus", 1, lambda a: a.softplus(), torch.nn.functional.softplus),
    ("sin", 1, lambda a: a.sin(), torch.sin),
    ("cos", 1, lambda a: a.cos(), torch.cos),
    ("abs", 1, lambda a: abs(a), torch.abs),
]


def random_program(seed, n_inputs=3, n_steps=25):
    rng = random.Random(seed)
    inputs = [rng.uniform(-2, 2) for _ in range(n_inputs)]
    program = []
    for k in range(n_steps):
        step = rng.randrange(len(STEPS))
        available = n_inputs + k
        args = [rng.randrange(available) for _ in range(STEPS[step][1])]
        program.append((step, args))
    return inputs, program


def run(program, nodes, which):
    nodes = list(nodes)
    for step, args in program:
        nodes.append(STEPS[step][which](*[nodes[i] for i in args]))
    total = nodes[0] * 0
    for node in nodes[len(nodes) - 8:]:      # the output depends on the last few steps
        total = total + node
    return total


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_match_pytorch(seed):
    inputs, program = random_program(seed)
    values = [Value(x) for x in inputs]
    out = run(program, values, 2)
    out.backward()
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    t_out = run(program, tensors, 3)
    t_out.backward()
    assert out.data == pytest.approx(t_out.item(), rel=1e-9, abs=1e-9)
    for v, t in zip(values, tensors):
        expected = t.grad.item() if t.grad is not None else 0.0
        assert v.grad == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_second_derivatives_match_pytorch(seed):
    inputs, program = random_program(100 + seed, n_inputs=2, n_steps=12)
    values = [Value(x) for x in inputs]
    first = grad(run(program, values, 2), values, create_graph=True)
    second = grad(first[0], values) if isinstance(first[0], Value) else [0, 0]
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    t_first = torch.autograd.grad(run(program, tensors, 3), tensors, create_graph=True,
                                  allow_unused=True)
    t_second = [0.0, 0.0]
    if t_first[0] is not None and t_first[0].requires_grad:
        t_second = [g.item() if g is not None else 0.0 for g in
                    torch.autograd.grad(t_first[0], tensors, allow_unused=True)]
    assert [getattr(g, "data", g) for g in first] == pytest.approx(
        [g.item() if g is not None else 0.0 for g in t_first], rel=1e-9, abs=1e-9)
    assert second == pytest.approx(t_second, rel=1e-9, abs=1e-9)

"""check_grad(f, values, against="torch"): tracegrad's graph replayed by PyTorch, every row
of the derivative table compared with torch.autograd in float64, a wrong row caught, and a
one-line install hint without torch. Skipped (except the hint) when torch is missing."""
import dataclasses
import math
import sys

import pytest

from tracegrad.engine import OPS, Value, check_grad
from tracegrad.engine.teach.check import GradCheckFailed
from tracegrad.engine.value import _apply
from tracegrad.extras import MissingExtra


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def apply_row(row, inputs, arg):
    """One node made straight from a row of the table (forward and local derivatives), as
    Value's operators and methods make theirs."""
    return _apply(row, inputs[0], inputs[1] if len(inputs) > 1 else None, arg)


ARG = {"pow": 2.5, "leaky_relu": 0.1}          # the ops that take a number parameter


def test_every_row_has_a_torch_counterpart_and_an_arg_rule(torch):
    from tracegrad.engine.teach.torch_check import _torch_ops
    assert set(_torch_ops(torch)) == set(OPS)
    assert {name for name, row in OPS.items() if row.arg} == set(ARG)


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("at", [-0.6, 0.7, 1.9])
def test_each_row_matches_torch(torch, name, at):
    row = OPS[name]
    values = [at, 1.3][:len(row.rules)]              # one rule per input
    try:
        row.forward(*values, *([ARG[name]] if name in ARG else []))
    except ValueError:
        pytest.skip(f"{name} is not defined at {values}")
    result = check_grad(lambda *xs: apply_row(row, xs, ARG.get(name)), values,
                        against="torch", rtol=1e-13, atol=1e-13)
    assert "autograd vs torch" in result.table
    assert all(math.isfinite(g) for g in result.numerical)


@pytest.mark.parity
def test_softplus_matches_past_torchs_default_threshold(torch):
    # torch's default turns softplus linear above 20: slope 1 where sigmoid(25) = 1 - 1.4e-11
    result = check_grad(lambda x: x.softplus(), [25.0], against="torch", rtol=0, atol=1e-15)
    assert result.numerical[0] == pytest.approx(1 / (1 + math.exp(-25)), abs=1e-15)


@pytest.mark.parity
def test_a_wrong_derivative_is_caught(torch):
    # d sin(a)/da = cos(a), made 0.001 too big: 0.002 after the * 2
    wrong = dataclasses.replace(OPS["sin"], local=lambda out, a, b, arg: (math.cos(a) + 1e-3,))
    with pytest.raises(GradCheckFailed, match="autograd and torch differ by 0.002"):
        check_grad(lambda x: apply_row(wrong, [x], None) * 2, [0.5], against="torch")


@pytest.mark.parity
def test_anything_f_builds_replays_constants_and_nn_functions(torch):
    from tracegrad.nn import losses
    # cross-entropy of softmax(a, b, c) with class 1: d/dz_i = softmax_i - [i == 1]
    result = check_grad(lambda a, b, c: losses.cross_entropy([a, b, c * 2 - 1], 1),
                        [0.5, -0.25, 1.0], against="torch", rtol=1e-13, atol=1e-13)
    z = [0.5, -0.25, 1.0]
    e = [math.exp(v) for v in z]
    soft = [v / sum(e) for v in e]
    assert result.numerical == pytest.approx([soft[0], soft[1] - 1, 2 * soft[2]], rel=1e-12)


@pytest.mark.parity
def test_an_unused_input_gets_zero(torch):
    result = check_grad(lambda x, y: x * 3, [2.0, 5.0], against="torch")
    assert result.numerical == [3.0, 0.0]
    result = check_grad(lambda x: Value(4.0) * 2, [1.0], against="torch")
    assert result.numerical == [0.0]


def test_against_must_be_numerical_or_torch():
    with pytest.raises(ValueError, match="against='jax'; give 'numerical'"):
        check_grad(lambda x: x * x, [1.0], against="jax")


def test_without_torch_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)          # import torch fails
    with pytest.raises(MissingExtra, match=r"pip install torch.*tracegrad\[torch\]"):
        check_grad(lambda x: x * x, [1.0], against="torch")

"""Faults in training, in both engines: fit never applies a step whose gradient or new
parameters are not finite, stops an exploding loss, and refuses bad data up front, with the
same outcome and message in "scalar" and "replay" (tests/faults/training.py has the cases)."""
import pytest

from tracegrad.nn import MLP, fit, losses, optim
from tracegrad.nn.guards import Diverged
from tracegrad.nn.train import train_step

from . import training


@pytest.mark.parametrize("case", training.CASES, ids=[c[0] for c in training.CASES])
def test_both_engines_stop_or_refuse_alike_keeping_the_last_good_step(case):
    assert training.problems(case) == []


def test_the_hinge_case_of_the_issue_names_the_parameter_and_says_so(capsys):
    m = MLP(2, [4, 1], seed=0)
    h = fit(m, [([1e308, 1e308], 1)] * 4, "hinge", optim.SGD(m.parameters(), lr=.1),
            max_steps=30, progress=False)
    assert h.stopped == "diverged" and len(h) == 1
    assert h.reason == ("step 2: the gradient of layers.1.neurons.0.w.3 is nan: the step was "
                        "not applied")
    assert capsys.readouterr().err == f"fit stopped (diverged) at {h.reason}\n"


def test_train_step_alone_refuses_a_nan_gradient_before_changing_anything():
    m = MLP(2, [4, 1], seed=0)
    opt, batch = optim.SGD(m.parameters(), lr=0.1), [([1e308, 1e308], 1)] * 4
    train_step(m, batch, losses.hinge, opt)                  # step 1: finite, applied
    after_one = m.state_dict()
    with pytest.raises(Diverged, match=r"the gradient of layers\.1\.neurons\.0\.w\.3 is nan"):
        train_step(m, batch, losses.hinge, opt)
    assert m.state_dict() == after_one

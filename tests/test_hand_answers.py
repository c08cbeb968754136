"""Answers worked out by hand and rounded, as published: check_grad(digits=, expected_rtol=)
in Python and `tracegrad check --digits/--expect-rtol` on the command line, and a failure
that says how to loosen the comparison in the words of the interface used."""
import math

import pytest

from tracegrad.engine import check_grad
from tracegrad.engine.teach.check import GradCheckFailed, agreeing_digits

from test_cli import run

# CS231n "Backpropagation, Intuitions", the sigmoid neuron: w = [2, -3, -3], x = [-1, -2];
# the circuit diagram's gradients, rounded to two decimals
CS231N_AT = [2.0, -1.0, -3.0, -2.0, -3.0]                   # w0, x0, w1, x1, w2
CS231N_GRADS = [-0.20, 0.39, -0.39, -0.59, 0.20]


def cs231n_neuron(w0, x0, w1, x1, w2):
    return 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())


def test_agreeing_digits_by_hand():
    assert agreeing_digits(0.78644773, 0.7864) == 4           # 1 - tanh(0.5)^2 = 0.786448
    assert agreeing_digits(-0.19661193, -0.2) == 2             # -0.20 to two digits
    assert agreeing_digits(-0.58983580, -0.59) == 3            # -0.590 is right to three
    assert agreeing_digits(3.8, 4) == 1 and agreeing_digits(3.8, 5) == 0
    assert agreeing_digits(0.0, 0.0) == 17 and agreeing_digits(0.0, 0.001) == 0


def test_cs231n_sigmoid_neuron_to_two_digits():
    result = check_grad(cs231n_neuron, CS231N_AT, CS231N_GRADS, digits=2)
    ddot = (1 - 1 / (1 + math.exp(-1))) / (1 + math.exp(-1))   # (1 - f) f at dot = 1
    assert result.autograd == pytest.approx([-ddot, 2 * ddot, -2 * ddot, -3 * ddot, ddot])
    assert "(to 2 significant digits)" in result.table.splitlines()[0]
    check_grad(cs231n_neuron, CS231N_AT, CS231N_GRADS, expected_rtol=0.02)


def test_a_rounded_answer_fails_by_default_and_says_how_to_loosen_in_python_words():
    with pytest.raises(GradCheckFailed) as failure:
        check_grad(cs231n_neuron, CS231N_AT, CS231N_GRADS)
    lines = str(failure.value).splitlines()
    assert lines[1] == ("if the expected values were rounded by hand, say so: digits=2 or "
                        "expected_rtol=0.02")                  # |-0.2 + 0.19661| / 0.2 = 0.017
    assert "expected -0.59, autograd gives -0.5898357997 (they agree to 3 significant digits)" \
        in lines[-2]
    assert isinstance(failure.value, AssertionError)           # pytest shows it as a failure


def test_digits_still_catch_a_wrong_answer():
    with pytest.raises(AssertionError, match=r"expected 0.79, autograd gives 0.786447733 \(they "
                                             r"agree to 2 significant digits\)"):
        check_grad(lambda x: x.tanh(), [0.5], [0.79], digits=3)


def test_digits_must_be_a_count():
    for bad in [0, 18, 2.5, "2"]:
        with pytest.raises(ValueError, match="digits=.*from 1 to 17"):
            check_grad(lambda x: x.tanh(), [0.5], [0.79], digits=bad)


def test_central_difference_failure_suggests_rtol():
    with pytest.raises(AssertionError) as failure:
        check_grad(lambda x: x.exp(), [3.0], rtol=1e-14, atol=0)
    assert "central differences are approximate: allow rtol=" in str(failure.value)


def test_cli_tanh_rounded_by_hand():
    args = ["check", "tanh(x)", "--at", "x=0.5", "--expect", "0.7864"]
    done = run(*args)
    assert done.returncode == 1
    assert done.stdout.splitlines()[1] == ("if the expected values were rounded by hand, say so: "
                                           "--digits 4 or --expect-rtol 7e-05")
    assert run(*args, "--digits", "4").returncode == 0
    assert run(*args, "--expect-rtol", "1e-4").returncode == 0
    assert run(*args, "--rtol", "1e-3").returncode == 1        # rtol is autograd vs numerical


def test_cli_cs231n_published_values():
    expr = "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"
    at = ["--at", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3", "--wrt", "x0", "x1", "w0"]
    done = run("check", expr, *at, "--expect", "0.39", "-0.59", "-0.2", "--digits", "2")
    assert done.returncode == 0 and "passed" in done.stdout, done.stdout + done.stderr
    # the first circuit: f = (x + y) z at x = -2, y = 5, z = -4 gives -4, -4, 3 exactly
    done = run("check", "(x + y)*z", "--at", "x=-2", "y=5", "z=-4", "--expect", "-4", "-4", "3",
               "--exact")
    assert done.returncode == 0


def test_cli_colah_and_pytorch_tutorial_examples():
    # colah, "Calculus on Computational Graphs": e = (a+b)(b+1) at a=2, b=1: de/da 2, de/db 5
    assert run("check", "(a+b)*(b+1)", "--at", "a=2", "b=1", "--expect", "2", "5",
               "--exact").returncode == 0
    # PyTorch's autograd tutorial: Q = 3a^3 - b^2 at a=2, b=6: dQ/da = 9a^2 = 36, -2b = -12
    assert run("check", "3*a^3 - b^2", "--at", "a=2", "b=6", "--expect", "36", "-12",
               "--exact").returncode == 0

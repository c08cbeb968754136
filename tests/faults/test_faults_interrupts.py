"""Faults: fit interrupted at any moment keeps the model and optimizer exactly as after its
last recorded step: at random moments (signal timer), inside one parameter's update, and
before the first step of the command lines (one line, no traceback)."""
import pytest

from tracegrad.nn import MLP, fit, optim

from . import interrupts

posix = pytest.mark.skipif(not hasattr(interrupts.signal, "setitimer"), reason="POSIX timers")


@posix
def test_random_interrupts_leave_a_clean_state():
    tried, ok = interrupts.trials(15, seed=0)
    assert ok == tried


@posix
@pytest.mark.slow
def test_many_random_interrupts_leave_a_clean_state():
    tried, ok = interrupts.trials(100, seed=1)
    assert ok == tried


class InterruptedAdam(optim.Adam):
    """Adam whose update is interrupted at step 2, on the sixth parameter."""

    def update(self, p, g, state, lr, t):
        if t == 2 and p is self.params[5]:
            raise KeyboardInterrupt
        return super().update(p, g, state, lr, t)


def test_an_interrupt_inside_one_parameters_update_undoes_the_whole_step():
    model, opt = interrupts.problem(InterruptedAdam)
    history = interrupts.train(model, opt)
    clean, clean_opt = interrupts.problem()
    fit(clean, interrupts.DATA, "hinge", clean_opt, max_steps=1, batch_size=2, seed=4,
        progress=False)
    assert history.stopped == "interrupted" and len(history) == 1
    assert opt.t == 1 and interrupts.snapshot(model, opt) == interrupts.snapshot(clean, clean_opt)


def test_an_error_in_step_changes_no_parameter():
    model = MLP(2, [3, 1], seed=0)
    opt = InterruptedAdam(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = 1.0
    opt.step()
    before = interrupts.snapshot(model, opt)
    with pytest.raises(KeyboardInterrupt):
        opt.step()
    assert interrupts.snapshot(model, opt) == before and opt.t == 1


@pytest.mark.parametrize("argv", [["train", "--data", "xor", "--no-progress"],
                                  ["demo", "--no-progress"]])
def test_a_command_interrupted_before_the_first_step_prints_one_line(argv, monkeypatch, capsys,
                                                                     tmp_path):
    from tracegrad.nn import __main__ as cli, train

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(train, "train_step", ctrl_c)
    assert cli.main(argv + ["--out", str(tmp_path)]) == 130
    out, err = capsys.readouterr()
    assert err.strip() == "interrupted after 0 steps: keeping the weights learned so far"
    assert "final loss" not in out and "Training accuracy" not in out
    assert list(tmp_path.iterdir()) == []

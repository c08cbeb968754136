"""Fault trials for fit(): a Ctrl-C at a random moment (a signal timer firing Python's own
SIGINT handler), compared with a clean run. Shared by the tests and by census.py, which
prints tried / survived counts for any checkout."""
import contextlib
import io
import random
import signal
import time

from tracegrad.nn import MLP, data, fit, optim

STEPS = 12
DATA = data.moons(16, noise=0.1, seed=1, labels=(-1, 1))


def problem(kind=optim.Adam):
    """MLP(2, [16, 16, 1]) (337 parameters) and Adam: small batches make step() a large
    share of each training step, so random signals often land inside it."""
    model = MLP(2, [16, 16, 1], seed=3)
    return model, kind(model.parameters(), lr=0.05)


def train(model, opt, callback=None):
    return fit(model, DATA, "hinge", opt, max_steps=STEPS, batch_size=2, seed=4,
               callback=callback, progress=False)


def snapshot(model, opt):
    """The numbers a step changes: parameters, the optimizer's t, lr and state."""
    return ([p.data for p in model.parameters()], opt.t, opt.lr,
            [dict(opt.state[p]) for p in opt.params])


def clean_run():
    """(the state after 0, 1, ..., STEPS clean steps, the losses, the seconds it took)."""
    model, opt = problem()
    states = [snapshot(model, opt)]
    start = time.perf_counter()
    history = train(model, opt, callback=lambda h: states.append(snapshot(model, opt)))
    return states, history.loss, time.perf_counter() - start


def interrupted_run(delay):
    """(model, optimizer, history or None if the interrupt escaped fit) after a SIGINT
    handler fires `delay` seconds into fit."""
    model, opt = problem()
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    history = None
    try:
        signal.setitimer(signal.ITIMER_REAL, delay)
        with contextlib.redirect_stderr(io.StringIO()):      # fit's "interrupted after" line
            history = train(model, opt)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except KeyboardInterrupt:       # landed outside fit's loop (set-up, tear-down, here)
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return model, opt, history


def survived(clean, model, opt, history):
    """True when the model and optimizer equal a clean run of len(history) steps (any
    number of steps if the interrupt escaped fit) and the history is that run's."""
    states, losses, _ = clean
    now = snapshot(model, opt)
    if history is None:
        return now in states
    n = len(history)
    return now == states[n] and history.loss == losses[:n]


def trials(count, seed=0):
    """(tried, survived) over `count` interrupts at seeded random moments within a clean
    run's duration (its length measured first, so a trial lands anywhere in fit)."""
    clean = clean_run()
    rng = random.Random(seed)
    ok = 0
    for _ in range(count):
        delay = rng.uniform(1e-4, clean[2])
        ok += survived(clean, *interrupted_run(delay))
    return count, ok

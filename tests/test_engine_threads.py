"""Threads and asyncio tasks: no_grad, enable_grad and detect_anomaly apply to the thread
(or task) that entered them and always restore; backward() from several threads into shared
leaves keeps every contribution. Barriers fix the interleavings, so the tests are deterministic."""
import asyncio
import math
import threading

import pytest

from tracegrad.engine import (Value, detect_anomaly, enable_grad, grad, is_anomaly_enabled,
                              is_grad_enabled, no_grad)


def in_thread(target):
    """Run target in a thread; re-raise what it raised."""
    errors = []

    def run():
        try:
            target()
        except BaseException as err:          # noqa: BLE001 (re-raised in the caller)
            errors.append(err)
    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def join(thread, errors):
    thread.join(timeout=60)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_leaves_the_main_thread_recording():
    inside, done = threading.Barrier(2, timeout=30), threading.Barrier(2, timeout=30)

    def a():
        with no_grad():
            inside.wait()                     # A is in no_grad ...
            done.wait()                       # ... until the main thread has recorded
    thread, errors = in_thread(a)
    inside.wait()
    w = Value(0.3)
    y = (w * .5 + 1).tanh()
    y.backward()
    done.wait()
    join(thread, errors)
    assert is_grad_enabled() and y.op == "tanh"
    assert w.grad == pytest.approx(0.5 * (1 - math.tanh(1.15) ** 2))


@pytest.mark.parametrize("enter,check", [(no_grad, lambda: not is_grad_enabled()),
                                         (detect_anomaly, is_anomaly_enabled)])
def test_a_enters_b_enters_a_leaves_b_leaves(enter, check):
    # the interleaving that left a process-wide flag set for good
    steps = threading.Barrier(2, timeout=30)
    seen = {}

    def a():
        with enter():
            steps.wait()                      # 1: A entered
            steps.wait()                      # 2: B entered
            seen["a inside"] = check()
        steps.wait()                          # 3: A left
        seen["a after"] = check()
        steps.wait()                          # 4: B left

    def b():
        steps.wait()                          # 1
        with enter():
            steps.wait()                      # 2
            steps.wait()                      # 3
            seen["b inside, A gone"] = check()
        steps.wait()                          # 4
        seen["b after"] = check()
    ta, ea = in_thread(a)
    tb, eb = in_thread(b)
    join(ta, ea)
    join(tb, eb)
    assert seen == {"a inside": True, "a after": False, "b inside, A gone": True,
                    "b after": False}
    assert not check()                        # the main thread never entered


def test_detect_anomaly_in_one_thread_does_not_stop_another():
    inside, done = threading.Barrier(2, timeout=30), threading.Barrier(2, timeout=30)

    def a():
        with detect_anomaly():
            inside.wait()
            done.wait()
    thread, errors = in_thread(a)
    inside.wait()
    y = Value(1e308) * 10                     # inf: only thread A asked to be stopped
    done.wait()
    join(thread, errors)
    assert y.data == math.inf


def test_a_mode_is_restored_after_an_error_and_nests():
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            assert (Value(1.0) * 2).op == "mul"
        with pytest.raises(ZeroDivisionError):
            with enable_grad():
                raise ZeroDivisionError
        assert not is_grad_enabled() and (Value(1.0) * 2).op == ""
    assert is_grad_enabled()


def test_asyncio_tasks_have_their_own_mode():
    async def quiet(entered, release):
        with no_grad():
            entered.set()
            await release.wait()
            return is_grad_enabled()

    async def loud(entered, release):
        await entered.wait()
        x = Value(2.0)
        y = x * x                             # recorded: this task never entered no_grad
        release.set()
        return is_grad_enabled(), y.op

    async def main():
        entered, release = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(quiet(entered, release), loud(entered, release))
    assert asyncio.run(main()) == [False, (True, "mul")]


def test_two_threads_backpropagate_into_a_shared_leaf():
    w = Value(0.5)
    start = threading.Barrier(2, timeout=30)
    n = 2000

    def work():
        start.wait()
        for _ in range(n):
            (w * .5 + 1).tanh().backward()
    threads = [in_thread(work) for _ in range(2)]
    for thread, errors in threads:
        join(thread, errors)
    one = 0.5 * (1 - math.tanh(1.25) ** 2)
    assert w.grad == pytest.approx(2 * n * one, rel=1e-9)


def test_two_threads_call_backward_on_one_root():
    x, y = Value(1.5), Value(-0.5)
    root = (x * y).tanh() + x * x
    start = threading.Barrier(2, timeout=30)
    rounds = 300
    results = []

    def work():
        start.wait()
        for _ in range(rounds):
            results.append(tuple(grad(root, [x, y])))
            root.backward()
    threads = [in_thread(work) for _ in range(2)]
    for thread, errors in threads:
        join(thread, errors)
    t = math.tanh(-0.75)
    dx, dy = (1 - t * t) * -0.5 + 3.0, (1 - t * t) * 1.5
    assert all(r == pytest.approx((dx, dy), rel=1e-12) for r in results)
    assert (x.grad, y.grad) == pytest.approx((2 * rounds * dx, 2 * rounds * dy), rel=1e-9)


@pytest.mark.slow
def test_two_fits_in_parallel_threads_give_the_solo_models():
    from tracegrad.nn import MLP, fit, optim

    data = [([0.1 * i, -0.2 * i], 1.0 if i % 2 else -1.0) for i in range(8)]

    def train(seed):
        model = MLP(2, [4, 1], seed=seed)
        fit(model, data, "hinge", optim.SGD(model.parameters(), lr=0.1), max_steps=15,
            progress=False)
        return [p.data for p in model.parameters()]
    solo = {seed: train(seed) for seed in (0, 1)}
    start = threading.Barrier(2, timeout=30)
    parallel = {}

    def work(seed):
        start.wait()
        parallel[seed] = train(seed)
    threads = [in_thread(lambda s=seed: work(s)) for seed in (0, 1)]
    for thread, errors in threads:
        join(thread, errors)
    assert parallel == solo and is_grad_enabled()

"""Replay benchmarks (issue 14): the mlp-step at batch 100, 1,000 and 10,000 with tracegrad's
scalar engine, the tape replayed (per entry, and with fused layers) and PyTorch batched in
float64; the one-off cost of recording and compiling; memory; the digits workload.

    python benchmarks/replay.py            # the full run, writes the replay section of results
    python benchmarks/replay.py --quick    # fewer repetitions, prints only
"""
import argparse
import gc
import os
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# one thread for numpy's BLAS, as for torch: 2 cores shared by others, no spinning threads
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from tracegrad.engine import Value  # noqa: E402
from tracegrad.engine.replay.tape import record  # noqa: E402
from sections import write_section  # noqa: E402
from workloads import flat, max_margin_loss, mlp, mlp_weights, moons, value_relu  # noqa: E402

now = time.perf_counter
ALPHA, LR = 1e-4, 0.05


def median_ms(fn, reps):
    fn()                                              # warm up: first-touch of buffers
    times = []
    for _ in range(reps):
        gc.collect()
        t0 = now()
        fn()
        times.append(now() - t0)
    return statistics.median(times) * 1e3


# --- the three engines, one mlp-step each --------------------------------------------------
def scalar_step(points, labels):
    """tracegrad's scalar engine: the graph of every sample, backward, SGD."""
    layers = [[([Value(w) for w in ws], Value(b)) for ws, b in layer]
              for layer in mlp_weights(2, [16, 16, 1])]
    params = flat(layers)

    def step():
        inputs = [[Value(a) for a in row] for row in points]
        loss = max_margin_loss([mlp(layers, x, value_relu) for x in inputs], labels, params,
                               value_relu)
        for p in params:
            p.grad = 0
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        return loss.data
    return step


def compile_replay(batch, fused):
    """Record one sample's hinge term and the L2 penalty; replays for batch samples."""
    layers = [[([Value(w) for w in ws], Value(b)) for ws, b in layer]
              for layer in mlp_weights(2, [16, 16, 1])]
    params = flat(layers)
    x, y = [Value(0.5), Value(-0.5)], Value(1.0)
    term = value_relu(1 + -y * mlp(layers, x, value_relu))   # max_margin_loss, one sample
    penalty = ALPHA * sum(p * p for p in params)
    return (record(term, params, x, [y]).replay(batch, fused),
            record(penalty, params).replay(1, fused), np.array([p.data for p in params]))


def replay_step(points, labels, fused):
    data, penalty, params = compile_replay(len(points), fused)
    X, Y = np.array(points), np.array(labels, dtype=float)[:, None]
    weight = 1.0 / len(points)

    def step():
        terms = data.forward(params, X, Y)
        loss = float(np.sum(terms)) * weight + float(penalty.forward(params, [[]]))
        grads = data.backward(weight) + penalty.backward(1.0)
        params[:] -= LR * grads
        return loss
    return step


def torch_step(points, labels):
    import torch
    torch.set_num_threads(1)
    weights = mlp_weights(2, [16, 16, 1])
    tensors = []
    for layer in weights:
        tensors.append(torch.tensor([w for w, _ in layer], dtype=torch.float64,
                                    requires_grad=True))
        tensors.append(torch.tensor([b for _, b in layer], dtype=torch.float64,
                                    requires_grad=True))
    X = torch.tensor(points, dtype=torch.float64)
    y = torch.tensor(labels, dtype=torch.float64)

    def step():
        h = X
        for k in range(0, len(tensors), 2):
            h = h @ tensors[k].T + tensors[k + 1]
            if k < len(tensors) - 2:
                h = torch.relu(h)
        loss = torch.relu(1 - y * h[:, 0]).mean() + ALPHA * sum((p * p).sum() for p in tensors)
        for p in tensors:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in tensors:
                p -= LR * p.grad
        return loss.item()
    return step


def check_same_losses(points, labels, steps=3):
    """Every engine takes the same steps: their losses agree to 1e-12 over a few steps."""
    engines = [scalar_step(points, labels), replay_step(points, labels, False),
               replay_step(points, labels, True)]
    try:
        engines.append(torch_step(points, labels))
    except ImportError:
        pass
    losses = [[e() for _ in range(steps)] for e in engines]
    for seen in losses[1:]:
        assert np.allclose(seen, losses[0], rtol=1e-12, atol=0), (seen, losses[0])


def mlp_steps(args):
    rows = {}
    for batch in args.batches:
        points, labels = moons(batch)
        runners = {"replay, per entry": replay_step(points, labels, False),
                   "replay, fused": replay_step(points, labels, True)}
        try:
            runners["torch batched (float64)"] = torch_step(points, labels)
        except ImportError:
            pass
        if batch <= args.scalar_max:
            runners["tracegrad scalar"] = scalar_step(points, labels)
        result = {}
        for rep in range(args.reps):                  # interleaved, the order rotating
            names = list(runners)
            for name in names[rep % len(names):] + names[:rep % len(names)]:
                result.setdefault(name, []).append(median_ms(runners[name], 1))
        rows[batch] = {name: statistics.median(t) for name, t in result.items()}
        print(batch, {k: round(v, 3) for k, v in rows[batch].items()}, file=sys.stderr)
    # the scalar engine is linear in the batch: the largest batch estimated from the last
    measured = max(b for b in args.batches if b <= args.scalar_max)
    for batch in args.batches:
        if "tracegrad scalar" not in rows[batch]:
            rows[batch]["tracegrad scalar (estimated)"] = (
                rows[measured]["tracegrad scalar"] * batch / measured)
    return rows


def gc_pause(reps, batches=(100, 1000), loop=5):
    """The scalar engine's training step (nn.train.loss_and_gradients + SGD) with Python's
    default collector and with it paused (nn.collector.paused), `loop` steps back to back."""
    from tracegrad.nn import MLP, losses, optim
    from tracegrad.nn.collector import paused
    from tracegrad.nn.train import loss_and_gradients
    rows = {}
    for batch in batches:
        points, labels = moons(batch)
        pairs = list(zip(points, labels))
        model = MLP(2, [16, 16, 1], seed=0)
        opt = optim.SGD(model.parameters(), lr=0.01)
        penalty = lambda m: ALPHA * losses.l2(m.parameters())      # noqa: E731

        def steps(pause):
            for _ in range(loop):
                if pause:
                    with paused():
                        opt.zero_grad()
                        loss_and_gradients(model, pairs, losses.hinge, penalty=penalty)
                        opt.step()
                else:
                    opt.zero_grad()
                    loss_and_gradients(model, pairs, losses.hinge, penalty=penalty)
                    opt.step()
        times = {True: [], False: []}
        for rep in range(reps):
            for pause in ((True, False) if rep % 2 else (False, True)):
                gc.collect()
                t0 = now()
                steps(pause)
                times[pause].append((now() - t0) / loop * 1e3)
        rows[batch] = {k: statistics.median(v) for k, v in times.items()}
        print("gc", batch, rows[batch], file=sys.stderr)
    return rows


DIGITS = dict(hidden=16, epochs=30, batch_size=100, lr=0.3, momentum=0.9, train=1500)


def digits_workload(scalar_steps=3):
    """MLP(64, [16, 10]) on the digits (1,500 to train, 297 to test), mse against one-hot
    targets, SGD with momentum: trained with replay; the scalar engine's time for the same run
    estimated from its first few steps."""
    from tracegrad.engine import no_grad
    from tracegrad.nn import MLP, data, fit, optim
    from tracegrad.nn.activations import argmax
    d = DIGITS
    one_hot = [[1.0 * (k == digit) for k in range(10)] for digit in range(10)]
    train, test = data.digits(labels=one_hot).split(d["train"])

    def run(engine, **stop):
        model = MLP(64, [d["hidden"], 10], seed=0)
        opt = optim.SGD(model.parameters(), lr=d["lr"], momentum=d["momentum"])
        t0 = now()
        history = fit(model, train, "mse", opt, batch_size=d["batch_size"], progress=False,
                      engine=engine, **stop)
        return model, history, now() - t0
    model, history, seconds = run("replay", epochs=d["epochs"])
    with no_grad():
        right = sum(argmax(model(x)) == argmax(y) for x, y in test)
    _, few, scalar = run("scalar", max_steps=scalar_steps)
    per_step = scalar / len(few)
    return {"seconds": seconds, "steps": len(history), "accuracy": right / len(test),
            "test": len(test), "scalar per step": per_step,
            "scalar estimate": per_step * len(history)}


def compile_cost(batch, reps):
    return {fused: median_ms(lambda: compile_replay(batch, fused), reps)
            for fused in (False, True)}


def memory(batch):
    """Peak traced memory of recording, compiling and one replayed step at batch, and the
    bytes the buffers take per tape entry and sample."""
    points, labels = moons(batch)
    gc.collect()
    tracemalloc.start()
    step = replay_step(points, labels, True)
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    data, _, _ = compile_replay(batch, True)
    rows = data.values.shape[0]
    tape = data.tape
    gc.collect()
    tracemalloc.start()                   # the recorded tape alone (its graph already built)
    again = record(*_recorded_sample())
    tape_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del again
    return {"peak": peak, "rows": rows, "entries": len(tape), "tape bytes": tape_bytes,
            "buffer bytes": data.values.nbytes + data.grads.nbytes}


def _recorded_sample():
    layers = [[([Value(w) for w in ws], Value(b)) for ws, b in layer]
              for layer in mlp_weights(2, [16, 16, 1])]
    params = flat(layers)
    x, y = [Value(0.5), Value(-0.5)], Value(1.0)
    return value_relu(1 + -y * mlp(layers, x, value_relu)), params, x, [y]


def report(rows, compiled, mem, collector, digits):
    lines = ["## Replay (issue 14): record one sample's graph, replay it over the batch", "",
             "mlp-step as above (MLP(2, [16, 16, 1]), micrograd's weights, max-margin + L2, "
             "SGD) at three batch sizes; medians, engines interleaved in one process; torch "
             "with one thread, float64, the same model and data. The machine's 2 cores are "
             f"shared with other work (load average {os.getloadavg()[0]:.0f} at the end of this "
             "run), so absolute times are above a quiet machine's; compare the ratios.", ""]
    names = ["tracegrad scalar", "replay, per entry", "replay, fused", "torch batched (float64)"]
    lines += ["| batch | " + " | ".join(names) + " | fused / torch | scalar / fused |",
              "|---" * (len(names) + 3) + "|"]
    for batch, r in rows.items():
        scalar = r.get("tracegrad scalar") or r.get("tracegrad scalar (estimated)")
        cells = []
        for n in names:
            value = r.get(n) if n != "tracegrad scalar" else scalar
            mark = " (est.)" if n == "tracegrad scalar" and "tracegrad scalar" not in r else ""
            cells.append(_ms(value) + mark)
        torch = r.get("torch batched (float64)")
        lines.append(f"| {batch:,} | " + " | ".join(cells) +
                     f" | {r['replay, fused'] / torch:.2f}x |" if torch else " | — |")
        lines[-1] += f" {scalar / r['replay, fused']:,.0f}x |"
    lines += ["", f"Compile (record the sample's graph and the penalty, analyse, allocate "
              f"buffers at batch 10,000), once: {_ms(compiled[False])} for the per-entry "
              f"replay, {_ms(compiled[True])} with fusion.",
              f"Memory at batch 10,000: the tape has {mem['entries']} entries "
              f"({mem['tape bytes'] / mem['entries']:.0f} bytes an entry as recorded), "
              f"{mem['rows']} of them per-sample rows in the buffers (values and gradients: "
              f"16 bytes per row and sample, {mem['buffer bytes'] / 1e6:.1f} MB); peak traced "
              f"memory of compiling and one step: {mem['peak'] / 1e6:.1f} MB."]
    lines += ["", "**The scalar engine's step with the cyclic garbage collector paused** "
              "(`nn.collector.paused`, what `fit` now does each step; 5 steps back to back, "
              "hinge + L2, SGD):", "", "| batch | default collector | paused | saved |",
              "|---|---|---|---|"]
    for batch, r in collector.items():
        lines.append(f"| {batch:,} | {_ms(r[False])} | {_ms(r[True])} | "
                     f"{1 - r[True] / r[False]:.0%} |")
    g = digits
    lines += ["", f"**Digits**: `MLP(64, [{DIGITS['hidden']}, 10])` on 1,500 of the 8x8 digits, "
              f"mse against one-hot targets, SGD (lr {DIGITS['lr']}, momentum "
              f"{DIGITS['momentum']}), batches of {DIGITS['batch_size']}, {DIGITS['epochs']} "
              f"epochs ({g['steps']} steps): with replay **{g['seconds']:.1f} s**, "
              f"**{g['accuracy']:.1%}** right on the {g['test']} test digits. The scalar engine: "
              f"{g['scalar per step']:.2f} s a step, so about {g['scalar estimate'] / 60:.0f} "
              f"minutes for the same run (estimated from its first steps)."]
    return "\n".join(lines) + "\n"


def _ms(x):
    if x is None:
        return "—"
    return f"{x / 1e3:.2f} s" if x >= 1000 else f"{x:.2f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--scalar-max", type=int, default=1000,
                        help="largest batch to time the scalar engine at (estimated above)")
    args = parser.parse_args()
    args.reps = args.reps or (3 if args.quick else 9)
    args.batches = [100, 1000, 10000]
    check_same_losses(*moons(50))
    rows = mlp_steps(args)
    compiled = compile_cost(10000, 3)
    mem = memory(10000)
    collector = gc_pause(args.reps if not args.quick else 1)
    digits = digits_workload()
    text = report(rows, compiled, mem, collector, digits)
    print(text)
    if not args.quick:
        _write(text)


def _write(text):
    """Replace the replay section of results.md (or append it)."""
    write_section("## Replay (issue 14)", text)


if __name__ == "__main__":
    main()

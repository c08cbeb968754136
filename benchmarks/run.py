"""Benchmarks: tracegrad against micrograd 0.1.0 and plain Python floats (issue 6).

    python benchmarks/run.py           # the full run (a few minutes), writes benchmarks/results.md
    python benchmarks/run.py --quick   # smaller sizes and fewer repetitions, prints only

One process, engines interleaved (the order rotates every repetition), medians reported.
"""
import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tracegrad import engine  # noqa: E402
from workloads import (chain, flat, float_relu, max_margin_loss, mlp, mlp_weights,  # noqa: E402
                       moons, tanh_mlp, value_relu, wide_sum)

try:
    import micrograd.engine
    import micrograd.nn
except ImportError:                      # the table then shows tracegrad and floats only
    micrograd = None

now = time.perf_counter
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.md")
KEPT = "\n## "    # results.md's `## ...` sections belong to other measurements: run.py keeps them


@contextmanager
def collector(enabled):
    """Run with the cyclic garbage collector on (Python's default) or off."""
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        yield
    finally:
        (gc.enable if was else gc.disable)()


class CollectorTime:
    """Seconds spent inside the cyclic garbage collector since the last reset (gc.callbacks)."""

    def __init__(self):
        self.seconds, self._start = 0.0, 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase, info):
        if phase == "start":
            self._start = now()
        else:
            self.seconds += now() - self._start

    def reset(self):
        self.seconds = 0.0


def interleaved(runners, reps):
    """Run every runner reps times, rotating their order each repetition.

    A runner returns a dict of phase -> seconds; the result is name -> phase -> median."""
    samples = {name: {} for name in runners}
    names = list(runners)
    for rep in range(reps):
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            gc.collect()
            for phase, seconds in runners[name]().items():
                samples[name].setdefault(phase, []).append(seconds)
    return {name: {phase: statistics.median(s) for phase, s in phases.items()}
            for name, phases in samples.items()}


def peak_bytes(build):
    """Peak traced memory while build() runs (build returns what must stay alive)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    kept = build()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del kept
    gc.collect()
    return peak


# --- mlp-step ---------------------------------------------------------------------------
def mlp_step(args):
    points, labels = moons(args.points)
    collector_time = CollectorTime()
    weights = mlp_weights(2, [16, 16, 1])
    lr = 0.05

    def tracegrad_model():
        Value = engine.Value
        layers = [[([Value(w) for w in ws], Value(b)) for ws, b in layer] for layer in weights]
        return layers, flat(layers)

    def graph_step(Value, forward, params, gc_enabled):
        """A timed training step on a graph engine: forward(inputs) gives the scores."""
        losses = []

        def step():
            with collector(gc_enabled):
                t0 = now()
                collector_time.reset()
                inputs = [[Value(a) for a in row] for row in points]
                loss = max_margin_loss(forward(inputs), labels, params, value_relu)
                t1 = now()
                in_gc = collector_time.seconds
                for p in params:            # zero_grad (micrograd's sets p.grad = 0 the same way)
                    p.grad = 0
                loss.backward()
                t2 = now()
                for p in params:
                    p.data -= lr * p.grad
                t3 = now()
            losses.append(loss.data)
            return {"build": t1 - t0, "build gc": in_gc, "backward": t2 - t1, "update": t3 - t2,
                    "total": t3 - t0}
        return step, losses

    def tracegrad_step(gc_enabled):
        layers, params = tracegrad_model()
        return graph_step(engine.Value, lambda inputs: [mlp(layers, x, value_relu) for x in inputs],
                          params, gc_enabled)

    def micrograd_step(gc_enabled):
        model = micrograd.nn.MLP(2, [16, 16, 1])      # micrograd's own model, our weights
        params = model.parameters()
        for p, w in zip(params, flat(weights)):
            p.data = w
        return graph_step(micrograd.engine.Value, lambda inputs: list(map(model, inputs)),
                          params, gc_enabled)

    def floats_step():
        t0 = now()
        scores = [mlp(weights, x, float_relu) for x in points]
        max_margin_loss(scores, labels, flat(weights), float_relu)
        t1 = now()
        return {"build": t1 - t0, "total": t1 - t0}

    runners, losses = {"floats": floats_step}, {}
    for name, make in [("tracegrad", lambda: tracegrad_step(True)),
                       ("tracegrad, GC off", lambda: tracegrad_step(False)),
                       ("micrograd", lambda: micrograd_step(True) if micrograd else None),
                       ("micrograd, GC off", lambda: micrograd_step(False) if micrograd else None)]:
        made = make()
        if made:
            runners[name], losses[name] = made
    result = interleaved(runners, args.reps)

    def loop(step, gc_enabled):
        # steps back to back as a training loop runs them: no gc.collect() in between, and
        # freeing each step's graph (or leaving it to the collector) inside the timing
        def run():
            with collector(gc_enabled):
                t0 = now()
                for _ in range(args.loop_steps):
                    step()
                return {"loop": (now() - t0) / args.loop_steps}
        return run
    looped = interleaved({name: loop(step, "GC off" not in name)
                          for name, step in runners.items()}, args.loop_reps)
    for name in runners:
        result[name].update(looped[name])
    for name, seen in losses.items():     # every engine did the same arithmetic
        assert all(abs(a - b) < 1e-9 for a, b in zip(seen, losses["tracegrad"])), name

    layers, params = tracegrad_model()
    loss = max_margin_loss([mlp(layers, [engine.Value(a) for a in row], value_relu)
                            for row in points], labels, params, value_relu)
    result["nodes"] = len(engine.topological_order(loss))
    return result


# --- chain and wide-sum -----------------------------------------------------------------
def uniforms(n, seed=1):
    rng = random.Random(seed)
    return [rng.uniform(-1, 1) for _ in range(n)]


# name -> (make the leaves from a number type, build the graph from them); 4n + 1 nodes each:
# chain: x, then per step the constant 1.0001, mul, the constant 0.1, add;
# wide-sum: a_i, b_i, mul, add per term, and the 0 that sum() starts from (micrograd; in
# tracegrad 0 + v is v, so 4n - 1: no constant 0 and no add for it).
DEEP = {
    "chain": (lambda Number, n: [Number(1.0)], lambda leaves, n: chain(leaves[0], n)),
    "wide-sum": (lambda Number, n: [Number(x) for x in uniforms(2 * n)],
                 lambda leaves, n: wide_sum(leaves[:n], leaves[n:])),
}


def deep(args, name):
    """chain or wide-sum: time on every engine, peak memory per node on the graph engines."""
    make_leaves, build = DEEP[name]
    n, peer_n = args.size, min(args.size, args.peer_size)

    def graph_run(Value, size):
        def run():
            leaves = make_leaves(Value, size)
            t0 = now()
            root = build(leaves, size)
            t1 = now()
            try:
                root.backward()
                backward = now() - t1
            except RecursionError:
                backward = None
            return {"build": t1 - t0, "backward": backward}
        return run

    def floats_run():
        leaves = make_leaves(float, n)
        t0 = now()
        build(leaves, n)
        return {"build": now() - t0}

    def nodes(Value, size):
        return 4 * size - 1 if name == "wide-sum" and Value is engine.Value else 4 * size + 1

    def bytes_per_node(Value, size, backward):
        def run():
            leaves = make_leaves(Value, size)
            root = build(leaves, size)
            if backward:
                root.backward()
            return leaves, root
        return peak_bytes(run) / nodes(Value, size)

    result = interleaved({"floats": floats_run, "tracegrad": graph_run(engine.Value, n)},
                         args.big_reps)
    result["tracegrad"]["bytes/node"] = bytes_per_node(engine.Value, n, True)
    if micrograd:                         # once, smaller: its build is slow, its backward fails
        gc.collect()
        result["micrograd"] = graph_run(micrograd.engine.Value, peer_n)()
        result["micrograd"]["bytes/node"] = bytes_per_node(micrograd.engine.Value, peer_n, False)
        result["micrograd"]["n"] = peer_n
    result["nodes"] = nodes(engine.Value, n)
    return result


# --- second order -----------------------------------------------------------------------
def second_order(args):
    """The Hessian diagonal d2 loss / d p2 of a small tanh MLP's MSE loss, via create_graph."""
    points, labels = moons(20)
    weights = mlp_weights(2, [8, 8, 1])
    Value = engine.Value

    def hessian_diagonal(flat_weights):
        it = iter(flat_weights)
        layers = [[([Value(next(it)) for _ in ws], Value(next(it))) for ws, _ in layer]
                  for layer in weights]
        params = flat(layers)
        loss = sum((tanh_mlp(layers, x) - y) ** 2 for x, y in zip(points, labels)) * 0.05
        first = engine.grad(loss, params, create_graph=True)
        return [engine.grad(g, [p])[0] for g, p in zip(first, params)], first

    w = flat(weights)
    timing = interleaved({"tracegrad": lambda: {"total": timed(hessian_diagonal, w)}},
                         args.reps)
    diag, first = hessian_diagonal(w)
    # check one entry against a central difference of the first derivative
    i, h = 5, 1e-5
    up, down = list(w), list(w)
    up[i] += h
    down[i] -= h
    numeric = (hessian_diagonal(up)[1][i].data - hessian_diagonal(down)[1][i].data) / (2 * h)
    assert abs(numeric - diag[i]) < 1e-5 * max(1, abs(numeric)), (numeric, diag[i])
    return {"time": timing["tracegrad"]["total"], "params": len(w),
            "nodes": len(engine.topological_order(first[0]))}


def timed(fn, *args):
    t0 = now()
    fn(*args)
    return now() - t0


# --- report -----------------------------------------------------------------------------
def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    version = getattr(micrograd, "__version__", None) if micrograd else None
    peer = "micrograd " + (version or "0.1.0") if micrograd else "micrograd not installed"
    return (f"{cpu}, {os.cpu_count()} logical CPUs; {platform.python_implementation()} "
            f"{platform.python_version()} on {platform.system()} {platform.release()}; {peer}")


def ms(seconds):
    if seconds is None:
        return "—"
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1e3:.1f} ms"


def ratio(a, b):
    return f"{a / b:.1f}x" if a and b else "—"


def report(args, mlp_result, deep_results, second):
    lines = [f"Machine: {machine()}.",
             f"Medians of {args.reps} repetitions (mlp-step, second-order), {args.loop_reps} "
             f"(mlp-step in a loop) and {args.big_reps} (chain, wide-sum), engines interleaved "
             "in one process; default GC unless the column says otherwise.", ""]
    m = mlp_result
    engines = [e for e in ["floats", "tracegrad", "tracegrad, GC off", "micrograd",
                           "micrograd, GC off"] if e in m]
    lines += [f"### mlp-step: MLP(2, [16, 16, 1]), {args.points} points, max-margin + L2, "
              f"SGD ({m['nodes']:,} nodes)", "",
              "| phase | " + " | ".join(engines) + " | micrograd / tracegrad "
              "| micrograd GC off / tracegrad | tracegrad / floats |",
              "|---" * (len(engines) + 4) + "|"]
    for phase, title in [("build", "build (forward + loss)"),
                         ("build gc", "of which the garbage collector"),
                         ("backward", "zero_grad + backward"),
                         ("update", "SGD update"), ("total", "**step**"),
                         ("loop", f"step in a loop of {args.loop_steps}")]:
        row = [ms(m[e].get(phase)) for e in engines]
        ours = m["tracegrad"][phase]
        row += [ratio(m.get("micrograd", {}).get(phase), ours),
                ratio(m.get("micrograd, GC off", {}).get(phase), ours),
                ratio(ours, m["floats"].get(phase)) if phase == "build" else "—"]
        if phase == "build gc":
            row[-3:] = ["—"] * 3
        lines.append(f"| {title} | " + " | ".join(row) + " |")
    for name, r in deep_results.items():
        peer = r.get("micrograd")
        what = ("y = y * 1.0001 + 0.1" if name == "chain" else "sum of a_i * b_i")
        lines += ["", f"### {name}: {what}, n = {args.size:,} ({r['nodes']:,} nodes)", "",
                  "| | floats | tracegrad"
                  + (f" | micrograd (n = {peer['n']:,}) |" if peer else " |"),
                  "|---|---|---|" + ("---|" if peer else "")]
        rows = [("build", "build"), ("backward", "backward"), ("bytes/node", "peak memory per node")]
        for key, title in rows:
            cells = []
            for e in ["floats", "tracegrad", "micrograd"] if peer else ["floats", "tracegrad"]:
                value = r[e].get(key)
                if key == "bytes/node":
                    cells.append(f"{value:.0f} B" if value else "—")
                    if e == "micrograd":
                        cells[-1] += " (graph only)"
                elif e == "micrograd" and key == "backward" and value is None:
                    cells.append("RecursionError")
                else:
                    cells.append(ms(value))
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines += ["", f"### second-order: Hessian diagonal of a tanh MLP(2, [8, 8, 1]) MSE loss on "
              f"20 points via create_graph (tracegrad only)", "",
              f"{second['params']} parameters, one create_graph gradient "
              f"({second['nodes']:,} nodes in the first derivative's graph) and "
              f"{second['params']} second-order passes: **{ms(second['time'])}**."]
    lines += ["", "### Targets (issue 6)", "", "| target | measured | met |", "|---|---|---|"]
    ours = m["tracegrad"]

    def target(text, measured, ok):
        lines.append(f"| {text} | {measured} | {'yes' if ok else '**no**'} |")
    if "micrograd" in m:
        for peer, times in [("micrograd (default GC)", 15), ("micrograd with GC off", 2)]:
            name = "micrograd" if "default" in peer else "micrograd, GC off"
            for phase, how in [("total", "one step"), ("loop", f"{args.loop_steps} steps back to back")]:
                r = m[name][phase] / ours[phase]
                target(f"mlp-step >= {times}x faster than {peer}: {how}", f"{r:.1f}x", r >= times)
    r = ours["build"] / m["floats"]["build"]
    r_off = m["tracegrad, GC off"]["build"] / m["floats"]["build"]
    target("build <= 8x the plain-float forward", f"{r:.1f}x ({r_off:.1f}x with GC off)", r <= 8)
    target("backward no slower than build", f"{ms(ours['backward'])} vs {ms(ours['build'])}",
           ours["backward"] <= ours["build"])
    c = deep_results["chain"]["tracegrad"]
    target(f"chain of {args.size:,}: backward completes, <= 250 bytes per node",
           f"{ms(c['backward'])}, {c['bytes/node']:.0f} B/node",
           c["backward"] is not None and c["bytes/node"] <= 250)
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    parser.add_argument("--reps", type=int, help="repetitions of mlp-step and second-order")
    parser.add_argument("--big-reps", type=int, help="repetitions of chain and wide-sum")
    parser.add_argument("--size", type=int, help="n for chain and wide-sum (default 1,000,000)")
    parser.add_argument("--peer-size", type=int, default=100_000,
                        help="n for micrograd's chain and wide-sum: run once, its backward fails")
    parser.add_argument("--points", type=int, default=100, help="points in mlp-step")
    parser.add_argument("--loop-steps", type=int, default=5,
                        help="mlp-steps back to back in the training-loop measurement")
    parser.add_argument("--loop-reps", type=int, help="repetitions of that loop")
    parser.add_argument("--out", help="write the markdown here (default: results.md, "
                        "except with --quick)")
    args = parser.parse_args()
    args.reps = args.reps or (3 if args.quick else 7)
    args.big_reps = args.big_reps or (1 if args.quick else 3)
    args.loop_reps = args.loop_reps or (1 if args.quick else 3)
    args.size = args.size or (100_000 if args.quick else 1_000_000)
    if args.quick:
        args.peer_size = min(args.peer_size, 10_000)
    out = args.out or (None if args.quick else RESULTS)

    started = now()
    print("mlp-step ...", file=sys.stderr)
    mlp_result = mlp_step(args)
    deep_results = {}
    for name in ["chain", "wide-sum"]:
        print(f"{name} ...", file=sys.stderr)
        deep_results[name] = deep(args, name)
    print("second-order ...", file=sys.stderr)
    second = second_order(args)
    text = report(args, mlp_result, deep_results, second)
    text += f"\nTotal benchmark time: {now() - started:.0f} s.\n"
    print(text)
    if out:
        kept = Path(out).read_text() if Path(out).exists() else ""
        kept = kept[kept.index(KEPT) + 1:] if KEPT in kept else ""
        with open(out, "w") as f:
            f.write("# Benchmark results\n\nWritten by `python benchmarks/run.py` "
                    "(`python3 tasks.py bench`).\n\n" + text + ("\n" + kept if kept else ""))


if __name__ == "__main__":
    main()

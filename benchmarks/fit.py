"""fit(engine="replay") against PyTorch, JAX and bare numpy (issue 21): one training step of
MLP(2, [w, w, 1]) (relu, mse, SGD with momentum) in float64 on one thread, process CPU time,
the engines interleaved round by round; plus recording+compiling and digits with cross_entropy.

    python benchmarks/fit.py             # the full grid, writes the fit section of results.md
    python benchmarks/fit.py --quick     # batch 1,000 at widths 16 and 64, prints only
    python benchmarks/fit.py --only 256x100,64x1000     # those rows, prints only
"""
import argparse
import os
import statistics
import sys
import time
import warnings

# glibc's malloc moves its thresholds for handing memory back to the system as big blocks are
# freed, so torch's and JAX's allocations change how every engine's arrays are allocated
# after them: measured at width 16, batch 1,000, fit took 0.54-0.82 ms a step interleaved and
# 0.44 ms alone, numpy 0.27-0.39 and 0.24. Fixed thresholds (read at start-up, so the script
# restarts itself with them; other C libraries ignore them) put every engine back to its
# numbers alone, as in a program that trains with one of them.
MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(16 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}
if any(os.environ.get(k) != v for k, v in MALLOC.items()):
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC})
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"                  # one thread each, before numpy, torch, jax load
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from tracegrad.nn import MLP, fit, losses, optim  # noqa: E402
from tracegrad.nn.replay import Replayer  # noqa: E402
from sections import write_section  # noqa: E402

LR, MU = 0.01, 0.9


def problem(batch, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (batch, 2))
    y = np.sin(3 * X[:, 0]) * X[:, 1]
    return X, y


def weights(width):
    """The tracegrad model's weights as matrices (W: (out, in), b), so all engines start equal."""
    model = MLP(2, [width, width, 1], seed=0)
    return model, [(np.array([[w.data for w in n.w] for n in layer.neurons]),
                    np.array([n.b.data for n in layer.neurons])) for layer in model.layers]


# --- one step of each engine, made ready outside the timing ---------------------------------
def tracegrad_fit(width, X, y, steps):
    """fit(engine=replayer) for `steps` steps on the whole batch: the loop fit runs, with the
    recording and compiling done once outside (recording() times that)."""
    pairs = list(zip(X.tolist(), y.tolist()))
    model = MLP(2, [width, width, 1], seed=0)
    replayer = Replayer(model, losses.mse, pairs, len(pairs))
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MU)   # made once, as torch's is

    def run():                  # each run goes on training where the last one stopped
        fit(model, pairs, "mse", opt, max_steps=steps, engine=replayer, progress=False)
    return run


def torch_steps(width, X, y, steps):
    import torch
    torch.set_num_threads(1)
    _, ws = weights(width)
    layers = []
    for k, (W, b) in enumerate(ws):
        lin = torch.nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] + ([torch.nn.ReLU()] if k < len(ws) - 1 else [])
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MU)
    tx, ty = torch.from_numpy(X), torch.from_numpy(y).reshape(-1, 1)

    def run():
        for _ in range(steps):
            opt.zero_grad()
            loss = torch.mean((model(tx) - ty) ** 2)
            loss.backward()
            opt.step()
    return run


def jax_steps(width, X, y, steps):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    _, ws = weights(width)
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in ws]
    velocity = [(jnp.zeros_like(W), jnp.zeros_like(b)) for W, b in params]
    tx, ty = jnp.asarray(X), jnp.asarray(y)

    def loss(params, x, t):
        h = x.T
        for k, (W, b) in enumerate(params):
            h = W @ h + b[:, None]
            if k < len(params) - 1:
                h = jnp.maximum(h, 0)
        return jnp.mean((h[0] - t) ** 2)

    @jax.jit
    def step(params, velocity, x, t):
        g = jax.grad(loss)(params, x, t)
        velocity = jax.tree_util.tree_map(lambda v, d: MU * v + d, velocity, g)
        params = jax.tree_util.tree_map(lambda p, v: p - LR * v, params, velocity)
        return params, velocity
    jax.block_until_ready(step(params, velocity, tx, ty))      # compile outside the timing
    state = [params, velocity]

    def run():
        p, v = state
        for _ in range(steps):
            p, v = step(p, v, tx, ty)
        jax.block_until_ready(p)
        state[:] = [p, v]
    return run


def numpy_steps(width, X, y, steps):
    """The floor: forward, backward and SGD with momentum written by hand."""
    _, ws = weights(width)
    params = [a.copy() for W, b in ws for a in (W, b)]
    velocity = [np.zeros_like(p) for p in params]
    x, t = X.T.copy(), y

    def run():
        for _ in range(steps):
            W1, b1, W2, b2, W3, b3 = params
            z1 = W1 @ x + b1[:, None]
            h1 = np.maximum(z1, 0)
            z2 = W2 @ h1 + b2[:, None]
            h2 = np.maximum(z2, 0)
            out = W3 @ h2 + b3[:, None]
            g = (2 / len(t)) * (out - t)
            gz2 = (W3.T @ g) * (z2 > 0)
            gz1 = (W2.T @ gz2) * (z1 > 0)
            grads = [gz1 @ x.T, gz1.sum(1), gz2 @ h1.T, gz2.sum(1), g @ h2.T, g.sum(1)]
            for p, v, d in zip(params, velocity, grads):
                v *= MU
                v += d
                p -= LR * v
    return run


def machine():
    """The CPU's name and count, and numpy's, torch's and JAX's versions."""
    import platform
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    import jax
    import torch
    return (f"{name}, {os.cpu_count()} cores; numpy {np.__version__}, torch {torch.__version__},"
            f" jax {jax.__version__}")


def cpu(fn):
    """(process CPU seconds, wall seconds) of one call."""
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def compare(width, batch, rounds, steps):
    """ms per step of each engine: the median over interleaved rounds (CPU time), and the
    largest wall/CPU ratio seen (well above 1: the process waited for a core)."""
    X, y = problem(batch)
    engines = {"fit": tracegrad_fit(width, X, y, steps), "torch": torch_steps(width, X, y, steps),
               "jax": jax_steps(width, X, y, steps), "numpy": numpy_steps(width, X, y, steps)}
    times = {name: [] for name in engines}
    load = 1.0
    names = list(engines)
    for r in range(rounds):
        for name in names[r % 4:] + names[:r % 4]:       # each round starts one engine later
            run = engines[name]
            c, w = cpu(run)
            times[name].append(c / steps)
            load = max(load, w / max(c, 1e-9))
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}, load


def recording(width, runs=5):
    """Seconds (CPU, then wall) from fit's call to the end of its first step: recording,
    checking, compiling; the median of `runs` fits, each of a new model."""
    X, y = problem(100)
    pairs = list(zip(X.tolist(), y.tolist()))
    times = []
    for _ in range(runs):
        model = MLP(2, [width, width, 1], seed=0)
        opt = optim.SGD(model.parameters(), lr=LR)
        times.append(cpu(lambda: fit(model, pairs, "mse", opt, max_steps=1, engine="replay",
                                     progress=False)))
    return statistics.median(c for c, _ in times), statistics.median(w for _, w in times)


def fixed_cost(width, batch=100):
    """CPU seconds a fit call costs beyond its steps (the data checked, the parameters read
    into arrays and written back into the Values): a 1-step call less a step, a step being
    the difference between a 21-step and a 1-step call (medians of 5)."""
    X, y = problem(batch)
    one, many = tracegrad_fit(width, X, y, 1), tracegrad_fit(width, X, y, 21)
    one(), many()
    a = statistics.median(cpu(one)[0] for _ in range(5))
    b = statistics.median(cpu(many)[0] for _ in range(5))
    return a - (b - a) / 20


def digits_run():
    """Digits with cross_entropy: MLP(64, [16, 10]), SGD lr 0.3 momentum 0.9, batch 100, 30
    epochs; (test accuracy, training CPU seconds, wall seconds)."""
    from tracegrad.nn import accuracy, evaluate
    from tracegrad.nn.data import digits
    train, test = digits().split(1500)
    model = MLP(64, [16, 10], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # a fallback to the scalar engine is a failure
        c, w = cpu(lambda: fit(model, train, "cross_entropy", opt, epochs=30, batch_size=100,
                               engine="replay", progress=False))
    return evaluate(model, test, accuracy), c, w


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="rows to run and print, e.g. 256x100,64x1000")
    args = parser.parse_args()
    if args.only:
        args.quick = True
    grid = ([tuple(map(int, row.split("x"))) for row in args.only.split(",")] if args.only else
            [(16, 1000), (64, 1000)] if args.quick else
            [(16, 100), (16, 1000), (16, 10_000), (16, 100_000),
             (32, 1000), (64, 1000), (128, 1000), (256, 1000), (256, 100), (256, 10_000)])
    head = "## fit(engine=\"replay\") against torch, JAX and numpy (benchmarks/fit.py)"
    lines = [head, "", f"Machine: {machine()}; one thread each; CPU time (process_time), "
             "medians of 11 interleaved rounds of 50 steps (5 above 64,000 width x batch), the "
             "engines' order rotating; glibc's malloc thresholds fixed "
             "(see the script); wall/CPU above 1.3 is marked LOADED (the process waited for "
             "a core, and its CPU times are less sure).", "",
             "| MLP(2,[w,w,1]), batch | fit replay ms | torch ms | JAX jit ms | numpy ms | "
             "fit / torch | fit / JAX | fit / numpy | wall/CPU |", "|---" * 9 + "|"]
    for width, batch in grid:
        steps = 50                  # fit's fixed cost per call (arrays in, Values out) is
        # spread over 50 steps, as over any real training run; short steps get more rounds
        # (this VM's speed drifts: a median over more rounds drifts less)
        rounds = 11 if width * batch <= 64_000 else 5
        ms, load = compare(width, batch, rounds, steps)
        flag = f"{load:.2f}" + (" LOADED" if load > 1.3 else "")
        lines.append(f"| {width}, {batch:,} | {ms['fit']:.3g} | {ms['torch']:.3g} | "
                     f"{ms['jax']:.3g} | {ms['numpy']:.3g} | {ms['fit'] / ms['torch']:.2f}x | "
                     f"{ms['fit'] / ms['jax']:.2f}x | {ms['fit'] / ms['numpy']:.2f}x | {flag} |")
        print(lines[-1], flush=True)
    for width in ([] if args.only else [64] if args.quick else [16, 64, 128, 256]):
        c, w = recording(width)
        lines.append(f"\nRecording, checking and compiling, width {width}: {c:.2f} s CPU "
                     f"({w:.2f} s wall); a fit call's fixed cost beyond its steps: "
                     f"{fixed_cost(width) * 1e3:.1f} ms")
        print(lines[-1], flush=True)
    if not args.quick:
        acc, c, w = digits_run()
        lines.append(f"\nDigits, cross_entropy, 30 epochs: test accuracy {acc:.1%}, "
                     f"{c:.2f} s CPU ({w:.2f} s wall), recording included")
        print(lines[-1], flush=True)
        write_section(head, "\n".join(lines))


if __name__ == "__main__":
    main()

"""The demo behind `tracegrad demo`: micrograd's moons network trained to 100% accuracy,
then one weight's backprop through the output neuron printed step by step and drawn, and
the loss curve and decision boundary written to an output folder.
"""
import importlib.util
import os

from tracegrad.engine import Value, backward_steps, draw, explain, no_grad
from tracegrad.engine.teach.render import save
from tracegrad.extras import require

from . import data as datasets
from . import losses, optim
from .layers import MLP, Neuron
from .train import accuracy, evaluate, fit

DEMO = dict(samples=100, noise=0.1, epochs=50, batch_size=10, lr=(0.1, 0.01), momentum=0.9,
            alpha=1e-4)


def demo(args):
    """micrograd's demo network and data, trained with mini-batch SGD with momentum."""
    require("matplotlib", "plot", "the demo's plots")      # before training, not after it
    d = DEMO
    data = datasets.moons(d["samples"], noise=d["noise"], seed=0, labels=(-1, 1))
    model = MLP(2, [16, 16, 1], seed=args.seed)
    steps = d["epochs"] * (d["samples"] // d["batch_size"])
    opt = optim.SGD(model.parameters(), lr=d["lr"][0], momentum=d["momentum"],
                    schedule=optim.linear_decay(*d["lr"], steps))
    print(f"Training {model!r} ({len(model.parameters())} parameters) on {d['samples']} moons "
          f"points: hinge loss + {d['alpha']:g} * L2, SGD with momentum {d['momentum']}, "
          f"lr {d['lr'][0]} -> {d['lr'][1]}, batches of {d['batch_size']}, "
          f"{d['epochs']} epochs ({steps} steps).")
    history = fit(model, data, losses.hinge, opt, epochs=d["epochs"],
                  batch_size=d["batch_size"], penalty=lambda m: d["alpha"] * losses.l2(m.parameters()),
                  metric=accuracy, seed=args.seed, progress=False if args.no_progress else None)
    if not history:                 # interrupted before the first step: fit said so
        return 130
    acc = evaluate(model, data)
    print(f"Training accuracy: {acc:.0%} ({round(acc * len(data))}/{len(data)}) after "
          f"{len(history)} steps in {history.seconds:.1f} s; final loss {history.loss[-1]:.4f}.")
    if history.stopped == "interrupted":
        print("(interrupted: the plots show the weights learned so far)")
    os.makedirs(args.out, exist_ok=True)
    show_backprop(model, data, args.out)
    show_replay(model, data, hardest_sample(model, data))
    write_plots(model, data, history, args.out)
    return 0


def hardest_sample(model, data):
    """The index of the sample with the largest hinge loss (the one still being learned)."""
    with no_grad():
        scores = [losses.hinge(model(x), y).data for x, y in data]
    return max(range(len(scores)), key=scores.__getitem__)


def one_weight_graph(model, data, sample):
    """A small graph of one sample's loss: the last hidden layer's outputs h_1, h_2, ...
    become leaves, the output neuron is copied (weights w_1 ..., bias b), and
    loss = hinge(score, y). Returns (loss, the weight w_i of the most active input h_i)."""
    x, y = data[sample]
    with no_grad():
        hidden = x
        for layer in model.layers[:-1]:
            hidden = layer(hidden)
    leaves = [Value(h.data, label=f"h_{i + 1}") for i, h in enumerate(hidden)]
    last = model.layers[-1].neurons[0]
    neuron = Neuron(last.nin, last.activation).load_state_dict(last.state_dict())
    score = neuron(leaves)
    score.label = "score"
    loss = losses.hinge(score, Value(y, label="y"), reduction="sum")
    loss.label = "loss"
    busiest = max(range(len(leaves)), key=lambda i: abs(leaves[i].data))
    return loss, neuron.w[busiest]


def show_backprop(model, data, out):
    """Print the backward steps of one sample's loss that reach one weight, the chain rule
    for that weight written out, and draw the sample's graph."""
    sample = hardest_sample(model, data)
    loss, weight = one_weight_graph(model, data, sample)
    print(f"\nSample {sample} (x = {_short(data.X[sample])}, y = {data.y[sample]}) has the "
          f"largest loss, {loss.data:.4f}. Its graph through the output neuron "
          "(the last hidden layer's outputs h_* held fixed), the backward steps that reach "
          f"{weight.label} (the weight from h{weight.label[1:]} to the output):\n")
    print(backward_steps(loss).towards(weight))
    print()
    print(explain(loss, weight))
    path = os.path.join(out, "graph.png")
    title = f"sample {sample}: the paths from {weight.label} to the loss in blue"
    written = save(draw(loss, focus=weight, prune=True, rankdir="TB", title=title), path)
    print(f"\nwrote {written}")


def show_replay(model, data, sample):
    """The data set's loss replayed from one tape (nn.replay), and sample turned back into
    Values with materialize: the same numbers as the scalar engine."""
    if importlib.util.find_spec("numpy") is None:
        print('\n(Replay, fit(..., engine="replay"), needs numpy: pip install "tracegrad[fast]")')
        return
    from .replay import Replayer
    pairs = list(data)
    replayer = Replayer(model, losses.hinge, pairs)
    mean, _ = replayer(model, pairs, losses.hinge)
    model.zero_grad()
    root = replayer.materialize(sample)
    with no_grad():
        scalar = losses.hinge(model(pairs[sample][0]), pairs[sample][1]).data
    print(f"\nReplay: all {len(pairs)} points from one tape of {len(replayer.tape)} entries "
          f"(mean loss {mean:.4f}); sample {sample} materialized as Values: loss "
          f"{root.data:.6f} (scalar engine {scalar:.6f}), ready for backward_steps, explain "
          "and draw.")
    show_digits()


def show_digits():
    """Ten classes with replay: digits, cross_entropy (its max shift a row of the table, the
    class index as one-hot placeholders), trained in about a second."""
    import time
    from .digits import digits
    train, test = digits().split(1500)
    model = MLP(64, [16, 10], seed=0)
    start = time.process_time()
    history = fit(model, train, "cross_entropy",
                  optim.SGD(model.parameters(), lr=0.3, momentum=0.9), epochs=30,
                  batch_size=100, progress=False, engine="replay")
    seconds = time.process_time() - start
    print(f"Replay, ten classes: {model!r} on {len(train)} 8x8 digits, cross_entropy, "
          f"{len(history)} steps in {seconds:.1f} s of CPU: "
          f"{evaluate(model, test):.1%} right on {len(test)} unseen digits.")


def _short(numbers):
    return "[" + ", ".join(f"{v:.3f}" for v in numbers) + "]"


def write_plots(model, data, history, out, boundary=True):
    from . import plot
    plot.loss_curve(history, os.path.join(out, "loss.png"))
    written = ["loss.png"]
    if boundary:
        plot.decision_boundary(model, data, os.path.join(out, "boundary.png"))
        written.append("boundary.png")
    print(f"wrote {', '.join(os.path.join(out, w) for w in written)}")

"""The command line: `python -m nn demo` trains micrograd's moons network and shows its
backprop; `python -m nn train ...` trains an MLP on a toy data set for experiments.
Usage errors print one line on stderr and exit with status 2.
"""
import argparse
import os
import sys

from engine import Value, no_grad

from . import data as datasets
from . import losses, optim
from .layers import MLP, Neuron
from .train import accuracy, evaluate, fit

EXAMPLES = """examples:
  python -m nn demo                         train on moons, print one weight's backprop, write plots
  python -m nn demo --out /tmp/demo --no-progress
  python -m nn train --data moons --hidden 16,16 --optimizer adam --lr 0.05 --epochs 30 --batch-size 10
  python -m nn train --data spiral --hidden 32,32 --optimizer adam --lr 0.02 --epochs 100 --out out/spiral
  python -m nn train --data dosage --hidden 2 --activation softplus --optimizer sgd --lr 0.1 --epochs 2000
"""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2)."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message}")


class UsageError(Exception):
    pass


def build_parser():
    parser = Parser(prog="python -m nn", description="Train small neural networks built from "
                    "tracegrad Values.", epilog=EXAMPLES,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="{demo,train}")
    sub.required = True
    demo = sub.add_parser("demo", help="train MLP(2, [16, 16, 1]) on moons to 100%% accuracy, "
                          "print a weight's backward steps, write plots and a graph image",
                          epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--out", default=os.path.join("out", "demo"),
                      help="folder for the images (default: out/demo)")
    demo.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")

    train = sub.add_parser("train", help="train an MLP on a toy data set", epilog=EXAMPLES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--data", default="moons", choices=sorted(datasets.BY_NAME))
    train.add_argument("--samples", type=_positive_int, default=None,
                       help="how many points to generate (generated sets only)")
    train.add_argument("--hidden", type=_sizes, default=[16, 16],
                       help="hidden layer sizes, comma separated (default 16,16)")
    train.add_argument("--activation", default="relu",
                       choices=["relu", "tanh", "sigmoid", "softplus", "leaky_relu"])
    train.add_argument("--optimizer", default="adam", choices=sorted(optim.BY_NAME))
    train.add_argument("--lr", type=_positive_float, default=None,
                       help="learning rate (default: 0.05 for adam/adamw/rmsprop, 0.1 for sgd)")
    train.add_argument("--momentum", type=float, default=0.9,
                       help="for --optimizer momentum (default 0.9)")
    train.add_argument("--epochs", type=_positive_int, default=30)
    train.add_argument("--batch-size", type=_positive_int, default=None,
                       help="samples per step (default: the whole data set)")
    train.add_argument("--seed", type=int, default=0, help="seed for data, weights and shuffling")
    train.add_argument("--out", default=None,
                       help="folder to write loss.png, boundary.png (2-D data) and model.json")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _positive(kind, what):
    """An argparse type: text -> a positive kind (int or float), or a one-line error."""
    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return convert


_positive_int = _positive(int, "a positive whole number")
_positive_float = _positive(float, "a positive number")


def _sizes(text):
    try:
        return [_positive_int(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected sizes like 16,16, got {text!r}") from None


# --- demo -------------------------------------------------------------------------------------
DEMO = dict(samples=100, noise=0.1, epochs=50, batch_size=10, lr=(0.1, 0.01), momentum=0.9,
            alpha=1e-4)


def demo(args):
    """micrograd's demo network and data, trained with mini-batch SGD with momentum."""
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
                  metric=accuracy, seed=args.seed, progress=not args.no_progress)
    acc = evaluate(model, data)
    print(f"Training accuracy: {acc:.0%} ({round(acc * len(data))}/{len(data)}) after "
          f"{len(history)} steps in {history.seconds:.1f} s; final loss {history.loss[-1]:.4f}.")
    if history.stopped == "interrupted":
        print("(interrupted: the plots show the weights learned so far)")
    os.makedirs(args.out, exist_ok=True)
    show_backprop(model, data, args.out)
    write_plots(model, data, history, args.out)
    return 0


def hardest_sample(model, data):
    """The index of the sample with the largest hinge loss (the one still being learned)."""
    with no_grad():
        scores = [losses.hinge(model(x), y).data for x, y in data]
    return max(range(len(scores)), key=scores.__getitem__)


def one_weight_graph(model, data, sample):
    """A small graph of one sample's loss: the last hidden layer's outputs h.0, h.1, ...
    become leaves, the output neuron is copied (weights w.0 ..., bias b), and
    loss = hinge(score, y). Returns (loss, the weight w.i of the most active input h.i)."""
    x, y = data[sample]
    with no_grad():
        hidden = x
        for layer in model.layers[:-1]:
            hidden = layer(hidden)
    leaves = [Value(h.data, label=f"h.{i}") for i, h in enumerate(hidden)]
    last = model.layers[-1].neurons[0]
    neuron = Neuron(last.nin, last.activation).load_state_dict(last.state_dict())
    score = neuron(leaves)
    score.label = "score"
    loss = losses.hinge(score, Value(y, label="y"), reduction="sum")
    loss.label = "loss"
    busiest = max(range(len(leaves)), key=lambda i: abs(leaves[i].data))
    return loss, neuron.w[busiest]


def show_backprop(model, data, out):
    """Print the backward steps of one sample's loss for one weight; draw that graph."""
    sample = hardest_sample(model, data)
    loss, weight = one_weight_graph(model, data, sample)
    print(f"\nSample {sample} (x = {_short(data.X[sample])}, y = {data.y[sample]}) has the "
          f"largest loss, {loss.data:.4f}. Its graph through the output neuron "
          "(the last hidden layer's outputs h.* held fixed):")
    try:
        from engine import backward_steps
    except ImportError:
        print("(this engine has no backward_steps yet: skipping the steps table)")
        loss.backward()
    else:
        backward_steps(loss)
    print(f"d loss / d {weight.label} = {weight.grad:.6g}")
    try:
        from engine import draw
    except ImportError:
        print("(this engine has no draw yet: no graph image)")
        return
    path = os.path.join(out, "graph")
    draw(loss).render(path, format="png", cleanup=True)
    print(f"wrote {path}.png")


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


# --- train ------------------------------------------------------------------------------------
def train(args):
    make = datasets.BY_NAME[args.data]
    options = {"seed": args.seed} if args.data not in ("dosage", "height_weight") else {}
    if args.samples is not None:
        if not options:
            raise UsageError(f"python -m nn train: error: --samples: {args.data} is a fixed "
                             "textbook data set")
        options["n"] = args.samples
    binary = args.data in ("moons", "circles", "xor")
    if binary:
        options["labels"] = (-1, 1)
    data = make(**options)
    if args.data == "fruit":
        data = data.standardized()
    if data.task == "regression":
        nout, loss, metric = 1, losses.mse, None
    elif binary:
        nout, loss, metric = 1, losses.hinge, accuracy
    else:
        nout, loss, metric = len(data.classes), losses.cross_entropy, accuracy
    model = MLP(len(data.features), args.hidden + [nout], activation=args.activation,
                seed=args.seed)
    lr = args.lr or (0.1 if args.optimizer in ("sgd", "momentum") else 0.05)
    kind = optim.BY_NAME[args.optimizer]
    extra = {"momentum": args.momentum} if args.optimizer == "momentum" else {}
    opt = kind(model.parameters(), lr=lr, **extra)
    print(f"{model!r} on {data!r}: {loss.__name__} loss, {opt!r}, {args.epochs} epochs")
    history = fit(model, data, loss, opt, epochs=args.epochs, batch_size=args.batch_size,
                  metric=metric, seed=args.seed, progress=not args.no_progress)
    text = f"final loss {history.loss[-1]:.6g} after {len(history)} steps ({history.seconds:.1f} s)"
    if metric is not None:
        text += f"; training accuracy {evaluate(model, data):.1%}"
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        write_plots(model, data, history, args.out, boundary=len(data.features) == 2)
        print(f"wrote {model.save(os.path.join(args.out, 'model.json'))}")
    return 0


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        return demo(args) if args.command == "demo" else train(args)
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as err:
        print(f"python -m nn: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("python -m nn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

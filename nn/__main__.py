"""nn's commands: demo (micrograd's moons network trained, one weight's backprop shown) and
train (an MLP on a toy data set, for experiments); run as `tracegrad demo|train` or
`python -m tracegrad.nn demo|train`. What to train on each data set (its loss, metric,
labels, scaling) comes from nn.data.SOURCES. Exit codes: 0 done, 1 an optional package is
missing, 2 a usage error, 130 interrupted.
"""
import argparse
import inspect
import os
import sys

from ..engine.teach.commandline import add_command, new_parser, run
from ..engine.extras import MissingExtra, require
from . import data as datasets
from . import losses, optim, replay
from .demo import demo, write_plots
from .layers import MLP
from .train import evaluate, fit

EXAMPLES = """examples:
  tracegrad demo                         train on moons, print one weight's backprop, write plots
  tracegrad demo --out /tmp/demo --no-progress
  tracegrad train --data moons --hidden 16,16 --optimizer adam --lr 0.05 --epochs 30 --batch-size 10
  tracegrad train --data moons --samples 2000 --epochs 50 --engine replay
  tracegrad train --data spiral --hidden 32,32 --optimizer adam --lr 0.02 --epochs 100 --out out/spiral
  tracegrad train --data dosage --hidden 2 --activation softplus --optimizer sgd --lr 0.1 --epochs 2000
"""


# what a failing command exits with (printed as one line)
ERRORS = {MissingExtra: 1, ValueError: 2, TypeError: 2, OSError: 2}


def main(argv=None):
    parser, commands = new_parser("python -m tracegrad.nn", "Train small neural networks built "
                                  "from tracegrad Values.", EXAMPLES)
    add_commands(commands)
    return run(parser, argv, ERRORS)


def add_commands(commands):
    """Add demo and train to an argparse subparser group."""
    sub = add_command(commands, "demo", demo, "train MLP(2, [16, 16, 1]) on moons to 100% "
                      "accuracy, print a weight's backward steps, write plots and a graph image",
                      EXAMPLES)
    sub.add_argument("--out", default=os.path.join("out", "demo"),
                     help="folder for the images (default: out/demo)")
    sub.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    sub.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub = add_command(commands, "train", run_train, "train an MLP on a toy data set", EXAMPLES)
    sub.add_argument("--data", default="moons", choices=sorted(datasets.SOURCES))
    sub.add_argument("--samples", type=_positive_int, default=None,
                     help=f"how many points to generate (generated sets only, at most "
                          f"{datasets.MAX_SAMPLES:,})")
    sub.add_argument("--hidden", type=_sizes, default=[16, 16],
                     help="hidden layer sizes, comma separated (default 16,16)")
    sub.add_argument("--activation", default="relu",
                     choices=["relu", "tanh", "sigmoid", "softplus", "leaky_relu"])
    sub.add_argument("--optimizer", default="adam", choices=sorted(optim.BY_NAME))
    sub.add_argument("--lr", type=_positive_float, default=None,
                     help="learning rate (default: 0.05 for adam/adamw/rmsprop, 0.1 for sgd)")
    sub.add_argument("--momentum", type=float, default=None,
                     help="for --optimizer sgd or momentum (default: 0 for sgd, 0.9 for momentum)")
    sub.add_argument("--epochs", type=_positive_int, default=30)
    sub.add_argument("--batch-size", type=_positive_int, default=None,
                     help="samples per step (default: the whole data set)")
    sub.add_argument("--seed", type=int, default=0, help="seed for data, weights and shuffling")
    sub.add_argument("--engine", default="scalar", choices=replay.ENGINES,
                     help="scalar: a graph per sample; replay: one sample's graph replayed "
                     "over the batch with numpy (same numbers, much faster; default scalar)")
    sub.add_argument("--out", default=None,
                     help="folder to write loss.png, boundary.png (2-D data) and model.json")
    sub.add_argument("--no-progress", action="store_true", help="no progress bar")


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


# --- train ------------------------------------------------------------------------------------
def run_train(args):
    if args.out:
        require("matplotlib", "plot", "the plots of --out")
    source = datasets.SOURCES[args.data]
    data = source.load(args.samples, seed=args.seed)
    model = MLP(len(data.features), args.hidden + [source.outputs(data)],
                activation=args.activation, seed=args.seed)
    opt = _optimizer(args, model.parameters())
    loss = losses.get(source.loss)
    print(f"{model!r} on {data!r}: {loss.__name__} loss, {opt!r}, {args.epochs} epochs")
    history = fit(model, data, loss, opt, epochs=args.epochs, batch_size=args.batch_size,
                  metric=source.metric, seed=args.seed,
                  progress=False if args.no_progress else None, engine=args.engine)
    if not history:                 # interrupted before the first step: fit said so
        return 130
    # the last epoch's mean batch loss: one batch's loss alone says little (0 on an easy batch)
    last = [float(x) for e, x in zip(history.epoch, history.loss) if e == history.epoch[-1]]
    text = (f"epoch {history.epoch[-1]} mean loss {sum(last) / len(last):.6g} after "
            f"{len(history)} steps ({history.seconds:.1f} s)")
    if source.metric is not None:
        text += f"; training {source.metric} {evaluate(model, data):.1%}"
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        write_plots(model, data, history, args.out, boundary=len(data.features) == 2)
        print(f"wrote {model.save(os.path.join(args.out, 'model.json'))}")
    return 0


def _optimizer(args, params):
    """The chosen optimizer; --momentum only where the optimizer has a momentum."""
    kind = optim.BY_NAME[args.optimizer]
    options = {}
    if args.momentum is not None:
        if "momentum" not in inspect.signature(kind).parameters:
            takes = [n for n, k in optim.BY_NAME.items()
                     if "momentum" in inspect.signature(k).parameters]
            raise ValueError(f"--momentum: --optimizer {args.optimizer} has no momentum "
                             f"(use --optimizer {' or '.join(takes)})")
        options["momentum"] = args.momentum
    lr = args.lr or (0.1 if kind in (optim.SGD, optim.momentum) else 0.05)
    return kind(params, lr=lr, **options)


if __name__ == "__main__":
    sys.exit(main())

"""nn's commands: `tracegrad demo` trains micrograd's moons network and shows its backprop;
`tracegrad train ...` trains an MLP on a toy data set for experiments (also run as
`python -m tracegrad.nn demo|train`). Usage errors print one line on stderr, exit status 2.
"""
import argparse
import os
import sys

from ..cli import new_parser, run
from ..extras import MissingExtra, require
from . import data as datasets
from . import losses, optim, replay
from .demo import demo, write_plots
from .layers import MLP
from .train import accuracy, evaluate, fit

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
    cmd = commands.add_parser("demo", help="train MLP(2, [16, 16, 1]) on moons to 100%% accuracy, "
                              "print a weight's backward steps, write plots and a graph image",
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmd.add_argument("--out", default=os.path.join("out", "demo"),
                     help="folder for the images (default: out/demo)")
    cmd.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    cmd.add_argument("--no-progress", action="store_true", help="no progress bar")
    cmd.set_defaults(run=demo)

    cmd = commands.add_parser("train", help="train an MLP on a toy data set", epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    cmd.add_argument("--data", default="moons", choices=sorted(datasets.BY_NAME))
    cmd.add_argument("--samples", type=_positive_int, default=None,
                     help="how many points to generate (generated sets only)")
    cmd.add_argument("--hidden", type=_sizes, default=[16, 16],
                     help="hidden layer sizes, comma separated (default 16,16)")
    cmd.add_argument("--activation", default="relu",
                     choices=["relu", "tanh", "sigmoid", "softplus", "leaky_relu"])
    cmd.add_argument("--optimizer", default="adam", choices=sorted(optim.BY_NAME))
    cmd.add_argument("--lr", type=_positive_float, default=None,
                     help="learning rate (default: 0.05 for adam/adamw/rmsprop, 0.1 for sgd)")
    cmd.add_argument("--momentum", type=float, default=0.9,
                     help="for --optimizer momentum (default 0.9)")
    cmd.add_argument("--epochs", type=_positive_int, default=30)
    cmd.add_argument("--batch-size", type=_positive_int, default=None,
                     help="samples per step (default: the whole data set)")
    cmd.add_argument("--seed", type=int, default=0, help="seed for data, weights and shuffling")
    cmd.add_argument("--engine", default="scalar", choices=replay.ENGINES,
                     help="scalar: a graph per sample; replay: one sample's graph replayed "
                     "over the batch with numpy (same numbers, much faster; default scalar)")
    cmd.add_argument("--out", default=None,
                     help="folder to write loss.png, boundary.png (2-D data) and model.json")
    cmd.add_argument("--no-progress", action="store_true", help="no progress bar")
    cmd.set_defaults(run=run_train)


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
    make = datasets.BY_NAME[args.data]
    options = {"seed": args.seed} if args.data not in ("dosage", "height_weight") else {}
    if args.samples is not None:
        if not options:
            raise ValueError(f"--samples: {args.data} is a fixed textbook data set")
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
                  metric=metric, seed=args.seed, progress=False if args.no_progress else None,
                  engine=args.engine)
    if not history:                 # interrupted before the first step: fit said so
        return 130
    text = f"final loss {history.loss[-1]:.6g} after {len(history)} steps ({history.seconds:.1f} s)"
    if metric is not None:
        text += f"; training accuracy {evaluate(model, data):.1%}"
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        write_plots(model, data, history, args.out, boundary=len(data.features) == 2)
        print(f"wrote {model.save(os.path.join(args.out, 'model.json'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

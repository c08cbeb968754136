"""The `tracegrad` command: the engine's teaching commands and nn's training commands.

    tracegrad demo | train ...                       (from tracegrad.nn)
    tracegrad steps | explain | check | draw | neuron ...   (from tracegrad.engine)

Each half also runs alone (`python -m tracegrad.engine`, `python -m tracegrad.nn`). Both build
their commands on the Parser here, so a usage error is one line on stderr with exit status 2,
and an interrupt is one line with exit status 130, whichever way they are started.
"""
import argparse
import sys

from . import __version__


class UsageError(Exception):
    """A bad command line: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (`prog: error: ... (see prog --help)`), exit 2."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def new_parser(prog, description, epilog=""):
    """A Parser with --version and a COMMAND subparser group: (parser, commands)."""
    parser = Parser(prog=prog, description=description, epilog=epilog,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tracegrad {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    return parser, commands


def run(parser, argv, errors):
    """Parse argv and run the chosen command: its return value is the exit status.

    `errors` maps exception types to exit statuses: each is printed as one line."""
    try:
        args = parser.parse_args(argv)
        prog = f"{parser.prog} {args.command}"
        try:
            return args.run(args)
        except tuple(errors) as err:
            print(f"{prog}: error: {err}", file=sys.stderr)
            return next(code for kind, code in errors.items() if isinstance(err, kind))
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


def build_parser():
    from .engine import __main__ as engine_cli
    from .nn import __main__ as nn_cli
    parser, commands = new_parser(
        "tracegrad", "tracegrad: backprop step by step, the chain rule written out, gradient "
        "checks, graph drawings, and small neural networks trained from scalar Values.",
        epilog=nn_cli.EXAMPLES + "\n" + engine_cli.EXAMPLES)
    nn_cli.add_commands(commands)
    engine_cli.add_commands(commands, demo_name="neuron")
    return parser, {**engine_cli.ERRORS, **nn_cli.ERRORS}


def main(argv=None):
    parser, errors = build_parser()
    return run(parser, argv, errors)

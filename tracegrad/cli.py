"""The `tracegrad` command: the engine's teaching commands and nn's training commands.

    tracegrad demo | train ...                       (from tracegrad.nn)
    tracegrad steps | explain | check | draw | neuron ...   (from tracegrad.engine)

Each half also runs alone (`python -m tracegrad.engine`, `python -m tracegrad.nn`). Both build
their commands with engine/teach/commandline.py, so errors, interrupts and a closed standard
output end the same way (one line, the same exit status), whichever way they are started.
"""
from __future__ import annotations

from collections.abc import Sequence

# the machinery lives with the engine's commands (imports run one way: this file composes
# the two command sets, they never import it); its names are importable from here too
from .engine.teach.commandline import (Errors, Parser, UsageError, add_command, dash_dash,
                                       new_parser, run)

__all__ = ["main", "build_parser", "Errors", "Parser", "UsageError", "add_command",
           "dash_dash", "new_parser", "run"]


def build_parser() -> tuple[Parser, Errors]:
    from .engine.teach import cli as engine_cli
    from .nn import __main__ as nn_cli
    parser, commands = new_parser(
        "tracegrad", "tracegrad: backprop step by step, the chain rule written out, gradient "
        "checks, graph drawings, and small neural networks trained from scalar Values.",
        epilog=nn_cli.EXAMPLES + "\n" + engine_cli.EXAMPLES)
    nn_cli.add_commands(commands)
    engine_cli.add_commands(commands, demo_name="neuron")
    return parser, {**engine_cli.ERRORS, **nn_cli.ERRORS}


def main(argv: Sequence[str] | None = None) -> int:
    parser, errors = build_parser()
    return run(parser, argv, errors)

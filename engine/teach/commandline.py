"""The command line's machinery, shared by the engine's commands (teach/cli.py), nn's
(nn/__main__.py) and the `tracegrad` command that composes both (tracegrad/cli.py): a usage
error is one line on stderr with exit status 2, an interrupt one line with status 130, and a
closed or full standard output one line with status 141 or 1.
"""
from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from tracegrad import __version__

# exception type -> the exit status a command returns when it raises one
Errors = Mapping[type[Exception], int]


class UsageError(Exception):
    """A bad command line: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (`prog: error: ... (see prog --help)`), exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def new_parser(prog: str, description: str,
               epilog: str = "") -> tuple[Parser, argparse._SubParsersAction[Any]]:
    """A Parser with --version and a COMMAND subparser group: (parser, commands)."""
    parser = Parser(prog=prog, description=description, epilog=epilog,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tracegrad {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    return parser, commands


def add_command(commands: argparse._SubParsersAction[Any], name: str,
                run: Callable[[argparse.Namespace], int | None], help: str,
                epilog: str = "") -> argparse.ArgumentParser:
    """One subcommand: its help is also its description, run(args) is what it does."""
    # help is %-formatted by argparse (100%% shows as 100%), a description is printed as is
    sub = commands.add_parser(name, help=help.replace("%", "%%"), description=help, epilog=epilog,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.set_defaults(run=run)
    return sub


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None, errors: Errors) -> int:
    """Parse argv and run the chosen command: its return value is the exit status.

    `errors` maps exception types to exit statuses: each is printed as one line."""
    prog = parser.prog
    try:
        args = parser.parse_args(dash_dash(sys.argv[1:] if argv is None else argv))
        prog = f"{parser.prog} {args.command}"
        try:
            status = args.run(args)
        except tuple(errors) as err:
            if _to_stdout(err):
                raise
            print(f"{prog}: error: {err}", file=sys.stderr)
            return next(code for kind, code in errors.items() if isinstance(err, kind))
        if sys.stdout is not None:      # None when started with stdout closed (>&-)
            sys.stdout.flush()          # here, so a closed pipe is caught here, not at exit
        return status
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        if not _to_stdout(err):
            raise
        # the rest of the output goes nowhere (else Python complains again at exit)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if err.errno == errno.EPIPE:    # the reader went away, as with | head
            print(f"{prog}: standard output was closed before the output ended", file=sys.stderr)
            return 141                  # 128 + SIGPIPE, what a shell reports for a cut pipe
        print(f"{prog}: error: cannot write to standard output: {err.strerror}", file=sys.stderr)
        return 1


def _to_stdout(err: BaseException) -> bool:
    """Whether err is a failed write to standard output (closed pipe, full disk)."""
    return (isinstance(err, OSError) and err.filename is None
            and err.errno in (errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EBADF))


def dash_dash(argv: Sequence[str]) -> list[str]:
    """The argument after `--` is the expression even when it starts with - (as in
    `steps -- "-x**2" --at x=3`), and the options after it still count as options.

    argparse would take everything after -- as positional. The expression is moved to just
    after the command's name (so an option before -- cannot swallow it) with a space in
    front: an argument that starts with a space is positional to argparse, and the
    expression reader strips the space."""
    argv = list(argv)
    if "--" not in argv:
        return argv
    i = argv.index("--")
    command = next((k for k, arg in enumerate(argv[:i]) if not arg.startswith("-")), None)
    if command is None or i + 1 == len(argv):
        return argv
    expression = " " + argv[i + 1]
    del argv[i:i + 2]
    argv.insert(command + 1, expression)
    return argv

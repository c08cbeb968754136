"""Optional pieces (matplotlib, numpy, torch ...): import one, or fail with one line that
says which install gives it. The extras themselves are defined in pyproject.toml."""
from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(ImportError):
    """An optional package is not installed; the message names the command that installs it."""


def require(module: str, extra: str, needed_for: str) -> ModuleType:
    """Import and return `module`, or raise MissingExtra naming `pip install` for it.

    `extra` is the pyproject extra that brings it (plot, fast, torch, notebook);
    `needed_for` says what needs it, as a plural subject: "the demo's plots"."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise MissingExtra(
            f"{package} is not installed ({needed_for} need it): pip install {package}, or "
            f"install tracegrad with its '{extra}' extra: pip install \"tracegrad[{extra}]\" "
            f"(pip install \".[{extra}]\" in a clone of tracegrad)"
        ) from None

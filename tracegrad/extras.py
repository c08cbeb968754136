"""Optional pieces (matplotlib, numpy, torch ...): import one, or fail with one line that
says which install gives it. The extras themselves are defined in pyproject.toml."""
import importlib


class MissingExtra(ImportError):
    """An optional package is not installed; the message names the command that installs it."""


def require(module, extra, needed_for):
    """Import and return `module`, or raise MissingExtra naming `pip install` for it.

    `extra` is the pyproject extra that brings it (plot, fast, torch, notebook)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise MissingExtra(
            f"{needed_for} needs {package}, which is not installed: run "
            f"pip install {package}  (or install tracegrad with its '{extra}' extra: "
            f"pip install \"tracegrad[{extra}]\", or pip install \".[{extra}]\" in a clone)"
        ) from None

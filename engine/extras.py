"""Optional pieces (matplotlib, numpy, torch ...): import one, or fail with one line that
says which install gives it. The extras themselves are defined in pyproject.toml. Not part of
the core (which needs none): the teaching tools, the replay and nn share it."""
from __future__ import annotations

import importlib
import re
from importlib import metadata
from types import ModuleType


class MissingExtra(ImportError):
    """An optional package is not installed; the message names the command that installs it."""


def require(module: str, extra: str, needed_for: str) -> ModuleType:
    """Import and return `module`, or raise MissingExtra naming `pip install` for it.

    `extra` is the pyproject extra that brings it (plot, fast, torch, notebook);
    `needed_for` says what needs it: "the demo's plots", "tracegrad.nn.to_torch"."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        spec = pinned(package, extra)
        if any(c in spec for c in "<>!~ "):
            spec = f'"{spec}"'                           # quoted: > is a shell redirect
        raise MissingExtra(
            f"{package} is not installed (needed for {needed_for}): pip install "
            f"{spec}, or install tracegrad with its '{extra}' extra: pip "
            f"install \"tracegrad[{extra}]\" (pip install \".[{extra}]\" in a clone of tracegrad)"
        ) from None


def pinned(package: str, extra: str) -> str:
    """How the extra asks for package, from tracegrad's installed metadata (pyproject.toml is
    the one source): 'torch==2.13.0' (a bare `pip install torch` would pull a CUDA build of
    several GB), 'matplotlib>=3.7'; the bare name when the metadata does not say."""
    try:
        requirements = metadata.requires("tracegrad") or []
    except metadata.PackageNotFoundError:
        return package
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        name = re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0]
        if name.lower() == package.lower() and f"extra == \"{extra}\"" in marker.replace("'", '"'):
            return spec.strip().replace(" ", "")
    return package

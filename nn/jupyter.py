"""Where tracegrad is running: under a Jupyter kernel, in a terminal, or in a pipe or log.
The progress bar and the plots ask here, so they behave as Jupyter users expect (a widget,
an image per cell) without importing IPython when it is not already running."""
from __future__ import annotations

import sys
from typing import Any, TextIO


def ipython_shell() -> Any:
    """The running IPython shell, or None (plain Python; IPython is never imported here)."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def in_kernel() -> bool:
    """True inside a Jupyter kernel (a notebook, JupyterLab, VS Code), not terminal IPython."""
    return getattr(ipython_shell(), "kernel", None) is not None


def someone_watching(stream: TextIO | None = None) -> bool:
    """True when output on `stream` (stderr by default) is seen as it happens: the stream
    is a terminal, or this is a Jupyter kernel. False for pipes, files and CI logs."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        if isatty is not None and isatty():
            return True
    except ValueError:           # a closed stream
        return False
    return in_kernel()

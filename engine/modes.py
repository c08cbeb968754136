"""Recording modes, per thread and per asyncio task: no_grad() records no graph,
detect_anomaly() stops at the first NaN or infinity. The mode lives in a context variable,
so a block changes it only for the thread (or task) that entered it, and leaving the block
restores what was there before, whatever other threads did meanwhile.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import NamedTuple


class Mode(NamedTuple):
    """What the thread (or task) records: a graph (grad_enabled), and anomaly checks."""
    grad_enabled: bool
    anomaly: bool


# the four modes, made once, so the hot path of every operation can test `is PLAIN`
_MODES = {(g, a): Mode(g, a) for g in (True, False) for a in (True, False)}
PLAIN = _MODES[True, False]         # recording, no anomaly checks: the usual mode

_mode: ContextVar[Mode] = ContextVar("tracegrad.engine.mode", default=PLAIN)
current = _mode.get
"""The Mode of the calling thread or task (one call: every operation asks it)."""


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()` (in this thread or task)."""
    return current().grad_enabled


def is_anomaly_enabled() -> bool:
    """True inside `detect_anomaly()` (in this thread or task)."""
    return current().anomaly


@contextmanager
def _switch(grad_enabled: bool | None = None, anomaly: bool | None = None) -> Iterator[None]:
    mode = current()
    token = _mode.set(_MODES[mode.grad_enabled if grad_enabled is None else grad_enabled,
                             mode.anomaly if anomaly is None else anomaly])
    try:
        yield
    finally:
        _mode.reset(token)          # back to the mode before the block, also after an error


def no_grad() -> AbstractContextManager[None]:
    """Inside this block operations compute values but record no graph (as torch.no_grad)."""
    return _switch(grad_enabled=False)


def enable_grad() -> AbstractContextManager[None]:
    """Record the graph again inside a `no_grad()` block."""
    return _switch(grad_enabled=True)


def detect_anomaly() -> AbstractContextManager[None]:
    """Raise FloatingPointError at the first operation whose output or gradient is
    NaN or infinite, naming the operation and its inputs (as torch.autograd.detect_anomaly)."""
    return _switch(anomaly=True)

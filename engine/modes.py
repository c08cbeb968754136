"""Global recording modes: no_grad() records no graph, detect_anomaly() stops at the
first NaN or infinity. `plain` is True when neither is active, so the hot path of
every operation checks a single flag.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

grad_enabled = True
anomaly = False
plain = True


def _update() -> None:
    global plain
    plain = grad_enabled and not anomaly


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()`."""
    return grad_enabled


@contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    global grad_enabled
    saved, grad_enabled = grad_enabled, enabled
    _update()
    try:
        yield
    finally:
        grad_enabled = saved
        _update()


def no_grad() -> AbstractContextManager[None]:
    """Inside this block operations compute values but record no graph (as torch.no_grad)."""
    return _grad_mode(False)


def enable_grad() -> AbstractContextManager[None]:
    """Record the graph again inside a `no_grad()` block."""
    return _grad_mode(True)


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise FloatingPointError at the first operation whose output or gradient is
    NaN or infinite, naming the operation and its inputs (as torch.autograd.detect_anomaly)."""
    global anomaly
    saved, anomaly = anomaly, True
    _update()
    try:
        yield
    finally:
        anomaly = saved
        _update()

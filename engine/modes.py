"""Global recording modes: no_grad() records no graph, detect_anomaly() stops at the
first NaN or infinity. `plain` is True when neither is active, so the hot path of
every operation checks a single flag.
"""
from contextlib import contextmanager

grad_enabled = True
anomaly = False
plain = True


def _update():
    global plain
    plain = grad_enabled and not anomaly


def is_grad_enabled():
    """True unless inside `no_grad()`."""
    return grad_enabled


@contextmanager
def _grad_mode(enabled):
    global grad_enabled
    saved, grad_enabled = grad_enabled, enabled
    _update()
    try:
        yield
    finally:
        grad_enabled = saved
        _update()


def no_grad():
    """Inside this block operations compute values but record no graph (as torch.no_grad)."""
    return _grad_mode(False)


def enable_grad():
    """Record the graph again inside a `no_grad()` block."""
    return _grad_mode(True)


@contextmanager
def detect_anomaly():
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

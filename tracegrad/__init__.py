"""tracegrad: a scalar autograd engine for teaching, and a small neural-net library on it.

    from tracegrad.engine import Value, grad, backward_steps, explain, check_grad, draw
    from tracegrad.nn import MLP, losses, optim, fit, data

The folders engine/ and nn/ of the repository install as tracegrad.engine and tracegrad.nn.
"""
__version__: str = "0.2.0"

__all__ = ["__version__"]

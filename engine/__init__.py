"""tracegrad's engine: scalar Values that record a computation graph and backpropagate.

    from tracegrad.engine import Value, grad, no_grad
"""
if __name__ != "tracegrad.engine":
    # run from a clone's root, `import engine` would load these files a second time, as
    # other classes (a engine.Value is not a tracegrad.engine.Value): say what to write
    raise ImportError(f"this folder is the package tracegrad.engine: write "
                      f"`import tracegrad.engine` (or `from tracegrad.engine import ...`), "
                      f"not `import {__name__}`")
from .graph import backward, grad, local_derivatives, topological_order
from .modes import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .ops import OPS, Op
from .value import Value
from .check import check_grad, numerical_grad
from .draw import draw
from .frames import draw_frames
from .explain import explain
from .forward import forward_steps
from .trace import backward_steps
from .stepper import stepper

__all__ = ["Value", "grad", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
           "backward", "topological_order", "local_derivatives", "OPS", "Op",
           "forward_steps", "backward_steps", "explain", "numerical_grad", "check_grad", "draw",
           "draw_frames", "stepper"]

"""tracegrad's engine: scalar Values that record a computation graph and backpropagate.

    from tracegrad.engine import Value, grad, no_grad

The core is this folder's four files: ops.py (the derivative table), value.py (Value,
backward, grad), graph.py (the chain rule) and modes.py (no_grad, detect_anomaly, per
thread), with text.py for how they write numbers (extras.py is the tools' optional-import
hints). The teaching tools live in teach/ and the numpy batch replay in replay/; the core
never imports either. backward_steps, explain, check_grad, draw and the
other teaching tools are importable from here too, loaded on first use, so that
`import tracegrad.engine` loads nothing beyond the core and the standard library.
"""
if __name__ != "tracegrad.engine":
    # run from a clone's root, `import engine` would load these files a second time, as
    # other classes (a engine.Value is not a tracegrad.engine.Value): say what to write
    raise ImportError(f"this folder is the package tracegrad.engine: write "
                      f"`import tracegrad.engine` (or `from tracegrad.engine import ...`), "
                      f"not `import {__name__}`")

from typing import TYPE_CHECKING

from .graph import local_derivatives, topological_order
from .modes import detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled, no_grad
from .ops import OPS, Op
from .value import Value, backward, grad

# the teaching tools' names, each in its module of teach/ (imported when first asked for)
_TEACHING = {"backward_steps": "steps", "forward_steps": "forward", "explain": "explain",
             "numerical_grad": "check", "check_grad": "check", "draw": "draw",
             "draw_frames": "frames", "stepper": "stepper", "grade": "grade",
             "worksheets": "worksheet", "draw_sheet": "worksheet", "set_renderer": "render"}

if TYPE_CHECKING:
    from .teach.check import check_grad, numerical_grad
    from .teach.draw import draw
    from .teach.explain import explain
    from .teach.forward import forward_steps
    from .teach.frames import draw_frames
    from .teach.grade import grade
    from .teach.render import set_renderer
    from .teach.worksheet import draw_sheet, worksheets
    from .teach.stepper import stepper
    from .teach.steps import backward_steps

__all__ = ["Value", "grad", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
           "is_anomaly_enabled",
           "backward", "topological_order", "local_derivatives", "OPS", "Op", *_TEACHING]


def __getattr__(name: str) -> object:
    # PEP 562: only the teaching tools' names come here (the core's are set above)
    if name not in _TEACHING:
        raise AttributeError(f"module 'tracegrad.engine' has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f".teach.{_TEACHING[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_TEACHING))

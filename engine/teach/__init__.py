"""The teaching tools, built on the core and never imported by it: backward and forward steps,
chain-rule explanations, gradient checks, drawings, frames and the stepper, exports, the
expression language and the engine's commands.

    from tracegrad.engine import backward_steps, explain, check_grad, draw, stepper
"""
from .check import check_grad, numerical_grad
from .draw import draw
from .explain import explain
from .forward import forward_steps
from .frames import draw_frames
from .render import set_renderer
from .stepper import stepper
from .steps import backward_steps

__all__ = ["backward_steps", "forward_steps", "explain", "numerical_grad", "check_grad", "draw",
           "draw_frames", "stepper", "set_renderer"]

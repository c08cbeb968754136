"""The teaching tools, built on the core and never imported by it: backward and forward steps,
chain-rule explanations, gradient checks, drawings, frames and the stepper (with practice
mode), graded tables and worksheets, exports, the expression language and the engine's
commands.

    from tracegrad.engine import backward_steps, explain, check_grad, draw, stepper
"""
from .check import check_grad, numerical_grad
from .draw import draw
from .explain import explain
from .forward import forward_steps
from .frames import draw_frames
from .grade import grade
from .stepper import stepper
from .steps import backward_steps
from .worksheet import draw_sheet, worksheets

__all__ = ["backward_steps", "forward_steps", "explain", "numerical_grad", "check_grad", "draw",
           "draw_frames", "stepper", "grade", "worksheets", "draw_sheet"]

"""A row of the derivative table evaluated on a whole batch: its own forward or local function
called on numpy arrays (one lane per sample) when its code is plain arithmetic, else called lane
by lane on floats (exact, slower). Nothing here restates an op's math: ops.py is the only source.
"""
import numpy as np


class Lanes(np.ndarray):
    """A float64 array of one number per sample, as a row function sees it.

    It has no `.data`: ops.value_of() then sees the array itself, so a row that branches on
    its input's value (`1 if value_of(a) > 0 else 0`) raises instead of testing the array's
    memory buffer, and is evaluated lane by lane."""

    @property
    def data(self):
        raise AttributeError("Lanes hide ndarray.data so that rows cannot branch on it")


class LaneError(Exception):
    """A row raised on one sample (a domain error, say): `lane` is that sample's position."""

    def __init__(self, lane, error):
        super().__init__(lane, error)
        self.lane, self.error = lane, error


def evaluate(fn, args, shape, whole=True):
    """fn(*args) for every lane: args are arrays of the given shape (as Lanes) or plain
    numbers shared by every lane. Returns a number, an array, or a tuple of them (a local function's
    derivatives), and whether the whole-array call worked. A lane where fn raises is
    reported as LaneError(lane, the error)."""
    if whole:
        try:
            with np.errstate(all="ignore"):
                out = fn(*args)
            if _shaped(out, shape):
                return out, True
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
            pass                # the row's code branches on data or calls math.*: lane by lane
    return _lane_by_lane(fn, args, shape), False


def _shaped(out, shape):
    parts = out if isinstance(out, tuple) else (out,)
    for part in parts:
        if isinstance(part, np.ndarray):
            if part.shape not in (shape, ()) or part.dtype.kind not in "fiub":
                return False
        elif not isinstance(part, (int, float)):
            return False
    return True


def _lane_by_lane(fn, args, shape):
    """The exact fallback: fn on plain floats, one lane at a time (lanes in C order)."""
    columns = [np.broadcast_to(a, shape).ravel().tolist() if isinstance(a, np.ndarray)
               else None for a in args]
    results = []
    for lane in range(int(np.prod(shape))):
        lane_args = [c[lane] if c is not None else a for c, a in zip(columns, args)]
        try:
            results.append(fn(*lane_args))
        except (ValueError, ZeroDivisionError, OverflowError, ArithmeticError) as err:
            raise LaneError(lane, err) from None
    if results and isinstance(results[0], tuple):
        return tuple(np.array(part, dtype=float).reshape(shape) for part in zip(*results))
    return np.array(results, dtype=float).reshape(shape)


def lanes(array):
    """array as Lanes (a view, no copy)."""
    return array.view(Lanes)

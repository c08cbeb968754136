"""A row of the derivative table evaluated on a whole batch: its own forward or local function
called on numpy arrays, one lane per sample. Where the row's code branches on a value
(`if a <= 0`), the lanes that go different ways are run once per way and merged, as a GPU runs
a divergent branch; a row that cannot run on arrays at all runs lane by lane on floats.
Nothing here restates an op's math: ops.py is the only source.
"""
import math
import threading

import numpy as np


class Lanes(np.ndarray):
    """A float64 array of one number per sample, as a row function sees it.

    `.data` is the array itself (as a Value's .data is its number), so ops.value_of() hands
    the row the numbers; `type(a)(0)` is a 0-d Lanes holding 0.0; and `if a > 0:` asks
    _decide() which way the lanes go (see evaluate)."""

    def __new__(cls, value=0.0):
        return np.asarray(value, dtype=float).view(cls)

    @property
    def data(self):
        return self

    def __bool__(self):
        return _decide(self)


class LaneError(Exception):
    """A row raised on one sample (a domain error, say): `lane` is that sample's position."""

    def __init__(self, lane, error):
        super().__init__(lane, error)
        self.lane, self.error = lane, error


class _Ambiguous(ValueError):
    """The lanes disagree about a branch outside a forced run (see evaluate)."""


class _Diverge(Exception):
    """The lanes on the current path disagree about a branch: run each way."""

    def __init__(self, mask):
        super().__init__()
        self.mask = mask


_state = threading.local()      # the evaluation in progress: forced decisions, the path


def _decide(mask):
    """One `if` in a row's code: True or False if every lane on the current path agrees,
    else the decision forced for this run, or _Diverge when none is forced yet."""
    run = getattr(_state, "run", None)
    mask = np.asarray(mask, dtype=bool)     # a plain array: its own tests must not recurse
    if run is None:                         # not inside a forced run: agree or re-run
        if mask.all():
            return True
        if not mask.any():
            return False
        raise _Ambiguous("the lanes of a batch disagree about a branch")
    if mask.ndim == 0:
        return bool(mask)
    if run.path is None:                    # no decision forced yet: every lane is on it
        if mask.all():
            return True
        if not mask.any():
            return False
    else:
        if not (run.path & ~mask).any():
            return True
        if not (run.path & mask).any():
            return False
    k = run.decisions
    run.decisions += 1
    if k < len(run.forced):
        way = run.forced[k]
        side = mask if way else ~mask
        run.path = side if run.path is None else run.path & side
        return way
    raise _Diverge(mask)


class _Run:
    def __init__(self, forced):
        self.forced, self.decisions = forced, 0
        self.path = None            # the lanes this run stands for (None: all of them)


def evaluate(fn, args, shape, whole=True):
    """fn(*args) for every lane: args are Lanes of the given shape or plain numbers shared by
    every lane. Returns (a number, an array or a tuple of them, whether it ran on whole
    arrays). A lane where fn raises is reported as LaneError(lane, the error)."""
    if whole:
        fn = _namesake(fn)
        try:
            try:
                out = fn(*args)     # no branch, or all lanes agree: one call, nothing to merge
            except _Ambiguous:
                out = _branches(fn, args, shape, [])
            if _shaped(out, shape):
                return out, True
        except (TypeError, ValueError, AttributeError, ArithmeticError):
            pass                # the row's code cannot take arrays (math.log(a)): lane by lane
    return _lane_by_lane(fn, args, shape), False


def _namesake(fn):
    """A row whose function *is* one of Python's math functions (exp's math.exp) runs numpy's
    function of the same name, which computes the same function on arrays."""
    if fn not in _NAMESAKES:
        name = getattr(fn, "__name__", "")
        same = getattr(math, name, None) is fn and hasattr(np, name)
        _NAMESAKES[fn] = getattr(np, name) if same else fn
    return _NAMESAKES[fn]


_NAMESAKES: dict = {}


def _branches(fn, args, shape, forced):
    """fn on whole arrays with the first len(forced) divergent decisions forced; merges the
    results of both ways of any further divergent decision."""
    run, outer = _Run(forced), getattr(_state, "run", None)
    _state.run = run
    try:
        out = fn(*args)
        return out
    except _Diverge as branch:
        mask = np.broadcast_to(branch.mask, shape)
        yes = _branches(fn, args, shape, forced + [True])
        no = _branches(fn, args, shape, forced + [False])
        return _merge(mask, yes, no)
    except (ValueError, ZeroDivisionError, OverflowError, ArithmeticError) as err:
        if forced:              # raised on the lanes of this path: name the first
            raise LaneError(int(np.flatnonzero(np.broadcast_to(run.path, shape))[0]),
                            err) from None
        raise
    finally:
        _state.run = outer


def _merge(mask, yes, no):
    if isinstance(yes, tuple):
        return tuple(_merge(mask, a, b) for a, b in zip(yes, no))
    return np.where(mask, np.asarray(yes), np.asarray(no))


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

"""Pausing Python's cyclic garbage collector while a training step builds and walks its graphs.

A scalar graph has no reference cycles (a node points to its parents, nothing points back),
so reference counting frees it; the cyclic collector would only scan it, again and again as
it grows. fit pauses the collector for each step; the time it saves is measured in
benchmarks/results.md."""
import gc
from contextlib import contextmanager


@contextmanager
def paused():
    """No cyclic garbage collection inside the block; the collector's state before it is
    restored on the way out, also after an error or Ctrl-C. Cycles made inside (by a custom
    model, say) are collected after the block."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()

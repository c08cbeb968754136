"""The batch replay (numpy, optional): one sample's graph recorded as a tape, then replayed
forward and backward over a whole batch, every derivative from its row of the table.

    from tracegrad.engine.replay import record
    tape = record(loss, params, inputs, labels);  run = tape.replay(batch_size)
"""
from .tape import Tape, TapeError, record

__all__ = ["Tape", "TapeError", "record"]

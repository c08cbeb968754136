"""The replay's own error, in a file of its own so that tape.py (which makes a Replay) and
batch.py (which raises it) both import it without importing each other.
"""


class TapeError(ValueError):
    """A graph that cannot be replayed exactly (exact numbers, or not the same for every
    sample); the message says why and what to do instead."""

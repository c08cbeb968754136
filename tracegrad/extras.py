"""Optional pieces (matplotlib, numpy, torch ...): the helpers live in engine/extras.py (the
engine's teaching tools, its replay and nn use them, and imports run one way: from this thin
folder down into engine/ and nn/, never back); their names are importable from here too."""
from tracegrad.engine.extras import MissingExtra, pinned, require

__all__ = ["MissingExtra", "pinned", "require"]

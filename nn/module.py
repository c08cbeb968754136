"""Module: the base of every network piece. It finds its parameters by walking its own
attributes in the order they were set, names them with dotted paths such as
`layers.0.neurons.3.w.1`, and saves and loads them as JSON (exactly, atomically).
"""
import json
import math
import os
import tempfile
from fractions import Fraction

from tracegrad.engine import Value

FORMAT = "tracegrad.nn"     # the "format" field of a saved file
VERSION = 1


class Module:
    """Something with parameters: a Neuron, a Layer, an MLP, or your own model.

    Parameters are found, without registration, among the attributes set in __init__:
    a Value, a Module, or a list/tuple of them (nested lists too). Attribute order is definition order, so
    `parameters()` is deterministic."""

    def named_parameters(self, prefix=""):
        """(dotted name, Value) pairs, in the same order as parameters(). A Value or Module
        reachable twice (tied weights, a child's back-reference to its parent, a cycle) is
        visited once, under the first name it is found by, as in PyTorch."""
        stack = [(prefix, self)]
        seen = set()                  # ids of what has been visited: no loops, no repeats
        out = []
        while stack:                  # iterative walk: no recursion, however deep
            name, item = stack.pop()
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, Value):
                out.append((name, item))
                continue
            children = (vars(item).items() if isinstance(item, Module)
                        else ((str(i), child) for i, child in enumerate(item)))
            found = [(f"{name}.{key}" if name else key, child) for key, child in children
                     if isinstance(child, (Value, Module, list, tuple))]
            stack.extend(reversed(found))
        return out

    def parameters(self):
        """Every trainable Value: layer by layer, neuron by neuron, weights then bias."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        """Set every parameter's .grad to 0 (gradients accumulate until you do)."""
        for p in self.parameters():
            p.grad = 0

    def label_parameters(self):
        """Give each parameter its dotted name as its label, so graphs and traces show it."""
        for name, p in self.named_parameters():
            p.label = name
        return self

    # --- state: names -> numbers ----------------------------------------------------------
    def state_dict(self):
        """{dotted name: number} for every parameter, in parameters() order."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state, source="state_dict"):
        """Copy numbers into the parameters. Names must match exactly; on any mismatch
        a ValueError names what differs and no parameter is changed."""
        named = self.named_parameters()
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict: expected a dict of name -> number, "
                            f"got {type(state).__name__}")
        mine = [name for name, _ in named]
        missing = [n for n in mine if n not in state]
        known = set(mine)
        unexpected = [n for n in state if n not in known]
        if missing or unexpected:
            raise ValueError(f"{source} does not fit {self!r} ({len(mine)} parameters, "
                             f"{len(state)} given): " + _differences(missing, unexpected))
        values = []
        for name in mine:
            number = state[name]
            if isinstance(number, bool) or not isinstance(number, (int, float, Fraction)):
                raise ValueError(f"{source}: parameter {name} must be a number, "
                                 f"got {number!r}")
            values.append(number)
        for (_, p), number in zip(named, values):     # checked everything: now change
            p.data = number
        return self

    # --- files -------------------------------------------------------------------------------
    def save(self, path):
        """Write the parameters to a JSON file. Floats round-trip exactly (Python writes
        the shortest repr that reads back to the same float); Fractions are kept as "p/q".
        Written to a temporary file that then replaces `path`, so a crash never leaves
        half a file."""
        doc = {"format": FORMAT, "version": VERSION, "model": repr(self),
               "parameters": {k: _encode(v) for k, v in self.state_dict().items()}}
        text = json.dumps(doc, indent=1, allow_nan=False)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return path

    def load(self, path):
        """Read parameters saved by save() into this model (which must have the same shape).
        A corrupt file or one of another shape raises ValueError and changes nothing."""
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"load: {path} is not a saved model (corrupt JSON: {err})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"load: {path} is not a saved model "
                             f"(no \"format\": \"{FORMAT}\" field)")
        if doc.get("version") != VERSION:
            raise ValueError(f"load: {path} has version {doc.get('version')!r}; "
                             f"this tracegrad reads version {VERSION}")
        params = doc.get("parameters")
        if not isinstance(params, dict):
            raise ValueError(f"load: {path} has no \"parameters\" object")
        state = {}
        for name, value in params.items():
            try:
                state[name] = _decode(value)
            except (ValueError, ZeroDivisionError, TypeError):
                raise ValueError(f"load: {path}: parameter {name} is {value!r}, not a number "
                                 "(nor a fraction \"p/q\")") from None
        return self.load_state_dict(state, source=f"{path} (saved from {doc.get('model')})")


def _differences(missing, unexpected, show=3):
    def some(names):
        more = f" and {len(names) - show} more" if len(names) > show else ""
        return ", ".join(names[:show]) + more
    parts = []
    if missing:
        parts.append(f"missing {some(missing)}")
    if unexpected:
        parts.append(f"unexpected {some(unexpected)}")
    return "; ".join(parts)


def _encode(x):
    if isinstance(x, Fraction):
        return f"{x.numerator}/{x.denominator}"
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)              # 'nan', 'inf', '-inf': strict JSON has no such numbers
    return x


def _decode(x):
    if isinstance(x, str):
        if x in ("nan", "inf", "-inf"):
            return float(x)
        return Fraction(x)          # "p/q"; a bad string raises ValueError
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(x)
    return x

"""The tape: one sample's Value graph flattened into numbered entries (op row, parent entries,
argument, which leaves are parameters, inputs or labels), replayed forward and backward over a
whole batch with numpy: one array operation per entry, every derivative from its row of ops.py.

    tape = record(loss, params, inputs, labels);  print(tape);  run = tape.replay(batch_size)
"""
from fractions import Fraction
from itertools import repeat
from operator import attrgetter
from typing import NamedTuple

from ..extras import require

from .. import modes
from .errors import TapeError
from ..graph import topological_order
from ..text import fmt, written
from ..value import Value

KINDS = ("param", "input", "label", "const", "op")
_PARENT = attrgetter("_a")


class Entry(NamedTuple):
    """One line of the tape. kind: param / input / label (leaves filled in at replay:
    `where` is their position in params, inputs or labels), const (`where` is the number,
    the same for every sample) or op (`op` is its row of the table, `parents` entry numbers)."""
    kind: str
    op: object = None
    parents: tuple = ()
    arg: object = None
    where: object = None
    label: object = None


def _walk(root, params, inputs, labels, outputs):
    """(order, roles): root's nodes in topological order, with the outputs the loss does not
    use recorded before the root, and each given leaf's (kind, position)."""
    roles = _roles(root, params, inputs, labels)
    order = topological_order(root)
    if outputs:
        seen = set(order)
        extra = [n for o in outputs if o not in seen for n in topological_order(o)
                 if n not in seen and not seen.add(n)]
        order = order[:-1] + extra + order[-1:]
    return order, roles


def _roles(root, params, inputs, labels):
    """Each given leaf's (kind, position): its first role, params before inputs before
    labels (root is checked to be a Value, as each leaf to be a leaf Value)."""
    if not isinstance(root, Value):
        raise TypeError(f"record: root must be a Value, got {type(root).__name__}")
    roles = {}
    for kind, leaves in (("param", params), ("input", inputs), ("label", labels)):
        leaves = list(leaves)
        # every one a leaf Value, checked at C speed; the Python loop only to name one
        if not (all(map(isinstance, leaves, repeat(Value))) and
                list(map(_PARENT, leaves)).count(None) == len(leaves)):
            for k, leaf in enumerate(leaves):
                if not isinstance(leaf, Value) or leaf._a is not None:
                    raise TypeError(f"record: {kind} {k} must be a leaf Value, got {leaf!r}")
        # each leaf's first role: a dict made backwards keeps the first of repeats, and
        # the roles found before (an earlier kind) win over these (66,817 weights at C speed)
        found = dict(zip(reversed(leaves), zip(repeat(kind), reversed(range(len(leaves))))))
        roles = {**found, **roles}
    return roles


def record(root, params, inputs=(), labels=(), outputs=()):
    """The Tape of root's graph. params are shared by every sample (a model's weights);
    inputs and labels are the placeholder leaves that hold one sample's numbers; any other
    leaf is a constant, frozen into the tape. outputs (e.g. the model's outputs) are
    entries whose values the replay reports per sample."""
    order, roles = _walk(root, params, inputs, labels, outputs)
    number = dict(zip(order, range(len(order)))).__getitem__
    entries = []
    # the loop every recording runs once per node (200,000 for a width-256 MLP): Entry(...)
    # without its keyword parsing; _arg is read only on one-input nodes (_node sets it only
    # there, and reading an unset slot raises inside getattr)
    append, new = entries.append, tuple.__new__
    for node in order:
        data = node.data
        if type(data) is not float and isinstance(data, Fraction):
            raise TapeError(f"record: {node!r} holds the exact number {data}; replay "
                            "computes in float64, so exact (Fraction) graphs stay on the scalar "
                            "engine")
        a, label = node._a, getattr(node, "_label", None)
        if a is None:                           # a leaf
            kind, where = roles.get(node, ("const", data))
            append(new(Entry, (kind, None, (), None, where, label)))
        elif node._b is None:
            append(new(Entry, ("op", node._op, (number(a),), getattr(node, "_arg", None), None,
                               label)))
        else:
            append(new(Entry, ("op", node._op, (number(a), number(node._b)), None, None,
                               label)))
    if not isinstance(root.data, float):
        raise TapeError(f"record: the root is the {type(root.data).__name__} {root.data!r}; "
                        "replay computes in float64, so only a float graph replays exactly")
    return Tape(entries, [number(o) for o in outputs], len(params), len(inputs), len(labels))


class Tape:
    """A recorded graph: `entries` in topological order (the root last), `outputs` the entry
    numbers reported per sample. str(tape) lists one entry a line."""

    def __init__(self, entries, outputs, n_params, n_inputs, n_labels):
        self.entries, self.outputs = tuple(entries), tuple(outputs)
        self.n_params, self.n_inputs, self.n_labels = n_params, n_inputs, n_labels

    def __len__(self):
        return len(self.entries)

    def __repr__(self):
        ops = sum(e.kind == "op" for e in self.entries)
        return (f"Tape({len(self)} entries: {ops} ops, {self.n_params} parameters, "
                f"{self.n_inputs} inputs, {self.n_labels} labels)")

    def __str__(self):
        return self.table()

    def line(self, i):
        """Entry i as printed: '  12  mul      #5 * #0'."""
        e = self.entries[i]
        if e.kind == "op":
            what = written(e.op, [f"#{p}" for p in e.parents], e.arg)
            name = e.op.name
        elif e.kind == "const":
            what, name = fmt(e.where, 6), "const"
        else:                                       # the name, then where replay reads it
            kind = {"param": "parameter"}.get(e.kind, e.kind)
            what = f"{kind} {e.where}" if e.label is None else f"{e.label}  ({kind} {e.where})"
            return f"{i:>5}  {e.kind:<10} {what}"
        label = f"   ({e.label})" if e.label is not None else ""
        return f"{i:>5}  {name:<10} {what}{label}"

    def table(self, limit=None):
        """The entries, one a line (index, op row, parents); limit: at most this many lines."""
        lines = [repr(self)]
        shown = range(len(self)) if limit is None or len(self) <= limit else range(limit)
        lines += [self.line(i) for i in shown]
        if len(shown) < len(self):
            lines.append(f"  ... {len(self) - len(shown)} more entries")
        return "\n".join(lines)

    def difference(self, other):
        """None when other is the same tape (same entries, same constants), else the first
        difference in words. Equal tapes mean equal graphs, so replaying one is exact for
        the sample the other was recorded from."""
        if len(self) != len(other):
            return f"{len(self)} entries against {len(other)}"
        if self.entries == other.entries and self.outputs == other.outputs:  # at C speed,
            pairs = [(a, b) for a, b in zip(self.entries, other.entries)   # but 1 == 1.0:
                     if a.kind == "const"]                       # constants' types too
            if all(type(a.where) is type(b.where) for a, b in pairs):
                return None
        for i, (a, b) in enumerate(zip(self.entries, other.entries)):
            if a[:5] != b[:5] or (a.kind == "const" and type(a.where) is not type(b.where)):
                return f"entry {i}: {self.line(i).strip()}  against  {other.line(i).strip()}"
        if self.outputs != other.outputs:
            return "the outputs are other entries"
        return None

    def same_graph(self, root, params, inputs=(), labels=(), outputs=()):
        """True when root's graph records as this tape (difference(record(...)) is None),
        decided without building that tape: a check fit makes for each further sample.

        No topological sort: the tape's entries, last to first, are matched to nodes, the
        root to the last entry (and each output to its entry), and each matched op node's
        parents to its entry's parents, in order. Every node is then matched to one entry
        (checked: as many distinct nodes as entries) with the same op, argument, parents,
        leaf kind and number, so the graphs are the same up to renaming and the walk that
        record() makes puts them in the same order."""
        roles = _roles(root, params, inputs, labels)
        entries = self.entries
        if len(outputs) != len(self.outputs):
            return False
        nodes = [None] * len(entries)
        nodes[-1] = root
        for k, o in zip(self.outputs, outputs):
            if nodes[k] is not None and nodes[k] is not o:
                return False
            nodes[k] = o
        for k in range(len(entries) - 1, -1, -1):
            node, e = nodes[k], entries[k]
            if node is None:                       # no node of this graph is entry k
                return False
            a = node._a
            if a is None:                          # a leaf: its kind and where, as record
                kind, where = roles.get(node, ("const", node.data))
                if kind != e.kind or where != e.where or type(where) is not type(e.where):
                    return False
                continue
            if node._op is not e.op:
                return False
            parents, b = e.parents, node._b
            if b is None:
                if len(parents) != 1 or getattr(node, "_arg", None) != e.arg:
                    return False
            elif len(parents) != 2:
                return False
            else:
                found = nodes[parents[1]]
                if found is None:
                    nodes[parents[1]] = b
                elif found is not b:
                    return False
            found = nodes[parents[0]]
            if found is None:
                nodes[parents[0]] = a
            elif found is not a:
                return False
        return len(set(nodes)) == len(entries)     # no node stands for two entries

    def replay(self, batch_size, fuse=None):
        """A Replay of this tape over batch_size samples, its buffers allocated once; fuse
        (fuse(tape, per_sample) -> blocks, from a library that knows its models' shapes)
        finds blocks that replace groups of entries (see batch.py)."""
        _numpy()
        from .batch import Replay
        return Replay(self, batch_size, fuse)

    def materialize(self, params, inputs, labels=()):
        """Sample's graph rebuilt as real Values from the tape: params (numbers, shared),
        one sample's inputs and labels. Returns (root, [Value per entry]); leaves carry the
        recorded labels, so backward_steps, explain and draw show the model's names."""
        np = _numpy()
        values = []
        for e in self.entries:
            if e.kind == "op":
                values.append(_apply_row(e, values))
                if e.label is not None:
                    values[-1].label = e.label
                continue
            number = {"param": params, "input": inputs, "label": labels}.get(e.kind)
            data = e.where if number is None else number[e.where]
            data = data.item() if isinstance(data, np.generic) else data
            values.append(Value(data, label=e.label))
        return values[-1], values


def _apply_row(entry, values):
    """The op of an entry on real Values, through the same table row as Value's methods."""
    from ..value import _apply
    parents = [values[p] for p in entry.parents]
    with modes.enable_grad():
        return _apply(entry.op, parents[0], parents[1] if len(parents) > 1 else None, entry.arg)


def _numpy():
    return require("numpy", "fast", "replay (tracegrad.engine.tape)")


__all__ = ["record", "Tape", "Entry", "TapeError", "KINDS"]

"""Replay: a Tape run forward and backward over a batch, one numpy operation per entry (the
plain replay). A caller that knows the graph's shapes may hand in blocks (a model's layer as
one matrix product, say) that take the place of the entries they cover. Buffers are allocated once.

    values[entry, sample];  d root_s / d param summed over the samples s, weighted by seed_s
A block has `tops` and `act` (the entries it writes, given rows in that order; act may be
None), `absorbed` (entries it makes unnecessary), forward_step(replay) and
backward_step(replay, fresh) (see Replay._steps: the replay they are given is a weak proxy,
and the steps they return must hold no strong reference to it); bind(replay), if it has one,
is called once the rows are placed.

Each pass is made once per batch size into a list of steps, one per entry or block, with its
rows, views and functions looked up; the backward pass's bookkeeping (which gradient row an
input's gradient is written into first and which it is added to, which entries nothing
reaches) depends only on the program, so it is decided then too, not on every pass.
"""
import math
import weakref
from collections import defaultdict

import numpy as np

from .. import modes
from .errors import TapeError
from .lanes import LaneError, _Ambiguous, _namesake, evaluate, lanes


def forward_of(op):
    """What the replay calls for a row's forward on arrays: the row's array form (one input:
    forward(a, arg)), else its own forward, or numpy's namesake of it (math.exp: np.exp)."""
    return op.array.forward if op.array is not None else _namesake(op.forward)


def local_of(op):
    """A row's local derivatives, local(out, a, b, arg) -> tuple: its array form if it has
    one, else the row's own local."""
    return op.array.local if op.array is not None else op.local


class Replay:
    """tape over batch_size samples. forward(params, inputs, labels) -> the root per sample;
    backward(seed) -> d(sum_s seed_s * root_s)/d params. fuse(tape, per_sample) -> blocks, if
    given, finds blocks (see the module's docstring); without it: the plain replay."""

    def __init__(self, tape, batch_size, fuse=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"replay: batch_size must be a positive int, got {batch_size!r}")
        self.tape, self.size = tape, batch_size
        entries = tape.entries
        self.per_sample, self.needs_grad = _reached(entries)
        blocks = list(fuse(tape, self.per_sample)) if fuse is not None else []
        self.program, self.row, ones = _layout(entries, self.per_sample, blocks)
        self.blocks = blocks
        self.rows_used = frozenset(r for r in self.row.values() if r is not None)
        # each op's functions, looked up once: (forward, local, takes arg in forward)
        self.calls = _Calls(entries)
        rows = 1 + max([*self.rows_used, *ones], default=-1)
        # the buffers: one row of batch_size lanes per per-sample entry, values and gradients
        self.values = np.zeros((rows, batch_size))
        self.grads = np.zeros((rows, batch_size))
        self.ones = frozenset(ones)                # rows of 1s (a bias's input, in a block)
        self.values[ones] = 1.0
        self.uniform = [None] * len(entries)       # entries shared by every sample
        read = {p for item in self.program if isinstance(item, int)
                for p in entries[item].parents}
        self.leaves = {"input": [], "label": [], "param": []}
        for i, e in enumerate(entries):            # one pass over the leaves
            if e.kind == "const":
                self.uniform[i] = e.where
            elif e.kind != "op" and (e.kind != "param" or i in read):
                self.leaves[e.kind].append((i, e.where))
        # where forward copies the inputs and labels to: (buffer rows, their columns)
        self._copy = {kind: _rows_and_columns([(self.row[i], where)
                                               for i, where in self.leaves[kind]])
                      for kind in ("input", "label")}
        self.whole = {}                            # entry -> did its row run on whole arrays
        self._compiled = {}                        # (pass, batch size) -> its steps
        self.params = None
        for block in blocks:                       # rows placed: what blocks look up, once
            if hasattr(block, "bind"):
                block.bind(self)

    # --- forward ------------------------------------------------------------------------
    def forward(self, params, inputs, labels=None):
        """The root for every sample. params: one number per parameter; inputs: a
        (batch, n_inputs) array; labels: (batch, n_labels). A batch smaller than batch_size
        uses the first lanes."""
        inputs = _rows(inputs, len(inputs))
        n = len(inputs)
        if not 0 < n <= self.size:
            raise ValueError(f"replay: a batch of {n} samples; this replay holds 1 to "
                             f"{self.size}")
        self.n = n
        self._anomaly = modes.is_anomaly_enabled()     # read once a pass
        self.params = np.asarray(params, dtype=float)
        tape, values = self.tape, self.values[:, :n]
        labels = None if labels is None else _rows(labels, n)
        for kind, given in (("input", inputs), ("label", labels)):
            rows, columns = self._copy[kind]       # every input in one copy (a slice, usually)
            if rows is not None:
                values[rows] = given[:, columns].T
        if self.leaves["param"]:                   # those read one by one (not fused)
            numbers = self.params.tolist()
            for i, where in self.leaves["param"]:
                self.uniform[i] = numbers[where]
        with np.errstate(all="ignore"):
            for step in self._steps("forward"):
                step()
            root = self.value(len(tape.entries) - 1)
            # a sum that is finite has finite terms (one C call; a sum that overflows is
            # looked at term by term)
            finite = math.isfinite(np.add.reduce(root, axis=None)) or np.isfinite(root).all()
        if not finite:
            self._explain_nonfinite(root)
        return root

    def value(self, i):
        """Entry i's value for every sample of the last forward (a number if shared)."""
        if self.per_sample[i]:
            return self.values[self.row[i], :self.n]
        return self.uniform[i]

    def _args(self, entries, values, plain=False):
        """The entries' values as a row's function takes them: a shared number, else the
        lanes as Lanes (so a row's `if` can be split), or as plain arrays for an array
        form (it has no `if`)."""
        row, per_sample, uniform = self.row, self.per_sample, self.uniform
        view = (lambda rows: rows) if plain else lanes
        return [view(values[row[i]]) if per_sample[i] else uniform[i] for i in entries]

    def _steps(self, which):
        """The forward or backward pass for the current batch size as a list of steps (see
        the module's docstring), made on its first use at that size."""
        key = (which, self.n)
        if key not in self._compiled:
            # the steps refer to the replay through a weak proxy: kept in it, they would
            # otherwise make a cycle that only the cyclic collector frees (a replay's
            # buffers take 165 MB at width 256, batch 10,000)
            make = _forward_steps if which == "forward" else _backward_steps
            self._compiled[key] = make(weakref.proxy(self))
        return self._compiled[key]

    _anomaly = False    # detect_anomaly, read as each forward pass starts
    base = 0        # the batch's first sample number in the data set, for error messages

    def _fast(self, key, fn, args):
        # a row that ran on whole arrays once runs so again straight away (no shape checks);
        # lanes that disagree about a branch go the careful way, evaluate()
        if self.whole.get(key):
            try:
                return fn(*args)
            except _Ambiguous:
                pass
        return self._evaluate(key, fn, args)

    def _evaluate(self, key, fn, args):
        # key: (entry, "forward" or "local"); a row that had to go lane by lane once is not
        # tried on whole arrays again
        i = key[0]
        try:
            out, whole = evaluate(fn, args, (self.n,), self.whole.get(key, True))
        except LaneError as failure:
            e, err = self.tape.entries[i], failure.error
            raise type(err)(f"{e.op.name} (tape entry {i}) failed on sample "
                            f"{self.base + failure.lane} of the batch: {err}") from None
        self.whole.setdefault(key, whole)
        return out

    def _explain_nonfinite(self, root):
        """A sample whose root is inf or NaN: find the first entry that made it so and rerun
        that entry's row on the sample's floats, so a domain error is raised as the scalar
        engine raises it (naming the sample); a true overflow is left to the caller."""
        lane = int(np.flatnonzero(~np.isfinite(root))[0])
        for i, e in enumerate(self.tape.entries):
            if e.kind != "op" or not self.per_sample[i] or self.row[i] is None:
                continue
            value = self.values[self.row[i], lane]
            if math.isfinite(value) or e.op is None:
                continue
            if any(self.per_sample[p] and self.row[p] is None for p in e.parents):
                continue                # a parent inside a fused layer has no row to read
            args = []
            for p in e.parents:
                v = self.value(p)
                args.append(float(v[lane]) if self.per_sample[p] else v)
            if not all(math.isfinite(a) for a in args):
                continue
            if len(args) == 1 and e.arg is not None:
                args.append(e.arg)
            try:
                e.op.forward(*args)
            except OverflowError:       # the scalar engine's Value gives inf: so does replay
                return
            except (ValueError, ZeroDivisionError) as err:
                raise type(err)(f"{e.op.name} (tape entry {i}) failed on sample "
                                f"{self.base + lane} of the batch: {err}") from None
            return

    # --- backward -----------------------------------------------------------------------
    def backward(self, seed=1.0, create_graph=False):
        """d(sum over samples of seed * root)/d parameter, one number per parameter (seed:
        a number, or one per sample). Uses the values of the last forward. The gradients are
        numbers: for a graph of them to differentiate again, materialize a sample."""
        if create_graph:
            raise TapeError("replay: backward(create_graph=True) is not replayed (its "
                            "gradients are numbers, not Values); materialize a sample and call "
                            "grad(root, inputs, create_graph=True) on it, or use the scalar "
                            "engine")
        tape, n, row = self.tape, self.n, self.row
        shared = defaultdict(float)              # gradients of the shared entries (a list
                                                 # would be as long as the tape, each pass)
        dparams = np.zeros(tape.n_params)
        last = len(tape.entries) - 1
        if self.per_sample[last]:
            self.grads[row[last], :n] = seed
        else:
            shared[last] = float(np.sum(np.broadcast_to(seed, (n,))))
        state = _Pass(shared, dparams)
        with np.errstate(all="ignore"):
            for step in self._steps("backward"):
                step(state)
        for i, where in self.leaves["param"]:     # parameters read one by one, not fused
            dparams[where] += shared[i]
        return dparams


# --- the passes' steps, made once per batch size (Replay._steps) -------------------------
# r is a weak proxy of the Replay: every step refers to it through r only.
def _forward_steps(r):
    """The forward pass's steps, entries and blocks in the program's order."""
    values = r.values[:, :r.n]
    return [_forward_entry(r, item, values) if isinstance(item, int)
            else item.forward_step(r) for item in r.program]


def _inputs_of(r, entries, values, plain):
    """A function giving the entries' values as _args does: a list made now when every
    entry is per sample (views of their rows, the same each pass), else read as it is
    called (a shared entry's number changes between passes)."""
    if all(r.per_sample[i] for i in entries):
        args = r._args(entries, values, plain)
        return lambda: args
    return lambda: r._args(entries, values, plain)


def _forward_entry(r, i, values):
    """Entry i's forward step: its row's function on its parents' values, into its row
    (or, for an entry shared by every sample, on floats)."""
    e = r.tape.entries[i]
    if not r.per_sample[i]:          # shared by every sample: the row on floats
        uniform = r.uniform
        extra = [e.arg] if len(e.parents) == 1 and e.arg is not None else []

        def shared():
            args = [uniform[p] for p in e.parents] + extra
            uniform[i] = _row(e, lambda: e.op.forward(*args))
        return shared
    forward, _, with_arg = r.calls[i]
    extra = [e.arg] if len(e.parents) == 1 and with_arg else []
    inputs = _inputs_of(r, e.parents, values, e.op.array is not None)
    out, key = values[r.row[i]], (i, "forward")

    def step():
        result = out[...] = r._fast(key, forward, inputs() + extra)
        if r._anomaly:
            check_finite(result, f"{e.op.name} (entry {i}) produced", r.base)
    return step


def _backward_steps(r):
    """The backward pass's steps, entries and blocks in reverse. `fresh` holds the rows no
    gradient has reached yet at each point of the pass: the first to reach a row writes
    it, later ones add to it, and an entry whose row nothing reaches has no step."""
    fresh = set(r.rows_used)
    last = len(r.tape.entries) - 1
    if r.per_sample[last]:
        fresh.discard(r.row[last])          # the seed is written there
    steps = (_backward_entry(r, item, fresh) if isinstance(item, int)
             else item.backward_step(r, fresh) for item in reversed(r.program))
    return [step for step in steps if step is not None]


def sender(r, p, fresh, source):
    """send(state, gradient): what a step calls to pass a gradient into entry p. Into p's
    row, written if this is the first gradient to reach it in the pass (decided now, and
    the row taken out of `fresh`), else added; into a shared entry, as a sum."""
    if not r.per_sample[p]:
        def to_shared(state, contribution):
            if state.anomaly:
                check_finite(contribution, f"the gradient from {source} into entry {p} "
                             "is", r.base)
            # from a shared entry it is already a total; from the samples, their sum
            state.shared[p] += float(contribution if np.ndim(contribution) == 0
                                     else np.sum(contribution))
        return to_shared
    row = r.grads[r.row[p], :r.n]
    first = r.row[p] in fresh
    fresh.discard(r.row[p])

    def to_row(state, contribution):
        if state.anomaly:
            check_finite(contribution, f"the gradient from {source} into entry {p} is",
                         r.base)
        if first:
            row[...] = contribution
        else:
            np.add(row, contribution, out=row)
    return to_row


def _backward_entry(r, i, fresh):
    """Entry i's backward step: upstream times its row's local derivatives, sent to the
    parents that need a gradient (the textbook's chain rule, one entry); None when no
    gradient reaches entry i."""
    e = r.tape.entries[i]
    if r.per_sample[i] and r.row[i] in fresh:
        return None                         # nothing flows into it
    source = f"{e.op.name} (entry {i})"
    sends = [(slot, sender(r, p, fresh, source)) for slot, p in enumerate(e.parents)
             if r.needs_grad[p]]
    if not sends:
        return None

    def chain(state, upstream, local):
        for slot, send in sends:
            d = local[slot]             # d is 1 for add and sub's a: upstream as it is
            send(state, upstream if type(d) is int and d == 1 else d * upstream)

    if not r.per_sample[i]:              # shared by every sample: the row on floats
        uniform = r.uniform

        def shared(state):
            upstream = state.shared[i]
            if upstream == 0.0:
                return
            a_b = [uniform[p] for p in e.parents] + [None]
            chain(state, upstream,
                  _row(e, lambda: e.op.local(uniform[i], a_b[0], a_b[1], e.arg)))
        return shared
    values, upstream = r.values[:, :r.n], r.grads[r.row[i], :r.n]
    inputs = _inputs_of(r, (i,) + e.parents, values, e.op.array is not None)
    local, key = r.calls[i][1], (i, "local")

    def step(state):
        out_a_b = inputs() + [None]
        chain(state, upstream,
              r._fast(key, local, [out_a_b[0], out_a_b[1], out_a_b[2], e.arg]))
    return step


class _Calls(dict):
    """entry -> (forward, local, whether forward takes the arg), looked up on first use and
    kept (the entries a block covers are never looked up)."""

    def __init__(self, entries):
        super().__init__()
        self.entries, self.functions = entries, {}

    def __missing__(self, i):
        op, arg = self.entries[i].op, self.entries[i].arg
        if op not in self.functions:
            self.functions[op] = (forward_of(op), local_of(op))
        self[i] = (*self.functions[op], op.array is not None or arg is not None)
        return self[i]


class _Pass:
    """One backward pass: the shared entries' gradients, the parameters' gradients, and
    whether detect_anomaly is on (read once a pass)."""

    def __init__(self, shared, dparams):
        self.shared, self.dparams = shared, dparams
        self.anomaly = modes.is_anomaly_enabled()


def run_block(replay, key, fn, args, shape):
    """A row's function (forward_of or local_of) on a block of lanes, (neurons, samples), say:
    key is (entry, "forward" or "local"); an error names the sample it happened on."""
    if replay.whole.get(key) and replay.tape.entries[key[0]].op.array is not None:
        return fn(*args)            # an array form that ran once: it has no `if` to split
    try:
        out, whole = evaluate(fn, args, shape, replay.whole.get(key, True))
    except LaneError as failure:
        e, err = replay.tape.entries[key[0]], failure.error
        sample = failure.lane % shape[1]
        raise type(err)(f"{e.op.name} (tape entry {key[0]}) failed on sample "
                        f"{replay.base + sample} of the batch: {err}") from None
    replay.whole.setdefault(key, whole)
    return out


def _rows_and_columns(pairs):
    """(buffer rows, data columns) for a list of (row, column): slices when both run in
    steps of 1, else index arrays; (None, None) for none."""
    if not pairs:
        return None, None
    return tuple(slice_or_array([pair[k] for pair in pairs]) for k in (0, 1))


def _rows(x, n):
    """x as n rows of float64 (a 2-D float array passes as it is)."""
    if type(x) is np.ndarray and x.ndim == 2 and x.dtype == np.float64:
        return x
    return np.asarray(x, dtype=float).reshape(n, -1)


def slice_or_array(numbers):
    """numbers as a slice when they run in steps of 1 (indexing with it copies nothing)."""
    if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        return slice(numbers[0], numbers[0] + len(numbers))
    return np.array(numbers, dtype=np.intp)


def _row(entry, call):
    try:
        return call()
    except (ValueError, ZeroDivisionError, OverflowError) as err:
        raise type(err)(f"{entry.op.name}: {err}") from None


def check_finite(x, what, base):
    bad = ~np.isfinite(x)
    if np.any(bad):
        lane = int(np.flatnonzero(np.broadcast_to(bad, np.shape(bad)))[0]) if np.ndim(x) else 0
        value = np.ravel(x)[lane] if np.ndim(x) else x
        raise FloatingPointError(f"detect_anomaly: {what} {value} for sample {base + lane}")


# --- analysis of the tape (once, when the replay is made) ------------------------------
def _reached(entries):
    """Two flags per entry, found in one pass (tape order): per_sample, it differs between
    samples (an input or a label, or computed from one); needs_grad, a gradient must reach
    it (a parameter, or computed from one)."""
    sample, grad = [], []
    add_sample, add_grad = sample.append, grad.append
    for e in entries:
        if e.kind == "op":
            ps = e.parents
            if len(ps) == 1:
                add_sample(sample[ps[0]])
                add_grad(grad[ps[0]])
            else:
                add_sample(sample[ps[0]] or sample[ps[1]])
                add_grad(grad[ps[0]] or grad[ps[1]])
        else:
            add_sample(e.kind == "input" or e.kind == "label")
            add_grad(e.kind == "param")
    return sample, grad


def _layout(entries, per_sample, blocks):
    """The forward program (entries and blocks in a valid order), each per-sample entry's
    row in the buffers, and the rows that hold 1s: a block's tops, then its act entries, get
    consecutive rows, then a row of 1s (as the inputs do), so that a block reading them can
    take a constant term (a bias) into its matrix product."""
    skip, at = set(), {}
    for block in blocks:
        skip.update(block.absorbed)
        skip.update(block.tops)
        skip.update(block.act or ())
        # at its first neuron's sum: by then every input is computed (the neurons share them)
        # and nothing has used an output yet
        at[min(block.tops)] = block
    row, program, ones = {}, [], []
    taken = iter(range(len(entries) + len(blocks) + 1)).__next__    # the next free row

    def place(i):
        row[i] = taken()
    leaves = {"input": [], "label": []}
    for i, e in enumerate(entries):
        if e.kind in leaves:
            leaves[e.kind].append(i)
    for kind, found in leaves.items():            # inputs, a row of 1s, labels first
        for i in found:
            place(i)
        if kind == "input" and blocks:
            ones.append(taken())
    for i, e in enumerate(entries):
        if i in at:
            block = at[i]
            program.append(block)
            for t in block.tops:
                if per_sample[t]:
                    place(t)
            for a in block.act or ():
                place(a)
            ones.append(taken())
        if i in skip or e.kind != "op":
            continue
        program.append(i)
        if per_sample[i]:
            place(i)
    for block in blocks:                          # absorbed entries have no row
        for m in block.absorbed:
            row.setdefault(m, None)
    return program, row, ones

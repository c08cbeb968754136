"""Replay: a Tape run forward and backward over a batch, one numpy operation per entry (the
plain replay), or with each layer's neurons fused into one matrix product (the speed trick,
tested against the plain replay). Buffers are allocated once and reused by every step.

    values[entry, sample];  d root_s / d param summed over the samples s, weighted by seed_s
"""
import math

import numpy as np

from .. import modes
from .lanes import LaneError, evaluate, lanes


class Replay:
    """tape over batch_size samples. forward(params, inputs, labels) -> the root per sample;
    backward(seed) -> d(sum_s seed_s * root_s)/d params. fused=False: the plain replay."""

    def __init__(self, tape, batch_size, fused=True):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"replay: batch_size must be a positive int, got {batch_size!r}")
        self.tape, self.size, self.fused = tape, batch_size, fused
        entries = tape.entries
        self.per_sample = _per_sample(entries)
        self.needs_grad = _needs_grad(entries)
        layers = _find_layers(entries, self.per_sample) if fused else []
        self.program, self.row = _layout(entries, self.per_sample, layers)
        self.layers = layers
        rows = 1 + max((r for r in self.row.values() if r is not None), default=-1)
        # the buffers: one row of batch_size lanes per per-sample entry, values and gradients
        self.values = np.zeros((rows, batch_size))
        self.grads = np.zeros((rows, batch_size))
        self.uniform = [None] * len(entries)       # entries shared by every sample
        read = {p for item in self.program if isinstance(item, int)
                for p in entries[item].parents}
        self.leaves = {kind: [(i, e.where) for i, e in enumerate(entries) if e.kind == kind
                              and (kind != "param" or i in read)]
                       for kind in ("input", "label", "param")}
        for i, e in enumerate(entries):
            if e.kind == "const":
                self.uniform[i] = e.where
        self.whole = {}                            # entry -> did its row run on whole arrays
        self.params = None

    # --- forward ------------------------------------------------------------------------
    def forward(self, params, inputs, labels=None):
        """The root for every sample. params: one number per parameter; inputs: a
        (batch, n_inputs) array; labels: (batch, n_labels). A batch smaller than batch_size
        uses the first lanes."""
        inputs = np.asarray(inputs, dtype=float).reshape(len(inputs), -1)
        n = len(inputs)
        if not 0 < n <= self.size:
            raise ValueError(f"replay: a batch of {n} samples; this replay holds 1 to "
                             f"{self.size}")
        self.n = n
        self.params = np.asarray(params, dtype=float)
        tape, values, row = self.tape, self.values[:, :n], self.row
        labels = None if labels is None else np.asarray(labels, dtype=float).reshape(n, -1)
        for i, where in self.leaves["input"]:
            values[row[i]] = inputs[:, where]
        for i, where in self.leaves["label"]:
            values[row[i]] = labels[:, where]
        numbers = self.params.tolist()
        for i, where in self.leaves["param"]:      # those read one by one (not fused)
            self.uniform[i] = numbers[where]
        with np.errstate(all="ignore"):
            for item in self.program:
                if not isinstance(item, int):
                    item.forward(self, values)
                else:
                    self._forward_entry(item, values)
        root = self.value(len(tape.entries) - 1)
        if not np.all(np.isfinite(root)):
            self._explain_nonfinite(root)
        return root

    def value(self, i):
        """Entry i's value for every sample of the last forward (a number if shared)."""
        if self.per_sample[i]:
            return self.values[self.row[i], :self.n]
        return self.uniform[i]

    def _arg(self, i, values):
        return lanes(values[self.row[i]]) if self.per_sample[i] else self.uniform[i]

    def _forward_entry(self, i, values):
        e = self.tape.entries[i]
        args = [self._arg(p, values) for p in e.parents]
        if len(args) == 1 and e.arg is not None:
            args.append(e.arg)
        if not self.per_sample[i]:          # shared by every sample: the row on floats
            self.uniform[i] = _row(e, lambda: e.op.forward(*args))
            return
        out = self._evaluate((i, "forward"), e.op.forward, args)
        values[self.row[i]] = out
        if modes.is_anomaly_enabled():
            _check_finite(values[self.row[i]], f"{e.op.name} (entry {i}) produced", self.base)

    base = 0        # the batch's first sample number in the data set, for error messages

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
            from .tape import TapeError
            raise TapeError("replay: backward(create_graph=True) is not replayed (its "
                            "gradients are numbers, not Values); materialize a sample and call "
                            "grad(root, inputs, create_graph=True) on it, or use the scalar "
                            "engine")
        tape, n, row = self.tape, self.n, self.row
        grads = self.grads[:, :n]
        fresh = set(self.row.values())            # rows not yet written in this pass
        shared = [0.0] * len(tape.entries)       # gradients of the shared entries
        dparams = np.zeros(tape.n_params)
        last = len(tape.entries) - 1
        if self.per_sample[last]:
            grads[row[last]] = seed
            fresh.discard(row[last])
        else:
            shared[last] = float(np.sum(np.broadcast_to(seed, (n,))))
        state = _Pass(self, grads, fresh, shared, dparams)
        with np.errstate(all="ignore"):
            for item in reversed(self.program):
                if not isinstance(item, int):
                    item.backward(state)
                else:
                    self._backward_entry(item, state)
        for i, where in self.leaves["param"]:     # parameters read one by one, not fused
            dparams[where] += shared[i]
        return dparams

    def _backward_entry(self, i, state):
        e = self.tape.entries[i]
        if self.per_sample[i]:
            if self.row[i] in state.fresh:       # nothing flowed into it
                return
            upstream = state.grads[self.row[i]]
        else:
            upstream = state.shared[i]
            if upstream == 0.0:
                return
        values = self.values[:, :self.n]
        out = self._arg(i, values) if self.per_sample[i] else self.uniform[i]
        inputs = [self._arg(p, values) for p in e.parents] + [None]
        args = [out, inputs[0], inputs[1], e.arg]       # the row's local(out, a, b, arg)
        if self.per_sample[i]:
            local = self._evaluate((i, "local"), e.op.local, args)
        else:
            local = _row(e, lambda: e.op.local(*args))
        for slot, p in enumerate(e.parents):
            if self.needs_grad[p]:
                state.send(p, local[slot] * upstream, f"{e.op.name} (entry {i})")


class _Pass:
    """One backward pass: where gradients go (a row of lanes, a shared number, a parameter)."""

    def __init__(self, replay, grads, fresh, shared, dparams):
        self.replay, self.grads, self.fresh = replay, grads, fresh
        self.shared, self.dparams = shared, dparams

    def send(self, p, contribution, source):
        r = self.replay
        if modes.is_anomaly_enabled():
            _check_finite(contribution, f"the gradient from {source} into entry {p} is", r.base)
        if r.per_sample[p]:
            row = r.row[p]
            if row in self.fresh:
                self.grads[row] = contribution
                self.fresh.discard(row)
            else:
                self.grads[row] += contribution
        elif np.ndim(contribution) == 0:           # from a shared entry: already a total
            self.shared[p] += float(contribution)
        else:                                      # shared by the samples: their sum
            self.shared[p] += float(np.sum(contribution))


class Layer:
    """SPEED TRICK: a layer's neurons, each `act(w_1 x_1 + ... + w_n x_n + b)` as a left-folded
    chain of add and mul entries, computed as one matrix product over the batch:
        lin = W @ X + b[:, None],  out = act(lin)   (act from its table row, on the block)
    and backward dW = G @ X.T, db = G.sum(1), dX = W.T @ G. It equals the plain replay of the
    same entries up to rounding (the sum's order differs); tests check it against it."""

    def __init__(self, tops, weights, biases, inputs, absorbed, act=None):
        self.tops, self.inputs, self.absorbed = tops, inputs, absorbed
        self.weights = np.array(weights)          # (neurons, inputs) parameter numbers
        self.biases = None if biases is None else np.array(biases)
        self.act = act                            # the activation entries, one per neuron
        every = list(self.weights.ravel()) + list(biases or [])
        self.unique = len(set(every)) == len(every)   # tied parameters need np.add.at

    def rows(self, replay, entries):
        idx = [replay.row[e] for e in entries]
        if idx == list(range(idx[0], idx[0] + len(idx))):
            return slice(idx[0], idx[0] + len(idx))
        return np.array(idx)

    def forward(self, replay, values):
        W = replay.params[self.weights]
        X = values[self.rows(replay, self.inputs)]
        lin = self.rows(replay, self.tops)
        if isinstance(lin, slice):                  # straight into the buffer: no copy
            out = np.matmul(W, X, out=values[lin])
        else:
            out = W @ X
        if self.biases is not None:
            out += replay.params[self.biases][:, None]
        values[lin] = out
        self.W, self.X = W, X
        if self.act is not None:
            e = replay.tape.entries[self.act[0]]
            args = [lanes(values[lin])] + ([e.arg] if e.arg is not None else [])
            result = _block(replay, (self.act[0], "forward"), e.op.forward, args,
                            values[lin].shape)
            values[self.rows(replay, self.act)] = result

    def backward(self, state):
        r = state.replay
        values = r.values[:, :r.n]
        lin = self.rows(r, self.tops)
        if self.act is not None:
            act = self.rows(r, self.act)
            if all(r.row[a] in state.fresh for a in self.act):
                return
            for a in self.act:                       # an activation nothing reached: 0
                if r.row[a] in state.fresh:
                    state.grads[r.row[a]] = 0.0
                    state.fresh.discard(r.row[a])
            e = r.tape.entries[self.act[0]]
            args = [lanes(values[act]), lanes(values[lin]), None, e.arg]
            local = _block(r, (self.act[0], "local"), e.op.local, args, values[lin].shape)
            G = local[0] * state.grads[act]
        else:
            for t in self.tops:
                if r.row[t] in state.fresh:
                    state.grads[r.row[t]] = 0.0
                    state.fresh.discard(r.row[t])
            G = state.grads[lin]
        dW = G @ self.X.T
        if self.unique:
            state.dparams[self.weights] += dW
        else:
            np.add.at(state.dparams, self.weights, dW)
        if self.biases is not None and self.unique:
            state.dparams[self.biases] += G.sum(axis=1)
        elif self.biases is not None:
            np.add.at(state.dparams, self.biases, G.sum(axis=1))
        if any(r.needs_grad[x] for x in self.inputs):
            into = self.rows(r, self.inputs)
            if isinstance(into, slice) and all(r.row[x] in state.fresh for x in self.inputs):
                np.matmul(self.W.T, G, out=state.grads[into])   # no copy, nothing to add to
                state.fresh.difference_update(r.row[x] for x in self.inputs)
                if modes.is_anomaly_enabled():
                    _check_finite(state.grads[into], "the gradient from a fused layer is",
                                  r.base)
                return
            dX = self.W.T @ G
            for k, x in enumerate(self.inputs):
                if r.needs_grad[x]:
                    state.send(x, dX[k], "a fused layer")


class Dot:
    """SPEED TRICK: a sum of products of parameters, p_1*q_1 + ... + p_n*q_n [+ b] (an L2
    penalty sum(p*p)), as one dot product; backward d/dp_i = q_i * g, d/dq_i = p_i * g."""

    act, tops = None, ()

    def __init__(self, top, left, right, bias, absorbed):
        self.top, self.absorbed = top, absorbed
        self.left, self.right, self.bias = np.array(left), np.array(right), bias
        self.tops = [top]

    def forward(self, replay, values):
        P = replay.params
        total = float(np.dot(P[self.left], P[self.right]))
        replay.uniform[self.top] = total + (P[self.bias] if self.bias is not None else 0.0)

    def backward(self, state):
        g = state.shared[self.top]
        if g == 0.0:
            return
        P = state.replay.params
        np.add.at(state.dparams, self.left, g * P[self.right])
        np.add.at(state.dparams, self.right, g * P[self.left])
        if self.bias is not None:
            state.dparams[self.bias] += g


def _block(replay, key, fn, args, shape):
    """A fused layer's activation row on its (neurons, samples) block."""
    try:
        out, whole = evaluate(fn, args, shape, replay.whole.get(key, True))
    except LaneError as failure:
        e, err = replay.tape.entries[key[0]], failure.error
        sample = failure.lane % shape[1]
        raise type(err)(f"{e.op.name} (tape entry {key[0]}) failed on sample "
                        f"{replay.base + sample} of the batch: {err}") from None
    replay.whole.setdefault(key, whole)
    return out


def _row(entry, call):
    try:
        return call()
    except (ValueError, ZeroDivisionError, OverflowError) as err:
        raise type(err)(f"{entry.op.name}: {err}") from None


def _check_finite(x, what, base):
    bad = ~np.isfinite(x)
    if np.any(bad):
        lane = int(np.flatnonzero(np.broadcast_to(bad, np.shape(bad)))[0]) if np.ndim(x) else 0
        value = np.ravel(x)[lane] if np.ndim(x) else x
        raise FloatingPointError(f"detect_anomaly: {what} {value} for sample {base + lane}")


# --- analysis of the tape (once, when the replay is made) ------------------------------
def _per_sample(entries):
    """Whether each entry differs between samples (it depends on an input or a label)."""
    out = []
    for e in entries:
        out.append(e.kind in ("input", "label") or
                   (e.kind == "op" and any(out[p] for p in e.parents)))
    return out


def _needs_grad(entries):
    """Whether a gradient must reach each entry: it is a parameter or depends on one."""
    out = []
    for e in entries:
        out.append(e.kind == "param" or (e.kind == "op" and any(out[p] for p in e.parents)))
    return out


def _consumers(entries):
    count = [0] * len(entries)
    for e in entries:
        for p in e.parents:
            count[p] += 1
    count[-1] += 1                                 # the root is used by the caller
    return count


def _find_layers(entries, per_sample):
    """Neurons (sum-of-products chains, see Layer) grouped into layers by their inputs."""
    uses = _consumers(entries)
    chains, taken, dots = {}, set(), []
    for i in reversed(range(len(entries))):    # a chain's top comes after its prefixes,
        if i in taken:                         # which are chains too: take the longest
            continue
        chain = _chain(entries, uses, per_sample, i)
        if chain is not None:
            chains.setdefault(chain[2], []).append((i, chain))
            taken.update(chain[3])
            continue
        chain = _chain(entries, uses, per_sample, i, _shared_term)
        if chain is not None:
            dots.append(Dot(i, chain[0], chain[2], chain[1], chain[3]))
            taken.update(chain[3])
    layers = dots
    for inputs, members in chains.items():
        members.sort()
        with_bias = {c[1] is not None for _, c in members}
        if not members or len(with_bias) != 1:
            continue
        tops = [i for i, _ in members]
        act = _activations(entries, uses, tops)
        layer = Layer(tops, [c[0] for _, c in members],
                      [c[1] for _, c in members] if with_bias == {True} else None,
                      list(inputs), [m for _, c in members for m in c[3]], act)
        layers.append(layer)
    return layers


def _chain(entries, uses, per_sample, top, term=None):
    """(weights, bias, inputs, absorbed entries) if entry top is a left-folded sum of products
    w*x (w a parameter, x per sample) with at most one parameter b added, first (micrograd's
    sum(..., b)) or last (Neuron's ... + b); else None."""
    if entries[top].kind != "op" or entries[top].op.name != "add":
        return None
    weights, inputs, absorbed, bias = [], [], [], None
    node = top
    while True:
        e = entries[node]
        if node != top:
            if uses[node] != 1:
                return None
            absorbed.append(node)
        is_add = e.kind == "op" and e.op.name == "add"
        for part in (e.parents[::-1] if is_add else [node]):
            if is_add and part == e.parents[0]:
                break                              # the left operand: walk down to it
            found = (term or _term)(entries, uses, per_sample, part)
            if found is None and entries[part].kind == "const" and entries[part].where == 0:
                if part in absorbed:               # sum()'s start, 0 + ...: nothing to add
                    absorbed.remove(part)
            elif found is None and entries[part].kind == "param" and bias is None:
                bias = entries[part].where
                if part in absorbed:
                    absorbed.remove(part)
            elif found is None:
                return None
            else:
                weights.append(found[0])
                inputs.append(found[1])
                if part not in absorbed:
                    absorbed.append(part)
        if not is_add:
            break
        node = e.parents[0]
    if not weights or (bias is None and len(weights) < 2):
        return None
    return weights[::-1], bias, tuple(inputs[::-1]), absorbed


def _shared_term(entries, uses, per_sample, i):
    """(parameter, parameter) if entry i is p * q of two parameters, used once, else None."""
    e = entries[i]
    if e.kind != "op" or e.op.name != "mul" or uses[i] != 1:
        return None
    a, b = e.parents
    if entries[a].kind == "param" and entries[b].kind == "param":
        return entries[a].where, entries[b].where
    return None


def _term(entries, uses, per_sample, i):
    """(parameter number, input entry) if entry i is w * x or x * w, used once, else None."""
    e = entries[i]
    if e.kind != "op" or e.op.name != "mul" or uses[i] != 1:
        return None
    a, b = e.parents
    if entries[b].kind == "param" and per_sample[a]:
        a, b = b, a
    if entries[a].kind == "param" and per_sample[b]:
        return entries[a].where, b
    return None


def _activations(entries, uses, tops):
    """The activation entries if every neuron's sum goes only into one unary op, the same
    op (and argument) for all, else None."""
    consumer = {}
    for i, e in enumerate(entries):
        for p in e.parents:
            consumer.setdefault(p, []).append(i)
    acts = []
    for t in tops:
        users = consumer.get(t, [])
        if uses[t] != 1 or len(users) != 1 or len(entries[users[0]].parents) != 1:
            return None
        acts.append(users[0])
    first = entries[acts[0]]
    if any((entries[a].op, entries[a].arg) != (first.op, first.arg) for a in acts):
        return None
    return acts


def _layout(entries, per_sample, layers):
    """The forward program (entries and layers in a valid order) and each per-sample
    entry's row in the buffers; a layer's sums and activations get consecutive rows."""
    skip, at = set(), {}
    for layer in layers:
        skip.update(layer.absorbed)
        skip.update(layer.tops)
        skip.update(layer.act or ())
        # at its first neuron's sum: by then every input is computed (the neurons share them)
        # and nothing has used an output yet
        at[min(layer.tops)] = layer
    row, program = {}, []

    def place(i):
        row[i] = len(row)
    for i, e in enumerate(entries):               # inputs and labels first
        if e.kind in ("input", "label"):
            place(i)
    for i, e in enumerate(entries):
        if i in at:
            layer = at[i]
            program.append(layer)
            for t in layer.tops:
                if per_sample[t]:
                    place(t)
            for a in layer.act or ():
                place(a)
        if i in skip or e.kind != "op":
            continue
        program.append(i)
        if per_sample[i]:
            place(i)
    for layer in layers:                          # absorbed entries have no row
        for m in layer.absorbed:
            row.setdefault(m, None)
    return program, row

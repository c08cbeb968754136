"""The layer fuser: what knows nn's shapes in a recorded tape. A Neuron's sum w.x + b feeding
one activation, for every neuron of a layer, becomes one matrix product over the batch; a
penalty's sum of p*q over parameters, one dot product. SPEED TRICKS, each tested against the
plain replay (tracegrad.engine.replay.batch) of the same entries.
"""
import numpy as np

from tracegrad.engine.replay.batch import check_finite, run_block, sender, slice_or_array
from tracegrad.engine.replay.lanes import lanes


def _view(op):
    """How a row sees its block: plain arrays for a row's array form (it never branches),
    else Lanes (whose `if` the replay splits)."""
    return np.asarray if op.array is not None else lanes


def find_blocks(tape, per_sample):
    """The fused blocks of a tape (Replay's `fuse` hook): layers and dot products."""
    return _find_layers(tape.entries, per_sample)


class Layer:
    """SPEED TRICK: a layer's neurons, each `act(w_1 x_1 + ... + w_n x_n + b)` as a left-folded
    chain of add and mul entries, computed as one matrix product over the batch:
        lin = W @ X + b[:, None],  out = act(lin)   (act from its table row, on the block)
    and backward dW = G @ X.T, db = G.sum(1), dX = W.T @ G; when its inputs' rows are followed
    by one of the replay's rows of 1s, lin = [W b] @ [X; 1] and [dW db] = G @ [X; 1].T, one
    product each. It equals the plain replay of the same entries up to rounding (the sum's
    order differs); tests check it against it."""

    def __init__(self, tops, weights, biases, inputs, absorbed, act=None):
        self.tops, self.inputs, self.absorbed = tops, inputs, absorbed
        self.weights = np.array(weights)          # (neurons, inputs) parameter numbers
        self.biases = None if biases is None else np.array(biases)
        self.act = act                            # the activation entries, one per neuron
        every = self.reads()
        self.unique = len(set(every)) == len(every)   # tied parameters need np.add.at
        self.strided = _strided(self.weights, self.biases)

    def params(self, P):
        """(W, b) read from the parameter vector P: views when the layer's parameters lie in
        P as a Neuron lists them (each neuron's weights, then its bias), else copies."""
        if self.strided is not None:
            start, stop, row, n = self.strided
            block = P[start:stop].reshape(-1, row)
            return block[:, :n], (block[:, n] if self.biases is not None else None)
        return P[self.weights], (P[self.biases] if self.biases is not None else None)

    def rows(self, replay, entries):
        """The buffer rows of entries: a slice when they are consecutive (no copy)."""
        return slice_or_array([replay.row[e] for e in entries])

    def bind(self, r):
        """What forward and backward look up, found once (the replay calls this when it has
        placed the rows): the rows of the sums, activations and inputs (slices where
        consecutive), as sets for the backward pass's bookkeeping, and the activation
        row's functions."""
        self.lin, self.into = self.rows(r, self.tops), self.rows(r, self.inputs)
        self.act_at = None if self.act is None else self.rows(r, self.act)
        self._act_rows = {r.row[a] for a in self.act or ()}
        self._top_rows = {r.row[t] for t in self.tops if r.row[t] is not None}
        self._in_rows = {r.row[x] for x in self.inputs}
        self._needs_in = any(r.needs_grad[x] for x in self.inputs)
        # its inputs' rows followed by a row of 1s, its parameters a block of P (each
        # neuron's weights, then its bias): [W b] @ [X; 1] is the layer's sum in one product
        self.aug = (None if self.strided is None or self.biases is None or
                    not isinstance(self.into, slice) or self.into.stop not in r.ones
                    else slice(self.into.start, self.into.stop + 1))
        # the only writer of its parameters' gradients (none tied, none read elsewhere in
        # the tape): backward writes dW and db straight into them instead of adding
        others = {where for _, where in r.leaves["param"]}
        for block in r.blocks:
            if block is not self:
                others.update(block.reads())
        self.sole = (self.unique and self.strided is not None and
                     others.isdisjoint(self.reads()))
        if self.act is not None:
            first = self.act[0]
            e = r.tape.entries[first]
            forward, local, with_arg = r.calls[first]
            self._act = (e, forward, local, [e.arg] if with_arg else [], _view(e.op),
                         (first, "forward"), (first, "local"), e.op.array is not None)

    def reads(self):
        """The parameters (their numbers) this block reads."""
        return self.weights.ravel().tolist() + ([] if self.biases is None else
                                                 self.biases.tolist())

    def _run(self, r, key, fn, args, shape):
        # an array form that ran once has no `if` to split: called straight (run_block's
        # own shortcut, without its lookups); else run_block
        if self._act[7] and r.whole.get(key):
            return fn(*args)
        return run_block(r, key, fn, args, shape)

    def forward_step(self, r):
        """The layer's forward for the current batch size: lin = W @ X + b into the sums'
        rows, then the activation into its rows."""
        values = r.values[:, :r.n]
        X, into_lin = _reader(values, self.into), isinstance(self.lin, slice)
        if self.aug is not None and into_lin:            # [W b] @ [X; 1]
            start, stop, width, _ = self.strided
            Xa, lin = values[self.aug], values[self.lin]

            def linear():
                return np.matmul(r.params[start:stop].reshape(-1, width), Xa, out=lin)
        else:
            lin = values[self.lin] if into_lin else None

            def linear():
                W, b = self.params(r.params)
                out = np.matmul(W, X(), out=lin)         # straight into the buffer, if a view
                if b is not None:
                    out += b[:, None]
                if not into_lin:
                    values[self.lin] = out
                return out
        if self.act is None:
            return linear
        e, forward, _, arg, view, key, _, _ = self._act
        act = values[self.act_at] if isinstance(self.act_at, slice) else None

        def step():
            out = linear()
            result = self._run(r, key, forward, [view(out)] + arg, out.shape)
            if act is not None:
                act[...] = result
            else:
                values[self.act_at] = result
        return step

    def backward_step(self, r, fresh):
        """The layer's backward for the current batch size, None when no gradient reaches it:
        G = dact/dlin * (gradient of the activations), the parameters' gradient G @ X.T (and
        G summed over the samples for the biases), the inputs' gradient W.T @ G."""
        values, grads = r.values[:, :r.n], r.grads[:, :r.n]
        if self.act is not None:
            if self._act_rows <= fresh:
                return None                       # nothing reached the layer
            unreached = sorted(self._act_rows & fresh)   # activations nothing reached: 0
            fresh -= self._act_rows
            e, _, local, _, view, _, key, _ = self._act
            act, lin = _reader(values, self.act_at), _reader(values, self.lin)
            g_act = _reader(grads, self.act_at)

            def gradient():
                out = lin()
                args = [view(act()), view(out), None, e.arg]
                return self._run(r, key, local, args, out.shape)[0] * g_act()
        else:
            unreached = sorted(self._top_rows & fresh)
            fresh -= self._top_rows
            gradient = _reader(grads, self.lin)
        to_params = self._to_params(_reader(values, self.into),
                                    None if self.aug is None else values[self.aug])
        to_inputs = self._to_inputs(r, fresh, grads)

        def step(state):
            if unreached:
                grads[unreached] = 0.0
            G = gradient()
            to_params(state.dparams, G)
            if to_inputs is not None:
                to_inputs(state, G, self.params(r.params)[0])
        return step

    def _to_params(self, X, Xa):
        """(dparams, G) -> adds (or, as their only writer, writes) the layer's parameters'
        gradients into dparams."""
        weights, biases = self.weights, self.biases
        if self.strided is not None:
            start, stop, width, _ = self.strided
        if self.sole and Xa is not None:           # [dW db] = G @ [X; 1].T, into dparams
            def sole_augmented(dparams, G):
                np.matmul(G, Xa.T, out=dparams[start:stop].reshape(-1, width))
            return sole_augmented
        if self.sole:                              # views into dparams, still all 0
            def sole(dparams, G):
                dW_view, db_view = self.params(dparams)
                np.matmul(G, X().T, out=dW_view)
                if db_view is not None:
                    np.add.reduce(G, axis=1, out=db_view)
            return sole
        if self.strided is not None:               # views into dparams: add in place
            def strided(dparams, G):
                dW_view, db_view = self.params(dparams)
                dW_view += G @ X().T
                if db_view is not None:
                    db_view += G.sum(axis=1)
            return strided
        add = np.add.at if not self.unique else _add_unique

        def scattered(dparams, G):
            add(dparams, weights, G @ X().T)
            if biases is not None:
                add(dparams, biases, G.sum(axis=1))
        return scattered

    def _to_inputs(self, r, fresh, grads):
        """(state, G, W) -> W.T @ G sent into the inputs' gradients (None when no input needs
        one): straight into their rows when they are consecutive and nothing has reached
        them yet, else input by input (written or added, see replay's sender)."""
        if not self._needs_in:
            return None
        if isinstance(self.into, slice) and self._in_rows <= fresh:
            fresh -= self._in_rows
            gX = grads[self.into]

            def into_rows(state, G, W):
                np.matmul(W.T, G, out=gX)          # no copy, nothing to add to
                if state.anomaly:
                    check_finite(gX, "the gradient from a fused layer is", r.base)
            return into_rows
        senders = [(k, sender(r, x, fresh, "a fused layer"))
                   for k, x in enumerate(self.inputs) if r.needs_grad[x]]

        def input_by_input(state, G, W):
            dX = W.T @ G
            for k, send in senders:
                send(state, dX[k])
        return input_by_input


def _add_unique(target, where, x):
    """target[where] += x for positions without repeats (np.add.at adds repeats too)."""
    target[where] += x


def _reader(buffer, rows):
    """A function giving buffer[rows]: one view made now when rows is a slice, else the rows
    copied out as it is called (index arrays copy; the buffer changes between passes)."""
    if isinstance(rows, slice):
        view = buffer[rows]
        return lambda: view
    return lambda: buffer[rows]


def _strided(weights, biases):
    """(start, stop, row, n) when weight[k, j] = start + k*row + j and bias[k] = start +
    k*row + n (a Neuron's order: its n weights, then its bias), else None."""
    N, n = weights.shape
    row = n + (biases is not None)
    start = int(weights[0, 0])
    want = start + row * np.arange(N)[:, None] + np.arange(n)
    if not np.array_equal(weights, want):
        return None
    if biases is not None and not np.array_equal(biases, start + row * np.arange(N) + n):
        return None
    return start, start + N * row, row, n


class Dot:
    """SPEED TRICK: a sum of products of parameters, p_1*q_1 + ... + p_n*q_n [+ b] (an L2
    penalty sum(p*p)), as one dot product; backward d/dp_i = q_i * g, d/dq_i = p_i * g."""

    act, tops = None, ()

    def __init__(self, top, left, right, bias, absorbed):
        self.top, self.absorbed = top, absorbed
        self.left, self.right, self.bias = np.array(left), np.array(right), bias
        self.tops = [top]

    def reads(self):
        return self.left.tolist() + self.right.tolist() + ([] if self.bias is None else
                                                           [self.bias])

    def forward_step(self, r):
        return lambda: self.forward(r)

    def backward_step(self, r, fresh):
        return lambda state: self.backward(r, state)    # its top is shared: nothing to decide

    def forward(self, replay):
        P = replay.params
        total = float(np.dot(P[self.left], P[self.right]))
        replay.uniform[self.top] = total + (P[self.bias] if self.bias is not None else 0.0)

    def backward(self, replay, state):
        g = state.shared[self.top]
        if g == 0.0:
            return
        P = replay.params
        np.add.at(state.dparams, self.left, g * P[self.right])
        np.add.at(state.dparams, self.right, g * P[self.left])
        if self.bias is not None:
            state.dparams[self.bias] += g


class Sum:
    """SPEED TRICK: a sum over parameters of one small expression each, f(p_1) + ... + f(p_n)
    (an L2 penalty sum (p - 0)**2, an L1 penalty sum |p - 0|), every term written alike. f runs
    once on the vector of parameters, each of its steps through its row's functions, then one
    sum; backward multiplies the steps' local derivatives back to the parameters."""

    act = None

    def __init__(self, top, program, params, absorbed):
        self.top, self.tops, self.absorbed = top, [top], absorbed
        # program: one (entry of the first term, parents) per step of f, in order; a parent
        # is ("p",) the parameter, ("c", number) a constant or ("s", k) step k
        self.program, self.params = program, np.array(params)
        self.unique = len(set(params)) == len(params)

    def reads(self):
        return self.params.tolist()

    def _args(self, replay, k, refs, P, vals):
        e = replay.tape.entries[self.program[k][0]]
        view = _view(e.op)
        args = [view(P) if r[0] == "p" else r[1] if r[0] == "c" else view(vals[r[1]])
                for r in refs]
        return e, args

    def forward_step(self, r):
        return lambda: self.forward(r)

    def backward_step(self, r, fresh):
        return lambda state: self.backward(r, state)    # its top is shared: nothing to decide

    def forward(self, replay):
        P = replay.params[self.params]
        vals = []
        for k, (entry, refs) in enumerate(self.program):
            e, args = self._args(replay, k, refs, P, vals)
            forward, _, with_arg = replay.calls[entry]
            if len(args) == 1 and with_arg:
                args.append(e.arg)
            vals.append(np.broadcast_to(run_block(replay, (entry, "forward"), forward, args,
                                                  P.shape), P.shape))
        self.P, self.vals = P, vals
        replay.uniform[self.top] = float(np.sum(vals[-1]))

    def backward(self, r, state):
        g = state.shared[self.top]
        if g == 0.0:
            return
        grads = [0.0] * len(self.program)
        grads[-1] = np.full(self.P.shape, g)
        dP = 0.0
        for k in reversed(range(len(self.program))):
            entry, refs = self.program[k]
            e, args = self._args(r, k, refs, self.P, self.vals)
            args = [_view(e.op)(self.vals[k])] + args + [None] * (2 - len(args)) + [e.arg]
            local = run_block(r, (entry, "local"), r.calls[entry][1], args, self.P.shape)
            for slot, ref in enumerate(refs):
                if ref[0] == "p":
                    dP = dP + local[slot] * grads[k]
                elif ref[0] == "s":
                    grads[ref[1]] = grads[ref[1]] + local[slot] * grads[k]
        dP = np.broadcast_to(dP, self.P.shape)
        if self.unique:
            state.dparams[self.params] += dP
        else:
            np.add.at(state.dparams, self.params, dP)


def _sum_of_terms(entries, uses, per_sample, top):
    """A Sum if entry top is a left-folded chain of adds over terms that are each the same
    expression of one parameter (and constants), else None."""
    e = entries[top]
    if e.kind != "op" or e.op.name != "add" or per_sample[top]:
        return None
    terms, chain, node = [], [], top
    while entries[node].kind == "op" and entries[node].op.name == "add" and \
            (node == top or uses[node] == 1):
        chain.append(node)
        terms.append(entries[node].parents[1])
        node = entries[node].parents[0]
    terms.append(node)
    if len(terms) < 3:
        return None
    found = [_term_program(entries, uses, t) for t in reversed(terms)]
    if any(f is None for f in found) or len({f[0] for f in found}) != 1:
        return None
    shape = found[0][0]
    program = [(entry, refs) for entry, (_, _, refs) in zip(found[0][2], shape)]
    absorbed = chain[1:] + [m for f in found for m in f[2]]
    return Sum(top, program, [f[1] for f in found], absorbed)


def _term_program(entries, uses, t):
    """(shape, parameter, entries) of the expression at entry t if it reads exactly one
    parameter (any number of times) and constants, each step used once; else None. shape
    is ((op name, arg, parents), ...) with parents as in Sum."""
    order, seen, stack = [], set(), [(t, False)]
    while stack:                               # postorder, parents in order, no recursion
        i, done = stack.pop()
        if done:
            order.append(i)
            continue
        if i in seen:
            continue
        seen.add(i)
        e = entries[i]
        if e.kind != "op":
            continue
        if uses[i] != 1 or len(order) > 8:
            return None
        stack.append((i, True))
        stack.extend((p, False) for p in reversed(e.parents))
    param, step, shape = None, {}, []
    for i in order:
        refs = []
        for p in entries[i].parents:
            pe = entries[p]
            if pe.kind == "param" and param in (None, pe.where):
                param = pe.where
                refs.append(("p",))
            elif pe.kind == "const":
                refs.append(("c", pe.where))
            elif pe.kind == "op":
                refs.append(("s", step[p]))
            else:
                return None
        step[i] = len(shape)
        shape.append((entries[i].op.name, entries[i].arg, tuple(refs)))
    if param is None or not shape:
        return None
    return tuple(shape), param, order


def _consumers(entries):
    """(uses, last): how many entries read each entry (the root counts as read by the
    caller), and the last entry that reads it (None for none): one pass."""
    uses, last = [0] * len(entries), [None] * len(entries)
    for i, e in enumerate(entries):
        for p in e.parents:
            uses[p] += 1
            last[p] = i
    uses[-1] += 1
    return uses, last


def _find_layers(entries, per_sample):
    """Neurons (sum-of-products chains, see Layer) grouped into layers by their inputs."""
    uses, last = _consumers(entries)
    chains, taken, dots = {}, set(), []
    for i in reversed(range(len(entries))):    # a chain's top comes after its prefixes,
        if i in taken:                         # which are chains too: take the longest
            continue
        e = entries[i]
        if e.kind != "op" or e.op.name != "add":
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
            continue
        block = _sum_of_terms(entries, uses, per_sample, i)
        if block is not None:
            dots.append(block)
            taken.update(block.absorbed)
    layers = dots
    for inputs, members in chains.items():
        members.sort()
        with_bias = {c[1] is not None for _, c in members}
        if not members or len(with_bias) != 1:
            continue
        tops = [i for i, _ in members]
        act = _activations(entries, uses, last, tops)
        layer = Layer(tops, [c[0] for _, c in members],
                      [c[1] for _, c in members] if with_bias == {True} else None,
                      list(inputs), [m for _, c in members for m in c[3]], act)
        layers.append(layer)
    return layers


def _chain(entries, uses, per_sample, top, term=None):
    """(weights, bias, inputs, absorbed entries) if entry top is a left-folded sum of products
    w*x (w a parameter, x per sample) with at most one parameter b added, first (micrograd's
    sum(..., b)) or last (Neuron's ... + b); else None."""
    term = term or _term
    e = entries[top]
    if e.kind != "op" or e.op.name != "add":
        return None
    parts, adds = [], []                 # the right operands, top down; the adds below top
    while e.kind == "op" and e.op.name == "add":
        node, right = e.parents
        if uses[node] != 1:
            return None
        parts.append(right)
        adds.append(node)
        e = entries[node]
    parts.append(adds.pop())             # the bottom of the chain: its first operand
    weights, inputs, bias, terms = [], [], None, []
    for part in parts:
        found = term(entries, uses, per_sample, part)
        if found is not None:
            weights.append(found[0])
            inputs.append(found[1])
            terms.append(part)
            continue
        leaf = entries[part]
        if leaf.kind == "const" and leaf.where == 0:
            continue                     # sum()'s start, 0 + ...: nothing to add
        if leaf.kind == "param" and bias is None:
            bias = leaf.where
            continue
        return None
    if not weights or (bias is None and len(weights) < 2):
        return None
    return weights[::-1], bias, tuple(inputs[::-1]), adds + terms


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


def _activations(entries, uses, last, tops):
    """The activation entries if every neuron's sum goes only into one unary op, the same
    op (and argument) for all, else None. last: each entry's last reader."""
    acts = []
    for t in tops:
        if uses[t] != 1 or last[t] is None or len(entries[last[t]].parents) != 1:
            return None
        acts.append(last[t])
    first = entries[acts[0]]
    if any((entries[a].op, entries[a].arg) != (first.op, first.arg) for a in acts):
        return None
    return acts

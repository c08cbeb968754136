"""Replay (engine/replay/tape.py, engine/replay/batch.py, nn/replay.py) against the scalar engine: every row
of the table, the fused layers against the plain replay, fit with every loss, optimizer,
activation, accumulation and penalty, random MLP shapes, materialize, and each hazard."""
import contextlib
import math
import random
import warnings
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

np = pytest.importorskip("numpy")

from tracegrad.engine import OPS, Value, backward_steps, detect_anomaly, explain  # noqa: E402
from tracegrad.engine.replay.tape import TapeError, record  # noqa: E402
from tracegrad.engine.value import _apply  # noqa: E402
from tracegrad.nn import MLP, accuracy, activations, data, fit, losses, optim  # noqa: E402
from tracegrad.nn.fuse import find_blocks  # noqa: E402
from tracegrad.nn.replay import Replayer, ReplayWarning  # noqa: E402
from tracegrad.nn.train import loss_and_gradients  # noqa: E402

TOL = dict(rel=1e-12, abs=1e-13)


def scalar_batch(build, params, samples):
    """Per-sample roots and the summed parameter gradients, by the scalar engine."""
    for p in params:
        p.grad = 0
    roots = []
    for x in samples:
        root = build(x)
        root.backward()
        roots.append(root.data)
    return roots, [float(p.grad) for p in params]


def one_op_graph(op):
    """op applied to w1*x1 (and w2*x2): parameters w, inputs x as placeholders."""
    w = [Value(0.7, label="w1"), Value(1.3, label="w2")]

    def build(x):
        a = w[0] * x[0]
        b = w[1] * x[1] if "{b}" in op.symbol else None
        arg = 0.5 if "{arg}" in op.symbol else None
        return _apply(op, a, b, arg) * 1.0
    return w, build


def samples_in_domain(build, w):
    """9 samples where build is defined (asin needs |w1 x1| <= 1, acosh w1 x1 >= 1)."""
    for lo, hi in [(0.5, 2.0), (0.2, 1.0), (1.5, 2.5)]:
        rng = random.Random(1)
        samples = [[rng.uniform(lo, hi), rng.uniform(lo, hi)] for _ in range(9)]
        try:
            for sample in samples:
                build([Value(x) for x in sample])
        except ValueError:
            continue
        return samples
    raise AssertionError("no sample range fits the op's domain")


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("fused", [False, True])
def test_every_row_of_the_table_replays_as_the_scalar_engine(name, fused):
    # generic over the table: a row added to ops.py is tested here with no edit
    w, build = one_op_graph(OPS[name])
    samples = samples_in_domain(build, w)
    xs = [Value(v) for v in samples[0]]                 # recorded at a valid point
    tape = record(build(xs), w, xs)
    run = tape.replay(16, fuse=find_blocks if fused else None)
    roots = run.forward([p.data for p in w], samples)
    grads = run.backward(1.0)
    want_roots, want_grads = scalar_batch(build, w, samples)
    assert roots.tolist() == pytest.approx(want_roots, **TOL)
    assert grads.tolist() == pytest.approx(want_grads, **TOL)


def test_a_new_row_replays_with_no_edit(monkeypatch):
    import dataclasses
    tan = dataclasses.replace(OPS["sin"], name="tan", symbol="tan({a})", forward=math.tan,
                              local=lambda out, a, b, arg: (1 + out * out,))
    monkeypatch.setitem(OPS, "tan", tan)
    w, build = one_op_graph(tan)
    xs = [Value(0.0), Value(0.0)]
    run = record(build(xs), w, xs).replay(4)
    samples = [[0.5, 1.0], [0.6, 1.0], [0.9, 1.0]]
    assert run.forward([0.7, 1.3], samples).tolist() == pytest.approx(
        [math.tan(0.7 * s[0]) for s in samples], **TOL)
    assert run.backward(1.0)[0] == pytest.approx(
        sum(s[0] / math.cos(0.7 * s[0]) ** 2 for s in samples), **TOL)


def mlp_problem(nin, sizes, activation, n, seed):
    model = MLP(nin, sizes, activation=activation, seed=seed)
    rng = random.Random(seed)
    X = [[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(n)]
    Y = [[rng.uniform(-1, 1) for _ in range(sizes[-1])] for _ in range(n)]
    return model, X, Y


def mlp_tape(model, nin, nout, loss=losses.mse):
    xs = [Value(0.0) for _ in range(nin)]
    ys = [Value(0.0) for _ in range(nout)]
    out = model(xs)
    return record(loss(out, ys), model.parameters(), xs, ys, out)


@given(nin=st.integers(1, 4), sizes=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       n=st.integers(1, 7), seed=st.integers(0, 10 ** 6),
       activation=st.sampled_from(["relu", "tanh", "sigmoid", "softplus", "leaky_relu"]))
def test_random_mlps_replay_fused_and_plain_as_the_scalar_engine(nin, sizes, n, seed,
                                                                 activation):
    model, X, Y = mlp_problem(nin, sizes, activation, n, seed)
    params = model.parameters()
    tape = mlp_tape(model, nin, sizes[-1])
    want_roots, want_grads = scalar_batch(lambda s: losses.mse(model(s[0]), s[1]), params,
                                          list(zip(X, Y)))
    for fused in (False, True):
        run = tape.replay(8, fuse=find_blocks if fused else None)
        roots = run.forward([p.data for p in params], X, Y)
        assert roots.tolist() == pytest.approx(want_roots, **TOL)
        assert run.backward(1.0).tolist() == pytest.approx(want_grads, **TOL)


def test_one_replay_at_several_batch_sizes_and_anomaly_settings_stays_exact():
    # each pass is made once per batch size (its bookkeeping decided then): going back and
    # forth between sizes, and switching detect_anomaly on, must not mix them up
    model, X, Y = mlp_problem(2, [4, 3, 2], "relu", 7, 3)
    params = model.parameters()
    tape = mlp_tape(model, 2, 2)
    for fused in (False, True):
        run = tape.replay(7, fuse=find_blocks if fused else None)
        for n, anomaly in [(7, False), (3, False), (7, True), (1, False), (3, True), (7, False)]:
            want_roots, want_grads = scalar_batch(lambda s: losses.mse(model(s[0]), s[1]),
                                                  params, list(zip(X[:n], Y[:n])))
            with detect_anomaly() if anomaly else contextlib.nullcontext():
                roots = run.forward([p.data for p in params], X[:n], Y[:n])
                grads = run.backward(1.0)
            assert roots.tolist() == pytest.approx(want_roots, **TOL)
            assert grads.tolist() == pytest.approx(want_grads, **TOL)


def test_a_replay_that_has_run_is_freed_without_the_cyclic_collector():
    # its passes' steps are kept in it: a strong reference back would be a cycle, and its
    # buffers (165 MB at width 256, batch 10,000) would wait for a full collection
    import gc
    import weakref
    model, X, Y = mlp_problem(2, [4, 3, 2], "tanh", 5, 1)
    tape = mlp_tape(model, 2, 2)
    enabled = gc.isenabled()
    gc.disable()
    try:
        for fuse in (None, find_blocks):
            run = tape.replay(5, fuse=fuse)
            run.forward([p.data for p in model.parameters()], X, Y)
            run.backward(1.0)
            gone = weakref.ref(run)
            del run
            assert gone() is None
    finally:
        if enabled:
            gc.enable()


def test_the_fused_layers_are_found_and_equal_the_plain_replay():
    model, X, Y = mlp_problem(3, [6, 5, 2], "tanh", 20, 4)
    tape = mlp_tape(model, 3, 2)
    plain, fused = tape.replay(20, fuse=None), tape.replay(20, fuse=find_blocks)
    assert len(plain.blocks) == 0
    assert [len(layer.tops) for layer in fused.blocks] == [2, 5, 6]   # found from the root down
    assert all(layer.act is not None for layer in fused.blocks[1:])   # tanh fused in
    p = [q.data for q in model.parameters()]
    for step in range(3):                                # reused buffers give the same numbers
        a, b = plain.forward(p, X, Y), fused.forward(p, X, Y)
        assert a.tolist() == pytest.approx(b.tolist(), **TOL)
        assert plain.backward(0.05).tolist() == pytest.approx(fused.backward(0.05).tolist(), **TOL)
        p = [v * 0.9 for v in p]


def test_record_names_a_parameter_that_is_not_a_leaf_value():
    w, x = Value(0.5), Value(2.0)
    root = w * x
    for params, bad in [([w, w * 2.0], "param 1 must be a leaf Value"),
                        ([w, 0.5], "param 1 must be a leaf Value, got 0.5")]:
        with pytest.raises(TypeError, match=bad):
            record(root, params, [x])
        with pytest.raises(TypeError, match=bad):
            record(root, [w], [x]).same_graph(root, params, [x])
    with pytest.raises(TypeError, match="input 0 must be a leaf Value"):
        record(root, [w], [x * 1.0])


def test_the_tape_prints_one_entry_a_line():
    w, x = Value(2.0, label="w"), Value(0.0)
    tape = record((w * x).tanh(), [w], [x])
    assert repr(tape) == "Tape(4 entries: 2 ops, 1 parameters, 1 inputs, 0 labels)"
    assert str(tape).splitlines()[1:] == [
        "    0  param      w  (parameter 0)",
        "    1  input      input 0",
        "    2  mul        #0 * #1",
        "    3  tanh       tanh(#2)"]


# --- fit(engine="replay") ----------------------------------------------------------------
def train_both(loss, opt=lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), activation="relu",
               sizes=(6, 1), labels=(-1, 1), **options):
    results = []
    for engine in ("scalar", "replay"):
        ds = data.moons(30, seed=2, labels=labels)
        model = MLP(2, list(sizes), activation=activation, seed=5)
        history = fit(model, ds, loss, opt(model.parameters()), max_steps=8, batch_size=12,
                      progress=False, engine=engine, **options)
        results.append((history, [p.data for p in model.parameters()]))
    (h1, p1), (h2, p2) = results
    assert len(h1) == len(h2) == 8
    assert h2.loss == pytest.approx(h1.loss, **TOL)
    assert p2 == pytest.approx(p1, **TOL)
    return h1, h2


def bce_logits(out, y):
    return losses.binary_cross_entropy(out, y, from_logits=True)


@pytest.mark.parametrize("loss", ["hinge", "mse", "mae", "sse", "l1", "rmse", bce_logits])
def test_fit_replay_equals_scalar_for_every_loss(loss):
    labels = (0, 1) if loss is bce_logits else (-1, 1)
    train_both(loss, labels=labels, metric=accuracy)


def test_fit_replay_equals_scalar_for_probability_losses():
    # bce needs probabilities: a sigmoid output layer
    results = []
    for engine in ("scalar", "replay"):
        ds = data.moons(20, seed=2, labels=(0, 1))
        model = MLP(2, [4, 1], output_activation="sigmoid", seed=5)
        fit(model, ds, "bce", optim.SGD(model.parameters(), lr=0.5), max_steps=5,
            progress=False, engine=engine)
        results.append([p.data for p in model.parameters()])
    assert results[1] == pytest.approx(results[0], **TOL)


# Adam and RMSProp divide by sqrt(v) + eps: a gradient's rounding difference d becomes a
# step difference up to lr * d / eps, so these use eps = 1e-4 to keep that below 1e-12
@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: optim.RMSProp(ps, lr=0.01, eps=1e-4),
    lambda ps: optim.Adam(ps, lr=0.01, eps=1e-4),
    lambda ps: optim.AdamW(ps, lr=0.01, eps=1e-4)])
def test_fit_replay_equals_scalar_for_every_optimizer(make):
    train_both("hinge", opt=make)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "softplus", "leaky_relu"])
def test_fit_replay_equals_scalar_for_every_activation(activation):
    train_both("mse", activation=activation, sizes=(5, 4, 1))


@pytest.mark.parametrize("accumulate", [2, 5])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_fit_replay_equals_scalar_with_accumulation_and_penalties(accumulate, reduction):
    # l1 on the weights only: the biases start at 0, the corner of |b|, where a rounding-level
    # difference (0 against 1e-18) changes sign(b) and so the step by 1e-4 * lr
    def penalty(m):
        weights = [p for name, p in m.named_parameters() if ".w." in name]
        return 1e-3 * losses.l2(m.parameters()) + 1e-4 * losses.l1(weights)
    train_both("hinge", accumulate=accumulate, reduction=reduction, penalty=penalty)


def test_a_multi_output_regression_with_list_labels():
    results = []
    for engine in ("scalar", "replay"):
        model = MLP(3, [4, 2], activation="tanh", seed=1)
        rng = random.Random(0)
        pairs = [([rng.uniform(-1, 1) for _ in range(3)], [rng.uniform(-1, 1), rng.uniform(0, 1)])
                 for _ in range(25)]
        fit(model, pairs, "mse", optim.SGD(model.parameters(), lr=0.2), epochs=3,
            batch_size=10, progress=False, engine=engine)
        results.append([p.data for p in model.parameters()])
    assert results[1] == pytest.approx(results[0], **TOL)


# --- materialize -------------------------------------------------------------------------
def test_materialize_gives_a_sample_back_as_values_equal_to_the_replay():
    ds = data.moons(10, seed=0, labels=(-1, 1))
    model = MLP(2, [4, 1], seed=0)
    replayer = Replayer(model, "hinge", list(ds), fallback=loss_and_gradients)
    replayer(model, list(ds), losses.hinge)
    root = replayer.materialize(3)
    x, y = list(ds)[3]
    scalar = losses.hinge(model(x), y)
    assert root.data == pytest.approx(scalar.data, **TOL)
    assert root.data == pytest.approx(replayer.run.value(len(replayer.tape) - 1)[3], **TOL)
    leaves = {v.label: v for v in _leaves(root)}
    for p in model.parameters():
        p.grad = 0
    (scalar * 0.1).backward()                           # the replay's seed: 1/10 (mean)
    assert sum(p.label in leaves for p in model.parameters()) > 10
    for p in model.parameters():                       # leaves carry the short names
        if p.label in leaves:
            assert leaves[p.label].grad == pytest.approx(p.grad, **TOL)
    steps = backward_steps(root)                        # the teaching tools work on it
    assert len(steps) > 10 and "b[2]_1" in explain(root, leaves["b[2]_1"]).text


def _leaves(root):
    from tracegrad.engine import topological_order
    return [n for n in topological_order(root) if n.is_leaf and n.label]


# --- the hazards -------------------------------------------------------------------------
def test_a_label_frozen_as_a_constant_is_caught_by_comparing_tapes():
    model, x = MLP(2, [3, 1], seed=0), [Value(0.0), Value(0.0)]
    taped = [record(losses.hinge(model(x), y), model.parameters(), x) for y in (-1, 1)]
    assert "const" in taped[0].difference(taped[1])     # y went in as a number, not a leaf
    y = Value(-1.0)
    placeholder = [record(losses.hinge(model(x), y), model.parameters(), x, [y]) for _ in "ab"]
    assert placeholder[0].difference(placeholder[1]) is None


def test_same_graph_agrees_with_recording_and_comparing():
    # fit checks further samples with tape.same_graph (no tape built); it must say True
    # exactly when recording the sample gives a tape with no difference
    w, v = Value(0.5, label="w"), Value(-1.5, label="v")

    def graph(build, c=2.0):
        x, y = Value(0.0), Value(0.0)
        out = build(x, c)
        return out + y, [w, v], [x], [y], [out]
    builds = [lambda x, c: (w * x + v).tanh(),
              lambda x, c: (w * x + v).tanh() * c,
              lambda x, c: (x * w + v).tanh(),              # parents the other way round
              lambda x, c: (w * x + v).relu(),              # another op
              lambda x, c: (w * x + v) ** 2,
              lambda x, c: (w * x + v) ** 3,                # another argument
              lambda x, c: (w * x + v) ** 2.0,              # the same argument, a float
              lambda x, c: w * x + v * c,
              lambda x, c: w * x + Value(c)]                # an int leaf stays an int
    for build in builds:
        for c in (2.0, 3.0, 2):                            # a constant's value and type
            for first in (record(*graph(builds[1], 2.0)), record(*graph(build, 2.0))):
                g = graph(build, c)
                assert first.same_graph(*g) == (first.difference(record(*g)) is None)
    # one node used twice against two equal nodes: every entry has a matching node, but
    # one node would stand for two entries
    twice, shared = (lambda x, c: (w * x) + (w * x)), (lambda x, c: (lambda h: h + h)(w * x))
    for a, b in [(twice, shared), (shared, twice)]:
        assert record(*graph(a)).difference(record(*graph(b))) is not None
        assert not record(*graph(a)).same_graph(*graph(b))
        assert record(*graph(a)).same_graph(*graph(a))
    first = record(*graph(builds[1]))
    assert first.same_graph(*graph(builds[1]))
    assert not first.same_graph(*graph(builds[1], 3.0))
    root, params, inputs, labels, _ = graph(builds[1])
    assert not first.same_graph(root, params, inputs, labels, [])    # other outputs
    assert not first.same_graph(root, params[::-1], inputs, labels, [])


def test_tapes_that_differ_only_in_a_constants_type_are_different():
    # 1 == 1.0, so equal entries are not enough: an int constant is not a float one
    from tracegrad.engine.replay.tape import Entry, Tape
    x = Entry("input", where=0)
    one = [x, Entry("const", where=1), Entry("op", OPS["mul"], (0, 1))]
    other = [x, Entry("const", where=1.0), Entry("op", OPS["mul"], (0, 1))]
    assert Tape(one, [2], 0, 1, 0).difference(Tape(list(one), [2], 0, 1, 0)) is None
    assert "entry 1" in Tape(one, [2], 0, 1, 0).difference(Tape(other, [2], 0, 1, 0))
    assert Tape(one, [2], 0, 1, 0).difference(Tape(one, [1], 0, 1, 0)) == \
        "the outputs are other entries"


def frozen_step(x):
    """The binary step as nn.activations wrote it before it was a row: a branch on .data,
    its 1 or 0 a constant frozen into each sample's graph."""
    return x * 0 + (1 if x.data > 0 else 0)


def test_data_dependent_graphs_fall_back_to_scalar_with_a_warning():
    ds = data.blobs(30, centers=3, seed=1)
    pairs = [(x, [1.0 * (y == k) for k in range(3)]) for x, y in ds]
    model = MLP(2, [4, 3], activation=frozen_step, seed=0)
    with pytest.warns(ReplayWarning, match="not the same for every sample"):
        replayed = fit(model, pairs, "mse", optim.SGD(model.parameters(), lr=0.1),
                       max_steps=2, progress=False, engine="replay")
    model2 = MLP(2, [4, 3], activation=frozen_step, seed=0)
    scalar = fit(model2, pairs, "mse", optim.SGD(model2.parameters(), lr=0.1),
                 max_steps=2, progress=False)
    assert replayed.loss == scalar.loss                 # the scalar engine did the training


def test_a_model_with_step_units_replays_as_the_scalar_engine():
    # step is a row: its 1 or 0 is computed per lane, so the tape is every sample's graph
    # (no ReplayWarning); no gradient passes it, so only the last layer learns
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReplayWarning)
        h1, _ = train_both("mse", activation="step", sizes=(5, 4, 1))
    assert h1.loss[-1] < h1.loss[0]
    model = MLP(2, [3, 1], activation="step", seed=0)
    replayer = Replayer(model, "mse", list(data.moons(12, seed=1, labels=(-1, 1))))
    assert sum(e.kind == "op" and e.op.name == "step" for e in replayer.tape.entries) == 3


def test_exact_fractions_stay_on_the_scalar_engine():
    model = MLP(1, [1], seed=0)
    for p in model.parameters():
        p.data = Fraction(1, 2)
    pairs = [([Fraction(1)], Fraction(2)), ([Fraction(3)], Fraction(1))]
    with pytest.warns(ReplayWarning, match="exact"):
        fit(model, pairs, "mse", optim.SGD(model.parameters(), lr=Fraction(1, 10)),
            max_steps=2, progress=False, engine="replay")
    assert all(isinstance(p.data, Fraction) for p in model.parameters())


def test_a_domain_error_names_the_failing_sample():
    model = MLP(1, [1], seed=0)
    model.layers[0].neurons[0].w[0].data = 1.0
    pairs = [([1.0], 0.0), ([2.0], 0.0), ([-3.0], 0.0), ([4.0], 0.0)]

    def log_loss(out, y):
        return (out[0] * 1.0).log() + y
    replayer = Replayer(model, log_loss, pairs[:2], 4, fallback=loss_and_gradients)
    with pytest.raises(ValueError, match="sample 2 of the batch"):
        replayer(model, pairs, log_loss)
    with pytest.raises(ValueError):                     # as the scalar engine does
        loss_and_gradients(model, pairs, log_loss)


def test_detect_anomaly_names_the_sample_and_the_entry():
    x, w = Value(1.0), Value(1.0, label="w")
    run = record((w * x) * 1e300, [w], [x]).replay(3)
    roots = run.forward([1.0], [[1.0], [1e10], [2.0]])   # 1e310 is inf, as in Python floats
    assert math.isinf(roots[1]) and roots[0] == 1e300
    with detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"mul \(entry 4\) produced inf for sample 1"):
            run.forward([1.0], [[1.0], [1e10], [2.0]])


def test_without_numpy_replay_says_how_to_install_it(monkeypatch):
    import sys
    from tracegrad.extras import MissingExtra
    monkeypatch.setitem(sys.modules, "numpy", None)      # import numpy now fails
    with pytest.raises(MissingExtra, match=r'pip install "numpy>=.*fast'):
        Replayer(MLP(1, [1]), "mse", [([1.0], 1.0)])
    model = MLP(1, [1])                                  # the scalar engine needs no numpy
    fit(model, [([1.0], 1.0)], "mse", optim.SGD(model.parameters(), lr=0.1), max_steps=1,
        progress=False)


def test_fit_refuses_an_unknown_engine():
    with pytest.raises(ValueError, match="engine must be one of 'scalar', 'replay'"):
        fit(MLP(1, [1]), [([1.0], 1.0)], "mse", optim.SGD(MLP(1, [1]).parameters(), lr=0.1),
            max_steps=1, progress=False, engine="gpu")


def test_warnings_are_not_raised_for_a_replayable_model():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_both("hinge")


def test_an_l2_penalty_of_the_parameters_is_one_dot_product():
    w = [Value(0.5 * k - 1, label=f"w{k}") for k in range(5)]
    root = 0.01 * sum(p * p for p in w)                  # sum() starts with 0 + ...
    fused = record(root, w).replay(1, fuse=find_blocks)
    # the program: the Dot, then the entry 0.01 * (the sum)
    assert [type(item).__name__ for item in fused.program] == ["Dot", "int"]
    plain = record(root, w).replay(1, fuse=None)
    for run in (fused, plain):
        assert float(run.forward([p.data for p in w], [[]])) == pytest.approx(root.data, **TOL)
        assert run.backward(1.0).tolist() == pytest.approx([0.02 * p.data for p in w], **TOL)


# --- the scalar step pauses the cyclic garbage collector -----------------------------------
def test_a_training_step_pauses_the_collector_and_restores_it(monkeypatch):
    import gc
    from tracegrad.nn.train import train_step
    seen = []

    def spy(model, batch, *args):
        seen.append(gc.isenabled())
        return loss_and_gradients(model, batch, *args)
    model = MLP(1, [2, 1], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert gc.isenabled()
    train_step(model, [([1.0], 1.0)], losses.mse, opt, gradients=spy)
    assert seen == [False] and gc.isenabled()

    def interrupted(*args):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train_step(model, [([1.0], 1.0)], losses.mse, opt, gradients=interrupted)
    assert gc.isenabled()                                 # restored on Ctrl-C too
    gc.disable()
    try:
        train_step(model, [([1.0], 1.0)], losses.mse, opt)
        assert not gc.isenabled()                         # a caller's choice is kept
    finally:
        gc.enable()


def test_tracegrad_train_engine_replay(capsys):
    from tracegrad.cli import main
    args = ["train", "--data", "moons", "--samples", "40", "--hidden", "4", "--epochs", "3",
            "--no-progress", "--seed", "1"]
    assert main(args) == 0
    scalar = capsys.readouterr().out
    assert main(args + ["--engine", "replay"]) == 0
    replayed = capsys.readouterr().out
    assert scalar.splitlines()[-1].split(" after ")[0] == replayed.splitlines()[-1].split(
        " after ")[0]                                    # the same final loss, printed
    assert main(args + ["--engine", "gpu"]) == 2           # a usage error
    assert "--engine" in capsys.readouterr().err


def test_tied_weights_in_a_fused_layer_add_up():
    model, X, Y = mlp_problem(2, [3, 1], "tanh", 6, 2)
    first = model.layers[0].neurons
    first[1].w[0] = first[0].w[0]                         # one weight in two neurons
    first[2].b = first[0].b                               # and one bias
    params = model.parameters()
    tape = mlp_tape(model, 2, 1)
    plain, fused = tape.replay(6, fuse=None), tape.replay(6, fuse=find_blocks)
    assert not fused.blocks[-1].unique
    p = [q.data for q in params]
    assert plain.forward(p, X, Y).tolist() == pytest.approx(fused.forward(p, X, Y).tolist(), **TOL)
    assert plain.backward(1.0).tolist() == pytest.approx(fused.backward(1.0).tolist(), **TOL)
    _, want = scalar_batch(lambda s: losses.mse(model(s[0]), s[1]), params, list(zip(X, Y)))
    assert fused.backward(1.0).tolist() == pytest.approx(want, **TOL)


def test_a_layer_writes_its_gradients_straight_in_only_when_nothing_else_reads_them():
    # a fused layer that is the only reader of its parameters writes dW and db into the
    # gradient (no add); a weight the loss also reads directly must add up instead
    model, X, Y = mlp_problem(2, [3, 1], "relu", 6, 3)
    params = model.parameters()
    w = model.layers[0].neurons[1].w[0]
    xs, ys = [Value(0.0), Value(0.0)], [Value(0.0)]
    out = model(xs)
    tape = record(losses.mse(out, ys) + w * w, params, xs, ys, out)
    plain, fused = tape.replay(6, fuse=None), tape.replay(6, fuse=find_blocks)
    p = [q.data for q in params]
    assert fused.forward(p, X, Y).tolist() == pytest.approx(plain.forward(p, X, Y).tolist(),
                                                            **TOL)
    assert {block.weights.shape: block.sole for block in fused.blocks} == {(3, 2): False,
                                                                          (1, 3): True}
    # each layer's inputs are followed by a row of 1s: [W b] @ [X; 1] in one product
    assert all(block.aug is not None for block in fused.blocks)
    assert (fused.values[sorted(fused.ones)] == 1.0).all()
    assert fused.backward(1.0).tolist() == pytest.approx(plain.backward(1.0).tolist(), **TOL)
    _, want = scalar_batch(lambda s: losses.mse(model(s[0]), s[1]) + w * w, params,
                           list(zip(X, Y)))
    assert fused.backward(1.0).tolist() == pytest.approx(want, **TOL)


def test_create_graph_is_refused_with_the_way_to_do_it():
    w, x = Value(2.0, label="w"), Value(3.0)
    run = record((w * x) ** 2, [w], [x]).replay(2)
    run.forward([2.0], [[3.0], [1.0]])
    with pytest.raises(TapeError, match="materialize a sample"):
        run.backward(create_graph=True)
    root, _ = record((w * x) ** 2, [w], [x]).materialize([2.0], [3.0])
    from tracegrad.engine import grad
    leaf = root.parents[0].parents[0]                     # w, rebuilt
    (first,) = grad(root, [leaf], create_graph=True)      # d/dw (wx)^2 = 2 w x^2 = 36
    (second,) = grad(first, [leaf])                       # 2 x^2 = 18
    assert (first.data, second) == (36.0, 18.0)


def test_verify_all_compares_every_sample():
    class Odd:                               # a model whose graph differs for x = 0.3 only
        def __init__(self):
            self.w = Value(0.5, label="w")

        def parameters(self):
            return [self.w]

        def __call__(self, x):
            out = x[0] * self.w
            return [out * 1.0 if abs(x[0].data - 0.3) < 1e-9 else out]
    pairs = [([0.0], 1.0), ([0.3], 1.0), ([1.0], 1.0)]
    some = Replayer(Odd(), "mse", pairs)                  # checks samples 0 and 2 only
    assert some.tape is not None
    with pytest.raises(TapeError, match="samples 0 and 1 differ"):
        Replayer(Odd(), "mse", pairs, verify="all")


# --- classification, the array optimizer, the fuser's place (issue 21) ----------------------
def train_classes(loss, labels, opt=lambda ps: optim.SGD(ps, lr=0.3, momentum=0.9), **options):
    """fit on 3 blobs with both engines (labels: 'index' or 'one-hot'): the histories and
    parameters agree to 1e-12, and replay trained without falling back."""
    results = []
    for engine in ("scalar", "replay"):
        ds = data.blobs(40, centers=3, seed=1)
        pairs = [(x, y if labels == "index" else _soft(y) if labels == "soft"
                  else [1.0 * (y == k) for k in range(3)]) for x, y in ds]
        model = MLP(2, [5, 3], seed=3)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ReplayWarning)
            history = fit(model, pairs, loss, opt(model.parameters()), max_steps=10,
                          batch_size=16, progress=False, engine=engine, **options)
        results.append((history, [p.data for p in model.parameters()]))
    (h1, p1), (h2, p2) = results
    assert h2.loss == pytest.approx(h1.loss, **TOL)
    assert p2 == pytest.approx(p1, **TOL)
    return h2


def _soft(y):
    """A soft label with a zero: 0.7 on class y, 0.3 on the next, 0 on the third."""
    return [0.7 if k == y else 0.3 if k == (y + 1) % 3 else 0.0 for k in range(3)]


@pytest.mark.parametrize("labels", ["index", "one-hot"])
def test_cross_entropy_replays_with_class_indices_and_one_hot_labels(labels):
    history = train_classes("cross_entropy", labels, metric=accuracy if labels == "index"
                            else None)
    assert history.loss[-1] < history.loss[0]


def nll_of_softmax(out, y):                 # softmax's own graph, then -log p_y
    return -losses.total([p.log() * t for p, t in zip(activations.softmax(out), y)])


def kl_of_softmax(out, y):                  # labels with no zeros
    return losses.kl_div([0.8 * t + 0.2 / 3 for t in y], activations.softmax(out))


@pytest.mark.parametrize("loss", [nll_of_softmax, kl_of_softmax])
def test_softmax_log_softmax_and_kl_div_replay(loss):
    train_classes(loss, "one-hot")


@pytest.mark.parametrize("labels", ["one-hot", "soft"])
def test_kl_div_with_zeros_in_the_labels_replays(labels):
    # each term is xlogy(p, p) - xlogy(p, q), 0 where p is 0: the same graph for every label
    # (one-hot [0, 1, 0], or soft [0.7, 0, 0.3]), so replay trains with no fallback
    def kl(out, y):
        return losses.kl_div(y, activations.softmax(out))
    history = train_classes(kl, labels)
    assert history.loss[-1] < history.loss[0]
    ds = data.blobs(40, centers=3, seed=1)
    model = MLP(2, [5, 3], seed=3)
    pairs = [(x, [1.0 * (y == k) for k in range(3)]) for x, y in ds]
    tape = Replayer(model, kl, pairs, verify="all").tape          # every sample's graph
    assert sum(e.kind == "op" and e.op.name == "xlogy" for e in tape.entries) == 6


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, schedule=optim.linear_decay(0.3, 0.05, 6)),
    lambda ps: optim.Adam(ps, lr=0.01, eps=1e-4, weight_decay=1e-3,
                          schedule=optim.exponential_decay(0.02, 0.9))])
def test_schedules_and_weight_decay_replay(make):
    train_classes("cross_entropy", "index", opt=make)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.RMSProp(ps, lr=0.01, weight_decay=1e-3),
    lambda ps: optim.Adam(ps, lr=0.01),
    lambda ps: optim.AdamW(ps, lr=0.01, schedule=optim.linear_decay(0.01, 0.001, 3))])
def test_the_array_step_is_the_scalar_step_exactly(make):
    # the one update rule, run on Values (step) and on arrays (step_arrays): equal bits
    rng = random.Random(4)
    ps = [Value(rng.uniform(-1, 1)) for _ in range(7)]
    scalar, arrays = make(ps), make([Value(p.data) for p in ps])
    P = np.array([p.data for p in ps])
    state = {k: np.array(v, dtype=float) for k, v in arrays.arrays().items()}
    for _ in range(5):
        grads = [rng.uniform(-1, 1) for _ in ps]
        for p, g in zip(ps, grads):
            p.grad = g
        scalar.step()
        P, state = arrays.step_arrays(P, np.array(grads), state)
        assert P.tolist() == [p.data for p in ps]
        assert (scalar.t, scalar.lr) == (arrays.t, arrays.lr)
        for k, v in state.items():
            assert v.tolist() == [scalar.state[p][k] for p in ps]


def test_fit_leaves_the_values_and_the_optimizer_state_as_the_scalar_engine_does():
    h = []
    for engine in ("scalar", "replay"):
        model = MLP(2, [4, 1], seed=0)
        opt = optim.Adam(model.parameters(), lr=0.01, eps=1e-4)
        fit(model, data.moons(20, seed=0), "mse", opt, max_steps=4, batch_size=10,
            progress=False, engine=engine, track=["layers.0.neurons.0.b"])
        h.append(([p.grad for p in model.parameters()], opt.state_dict()))
    assert h[1][0] == pytest.approx(h[0][0], **TOL)
    assert h[1][1]["t"] == h[0][1]["t"] == 4
    for a, b in zip(h[1][1]["state"], h[0][1]["state"]):
        assert a == pytest.approx(b, **TOL)


def test_the_optimizer_state_carries_over_between_fits_and_into_a_scalar_step():
    # fit hands its state arrays to the optimizer, which writes them per parameter only when
    # .state is read: a second fit takes them as they are, and a scalar step, state_dict
    # and explain read the same numbers the scalar engine has
    runs = []
    for engine in ("scalar", "replay"):
        model = MLP(2, [3, 1], seed=2)
        opt = optim.Adam(model.parameters(), lr=0.02)
        ds = data.moons(16, seed=3)
        fit(model, ds, "mse", opt, max_steps=3, batch_size=8, progress=False, engine=engine)
        fit(model, ds, "mse", opt, max_steps=2, batch_size=8, progress=False, engine=engine)
        explained = opt.explain(opt.params[0]).data
        opt.step()                       # the scalar rule, from the state fit left behind
        runs.append(([p.data for p in model.parameters()], opt.state_dict(), explained))
    (values, saved, explained), (values2, saved2, explained2) = runs
    assert saved2["t"] == saved["t"] == 6
    assert values2 == pytest.approx(values, **TOL)
    assert explained2 == pytest.approx(explained, **TOL)
    for a, b in zip(saved2["state"], saved["state"]):
        assert a == pytest.approx(b, **TOL) and a["v"] > 0


def test_materialize_after_training_gives_each_sample_back():
    ds = data.blobs(30, centers=3, seed=1)
    model = MLP(2, [4, 3], seed=0)
    replayer = Replayer(model, "cross_entropy", list(ds), 10, fallback=loss_and_gradients)
    fit(model, list(ds), "cross_entropy", optim.SGD(model.parameters(), lr=0.2), max_steps=5,
        batch_size=10, progress=False, engine="replay")
    replayer(model, list(ds)[:10], losses.cross_entropy)
    for i in (0, 7):
        root = replayer.materialize(i)
        x, y = list(ds)[i]
        assert root.data == pytest.approx(losses.cross_entropy(model(x), y).data, **TOL)
        assert root.data == pytest.approx(replayer.run.value(len(replayer.tape) - 1)[i], **TOL)


def test_the_engine_replay_package_knows_nothing_of_nn():
    import pathlib
    import tracegrad.engine.replay as package
    for path in pathlib.Path(package.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "tracegrad.nn" not in text and "from ...nn" not in text, path
        assert "Neuron" not in text and "Layer" not in text, path


def test_a_penalty_replays_as_one_array_operation():
    # sse(params) = sum (p - 0)**2: its terms over the parameters become one block
    model = MLP(2, [4, 1], seed=0)
    root = 1e-3 * losses.l2(model.parameters())
    run = record(root, model.parameters()).replay(1, fuse=find_blocks)
    assert [type(item).__name__ for item in run.program] == ["Sum", "int"]
    P = np.array([p.data for p in model.parameters()])
    assert run.forward(P, np.zeros((1, 0))) == pytest.approx(root.data, **TOL)
    root.backward()
    assert run.backward(1.0).tolist() == pytest.approx([p.grad for p in model.parameters()],
                                                        **TOL)


@pytest.mark.slow
def test_digits_with_cross_entropy_reach_97_percent():
    from tracegrad.nn import evaluate
    from tracegrad.nn.data import digits
    train, test = digits().split(1500)
    model = MLP(64, [16, 10], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReplayWarning)
        fit(model, train, "cross_entropy", optim.SGD(model.parameters(), lr=0.3, momentum=0.9),
            epochs=30, batch_size=100, progress=False, engine="replay")
    assert evaluate(model, test, accuracy) >= 0.97

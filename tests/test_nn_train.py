"""fit(): batches, gradient accumulation equal to the full batch, stop rules, Ctrl-C,
history; accuracy/evaluate; the seeded toy data sets."""
import math
from fractions import Fraction as F

import pytest

from tracegrad.engine import Value, backward_steps
from tracegrad.nn import MLP, accuracy, data, evaluate, fit, losses, optim
from tracegrad.nn.train import data_loss


def small_problem(seed=0):
    ds = data.moons(12, noise=0.1, seed=seed, labels=(-1, 1))
    return MLP(2, [4, 1], seed=seed), ds


@pytest.mark.parametrize("k", [2, 3, 4, 12])
def test_accumulating_k_micro_batches_gives_the_full_batch_update(k):
    full_model, ds = small_problem()
    micro_model, _ = small_problem()
    penalty = lambda m: 1e-3 * losses.l2(m.parameters())          # noqa: E731
    for model, accumulate in ((full_model, 1), (micro_model, k)):
        opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        history = fit(model, ds, losses.hinge, opt, max_steps=3, accumulate=accumulate,
                      penalty=penalty, progress=False)
        model.history = history
    assert micro_model.history.loss == pytest.approx(full_model.history.loss, rel=1e-12)
    for a, b in zip(micro_model.parameters(), full_model.parameters()):
        assert a.data == pytest.approx(b.data, rel=1e-12, abs=1e-15)


def test_accumulation_also_works_with_mini_batches_and_sum_reduction():
    a, ds = small_problem()
    b, _ = small_problem()
    for model, k in ((a, 1), (b, 2)):
        fit(model, ds, "mse", optim.Adam(model.parameters(), lr=0.01), epochs=2, batch_size=6,
            accumulate=k, reduction="sum", progress=False, seed=3)
    assert [p.data for p in a.parameters()] == pytest.approx([p.data for p in b.parameters()],
                                                             rel=1e-12)


def test_full_batch_loss_is_the_data_set_loss():
    model, ds = small_problem()
    expected = data_loss(model, ds, losses.hinge).data
    history = fit(model, ds, losses.hinge, optim.SGD(model.parameters(), lr=0.1), max_steps=1,
                  progress=False)
    assert history.loss == [pytest.approx(expected, rel=1e-15)]


def test_history_records_every_step():
    model, ds = small_problem()
    opt = optim.SGD(model.parameters(), lr=0.2, schedule=optim.linear_decay(0.2, 0.1, 4))
    h = fit(model, ds, losses.hinge, opt, epochs=2, batch_size=5, metric=accuracy,
            track=["layers.1.neurons.0.b"], progress=False)
    assert h.step == [1, 2, 3, 4, 5, 6] and h.epoch == [1, 1, 1, 2, 2, 2]
    assert h.lr == pytest.approx([0.2, 0.175, 0.15, 0.125, 0.1, 0.1])
    assert len(h.loss) == len(h.metric) == len(h.step_size) == 6
    assert all(0 <= m <= 1 for m in h.metric)
    assert len(h.tracked["layers.1.neurons.0.b"]) == 7
    assert h.stopped == "epochs" and h.seconds > 0
    assert repr(h).startswith("History(6 steps, loss ")


def test_max_steps_stop():
    model, ds = small_problem()
    h = fit(model, ds, "hinge", optim.SGD(model.parameters(), lr=0.1), epochs=100, max_steps=7,
            progress=False)
    assert len(h) == 7 and h.stopped == "max_steps"


def test_min_step_stop_as_gradient_descent_is_taught():
    # StatQuest: fit the intercept of height = intercept + 0.64 weight; stop when a step < 0.001
    line = MLP(1, [1], seed=0)
    slope, intercept = line.layers[0].neurons[0].w[0], line.layers[0].neurons[0].b
    slope.data, intercept.data = 0.64, 0.0
    h = fit(line, data.height_weight(), losses.sse, optim.SGD([intercept], lr=0.1),
            reduction="sum", min_step=0.001, progress=False)
    assert h.stopped == "min_step" and h.step_size[-1] < 0.001 <= h.step_size[-2]
    assert intercept.data == pytest.approx(0.95, abs=0.003)
    assert h.step_size[0] == pytest.approx(0.1 * 5.7040, abs=1e-4)   # StatQuest: slope -5.7


def test_keyboard_interrupt_stops_cleanly_keeping_the_weights(capsys):
    model, ds = small_problem()

    def ctrl_c(history):
        if len(history) == 3:
            raise KeyboardInterrupt
    h = fit(model, ds, "hinge", optim.SGD(model.parameters(), lr=0.1), max_steps=50,
            callback=ctrl_c, progress=False)
    assert h.stopped == "interrupted" and len(h) == 3
    fresh, _ = small_problem()
    replay = fit(fresh, ds, "hinge", optim.SGD(fresh.parameters(), lr=0.1), max_steps=3,
                 progress=False)
    assert model.state_dict() == fresh.state_dict()       # the three steps are kept
    assert replay.loss == h.loss
    assert "interrupted after 3 steps" in capsys.readouterr().err


def test_interrupt_inside_the_loss_keeps_earlier_steps():
    model, ds = small_problem()
    calls = []

    def loss(out, y):
        calls.append(1)
        if len(calls) > 2 * len(ds):
            raise KeyboardInterrupt
        return losses.hinge(out, y)
    h = fit(model, ds, loss, optim.SGD(model.parameters(), lr=0.1), max_steps=10, progress=False)
    assert h.stopped == "interrupted" and len(h) == 2


def test_exact_training_stays_exact_with_the_mean_loss():
    line = MLP(1, [1], seed=0).load_state_dict({"layers.0.neurons.0.w.0": F(0),
                                                "layers.0.neurons.0.b": F(0)})
    pairs = [([F(1)], F(2)), ([F(3)], F(4))]
    # mse = 1/2 sum (w x + b - y)^2: at 0, dL/dw = -(2*1 + 4*3) = -14, dL/db = -(2 + 4) = -6
    h = fit(line, pairs, "mse", optim.SGD(line.parameters(), lr=F(1, 10)), max_steps=1,
            progress=False)
    assert h.loss == [F(10)]                     # (4 + 16) / 2
    assert line.state_dict() == {"layers.0.neurons.0.w.0": F(7, 5),
                                 "layers.0.neurons.0.b": F(3, 5)}
    assert all(type(p.data) is F for p in line.parameters())


def test_one_mean_for_losses_and_fit_one_node_exact_for_exact_terms():
    assert losses.mean([F(1), F(2)]).data == F(3, 2)
    assert losses.mean([F(1), F(2)], 4).data == F(3, 4)          # a micro-batch's share
    assert losses.mean([Value(1.0), Value(2.0)]).data == 1.5
    steps = backward_steps(losses.mse([Value(1.0), Value(2.0)], [0, 0]))
    assert [s.node.op for s in steps][0] == "mul"                  # (sum) * 1/2, one node
    assert not any(s.node.op == "pow" and s.node.arg == -1 for s in steps)


def test_callback_can_stop_training_and_divergence_stops_it():
    model, ds = small_problem()
    h = fit(model, ds, "hinge", optim.SGD(model.parameters(), lr=0.1), max_steps=50,
            callback=lambda hist: hist.loss[-1] < 10, progress=False)
    assert h.stopped == "callback" and len(h) == 1
    line = MLP(1, [1], seed=0)
    h = fit(line, data.height_weight(), "mse", optim.SGD(line.parameters(), lr=10.0),
            max_steps=500, progress=False)
    assert h.stopped == "diverged" and all(math.isfinite(x) for x in h.loss)


def test_mini_batch_training_is_deterministic_and_learns_moons():
    runs = []
    for _ in range(2):
        model = MLP(2, [8, 8, 1], seed=1)
        ds = data.moons(40, noise=0.1, seed=2, labels=(-1, 1))
        fit(model, ds, "hinge", optim.Adam(model.parameters(), lr=0.05), epochs=60,
            batch_size=8, seed=5, progress=False)
        runs.append(model.state_dict())
    assert runs[0] == runs[1]
    assert evaluate(model, ds) == 1.0


def test_fit_shows_a_progress_bar_with_the_loss(capsys):
    model, ds = small_problem()
    fit(model, ds, "hinge", optim.SGD(model.parameters(), lr=0.1), max_steps=3,
        metric=accuracy, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err


def test_fit_option_errors():
    model, ds = small_problem()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        fit(model, ds, "hinge", opt, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="accumulate=13 micro-batches, but a batch has only 12"):
        fit(model, ds, "hinge", opt, accumulate=13, progress=False)
    with pytest.raises(ValueError, match="must be \\(input, target\\) pairs"):
        fit(model, [1, 2], "hinge", opt, progress=False)
    with pytest.raises(ValueError, match="no parameter named 'w'"):
        fit(model, ds, "hinge", opt, track=["w"], progress=False)


def test_accuracy_for_signs_probabilities_and_classes():
    assert accuracy([Value(0.3)], 1) == 1 and accuracy([Value(0.3)], -1) == 0
    assert accuracy([Value(0.3)], 0) == 0                       # 0/1 labels, threshold 0
    assert accuracy([Value(0.3)], 0, threshold=0.5) == 1        # a probability of 0.3
    assert accuracy([Value(0.1), Value(2.0), Value(-1.0)], 1) == 1
    assert accuracy([0.1, 2.0, -1.0], 2) == 0


@pytest.mark.parametrize("make, n, classes", [
    (data.moons, 100, 2), (data.circles, 100, 2), (data.spiral, 150, 3), (data.xor, 4, 2),
    (data.blobs, 100, 3), (data.fruit, 30, 3),
])
def test_data_sets_are_seeded_and_balanced(make, n, classes):
    a, b = make(), make()
    assert (a.X, a.y) == (b.X, b.y) and len(a) == n
    assert sorted(set(a.y)) == list(range(classes)) and len(a.classes) == classes
    counts = [a.y.count(c) for c in range(classes)]
    assert max(counts) - min(counts) <= 1 or make is data.xor
    assert all(len(x) == len(a.features) for x in a.X)
    if make is not data.xor:
        assert make(seed=1).X != a.X


def test_data_set_details():
    moons = data.moons(10, noise=0.0, labels=(-1, 1))
    assert sorted(set(moons.y)) == [-1, 1] and moons.labels == [-1, 1]
    assert [0.0, 0.5] in moons.X and [1.0, 0.0] in moons.X       # noise-free end points
    assert data.xor().X == [[0, 0], [0, 1], [1, 0], [1, 1]] and data.xor().y == [0, 1, 1, 0]
    assert len(data.xor(50)) == 50
    dosage = data.dosage()
    assert list(dosage) == [([0.0], 0.0), ([0.5], 1.0), ([1.0], 0.0)]
    assert dosage.task == "regression"
    assert data.fruit().features == ["weight", "colour", "texture", "size"]
    z = data.fruit().standardized()
    column = [x[0] for x in z.X]
    assert sum(column) / len(column) == pytest.approx(0, abs=1e-12)
    assert sum(v * v for v in column) / len(column) == pytest.approx(1)
    with pytest.raises(ValueError, match="labels needs one value per class"):
        data.moons(labels=(1, 2, 3))
    with pytest.raises(ValueError, match="n must be an int >= 2"):
        data.circles(1)


@pytest.mark.parametrize("name", sorted(data.SOURCES))
def test_each_data_source_says_how_to_train_on_it(name):
    source = data.SOURCES[name]
    ds = source.load(seed=1)
    assert data.BY_NAME[name] is source.make and ds.name == name
    assert losses.get(source.loss) is {"mse": losses.mse, "hinge": losses.hinge,
                                       "cross_entropy": losses.cross_entropy}[source.loss]
    if source.regression:
        assert ds.task == "regression" and source.metric is None and source.outputs(ds) == 1
    elif source.binary:
        assert sorted(set(ds.y)) == [-1, 1] and source.outputs(ds) == 1
    else:
        assert sorted(set(ds.y)) == list(range(len(ds.classes))) == list(range(source.outputs(ds)))
    if source.standardize:
        first = [x[0] for x in ds.X]
        assert sum(first) / len(first) == pytest.approx(0, abs=1e-12)
    if source.generated:
        assert len(source.load(samples=30)) == 30
    else:
        with pytest.raises(ValueError, match=f"{name} is a fixed textbook data set"):
            source.load(samples=30)


def test_split_and_standardize_a_test_set_with_training_statistics():
    ds = data.Dataset("toy", [[1.0], [3.0], [5.0], [100.0]], [0, 1, 0, 1], ["x"], ["a", "b"])
    train, test = ds.split(3)
    assert train.X == [[1.0], [3.0], [5.0]] and test.X == [[100.0]] and test.y == [1]
    # training mean 3, standard deviation sqrt(8/3): the test point is scaled by those
    assert test.standardized(using=train).X[0][0] == pytest.approx(97 / math.sqrt(8 / 3))
    assert [x[0] for x in train.standardized().X] == pytest.approx(
        [-2 / math.sqrt(8 / 3), 0.0, 2 / math.sqrt(8 / 3)])
    with pytest.raises(ValueError, match="split"):
        ds.split(4)


@pytest.mark.parametrize("engine", ["scalar", "replay"])
def test_a_mode_a_ctrl_c_leaves_set_inside_a_step_does_not_outlive_fit(engine, monkeypatch):
    # a Ctrl-C that lands between no_grad() setting its mode and the block being entered
    # (here: forced, in the optimizer's third update) must not leave graphs unrecorded after
    # fit: each step runs in a copy of the caller's context
    from tracegrad.engine import modes
    calls = []

    def leaky(self, *args):
        calls.append(1)
        if len(calls) == 3:
            modes._mode.set(modes._MODES[False, False])     # the mode set, the block not entered
            raise KeyboardInterrupt
        return original(self, *args)
    name = "step_arrays" if engine == "replay" else "step"
    original = getattr(optim.SGD, name)
    monkeypatch.setattr(optim.SGD, name, leaky)
    model = MLP(2, [3, 1], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, data.moons(8, seed=0), "mse", opt, max_steps=5, progress=False,
                  engine=engine)
    assert history.stopped == "interrupted" and len(history) == 2
    assert modes.is_grad_enabled()
    x = Value(3.0)
    y = x * x
    y.backward()
    assert x.grad == 6.0                                    # graphs are recorded again

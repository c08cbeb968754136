"""The digits data set (nn/digits.py, UCI optdigits' test set) and the workload that trains an
MLP on it with replay to at least 95% test accuracy."""
import pytest

from tracegrad.nn import MLP, data, fit, optim
from tracegrad.nn.activations import argmax
from tracegrad.nn.data import digits
from tracegrad.nn.digits import picture

ONE_HOT = [[1.0 * (k == d) for k in range(10)] for d in range(10)]


def test_the_digits_are_uci_optdigits_test_set():
    ds = digits()
    assert len(ds) == 1797 and len(ds.features) == 64 and ds.classes == list("0123456789")
    counts = [ds.y.count(d) for d in range(10)]
    assert counts == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]   # as UCI lists them
    assert all(0 <= v <= 1 for x in ds.X for v in x)
    assert {round(v * 16, 9) % 1 for x in ds.X[:50] for v in x} == {0}   # counts 0..16
    assert data.BY_NAME["digits"] is digits


def test_shuffled_by_seed_and_labels_chosen_per_class():
    a, b = digits(seed=1), digits(seed=1)
    assert a.X == b.X and a.X != digits(seed=2).X
    hot = digits(labels=ONE_HOT)
    assert all(len(y) == 10 and sum(y) == 1 for y in hot.y)
    assert len(digits(n=100)) == 100


def test_a_digit_as_text():
    rows = picture([0.0] * 63 + [1.0]).splitlines()      # one dark pixel, bottom right
    assert rows[:7] == [" " * 16] * 7 and rows[7] == " " * 14 + "@@"
    assert len(picture(digits().X[0]).splitlines()) == 8


@pytest.mark.slow
def test_an_mlp_learns_the_digits_with_replay():
    pytest.importorskip("numpy")
    train, test = digits(labels=ONE_HOT).split(1500)
    model = MLP(64, [16, 10], seed=0)
    fit(model, train, "mse", optim.SGD(model.parameters(), lr=0.3, momentum=0.9), epochs=30,
        batch_size=100, progress=False, engine="replay")
    right = sum(argmax(model(x)) == argmax(y) for x, y in test)
    assert right / len(test) >= 0.95

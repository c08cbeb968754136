"""Toy data sets, generated with a seeded random.Random (no scikit-learn): moons, circles,
spiral, xor, blobs; and the textbook examples: StatQuest's three-point dosage/efficacy set
and height/weight line, a small fruit set and the 8x8 handwritten digits. Each is a Dataset of (x, y) pairs;
SOURCES says how to train on each (generated or fixed, binary, standardised, loss, metric).
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence

from tracegrad.engine.value import Number

from . import digits as _digits

Sample = tuple[list[float], Number]        # (x, y): a feature list and its target
Point = tuple[list[float], int]           # (x, class index), before the labels are applied


class Dataset:
    """Inputs X (a list of feature lists) and targets y. Iterating gives (x, y) pairs.
    For a classification set, classes names the classes and labels[i] is the target
    value used for class i (class indices 0, 1, ... unless you chose e.g. -1/+1)."""

    def __init__(self, name: str, X: Sequence[Iterable[float]], y: Sequence[Number],
                 features: Iterable[str], classes: Iterable[str] | None = None,
                 labels: Iterable[Number] | None = None, description: str = "") -> None:
        if len(X) != len(y):
            raise ValueError(f"Dataset {name}: {len(X)} inputs but {len(y)} targets")
        self.name, self.X, self.y = name, [list(x) for x in X], list(y)
        self.features = list(features)
        self.classes = list(classes) if classes is not None else None
        self.labels = list(labels) if labels is not None else None
        self.description = description

    @property
    def task(self) -> str:
        return "classification" if self.classes is not None else "regression"

    def __len__(self) -> int:
        return len(self.y)

    def __iter__(self) -> Iterator[Sample]:
        return iter(zip(self.X, self.y))

    def __getitem__(self, i: int) -> Sample:
        return self.X[i], self.y[i]

    def __repr__(self) -> str:
        what = (f"classes {self.classes}" if self.classes is not None
                else f"target {self.description or 'y'}")
        return (f"Dataset({self.name!r}, {len(self)} samples, "
                f"features {self.features}, {what})")

    def standardized(self, using: Dataset | None = None) -> Dataset:
        """A copy whose every feature has mean 0 and standard deviation 1 over `using`
        (default: this set). Standardise a test set with its training set's statistics,
        test.standardized(using=train), so nothing about the test set leaks into training."""
        columns = list(zip(*(using or self).X))
        means = [sum(c) / len(c) for c in columns]
        stds = [math.sqrt(sum((v - m) ** 2 for v in c) / len(c)) or 1.0
                for c, m in zip(columns, means)]
        X = [[(v - m) / s for v, m, s in zip(x, means, stds)] for x in self.X]
        return self._with(X, self.y)

    def split(self, n: int) -> tuple[Dataset, Dataset]:
        """(the first n samples, the rest) as two Datasets: e.g. training and test sets."""
        if not 0 < n < len(self):
            raise ValueError(f"Dataset {self.name}: split({n!r}) needs 0 < n < {len(self)}")
        return self._with(self.X[:n], self.y[:n]), self._with(self.X[n:], self.y[n:])

    def _with(self, X: list[list[float]], y: list[Number]) -> Dataset:
        return Dataset(self.name, X, y, self.features, self.classes, self.labels,
                       self.description)


def _classified(name: str, points: list[Point], classes: list[str],
                labels: Iterable[Number] | None, rng: random.Random,
                description: str = "") -> Dataset:
    """A shuffled classification Dataset from (x, class index) points."""
    labels = list(range(len(classes))) if labels is None else list(labels)
    if len(labels) != len(classes):
        raise ValueError(f"{name}: labels needs one value per class "
                         f"({len(classes)}: {', '.join(map(str, classes))}), got {labels!r}")
    rng.shuffle(points)
    return Dataset(name, [x for x, _ in points], [labels[c] for _, c in points],
                   ["x1", "x2"], classes, labels, description)


MAX_SAMPLES = 100_000     # each sample's forward pass is a graph of Values: more is hours


def _check_n(name: str, n: object, least: int = 2) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not least <= n <= MAX_SAMPLES:
        raise ValueError(f"{name}: n must be an int >= {least} (and at most {MAX_SAMPLES:,}: "
                         f"a scalar engine builds a graph per sample), got {n!r}")


def _spread(i: int, count: int, span: float) -> float:
    """The i-th of count evenly spaced numbers from 0 to span (both ends included)."""
    return span * i / (count - 1) if count > 1 else 0.0


def moons(n: int = 100, noise: float = 0.1, seed: int | None = 0,
          labels: Iterable[Number] | None = None) -> Dataset:
    """Two interleaving half circles: class 0 on top (cos t, sin t), class 1 below
    (1 - cos t, 1/2 - sin t), t from 0 to pi, plus Gaussian noise of sd `noise`."""
    _check_n("moons", n)
    rng = random.Random(seed)
    top, bottom = n // 2, n - n // 2
    points = []
    for i in range(top):
        t = _spread(i, top, math.pi)
        points.append(([math.cos(t) + rng.gauss(0, noise), math.sin(t) + rng.gauss(0, noise)], 0))
    for i in range(bottom):
        t = _spread(i, bottom, math.pi)
        points.append(([1 - math.cos(t) + rng.gauss(0, noise),
                        0.5 - math.sin(t) + rng.gauss(0, noise)], 1))
    return _classified("moons", points, ["top", "bottom"], labels, rng,
                       "two interleaving half circles")


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int | None = 0,
            labels: Iterable[Number] | None = None) -> Dataset:
    """A circle of radius 1 (class 0) around a circle of radius `factor` (class 1)."""
    _check_n("circles", n)
    if not 0 < factor < 1:
        raise ValueError(f"circles: factor (inner radius) must be between 0 and 1, got {factor!r}")
    rng = random.Random(seed)
    outer = n // 2
    points = []
    for i in range(n):
        cls, count, k = (0, outer, i) if i < outer else (1, n - outer, i - outer)
        t = 2 * math.pi * k / count
        r = 1.0 if cls == 0 else factor
        points.append(([r * math.cos(t) + rng.gauss(0, noise),
                        r * math.sin(t) + rng.gauss(0, noise)], cls))
    return _classified("circles", points, ["outer", "inner"], labels, rng, "two circles")


def spiral(n: int = 150, classes: int = 3, noise: float = 0.2, seed: int | None = 0,
           labels: Iterable[Number] | None = None) -> Dataset:
    """`classes` arms of a spiral (CS231n's data set): radius r from 0 to 1, angle
    4(k + r) + noise for arm k."""
    _check_n("spiral", n, classes)
    rng = random.Random(seed)
    points = []
    for k in range(classes):
        count = n // classes + (1 if k < n % classes else 0)
        for i in range(count):
            r = _spread(i, count, 1.0)
            t = 4 * (k + r) + rng.gauss(0, noise)
            points.append(([r * math.sin(t), r * math.cos(t)], k))
    return _classified("spiral", points, [f"arm {k}" for k in range(classes)], labels, rng,
                       f"{classes}-armed spiral")


def xor(n: int | None = None, seed: int | None = 0,
        labels: Iterable[Number] | None = None) -> Dataset:
    """Exclusive or. n=None: the four rows of the truth table (0,0)->0 (0,1)->1 (1,0)->1
    (1,1)->0, which no single neuron can fit. Else n points uniform in [-1, 1]^2, class 1
    where exactly one coordinate is positive."""
    rng = random.Random(seed)
    if n is None:
        points = [([0.0, 0.0], 0), ([0.0, 1.0], 1), ([1.0, 0.0], 1), ([1.0, 1.0], 0)]
        labels = list(range(2)) if labels is None else list(labels)
        return Dataset("xor", [x for x, _ in points], [labels[c] for _, c in points],
                       ["x1", "x2"], ["false", "true"], labels, "the XOR truth table")
    _check_n("xor", n)
    points = []
    for _ in range(n):
        a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
        points.append(([a, b], int((a > 0) != (b > 0))))
    return _classified("xor", points, ["same sign", "opposite signs"], labels, rng,
                       "XOR of the signs")


def blobs(n: int = 100, centers: int | Sequence[Sequence[float]] = 3, std: float = 0.4,
          seed: int | None = 0, labels: Iterable[Number] | None = None) -> Dataset:
    """Gaussian clouds (sd `std`) around `centers`: a list of 2-D points, or a number k
    of centers spaced evenly on a circle of radius 2."""
    if isinstance(centers, int):
        centers = [[2 * math.cos(2 * math.pi * k / centers), 2 * math.sin(2 * math.pi * k / centers)]
                   for k in range(centers)]
    _check_n("blobs", n, len(centers))
    rng = random.Random(seed)
    points = [([c + rng.gauss(0, std) for c in centers[i % len(centers)]], i % len(centers))
              for i in range(n)]
    return _classified("blobs", points, [f"blob {k}" for k in range(len(centers))], labels, rng,
                       "Gaussian blobs")


def dosage() -> Dataset:
    """StatQuest's neural-network example: drug dosage 0, 0.5, 1 -> efficacy 0, 1, 0
    (low and high doses do not work, the middle one does)."""
    return Dataset("dosage", [[0.0], [0.5], [1.0]], [0.0, 1.0, 0.0], ["dosage"],
                   description="efficacy")


def height_weight() -> Dataset:
    """StatQuest's gradient-descent example: weight 0.5, 2.3, 2.9 -> height 1.4, 1.9, 3.2.
    The least-squares line is height = 0.95 + 0.64 weight (to two places)."""
    return Dataset("height_weight", [[0.5], [2.3], [2.9]], [1.4, 1.9, 3.2], ["weight"],
                   description="height")


FRUIT = {   # class: (weight kg, hue in turns (0 red, 0.08 orange, 0.15 yellow), roughness, length dm)
    "apple": (0.18, 0.01, 0.1, 0.8),
    "banana": (0.12, 0.15, 0.2, 1.9),
    "orange": (0.20, 0.08, 0.7, 0.8),
}
FRUIT_SPREAD = (0.03, 0.02, 0.08, 0.12)   # sd of each feature within a class


def fruit(n: int = 30, seed: int | None = 0, labels: Iterable[Number] | None = None) -> Dataset:
    """A small fruit set: weight (kg), colour (hue in turns: 0 red, 0.08 orange,
    0.15 yellow), texture (roughness 0 smooth .. 1 rough) and size (length in dm)
    -> apple, banana or orange. n samples, as equal per class as n allows."""
    _check_n("fruit", n, len(FRUIT))
    rng = random.Random(seed)
    names = list(FRUIT)
    points = []
    for i in range(n):
        k = i % len(names)
        points.append(([round(max(0.0, m + rng.gauss(0, s)), 3)
                        for m, s in zip(FRUIT[names[k]], FRUIT_SPREAD)], k))
    data = _classified("fruit", points, names, labels, rng, "fruit by weight, colour, texture, size")
    data.features = ["weight", "colour", "texture", "size"]
    return data


def digits(n: int | None = None, seed: int | None = 0,
           labels: Iterable[Number] | None = None) -> Dataset:
    """The 8x8 handwritten digits (nn/digits.py, DIGITS.md) as a Dataset of 64 features
    (pixels row by row, 0..1) and 10 classes, shuffled with random.Random(seed); n: the
    first n of them (all 1,797 by default). labels: the target used for each digit (e.g.
    one-hot lists), else the digit itself."""
    points = _digits.read()
    if n is not None:
        _check_n("digits", n, 10)
    rng = random.Random(seed)
    data = _classified("digits", points, [str(d) for d in range(10)], labels, rng,
                       "8x8 handwritten digits")
    side = _digits.SIDE
    data.features = [f"p{r}{c}" for r in range(side) for c in range(side)]
    return data if n is None or n >= len(data) else data.split(n)[0]


class Source:
    """How to train on one named data set, for the command line and for a learner:
    generated (it takes n and seed) or a fixed textbook set; binary (two classes, scored by
    one output against labels -1/+1 with the hinge loss, as micrograd does); standardize
    (features on different scales: give each mean 0 and sd 1 first); regression (the
    target is a number: mse, no accuracy)."""

    def __init__(self, make: Callable[..., Dataset], generated: bool = True, binary: bool = False,
                 standardize: bool = False, regression: bool = False) -> None:
        self.make, self.generated, self.binary = make, generated, binary
        self.standardize, self.regression = standardize, regression
        self.loss = "mse" if regression else "hinge" if binary else "cross_entropy"
        self.metric = None if regression else "accuracy"

    def load(self, samples: int | None = None, seed: int | None = 0) -> Dataset:
        """The Dataset, ready to train on: seeded, labelled -1/+1 if binary, standardised
        if it needs it. samples: how many points to generate (None: the set's default)."""
        name = self.make.__name__
        if not self.generated:
            if samples is not None:
                raise ValueError(f"{name} is a fixed textbook data set of {len(self.make())} "
                                 "samples: a number of samples is for generated sets only")
            return self.make()
        options: dict[str, object] = {"seed": seed, "labels": (-1, 1) if self.binary else None}
        if samples is not None:
            options["n"] = samples
        data = self.make(**options)
        return data.standardized() if self.standardize else data

    def outputs(self, data: Dataset) -> int:
        """How many outputs a network needs: one score, or one logit per class."""
        # a classification set always has classes (mypy sees Dataset.classes: list | None)
        return 1 if self.regression or self.binary else len(data.classes)  # type: ignore[arg-type]


SOURCES = {
    "moons": Source(moons, binary=True), "circles": Source(circles, binary=True),
    "xor": Source(xor, binary=True), "spiral": Source(spiral), "blobs": Source(blobs),
    "fruit": Source(fruit, standardize=True), "digits": Source(digits),
    "dosage": Source(dosage, generated=False, regression=True),
    "height_weight": Source(height_weight, generated=False, regression=True),
}
BY_NAME = {name: source.make for name, source in SOURCES.items()}

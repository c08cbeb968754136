"""The 8x8 handwritten digits: 1,797 images by 13 writers (UCI optdigits test set, CC BY 4.0;
source and licence in DIGITS.md), read from digits.csv.gz beside this file. Pixels are counts
0..16, scaled to 0..1; the target is the digit 0..9.
"""
import gzip
import os
import random

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv.gz")
SIDE = 8


def digits(n=None, seed=0, labels=None):
    """The digits as a Dataset of 64 features (pixels row by row, 0..1) and 10 classes,
    shuffled with random.Random(seed); n: the first n of them (all 1,797 by default).
    labels: the target used for each digit (e.g. one-hot lists), else the digit itself."""
    from .data import _check_n, _classified
    points = _read()
    if n is not None:
        _check_n("digits", n, 10)
    rng = random.Random(seed)
    data = _classified("digits", points, [str(d) for d in range(10)], labels, rng,
                       "8x8 handwritten digits")
    data.features = [f"p{r}{c}" for r in range(SIDE) for c in range(SIDE)]
    return data if n is None or n >= len(data) else data.split(n)[0]


def _read():
    with gzip.open(PATH, "rt", encoding="ascii") as f:
        rows = [line.split(",") for line in f.read().split()]
    return [([int(v) / 16 for v in row[:-1]], int(row[-1])) for row in rows]


def picture(pixels):
    """An image as text, one row a line, darker pixels as denser characters: for a quick look."""
    shades = " .:-=+*#%@"
    return "\n".join("".join(shades[min(9, int(p * 9.99))] * 2 for p in pixels[r * SIDE:(r + 1) * SIDE])
                     for r in range(SIDE))

"""The 8x8 handwritten digits: 1,797 images by 13 writers (UCI optdigits test set, CC BY 4.0;
source and licence in DIGITS.md), read from digits.csv.gz beside this file. Pixels are counts
0..16, scaled to 0..1; the target is the digit 0..9. nn.data.digits() makes them a Dataset.
"""
from __future__ import annotations

import gzip
import os

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv.gz")
SIDE = 8


def read() -> list[tuple[list[float], int]]:
    """Every digit as (64 pixels row by row, 0..1; the digit), in the file's order."""
    with gzip.open(PATH, "rt", encoding="ascii") as f:
        rows = [line.split(",") for line in f.read().split()]
    return [([int(v) / 16 for v in row[:-1]], int(row[-1])) for row in rows]


def picture(pixels: list[float]) -> str:
    """An image as text, one row a line, darker pixels as denser characters: for a quick look."""
    shades = " .:-=+*#%@"
    return "\n".join("".join(shades[min(9, int(p * 9.99))] * 2 for p in pixels[r * SIDE:(r + 1) * SIDE])
                     for r in range(SIDE))

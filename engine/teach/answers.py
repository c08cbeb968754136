"""Reading a hand answer as the checker reads it: `19/5`, `-1.5`, `0.7864`, `1e-3`.

A typed number keeps what the student wrote: its exact value, how many significant digits,
and the place of the last digit. `agrees(target, answer)`: an exact target (int, Fraction)
needs the exact value; a float target accepts an answer right to the digits given (at least
MIN_DIGITS significant ones). practice.js compares the same way on the page.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, NamedTuple


NOT_A_NUMBER = "{text} is not a number: write 2, -1.5, 0.79 or 19/5"   # (practice.js too)
MIN_DIGITS = 2          # a rounded float answer must give at least this many significant digits
MAX_POWER = 400         # |k| in 1ek: Fraction('1e99999999') would take minutes
CLOSE = 1e-9            # a float answer this close (relative) is the number itself
_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_FRACTION = re.compile(r"^[+-]?\d+\s*/\s*[+-]?\d+$")


class Answer(NamedTuple):
    """A number as typed: its exact value; for a decimal, its significant digits and the
    power of ten of its last digit (for a fraction typed as p/q: None, it is exact)."""
    text: str
    value: Fraction
    digits: int | None
    place: int | None


class Unreadable(ValueError):
    """Text that is not a number a student would write; the message says what is."""


def read_answer(text: str) -> Answer:
    """'19/5', '-1.5', '0.79', '2', '1e-3' as an Answer (raises Unreadable otherwise)."""
    clean = str(text).strip().replace("\u2212", "-")    # a typographic minus
    if len(clean) > 60 or not (_DECIMAL.match(clean) or _FRACTION.match(clean)):
        raise Unreadable(NOT_A_NUMBER.format(text=repr(str(text).strip()[:30])))
    if "/" in clean:
        top, bottom = clean.split("/")
        if int(bottom) == 0:
            raise Unreadable(f"{clean!r} divides by zero")
        return Answer(clean, Fraction(int(top), int(bottom)), None, None)
    mantissa, _, power = clean.lower().lstrip("+-").partition("e")
    if power and abs(int(power)) > MAX_POWER:
        raise Unreadable(f"{clean!r} is out of range: a hand answer is between "
                         f"1e-{MAX_POWER} and 1e{MAX_POWER} in size")
    whole, _, decimals = mantissa.partition(".")
    digits = len((whole + decimals).lstrip("0")) or 1
    place = (int(power) if power else 0) - len(decimals)
    return Answer(clean, Fraction(clean), digits, place)


def is_exact(x: object) -> bool:
    """An int or Fraction (exact mode), not a float."""
    return isinstance(x, (int, Fraction)) and not isinstance(x, bool)


def agrees(target: Any, answer: Answer, min_digits: int = MIN_DIGITS) -> bool:
    """Is answer the number target? Exact targets need the exact value; a float target
    takes a fraction within CLOSE, or a decimal right to its last digit (half a unit there)
    when it gives at least min_digits significant digits."""
    if is_exact(target):
        return answer.value == target
    t = float(target)
    if not math.isfinite(t):
        return False
    v = float(answer.value)
    if math.isclose(v, t, rel_tol=CLOSE, abs_tol=1e-12):
        return True
    if answer.place is None or answer.digits is None or answer.digits < min_digits:
        return False
    return abs(v - t) <= 0.5 * 10.0 ** answer.place * (1 + 1e-9)


def too_few_digits(target: Any, answer: Answer, min_digits: int = MIN_DIGITS) -> bool:
    """True when answer is target rounded, but to fewer than min_digits significant digits."""
    if is_exact(target) or answer.place is None or agrees(target, answer, min_digits):
        return False
    return abs(float(answer.value) - float(target)) <= 0.5 * 10.0 ** answer.place * (1 + 1e-9)


def as_json(x: Any) -> dict[str, str]:
    """A number for the practice page's script: {'p': num, 'q': den} exact, else {'f': repr}."""
    if is_exact(x):
        x = Fraction(x)
        return {"p": str(x.numerator), "q": str(x.denominator)}
    return {"f": repr(float(x))}

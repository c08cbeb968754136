"""What check_grad (check.py) and its formula checks (formula.py) give back: the GradCheck
table, the GradCheckFailed error that carries it, the tolerance for values worked out on paper,
and the advice on loosening a comparison, in the words of the interface that asked.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from ..text import fmt
from ..value import Number
from .notation import table

Loosen = tuple[str, Number]        # a keyword and the value that would let a comparison pass

EXPECTED_RTOL, EXPECTED_ATOL = 1e-9, 1e-12   # autograd vs a float worked out on paper

# how each keyword of check_grad is spelled where it is used: in Python, and (teach/cli.py)
# on the command line; a failure says how to loosen the comparison in these words
PYTHON_WORDS = {"digits": "digits={}", "expected_rtol": "expected_rtol={}", "rtol": "rtol={}"}


class GradCheck(NamedTuple):
    """The outcome of check_grad: str() of it is the table; in Jupyter it shows as HTML.

    loosen: (keyword, value) pairs that would let a failing comparison pass."""
    table: str
    passed: bool
    autograd: list[Number]
    numerical: list[float]
    title: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    loosen: tuple[Loosen, ...] = ()

    def __str__(self) -> str:
        return self.table

    def __repr__(self) -> str:       # at a >>> prompt the table, as the README shows it
        return self.table

    def text(self, words: Mapping[str, str] = PYTHON_WORDS) -> str:
        """The title, how to loosen a failing comparison (in `words`), and the table."""
        advice = _advice(self.loosen, words)
        return "\n".join([self.title] + ([advice] if advice else []) +
                         [table(self.header, self.rows)])

    def _repr_html_(self) -> str:
        from .export import html_table
        return html_table(self.header, self.rows, self.title, _advice(self.loosen, PYTHON_WORDS))


class GradCheckFailed(AssertionError):
    """check_grad failed: the message is the table; .result is the GradCheck."""

    def __init__(self, result: GradCheck) -> None:
        super().__init__(result.table)
        self.result = result


def _advice(loosen: Iterable[Loosen], words: Mapping[str, str]) -> str:
    """How to loosen each failing comparison, in the interface's words ('' if none)."""
    said = {key: words[key].format(fmt(value, 2)) for key, value in loosen}
    parts = []
    if "digits" in said or "expected_rtol" in said:
        options = [said[k] for k in ("digits", "expected_rtol") if k in said]
        parts.append("if the expected values were rounded by hand, say so: "
                     + " or ".join(options))
    if "rtol" in said:
        parts.append(f"central differences are approximate: allow {said['rtol']}")
    return "; ".join(parts)

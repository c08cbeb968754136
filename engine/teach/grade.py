"""Grading a worked table: read a student's filled CSV (a worksheet's, or the layout of
`tracegrad steps --format csv` or `tracegrad forward --format csv`), match each number to its
cell of the graph and diagnose it (mistakes.py): right, or which known mistake gives it.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .answers import MIN_DIGITS
from .mistakes import Cell, Verdict, backward_cells, diagnose, forward_cells
from .notation import table
from .steps import backward_steps
from ..text import fmt
from ..value import Value

# the worksheet's CSV: one row per cell; a student fills in `answer`
SHEET_HEADER = ("table", "step", "quantity", "node", "parent", "asks", "answer")


class Graded(NamedTuple):
    """One cell, what the student wrote, and the verdict."""
    cell: Cell
    answer: str
    verdict: Verdict


class Grade(NamedTuple):
    """Every cell graded, in table order; str() is the report (the first wrong cell first)."""
    title: str
    cells: tuple[Graded, ...]
    ignored: tuple[str, ...] = ()

    @property
    def right(self) -> int:
        return sum(g.verdict.right for g in self.cells)

    @property
    def passed(self) -> bool:
        return self.right == len(self.cells)

    def text(self) -> str:
        wrong = [g for g in self.cells if not g.verdict.right]
        lines = [f"{self.title}: {self.right} of {len(self.cells)} right"
                 + ("" if wrong else ", all right")]
        if wrong:
            lines.append("first wrong: " + _where(wrong[0]) + ": " + _said(wrong[0]))
        rows = [(g.cell.table, str(g.cell.step), g.cell.quantity, g.cell.node, g.cell.parent,
                 g.cell.asks, g.answer, "right" if g.verdict.right else
                 "wrong: " + g.verdict.message)
                for g in self.cells]
        lines.append(table(("table", "step", "quantity", "node", "parent", "asks", "answer",
                            "result"), rows))
        lines += [f"ignored: {why}" for why in self.ignored]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _where(g: Graded) -> str:
    c = g.cell
    return (f"{c.table} step {c.step}, {c.asks}" + (f" (into {c.parent})" if c.parent and
                                                    c.quantity != "grad" else ""))


def _said(g: Graded) -> str:
    shown = f"you wrote {g.answer}: " if g.answer.strip() else ""
    return f"wrong, {shown}{g.verdict.message}"


def cells_of(root: Value) -> list[Cell]:
    """Every cell of root's forward and backward tables (runs one fresh backward pass)."""
    return forward_cells(root) + backward_cells(backward_steps(root))


def grade(root: Value, text: str, min_digits: int = MIN_DIGITS, title: str = "") -> Grade:
    """Grade the CSV text of a filled table against root's graph: the worksheet's layout
    grades every cell (a missing one is blank); a steps or forward table grades its own."""
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ValueError("grade: the table is empty; give the worksheet's CSV or a table "
                         "written by tracegrad steps/forward --format csv")
    header = tuple(h.strip() for h in rows[0])
    cells = cells_of(root)
    if header == SHEET_HEADER:
        answers, ignored = _sheet(rows[1:], cells)
    elif header[:2] == ("step", "node") and len(header) == 7 and header[3] == "parent":
        cells = [c for c in cells if c.table == "backward"]
        answers, ignored = _steps(rows[1:], cells)
    elif header == ("step", "node", "formula", "with numbers", "value"):
        cells = [c for c in cells if c.table == "forward"]
        answers, ignored = _forward(rows[1:], cells)
    else:
        raise ValueError(f"grade: the header {', '.join(header)[:80]!r} is not a table grade "
                         f"reads: the worksheet's ({', '.join(SHEET_HEADER)}), or the one "
                         "tracegrad steps --format csv or forward --format csv writes")
    graded = tuple(Graded(c, answers.get(k, ""), diagnose(c, answers.get(k, ""), min_digits))
                   for k, c in enumerate(cells))
    return Grade(title or "graded", graded, tuple(ignored))


def _number(text: str) -> str:
    """The number in a table cell: '2' from 'b = 2', '0.5' from '1 - tanh(n)^2 = 0.5'."""
    return text.rsplit("=", 1)[-1].strip()


def _key(cell: Cell, seen: dict[tuple, int]) -> tuple:
    """A cell's key as a row names it: table, step, quantity, node, parent, and which
    occurrence of that parent (x*x sends to x twice)."""
    base = (cell.table, cell.step, cell.quantity, cell.node, cell.parent)
    seen[base] = seen.get(base, -1) + 1
    return base + (seen[base],)


def _sheet(rows: Iterable[Sequence[str]], cells: list[Cell]) -> tuple[dict[int, str], list[str]]:
    seen: dict[tuple, int] = {}
    index = {_key(c, seen): k for k, c in enumerate(cells)}
    answers: dict[int, str] = {}
    ignored: list[str] = []
    seen = {}
    for row in rows:
        row = list(row) + [""] * (len(SHEET_HEADER) - len(row))
        kind, step, quantity, node, parent, _, answer = (c.strip() for c in row[:7])
        base = (kind, int(step) if step.isdigit() else step, quantity, node, parent)
        seen[base] = seen.get(base, -1) + 1
        k = index.get(base + (seen[base],))
        if k is None:
            ignored.append(f"a row for {kind} step {step} {quantity} {node} {parent}".rstrip()
                           + " that this graph does not have")
            continue
        answers[k] = answer
    return answers, ignored


def _steps(rows: Iterable[Sequence[str]], cells: list[Cell]) -> tuple[dict[int, str], list[str]]:
    """A backward_steps table: a step's first row names the node and its upstream; each row
    gives one parent's local derivative, contribution and new .grad."""
    by_step: dict[int, list[int]] = {}
    for k, c in enumerate(cells):
        by_step.setdefault(c.step, []).append(k)
    answers: dict[int, str] = {}
    ignored: list[str] = []
    step, j = 0, 0
    for row in rows:
        row = [c.strip() for c in row] + [""] * (7 - len(row))
        if row[0]:
            step, j = int(row[0]) if row[0].isdigit() else -1, 0
            if step in by_step:
                answers[by_step[step][0]] = _number(row[2])        # the upstream
        ks = by_step.get(step, [])[1:]
        if 3 * j + 2 >= len(ks) or cells[ks[3 * j]].parent != row[3]:
            ignored.append(f"step {row[0] or step}: the row for parent {row[3]!r} does not "
                           "match the graph's steps")
        else:
            for offset, column in enumerate((4, 5, 6)):
                answers[ks[3 * j + offset]] = _number(row[column])
        j += 1
    return answers, ignored


def _forward(rows: Iterable[Sequence[str]], cells: list[Cell]) -> tuple[dict[int, str], list[str]]:
    index = {(c.step, c.node): k for k, c in enumerate(cells)}
    answers: dict[int, str] = {}
    for row in rows:
        row = [c.strip() for c in row] + [""] * (5 - len(row))
        k = index.get((int(row[0]) if row[0].isdigit() else -1, row[1]))
        if k is not None:
            answers[k] = row[4]
    return answers, []


def blank_sheet(cells: Iterable[Cell], key: bool = False) -> str:
    """The worksheet's CSV: one row per cell, the answer blank (or, for the key, filled)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SHEET_HEADER)
    for c in cells:
        writer.writerow((c.table, c.step, c.quantity, c.node, c.parent, c.asks,
                         _exact_text(c.right) if key else ""))
    return out.getvalue()


def _exact_text(x: object) -> str:
    """A key's number as a student may type it back: exact, or a float to 10 digits."""
    return fmt(x, 10)

"""Practice mode for the stepper: `stepper(root, practice=True)` asks, step by step, for each
number before it is shown: a forward step's value; a backward step's local derivative,
contribution and new .grad per parent. This file writes the questions into the page: each
cell's right number and the number each known mistake gives (from mistakes.py), so the
page's script (practice.js) only reads the typed number and compares.
"""
from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from .answers import CLOSE, MIN_DIGITS, as_json
from .mistakes import MESSAGES, NEAR, Cell, backward_cells, forward_cells
from .stepper_page import _asset, script_safe
from ..graph import on_paths
from ..text import fmt

if TYPE_CHECKING:
    from .stepper import Stepper

LABELS = {"value": "value", "local": "local derivative", "contribution": "contribution",
          "grad": "new .grad"}


def options(practice: Any) -> dict[str, int]:
    """practice=True, or {'min_digits': N}: the options practice mode runs with."""
    if practice is True:
        return {"min_digits": MIN_DIGITS}
    if isinstance(practice, dict) and set(practice) <= {"min_digits"}:
        digits = practice.get("min_digits", MIN_DIGITS)
        if type(digits) is int and 1 <= digits <= 17:
            return {"min_digits": digits}
    raise ValueError(f"stepper: practice={practice!r}; give True, or {{'min_digits': N}} "
                     "with N from 1 to 17 (the significant digits a rounded answer needs)")


def questions(page: Stepper) -> dict[str, list[dict[str, Any]]]:
    """The cells to answer, by the stepper's timeline step: each forward step's value, each
    backward step's local derivative, contribution and new .grad per parent."""
    timeline = page.data["steps"]
    path = on_paths(page.order, page.focus) if page.focus is not None else None
    forward = {c.node: c for c in forward_cells(page.root)}
    computed = [n for n in page.order if not n.is_leaf and (path is None or n in path)]
    asked: dict[str, list[dict[str, Any]]] = {}
    for k, node in enumerate(computed, 1):
        assert timeline[k]["kind"] == "forward"
        asked[str(k)] = [_cell(forward[page.names[node]], page.digits)]
    seed = len(computed) + 1
    assert timeline[seed]["kind"] == "seed"
    for cell in backward_cells(page.steps):
        if cell.quantity != "upstream":
            asked.setdefault(str(seed + cell.step), []).append(_cell(cell, page.digits))
    return asked


def _cell(cell: Cell, digits: int) -> dict[str, Any]:
    parent = f"{cell.parent}: " if cell.parent else ""
    return {"table": cell.table, "step": cell.step, "quantity": cell.quantity,
            "node": cell.node, "parent": cell.parent,
            "label": parent + LABELS[cell.quantity],
            "asks": cell.asks, "right": as_json(cell.right), "show": fmt(cell.right, digits),
            "mistakes": [{"kind": m.kind, "value": as_json(m.value), "says": m.says}
                         for m in cell.mistakes]}


def part(page: Stepper, practice: Any) -> str:
    """The practice panel's style, data and script, to put inside the stepper's element."""
    data = {"uid": page.uid, "steps": questions(page), "close": CLOSE, "near": NEAR,
            "messages": MESSAGES, **options(practice)}
    text = script_safe(json.dumps(data, ensure_ascii=False))
    return (f"<style>{_asset('practice.css')}</style>\n"
            f'<script type="application/json" class="tg-practice-data">{text}</script>\n'
            f"<script>{_asset('practice.js')}\n"
            f"tracegradPractice(document.getElementById({json.dumps(html.escape(page.uid))}));"
            "</script>")


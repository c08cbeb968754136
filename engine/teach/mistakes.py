"""Mistake diagnoses, computed, never guessed: every number a student writes in a forward or
backward table is one cell; each cell knows its right value and the wrong value each known
mistake gives (the other factor's slip, a forgotten upstream gradient, a replaced .grad,
a sign error, the power rule off by one, tanh(x) for 1 - tanh(x)^2 ...). diagnose() reads
an answer and names the mistake whose number it is. Practice mode, grade and worksheets
all read their cells here.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any, NamedTuple

from .answers import (MIN_DIGITS, NOT_A_NUMBER, Unreadable, agrees, is_exact, read_answer,
                      too_few_digits)
from .forward import forward_steps
from ..ops import OPS, divide, power
from ..text import fmt, written
from .notation import definition, partial, rule, with_numbers
from .steps import Steps, _slots
from ..value import Gradient, Value

QUANTITIES = ("value", "upstream", "local", "contribution", "grad")


class Mistake(NamedTuple):
    """A known mistake: its kind ('own_value', 'forgot_upstream' ...), the number it gives
    in this cell, and what it says to the student."""
    kind: str
    value: Gradient
    says: str


class Cell(NamedTuple):
    """One number to work out by hand. table: 'forward' or 'backward'; step: its row's step
    in that table (forward_steps' or backward_steps' numbering); quantity: one of
    QUANTITIES; parent and slot: which parent a backward cell is about ('' and -1 if none)."""
    table: str
    step: int
    quantity: str
    node: str
    parent: str
    slot: int
    asks: str
    right: Gradient
    mistakes: tuple[Mistake, ...]


class Verdict(NamedTuple):
    """What an answer to a cell is: right or not, the mistake it is (if one is known) and
    the message to show."""
    right: bool
    mistake: Mistake | None
    message: str


# what an answer that is no known mistake is told (practice.js shows the same texts)
MESSAGES = {"right": "right", "blank": "blank",
            "digits": "right as far as it goes: give at least {min_digits} significant digits",
            "exact": "close, but this graph is exact: give the exact value (a fraction such as "
                     "19/5)",
            "unknown": "not the right number, and not one a known mistake gives",
            "unreadable": NOT_A_NUMBER}
NEAR = 1e-3             # an exact cell answered within this (relative) is "close"


def diagnose(cell: Cell, text: str, min_digits: int = MIN_DIGITS) -> Verdict:
    """Read text as a hand answer to cell: right, or the known mistake that gives it."""
    if str(text).strip() == "":
        return Verdict(False, None, MESSAGES["blank"])
    try:
        answer = read_answer(text)
    except Unreadable as err:
        return Verdict(False, None, str(err))
    if agrees(cell.right, answer, min_digits):
        return Verdict(True, None, MESSAGES["right"])
    for mistake in cell.mistakes:
        if agrees(mistake.value, answer, min_digits):
            return Verdict(False, mistake, mistake.says)
    if too_few_digits(cell.right, answer, min_digits):
        return Verdict(False, None, MESSAGES["digits"].format(min_digits=min_digits))
    right: Any = cell.right                  # a number (a Gradient type: Value never here)
    if is_exact(right) and math.isclose(float(answer.value), float(right), rel_tol=NEAR):
        return Verdict(False, None, MESSAGES["exact"])
    return Verdict(False, None, MESSAGES["unknown"])


# ---- the cells of a graph ------------------------------------------------------------------

def forward_cells(root: Value) -> list[Cell]:
    """A 'value' cell for every computed node of root's graph, in forward_steps' numbering."""
    table = forward_steps(root)
    cells = []
    for i, step in enumerate(table, 1):
        node = step.node
        if node.is_leaf:
            continue
        asks = f"{definition(node, table.names)} = {with_numbers(node, table.names)}"
        cells.append(Cell("forward", i, "value", table.names[node], "", -1, asks, node.data,
                          _kept(node.data, _forward_mistakes(node, table.names))))
    return cells


def backward_cells(steps: Steps) -> list[Cell]:
    """For each step of backward_steps: the node's upstream gradient, then per parent its
    local derivative, its contribution and the parent's new .grad."""
    names, f = steps.names, steps.names[steps.root]
    running = dict(steps.start)
    received = _received(steps)
    cells = []
    for i, step in enumerate(steps, 1):
        node, upstream = step.node, step.upstream
        n = names[node]
        cells.append(Cell("backward", i, "upstream", n, "", -1, f"d{f}/d{n}", upstream,
                          _kept(upstream, _upstream_mistakes(node, received, names, f))))
        for c, slot in zip(step.contributions, _slots(step)):
            p, d = names[c.parent], partial(node, slot, names)
            locals_ = _kept(c.local, _local_mistakes(node, slot, names, c.local))
            before = running[c.parent]
            cells.append(Cell("backward", i, "local", n, p, slot, d, c.local, locals_))
            cells.append(Cell("backward", i, "contribution", n, p, slot, f"{d} × d{f}/d{n}",
                              c.contribution, _kept(c.contribution, _contribution_mistakes(
                                  c.local, upstream, locals_, d, f, n))))
            cells.append(Cell("backward", i, "grad", n, p, slot, f"{p}.grad", c.accumulated,
                              _kept(c.accumulated, _grad_mistakes(
                                  before, c.local, upstream, c.contribution, locals_, p))))
            running[c.parent] = c.accumulated
    return cells


def _received(steps: Steps) -> dict[Value, list[tuple[str, Gradient]]]:
    """For every node, the contributions its children sent it: (child's name, number)."""
    got: dict[Value, list[tuple[str, Gradient]]] = {}
    for step in steps:
        for c in step.contributions:
            got.setdefault(c.parent, []).append((steps.names[step.node], c.contribution))
    return got


def _kept(right: Gradient, mistakes: Iterable[Mistake]) -> tuple[Mistake, ...]:
    """The mistakes whose number differs from the right one and from every earlier one's
    (a mistake that gives the right number cannot be told apart from knowing the rule)."""
    kept: list[Mistake] = []
    for m in mistakes:
        if m.value is None or not _finite(m.value) or _same(m.value, right):
            continue
        if any(_same(m.value, k.value) for k in kept):
            continue
        kept.append(m)
    return tuple(kept)


def _finite(x: Any) -> bool:
    return is_exact(x) or (isinstance(x, (int, float)) and math.isfinite(x))


def _same(x: Any, y: Any) -> bool:
    if is_exact(x) and is_exact(y):
        return x == y
    return math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-12)


def _try(compute: Callable[[], Any]) -> Any:
    """A mistake's number, or None where it cannot be computed (0 to a negative power)."""
    try:
        value = compute()
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return value if isinstance(value, (int, float, Fraction)) else None


# ---- the catalogue: what each mistake gives --------------------------------------------------

def _sign(right: Gradient, what: str) -> Mistake:
    return Mistake("sign", -right, f"sign error: {what} has the opposite sign")


def _forward_mistakes(node: Value, names: dict[Value, str]) -> list[Mistake]:
    op, parents = node.op, node.parents
    a: Any = parents[0].data            # Any: numbers of any kind (int, float, Fraction)
    b: Any = parents[1].data if len(parents) > 1 else None
    out: list[Mistake] = []
    if op == "mul":
        out.append(Mistake("wrong_op", _try(lambda: a + b), "added where the node multiplies"))
    elif op == "add":
        out.append(Mistake("wrong_op", _try(lambda: a * b), "multiplied where the node adds"))
    elif op == "div":
        out.append(Mistake("wrong_op", _try(lambda: divide(b, a)), "divided the wrong way round"))
    elif op == "pow":
        out.append(Mistake("wrong_op", _try(lambda: a * node.arg),
                           f"multiplied by {fmt(node.arg)} instead of raising to that power"))
    elif OPS[op].function:
        out.append(Mistake("forgot_function", a, f"forgot to apply {op}: that is its input"))
    out.append(_sign(node.data, f"{names[node]}"))
    return out


def _local_mistakes(node: Value, slot: int, names: dict[Value, str],
                    right: Gradient) -> list[Mistake]:
    op, parents, out = node.op, node.parents, node.data
    parent, n = parents[slot], names[node]
    d, formula = partial(node, slot, names), rule(node, slot, names)
    due = f"{d} = {formula}"
    found: list[Mistake] = []
    if op == "mul":
        found.append(Mistake("own_value", out, f"took {n}'s own value instead of the other "
                                               f"factor: {due}"))
        found.append(Mistake("own_parent", parent.data, f"took {names[parent]} itself instead "
                                                        f"of the other factor: {due}"))
    elif op in ("add", "sub"):
        found.append(Mistake("own_parent", parent.data, f"took {names[parent]}'s value; a sum "
                                                        f"passes the gradient on: {due}"))
    elif op == "div" and slot == 0:
        found.append(Mistake("own_parent", parents[1].data,
                             f"multiplied by {names[parents[1]]} instead of dividing: {due}"))
    elif op in ("pow", "powv") and slot == 0:
        a: Any = parent.data
        k: Any = node.arg if op == "pow" else parents[1].data
        off = f"power rule off by one: {due}"
        found += [Mistake("power_off_by_one", _try(lambda: k * power(a, k)), off),
                  Mistake("power_off_by_one", _try(lambda: k * power(a, k - 2)), off),
                  Mistake("power_off_by_one", _try(lambda: (k - 1) * power(a, k - 1)), off),
                  Mistake("power_forgot_n", _try(lambda: power(a, k - 1)),
                          f"forgot the factor {fmt(k)} of the power rule: {due}")]
    if OPS[op].function:
        said = written(OPS[op], [names[p] for p in parents], node.arg)
        found.append(Mistake("own_value", out, f"used {said} where {formula} was due"))
        if op in ("tanh", "sigmoid"):
            found.append(Mistake("forgot_square" if op == "tanh" else "forgot_factor",
                                 _try(lambda: 1 - out), f"{d} is {formula}, not 1 - {said}"))
        if op == "sqrt":
            found.append(Mistake("forgot_half", _try(lambda: 1 / out),
                                 f"forgot the 2 in {due}"))
    found.append(_sign(right, d))
    return found


def _contribution_mistakes(local: Gradient, upstream: Gradient, locals_: tuple[Mistake, ...],
                           d: str, f: str, n: str) -> list[Mistake]:
    rule_ = f"contribution = {d} × d{f}/d{n} = {fmt(local)} × {fmt(upstream)}"
    found = [Mistake("forgot_upstream", local,
                     f"forgot the upstream gradient d{f}/d{n}: {rule_}")]
    found += [m._replace(value=_try(lambda: m.value * upstream)) for m in locals_]
    found.append(Mistake("added", _try(lambda: local + upstream),
                         f"added where the chain rule multiplies: {rule_}"))
    found.append(_sign(local * upstream, "the contribution"))
    return found


def _grad_mistakes(before: Gradient, local: Gradient, upstream: Gradient, contribution: Gradient,
                   locals_: tuple[Mistake, ...], p: str) -> list[Mistake]:
    total = f"{p}.grad = {fmt(before)} + {fmt(contribution)}"
    found = [Mistake("replaced_grad", contribution,
                     f"replaced {p}.grad instead of adding to it: it held {fmt(before)} "
                     f"already, so {total}"),
             Mistake("forgot_upstream", _try(lambda: before + local),
                     f"forgot the upstream gradient in the contribution: {total}")]
    found += [m._replace(value=_try(lambda: before + m.value * upstream)) for m in locals_]
    found.append(Mistake("subtracted", _try(lambda: before - contribution),
                         f"subtracted the contribution: {total}"))
    found.append(_sign(before + contribution, f"{p}.grad"))
    return found


def _upstream_mistakes(node: Value, received: dict[Value, list[tuple[str, Gradient]]],
                       names: dict[Value, str], f: str) -> list[Mistake]:
    came = received.get(node, [])
    found = []
    if len(came) > 1:
        for child, number in came:
            found.append(Mistake("one_path", number,
                                 f"took only what {child} sent; {names[node]} is used "
                                 f"{len(came)} times, so its gradient is the sum of all "
                                 f"{len(came)} contributions"))
    total = sum((number for _, number in came), start=0) if came else None
    if total is not None:
        found.append(_sign(total, f"d{f}/d{names[node]}"))
    return found

"""One walk of a graph per teaching call: its topological order, the names the tables use
and the drawing's node ids, made once (walk(root)) and passed down, so a stepper or a set of
frames walks its graph once instead of once per tool it calls.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ..graph import topological_order
from ..value import Value
from .notation import node_names


class Walk(NamedTuple):
    """root's graph, walked once: order (parents before children, root last), names (the
    tables' name of every node) and ids (each node's DOT name, n0, n1 ... by position)."""
    root: Value
    order: list[Value]
    names: dict[Value, str]
    ids: dict[Value, str]


def walk(root: Value) -> Walk:
    """Walk root's graph once: the record every teaching tool of one call reads."""
    order = topological_order(root)
    return Walk(root, order, node_names(order), dot_ids(order))


def dot_ids(order: Iterable[Value]) -> dict[Value, str]:
    """Each Value's DOT name: n0, n1 ... by topological position (its op's node adds _op)."""
    return {node: f"n{i}" for i, node in enumerate(order)}

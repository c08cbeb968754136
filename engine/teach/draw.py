"""Drawing a computation graph with graphviz: a record per Value (name | data | grad), a
separate node per op, node ids from topological position. A compact view draws a long
sum as one Sigma node, and pruning keeps one focus leaf's paths (engine/view.py decides what
is drawn). draw_frames() (engine/frames.py) saves a backward pass as one image per step.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from ..graph import local_derivatives, on_paths
from ..text import fmt, written
from .walk import Walk, dot_ids, walk
from .notation import is_constant, local_text, partial
from .view import View, view
from ..value import Gradient, Value, expect_value

if TYPE_CHECKING:
    from .render import Drawing
    from .steps import Step

Names = Mapping[Value, str]         # a name (or a DOT or SVG id) for each node

RANKDIRS = ("LR", "TB", "RL", "BT")
CURRENT, TOUCHED, ARROW = "#ffd27f", "#fff2cc", "#d62728"   # highlight colours
PATH = "#dbe9f6"                                              # focus: one leaf's paths
PATH_EDGE = {"color": "#1f77b4", "penwidth": "2"}
SIGMA = "\u03a3"                                               # the Greek capital sigma


def draw(root: Value, rankdir: str = "LR", show_local: bool = False,
         highlight: Step | None = None, grads: Mapping[Value, Gradient] | None = None,
         digits: int = 4, title: str | None = None, focus: Value | None = None,
         compact: bool | None = None, prune: bool = False, svg_ids: bool = False,
         show_constant_grads: bool = False, labels_on_edges: bool = False,
         walked: Walk | None = None) -> Drawing:
    """The graph of root as a Drawing (a graphviz.Digraph): render it, or show it in Jupyter.

    rankdir: 'LR' (default, left to right) or 'TB', 'RL', 'BT'. show_local: label each edge
    with its local derivative d child/d parent. highlight: a Step of backward_steps(root),
    drawn in colour with the contributions it adds. grads: {node: grad} to show instead
    of .grad (used for frames). title: a line written above the graph. focus: a leaf whose
    paths to root are drawn in colour (one weight's part of a large graph); prune=True
    then draws only those paths, each op with its inputs. compact: a sum of many terms
    (a neuron's dot product) as one Sigma node: None (default) for 5 terms or more, True
    for 3 or more, False never. svg_ids: give every node and edge an id from the node
    names (x1, x1.op, x1->v1.op#0), so SVG elements can be found by name.
    show_constant_grads: also show the grad of each constant (a number written in) and the
    local derivative on its edge; by default a constant shows its data only.
    labels_on_edges: write show_local's labels as graphviz edge labels (the stepper and
    draw_frames, which relabel and recolour edges); by default each is a small text node
    on its own edge, so no two labels ever overlap or sit by the wrong edge. walked: root's
    walk.Walk, when the caller has one (the stepper), so the graph is not walked again."""
    from .render import Drawing          # imported here: `import tracegrad.engine` needs no graphviz
    expect_value(root, "draw")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw: rankdir={rankdir!r}; use one of {', '.join(RANKDIRS)}")
    walked = walk(root) if walked is None else walked           # a caller's, or walked here
    order, names, ids = walked.order, walked.names, walked.ids
    keep = {highlight.node, *highlight.node.parents} if highlight else ()
    shown = view(order, focus, compact, prune, keep)
    grads = {} if grads is None else grads
    current = highlight.node if highlight else None
    touched = {c.parent for c in highlight.contributions} if highlight else set()
    path = on_paths(order, focus) if focus is not None else set()
    # top to bottom, ranks closer than graphviz's 0.5 inch: a chain of ops fits a screen
    layout = {"ranksep": "0.3"} if rankdir in ("TB", "BT") else {}
    if show_local:
        # labels of edges into one op share a rank, each beside its own edge (above it
        # left to right; to its right top down, on two lines): kept apart, each label is
        # nearer its own edge than the next one
        layout["nodesep"] = "0.45"
    g = Drawing("computation_graph", graph_attr={"rankdir": rankdir, "fontname": "Helvetica",
                                                 **layout},
                node_attr={"fontname": "Helvetica", "fontsize": "12"},
                edge_attr={"fontname": "Helvetica", "fontsize": "10"})
    sid = svg_names(order, names) if svg_ids else None
    if title:
        g.attr(label=_plain(title), labelloc="t", fontsize="14")
    for node in order:
        if node not in shown.drawn:
            continue
        cells = [f"data {fmt(node.data, digits)}", f"grad {fmt(grads.get(node, node.grad), digits)}"]
        if not is_constant(node):                       # a constant needs no name
            cells.insert(0, names[node])
        elif not show_constant_grads:                   # nor, unless asked, a grad
            cells.pop()
        label = " | ".join(escape_record(c) for c in cells)
        fill = (CURRENT if node is current else TOUCHED if node in touched else
                PATH if node in path else None)
        # an input computed from nodes a pruned view leaves out: dashed
        style = {"style": "dashed"} if not node.is_leaf and node not in shown.inputs else {}
        g.node(ids[node], _plain("{ %s }" % label if rankdir in ("LR", "RL") else label, False),
               shape="record", **_filled(fill), **style, **_id(sid, node))
        if node in shown.inputs:
            _op_node(g, node, shown, ids, sid, names, digits, show_local,
                     highlight if node is current else None, path, show_constant_grads,
                     labels_on_edges)
    return g


def svg_names(order: Iterable[Value], names: Names) -> dict[Value, str]:
    """Each Value's SVG id: its name, with ~2, ~3 ... for a name shared (equal constants).
    Only letters, digits and _ . - ~ are kept (any other character is written _xHH_), so
    an id is one DOT token that no label can turn into attributes, markup or a link."""
    ids: dict[Value, str] = {}
    used: dict[str, int] = {}
    for node in order:
        name = _ID_UNSAFE.sub(lambda m: "_x%x_" % ord(m[0]), names[node])
        used[name] = used.get(name, 0) + 1
        ids[node] = name if used[name] == 1 else f"{name}~{used[name]}"
    return ids


def _id(sid: Names | None, node: Value, suffix: str = "") -> dict[str, str]:
    return {"id": sid[node] + suffix} if sid else {}


def _op_node(g: Drawing, node: Value, shown: View, ids: Names, sid: Names | None, names: Names,
             digits: int, show_local: bool, step: Step | None, path: set[Value],
             constant_grads: bool = False, on_edges: bool = False) -> None:
    """The op's own node, its edge to node, and an edge from each input (labelled with
    the local derivative, or with the contribution when this is the highlighted step).
    A folded sum's op is a Sigma, with an edge from each term."""
    op_id = ids[node] + "_op"
    on_path = node in path
    edges, total = shown.inputs[node], shown.terms.get(node)
    label = op_label(node, digits) if total is None else SIGMA + (
        "" if len(edges) == total else f" of {total} terms ({total - len(edges)} not drawn)")
    g.node(op_id, _plain(label), shape="ellipse",
           **_filled(CURRENT if step else PATH if on_path else None), **_id(sid, node, ".op"))
    g.edge(op_id, ids[node], **(PATH_EDGE if on_path else {}), **_id(sid, node, ".op->out"))
    if total is not None:
        _sigma_edges(g, node, edges, ids, sid, names, show_local, path)
        return
    seen: dict[Value, int] = {}
    for parent, child, slot in edges:
        attrs: dict[str, str] = {}
        if is_constant(parent) and not constant_grads:
            pass                            # no gradient shown for a number written in
        elif step:
            c = step.contributions[slot]
            # dir=back: the arrowhead at the parent, the way the gradient flows
            attrs = {"color": ARROW, "fontcolor": ARROW, "penwidth": "2", "dir": "back",
                     "label": _plain(f"{fmt(c.local, digits)} * {fmt(step.upstream, digits)} "
                                     f"= {fmt(c.contribution, digits)}")}
        elif show_local:
            text = local_text(node, slot, names, local_derivatives(node)[slot], digits)
            # top to bottom: 'dv1/dx1' over '= w1 = -3' (narrow); left to right: one line
            two = g.graph_attr.get("rankdir") in ("TB", "BT")
            attrs["label"] = _plain([partial(node, slot, names), "= " + text] if two else
                                    f"{partial(node, slot, names)} = {text}")
        if not step and on_path and parent in path:
            attrs.update(PATH_EDGE)
        k = seen[parent] = seen.get(parent, -1) + 1
        if sid:
            attrs["id"] = f"{sid[parent]}->{sid[node]}.op#{k}"
        if "label" in attrs and not step and not on_edges:      # the label on its edge
            _labelled_edge(g, ids[parent], op_id, f"{ids[parent]}_{op_id}_{k}", attrs)
        else:
            g.edge(ids[parent], op_id, **attrs)


def _labelled_edge(g: Drawing, tail: str, head: str, middle: str, attrs: dict[str, str]) -> None:
    """An edge tail -> head drawn through a text node middle holding its label: laid out as
    a node, the label takes room of its own and the edge runs into it."""
    attrs = dict(attrs)
    g.node(middle, attrs.pop("label"), shape="plaintext", fontsize=g.edge_attr["fontsize"],
           height="0", margin="0.02,0.01",
           **({"id": attrs["id"] + ".label"} if "id" in attrs else {}))
    tail_attrs = {k: v for k, v in attrs.items() if k != "id"}
    if "id" in attrs:
        tail_attrs["id"] = attrs["id"] + ".tail"
    g.edge(tail, middle, dir="none", **tail_attrs)
    g.edge(middle, head, **attrs)


def _sigma_edges(g: Drawing, node: Value, edges: list[tuple[Value, Value, int]], ids: Names,
                 sid: Names | None, names: Names, show_local: bool, path: set[Value]) -> None:
    """One edge from each term into a Sigma; a term added n times is one edge marked x n.
    d sum/d term = 1 through every + folded into the sum (n for a term added n times)."""
    times: dict[Value, int] = {}
    for parent, _, _ in edges:
        times[parent] = times.get(parent, 0) + 1
    for parent, n in times.items():
        attrs: dict[str, str] = dict(PATH_EDGE) if node in path and parent in path else {}
        label = [f"d{names[node]}/d{names[parent]} = {n}"] if show_local else []
        label += [f"added {n} times"] if n > 1 else []
        if label:
            attrs["label"] = _plain(", ".join(label))
        if sid:
            attrs["id"] = f"{sid[parent]}->{sid[node]}.op#0"
        g.edge(ids[parent], ids[node] + "_op", **attrs)


def op_label(node: Value, digits: int = 4) -> str:
    """'*', '+', '**2', '-' for operators (the table's symbol without operands); the
    name for functions: 'tanh', 'leaky_relu 0.01'."""
    text = written(node._op, ["", ""], node.arg).strip()
    if "(" in text:
        text = node.op if node.arg is None else f"{node.op} {fmt(node.arg, digits)}"
    return text


def _filled(color: str | None) -> dict[str, str]:
    return {"style": "filled", "fillcolor": color} if color else {}


def escape_record(text: object) -> str:
    """Text safe inside a record label: { } | < > \\ and quotes lose their meaning."""
    return "".join("\\" + ch if ch in '{}|<>\\"' else ch for ch in _shown(text))


def _plain(text: object, escape: bool = True) -> str:
    """Text safe as a plain node or edge label (never HTML; no escape sequences). A list
    is written one item a line."""
    import graphviz
    if isinstance(text, list):
        return graphviz.nohtml("\\n".join(_plain(line, escape) for line in text))
    if escape:
        text = _shown(text).replace("\\", "\\\\").replace('"', '\\"')
    return graphviz.nohtml(text)


def _shown(text: object) -> str:
    """text as typed, for a label: & written &amp; (graphviz reads &lt; as <, so a label
    "&lt;" would show as "<"), and a character XML forbids (\\x01) written as \\x01."""
    return _XML_UNSAFE.sub(lambda m: "\\x%02x" % ord(m[0]) if ord(m[0]) < 256 else
                           "\\u%04x" % ord(m[0]), str(text)).replace("&", "&amp;")


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_ID_UNSAFE = re.compile(r"[^\w.~-]")

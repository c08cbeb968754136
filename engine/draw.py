"""Drawing a computation graph with graphviz: a record per Value (name | data | grad), a
separate node per op, node ids from topological position. draw_frames() saves a backward
pass as one image per step, the current node highlighted, for clicking through on slides.
"""
import sys
import time
from pathlib import Path

from .graph import local_derivatives, on_paths, topological_order
from .ops import OPS
from .text import definition, fmt, node_names, written
from .trace import backward_steps

RANKDIRS = ("LR", "TB", "RL", "BT")
CURRENT, TOUCHED, ARROW = "#ffd27f", "#fff2cc", "#d62728"   # highlight colours
PATH = "#dbe9f6"                                              # focus: one leaf's paths
PATH_EDGE = {"color": "#1f77b4", "penwidth": "2"}
MAX_FRAMES, FRAMES_BUDGET = 60, 120     # frames of one pass; seconds to render them all


def draw(root, rankdir="LR", show_local=False, highlight=None, grads=None, digits=4,
         title=None, focus=None):
    """The graph of root as a Drawing (a graphviz.Digraph): render it, or show it in Jupyter.

    rankdir: 'LR' (default, left to right) or 'TB', 'RL', 'BT'. show_local: label each edge
    with its local derivative d child/d parent. highlight: a Step of backward_steps(root),
    drawn in colour with the contributions it adds. grads: {node: grad} to show instead
    of .grad (used for frames). title: a line written above the graph. focus: a leaf whose
    paths to root are drawn in colour (one weight's part of a large graph)."""
    from .render import Drawing          # imported here: `import tracegrad.engine` needs no graphviz
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw: rankdir={rankdir!r}; use one of {', '.join(RANKDIRS)}")
    order = topological_order(root)
    names = node_names(order)
    ids = dot_ids(order)
    grads = {} if grads is None else grads
    current = highlight.node if highlight else None
    touched = {c.parent for c in highlight.contributions} if highlight else set()
    path = on_paths(order, focus) if focus is not None else set()
    g = Drawing("computation_graph", graph_attr={"rankdir": rankdir, "fontname": "Helvetica"},
                node_attr={"fontname": "Helvetica", "fontsize": "12"},
                edge_attr={"fontname": "Helvetica", "fontsize": "10"})
    if title:
        g.attr(label=_plain(title), labelloc="t", fontsize="14")
    for node in order:
        cells = [f"data {fmt(node.data, digits)}", f"grad {fmt(grads.get(node, node.grad), digits)}"]
        if not (node.is_leaf and node.label is None):      # a constant needs no name
            cells.insert(0, names[node])
        label = " | ".join(escape_record(c) for c in cells)
        fill = (CURRENT if node is current else TOUCHED if node in touched else
                PATH if node in path else None)
        g.node(ids[node], _plain("{ %s }" % label if rankdir in ("LR", "RL") else label, False),
               shape="record", **_filled(fill))
        if not node.is_leaf:
            _op_node(g, node, ids, names, digits, show_local,
                     highlight if node is current else None, path)
    return g


def dot_ids(order):
    """Each Value's DOT name: n0, n1 ... by topological position (its op's node adds _op)."""
    return {node: f"n{i}" for i, node in enumerate(order)}


def _op_node(g, node, ids, names, digits, show_local, step, path):
    """The op's own node, its edge to node, and an edge from each parent (labelled with
    the local derivative, or with the contribution when this is the highlighted step)."""
    op_id = ids[node] + "_op"
    on_path = node in path
    g.node(op_id, _plain(op_label(node, digits)), shape="ellipse",
           **_filled(CURRENT if step else PATH if on_path else None))
    g.edge(op_id, ids[node], **(PATH_EDGE if on_path else {}))
    locals_ = local_derivatives(node) if show_local else ()
    for slot, parent in enumerate(node.parents):
        attrs = {}
        if step:
            c = step.contributions[slot]
            attrs = {"color": ARROW, "fontcolor": ARROW, "penwidth": "2", "label": _plain(
                f"{fmt(c.local, digits)} * {fmt(step.upstream, digits)} = "
                f"{fmt(c.contribution, digits)}")}
        elif show_local:
            attrs["label"] = _plain(f"d{names[node]}/d{names[parent]} = {fmt(locals_[slot], digits)}")
        if not step and on_path and parent in path:
            attrs.update(PATH_EDGE)
        g.edge(ids[parent], op_id, **attrs)


def op_label(node, digits=4):
    """'*', '+', '**2', '-' for operators (the table's symbol without operands); the
    name for functions: 'tanh', 'leaky_relu 0.01'."""
    text = written(OPS[node.op], ["", ""], node.arg).strip()
    if "(" in text:
        text = node.op if node.arg is None else f"{node.op} {fmt(node.arg, digits)}"
    return text


def _filled(color):
    return {"style": "filled", "fillcolor": color} if color else {}


def escape_record(text):
    """Text safe inside a record label: { } | < > \\ and quotes lose their meaning."""
    return "".join("\\" + ch if ch in '{}|<>\\"' else ch for ch in str(text))


def _plain(text, escape=True):
    """Text safe as a plain node or edge label (never HTML; no escape sequences)."""
    import graphviz
    if escape:
        text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return graphviz.nohtml(text)


def draw_frames(root, folder, suffix="svg", max_frames=MAX_FRAMES, budget=FRAMES_BUDGET,
                timeout=None, **options):
    """Run root's backward pass and save one image per step into folder: frame 0 is the
    start (only the root's grad set), frame k highlights step k. Returns the Paths.

    Leaf gradients are zeroed first, so the frames show one fresh pass. A pass of more than
    max_frames frames is refused; rendering them all stops after budget seconds (each
    render after timeout seconds). Without a renderer the frames are written as .dot files
    and one line says how to get one."""
    from .render import HINT, TIMEOUT, RenderError, find_renderer, save
    for node in topological_order(root):
        if node.is_leaf:
            node.grad = 0                   # a fresh pass, as after zero_grad()
    steps = backward_steps(root)
    if len(steps) + 1 > max_frames:
        raise ValueError(f"draw_frames: the backward pass has {len(steps)} steps, so "
                         f"{len(steps) + 1} frames: more than max_frames={max_frames}; draw "
                         "the frames of a smaller graph, or allow more")
    if suffix not in ("dot", "gv") and find_renderer() is None:
        print(f"{HINT} ({folder})", file=sys.stderr)
        suffix = "dot"
    folder, deadline = Path(folder), time.monotonic() + budget
    timeout = TIMEOUT if timeout is None else timeout

    def frame(k, drawing):
        left = deadline - time.monotonic()
        if left <= 0:
            raise RenderError(f"draw_frames: rendering took longer than budget={budget:g} s; "
                              f"{k} of the {len(steps) + 1} frames are in {folder}")
        return save(drawing, folder / f"step_{k:0{width}}.{suffix}", min(timeout, left))

    grads = dict(steps.start)
    width = len(str(len(steps)))
    r = steps.names[root]
    frames = [frame(0, draw(root, grads=grads, title=f"start: {r} = {fmt(root.data)}, d{r}/d{r} = "
                            f"{fmt(grads[root])}", **options))]
    for k, step in enumerate(steps, 1):
        for c in step.contributions:
            grads[c.parent] = c.accumulated
        title = (f"step {k} of {len(steps)}: {definition(step.node, steps.names)} sends "
                 f"d{r}/d{steps.names[step.node]} = {fmt(step.upstream)} to its parents")
        frames.append(frame(k, draw(root, highlight=step, grads=dict(grads), title=title,
                                    **options)))
    return frames

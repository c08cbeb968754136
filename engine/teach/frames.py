"""A backward pass as slides: draw_frames() saves one image per chain-rule step, the current
node and its edges highlighted (the gradient's arrows point back, to the parents). Every
frame has the same node positions and the same size: the graph is laid out once, with room
for the widest number each node and edge will show, and each frame is drawn at those places.
"""
import json
import re
import sys
import time
from pathlib import Path

from .draw import draw
from ..text import fmt
from .notation import definition
from .steps import backward_steps

MAX_FRAMES, FRAMES_BUDGET = 60, 120     # frames of one pass; seconds to render them all
NODE = re.compile(r"^\t(\w+) \[(.*)\]$")
EDGE = re.compile(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?$")
LABEL = re.compile(r'label=("(?:[^"\\]|\\.)*"|\S+)')


def draw_frames(root, folder, suffix="svg", max_frames=MAX_FRAMES, budget=FRAMES_BUDGET,
                timeout=None, **options):
    """Run root's backward pass and save one image per step into folder: frame 0 is the
    start (only the root's grad set), frame k highlights step k. Returns the Paths.

    Leaf gradients are zeroed first, so the frames show one fresh pass. Every frame has
    the same layout and size. options go to draw() (rankdir, show_local, digits, focus,
    prune; never compact: each step's node must be drawn). A pass of more than max_frames
    frames is refused; rendering stops after budget seconds (one render after timeout).
    Without a renderer the frames are written as .dot files and one line says how to get one;
    a renderer plugged in with set_renderer() lays out each frame itself (nothing is pinned:
    that needs Graphviz's `neato -n2`), so nodes may move a little between frames."""
    from .render import HINT, TIMEOUT, RenderError, plugged, renderer_name, run, write
    steps = backward_steps(root)            # a fresh pass, as after zero_grad()
    if options.get("prune"):                # only the steps the pruned drawing shows
        steps = steps.towards(options["focus"])
    if len(steps) + 1 > max_frames:
        raise ValueError(f"draw_frames: the backward pass has {len(steps)} steps, so "
                         f"{len(steps) + 1} frames: more than max_frames={max_frames}; draw "
                         "the frames of a smaller graph, or allow more")
    sources = [d.source for d in frame_drawings(root, steps, options)]
    folder, width = Path(folder), len(str(len(steps)))
    paths = [folder / f"step_{k:0{width}}.{suffix}" for k in range(len(sources))]
    if suffix not in ("dot", "gv") and renderer_name() is None:
        print(f"{HINT} ({folder})", file=sys.stderr)
        paths = [p.with_suffix(".dot") for p in paths]
    if paths[0].suffix in (".dot", ".gv"):
        return [write(p, s.encode("utf-8")) for p, s in zip(paths, sources)]
    if plugged() is not None:
        return [write(p, run(s, suffix)) for p, s in zip(paths, sources)]
    deadline, timeout = time.monotonic() + budget, TIMEOUT if timeout is None else timeout

    def render(source, fmt):
        left = deadline - time.monotonic()
        if left <= 0:
            done = sum(p.exists() for p in paths)
            raise RenderError(f"draw_frames: rendering took longer than budget={budget:g} s; "
                              f"{done} of the {len(paths)} frames are in {folder}")
        return run(source, fmt, timeout=min(timeout, left), flags=flags)

    flags = ()
    layout = json.loads(render(widest(sources), "json"))
    flags = ("-Kneato", "-n2")              # draw at the given places: no layout of its own
    return [write(p, render(pinned(s, layout), suffix)) for p, s in zip(paths, sources)]


def frame_drawings(root, steps, options):
    """The Drawing of each frame: the start, then one per step of steps (highlighted)."""
    options = {**options, "compact": False, "labels_on_edges": True}   # same lines each frame
    grads, r = dict(steps.start), steps.names[root]
    drawings = [draw(root, grads=dict(grads), title=f"start: {r} = {fmt(root.data)}, "
                     f"d{r}/d{r} = {fmt(grads[root])}", **options)]
    for k, step in enumerate(steps, 1):
        for c in step.contributions:
            grads[c.parent] = c.accumulated
        title = (f"step {k} of {len(steps)}: {definition(step.node, steps.names)} sends "
                 f"d{r}/d{steps.names[step.node]} = {fmt(step.upstream)} back to its parents")
        drawings.append(draw(root, highlight=step, grads=dict(grads), title=title, **options))
    return drawings


def widest(sources):
    """One DOT source whose every line is the frames' line with the longest label there:
    laid out, it leaves room for everything any frame writes. (Every frame has the same
    statements in the same order; only labels and colours differ.)"""
    frames = [source.splitlines() for source in sources]
    # laid out pointing forward: pinned() turns a highlighted edge's arrow around
    return "\n".join(max(lines, key=_label_length).replace(" dir=back", "")
                     for lines in zip(*frames)) + "\n"


def _label_length(line):
    found = LABEL.search(line)
    return len(found.group(1)) if found else 0


def pinned(source, layout):
    """source with every node and edge at its place in layout (graphviz's JSON of the
    widest frame) and the same bounding box: drawn with neato -n2, nothing moves."""
    nodes = {o["name"]: o for o in layout.get("objects", [])}
    edges = iter(layout.get("edges", []))
    lines = []
    for line in source.splitlines():
        node, edge = NODE.match(line), EDGE.match(line)
        if node and node.group(1) in nodes:
            o = nodes[node.group(1)]
            line = (f'\t{node.group(1)} [{node.group(2)} pos="{o["pos"]}!" width={o["width"]} '
                    f'height={o["height"]} fixedsize=true]')
        elif edge:
            e = next(edges)
            attrs = edge.group(3) or ""
            pos = _pointing_back(e["pos"]) if "dir=back" in attrs else e["pos"]
            extra = f'pos="{pos}"' + (f' lp="{e["lp"]}"' if "label=" in attrs and "lp" in e else "")
            line = f"\t{edge.group(1)} -> {edge.group(2)} [{attrs} {extra}]".replace("[ ", "[")
        elif line.startswith("digraph") or line.startswith("strict digraph"):
            line += f'\n\tbb="{layout["bb"]}"' + (f' lp="{layout["lp"]}"' if "lp" in layout else "")
        lines.append(line)
    return "\n".join(lines) + "\n"


def _pointing_back(pos):
    """An edge's spline (graphviz 'e,x,y p1 ... pn', arrowhead at the head) redrawn with
    the arrowhead at the tail: the gradient flows from child back to parent."""
    parts = pos.split()
    tip = next((p[2:] for p in parts if p.startswith("e,")), None)
    points = [p for p in parts if not p.startswith(("e,", "s,"))]
    if tip is None or len(points) < 2:
        return pos
    (x1, y1), (x2, y2) = (map(float, p.split(",")) for p in points[:2])
    step = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1e-9)
    arrow = min(10.0, step)                # graphviz's arrowhead is 10 points long
    start = f"{x1 + arrow * (x2 - x1) / step:.2f},{y1 + arrow * (y2 - y1) / step:.2f}"
    return " ".join([f"s,{points[0]}", start, *points[1:-1], tip])

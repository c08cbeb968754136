"""The backprop stepper: a graph's forward pass node by node, then its backward pass step by
step, as one self-contained HTML page (`stepper(root).save(path)`) or inline in a notebook.
Python does all the arithmetic, formatting and drawing (the SVG comes from draw()); the small
script beside this file (stepper.js) only shows step k of the timeline written into the page.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from .draw import RANKDIRS, draw
from .explain import explain
from ..graph import on_paths
from .render import NoRenderer, RenderError, png_bundle, run, write
from .stepper_page import fragment, page, relabel_edges, tag_svg
from ..text import fmt
from .notation import definition, is_constant, local_text, partial, with_numbers
from .steps import Step, Steps, backward_steps
from ..value import Gradient, Value
from .view import View, view
from .walk import Walk, walk

JSON = dict[str, Any]       # what the page's script reads: text, numbers, lists, dicts

MAX_NODES = 150          # Values drawn; beyond this the page would be unreadable (and slow)
FONT = 14                # points, every text of the graph: 18.7 px at its natural size
FITS = 1280 - 40         # px: a left-to-right graph wider than this at 18 px text goes top down
MIN_PX = 18              # px: the smallest text the page's default view draws (see stepper.js)
EXPLAIN_ALL = 40         # up to this many Values, every node's explanation is in the page
UNKNOWN = "?"            # a value or gradient not computed yet at this step
SIGMA = "\u03a3"
SAVED = "the backward pass at its last step: run the cell to step through it"
SAVED_PRACTICE = "practice: run the cell to work through it step by step"
_uids = itertools.count(1)


def stepper(root: Value, focus: Value | None = None, digits: int = 4, title: str | None = None,
            max_nodes: int = MAX_NODES, rankdir: str | None = None,
            compact: bool | None = None, show_constant_grads: bool = False,
            practice: bool | dict[str, int] = False) -> Stepper:
    """An interactive stepper over root's graph: display it in a notebook, or .save(path).

    Runs root's backward pass (leaf grads zeroed first, as after zero_grad(), so the page
    shows one fresh pass). focus: a leaf; only its paths to root are drawn and stepped
    through (draw's pruned focus view). digits: significant digits of floats (Fractions
    stay exact). More than max_nodes Values to draw are refused. rankdir: the drawing's
    direction, as in draw(); None (default) draws left to right when that fits a 1280 px
    projector with 18 px text, else top to bottom. compact: as in draw(), a long sum (5
    terms or more by default) drawn as one Sigma node; its steps still come one + at a
    time, each highlighting the Sigma. show_constant_grads: also step through what flows
    into the numbers written in (as backward_steps). practice=True (or {'min_digits': N}):
    the student types each number before it is shown (practice.py)."""
    page = Stepper(root, focus, digits, title, max_nodes, rankdir, compact, show_constant_grads)
    if practice is not False:
        from .practice import options
        page.practice = options(practice)
    return page


class Stepper:
    """The timeline of one graph (step 0: the inputs; then one step per forward node, the
    seed d root/d root = 1, one step per backward node) and its rendered page parts."""

    rows: dict[str, list[tuple[int, list[str]]]]    # table: (step, cells) per row
    labels: dict[str, str]                          # edge id: its arithmetic
    labelled: dict[str, int]                        # edge id: the step that labels it
    walked: Walk                                    # the graph's one walk (order, names, ids)
    practice: dict[str, int] | None = None          # practice mode's options (practice.py)

    def __init__(self, root: Value, focus: Value | None = None, digits: int = 4,
                 title: str | None = None, max_nodes: int = MAX_NODES,
                 rankdir: str | None = None, compact: bool | None = None,
                 show_constant_grads: bool = False) -> None:
        walked = walk(root)                     # the one walk every part below reads
        order = walked.order
        self.view = _checked_view(root, order, focus, max_nodes, rankdir, compact)
        # a fresh pass, as after zero_grad()
        steps = backward_steps(root, show_constant_grads=show_constant_grads, walked=walked)
        if focus is not None:
            steps = steps.towards(focus)
        self.root, self.focus, self.digits, self.order = root, focus, digits, order
        self.steps = steps
        self.rankdir, self.compact = rankdir, compact
        self.names, self.ids, self.walked = steps.names, walked.ids, walked
        self.shown_as = _shown_as(order, self.view.drawn)
        self.uid = f"tg-stepper-{next(_uids)}"
        self.title = title or f"backprop through {definition(root, self.names)}"
        self.data = self._timeline(steps, on_paths(order, focus) if focus is not None else None)
        self.svg = self._svg(steps)

    def __repr__(self) -> str:
        return (f"<Stepper of {self.names[self.root]}: {len(self.data['steps']) - 1} steps; "
                f"shows inline in a notebook, .save(path) writes the HTML page>")

    def _timeline(self, steps: Steps, path: set[Value] | None) -> JSON:
        """Every step as JSON-ready text: what to highlight, what each number becomes."""
        ids, names, num, drawn = self.ids, self.names, self._num, self.view.drawn
        self.rows = {"forward": [], "backward": []}     # (step, cells) per table row
        self.labels, self.labelled = {}, {}             # edge: its arithmetic, and its step
        nodes: dict[str, JSON] = {
            ids[n]: {"name": names[n], "data": num(n.data), "leaf": n.is_leaf}
            for n in self.order if n in drawn}
        timeline: list[JSON] = [{"kind": "start", "say": [
            "the inputs are given; press next (or the right arrow) to compute the forward pass"]}]
        for node in self.order:
            if not node.is_leaf and (path is None or node in path):
                if node in drawn:
                    nodes[ids[node]]["forward"] = len(timeline)
                timeline.append(self._forward(node, len(timeline)))
        timeline.append(self._seed(steps, len(timeline)))
        running = dict(steps.start)                     # every .grad as the steps go
        for step in steps:
            for node in [step.node] + [c.parent for c in step.contributions]:
                if self.shown_as[node] in drawn:        # its grad's last step so far
                    nodes[ids[self.shown_as[node]]]["final"] = len(timeline)
            timeline.append(self._backward(step, len(timeline), running))
        for node in self._explained():
            nodes[ids[node]]["explain"] = explain(self.root, node, digits=self.digits).text
        return {"uid": self.uid, "root": ids[self.root], "steps": timeline, "nodes": nodes,
                "start": {ids[n]: num(g) if path is None or n in path else UNKNOWN
                          for n, g in steps.start.items() if n in drawn},
                "labelled": self.labelled, "unknown": UNKNOWN, "font": FONT, "min_px": MIN_PX,
                "selected": ids[self._selected()]}

    def _num(self, x: Gradient) -> str:
        return fmt(x, self.digits)

    def _inside(self, node: Value) -> str:
        """' (inside the Sigma of v9)' for a partial sum the compact drawing folds away."""
        at = self.shown_as[node]
        return "" if at is node else f" (inside the {SIGMA} of {self.names[at]})"

    def _forward(self, node: Value, k: int) -> JSON:
        """Step k computes node from its parents' data: v1 = a * b = 3 * 2 = 6."""
        formula = f"{definition(node, self.names)} = {with_numbers(node, self.names, self.digits)}"
        self.rows["forward"].append((k, [formula, self._num(node.data)]))
        return {"kind": "forward", "node": self.ids[self.shown_as[node]],
                "edges": [e for e in self._edges(node) if e],
                "sources": [self.ids[p] for p in node.parents if p in self.view.drawn],
                "say": [f"forward: {formula} = {self._num(node.data)}{self._inside(node)}"]}

    def _seed(self, steps: Steps, k: int) -> JSON:
        """Step k starts the backward pass: d root/d root = 1 (backward's gradient)."""
        # a leaf root has no steps: its .grad after the pass is the seed (it was zeroed)
        f = self.names[self.root]
        seed = self._num(steps[0].upstream if steps else self.root.grad)
        self.rows["backward"].append((k, [f, seed, "", "", "", ""]))
        return {"kind": "seed", "node": self.ids[self.root], "grads": {self.ids[self.root]: seed},
                "say": [f"backward: start at the root, d{f}/d{f} = {seed}"]}

    def _backward(self, step: Step, k: int, running: dict[Value, Gradient]) -> JSON:
        """Step k: step.node sends its complete gradient to each parent, times the local
        derivative, added into the parent's running .grad (updated in running)."""
        ids, names, num = self.ids, self.names, self._num
        f, node, upstream = names[self.root], names[step.node], _signed(num(step.upstream))
        into = self._edges(step.node)
        kept = {c.parent for c in step.contributions}         # towards() may drop parents
        slots = [s for s, p in enumerate(step.node.parents) if p in kept]
        say = [f"backward: {definition(step.node, names)} sends d{f}/d{node} = "
               f"{num(step.upstream)} back to its parents{self._inside(step.node)}"]
        grads: dict[str, str] = {}
        for j, (slot, c) in enumerate(zip(slots, step.contributions)):
            if not self.steps.constant_grads and is_constant(c.parent):
                running[c.parent] = c.accumulated   # a number written in: no gradient shown
                continue
            p, local, contribution = names[c.parent], num(c.local), num(c.contribution)
            edge = into[slot]
            if edge:            # two short lines: the graph stays narrow enough to project
                self.labels[edge] = f"{local} × {upstream}\n= {contribution}"
                self.labelled.setdefault(edge, k)
            written = local_text(step.node, slot, names, c.local, self.digits)   # not 1 = 1
            say.append(f"{p}: {partial(step.node, slot, names)} = {written}, contribution "
                       f"{local} × {upstream} = "
                       f"{contribution}, {p}.grad = {num(running[c.parent])} + "
                       f"{_signed(contribution)} = {num(c.accumulated)}")
            first = ([definition(step.node, names), num(step.upstream)]
                     if len(say) == 2 else ["", ""])
            self.rows["backward"].append((k, first + [p, local, contribution,
                                                      num(c.accumulated)]))
            running[c.parent] = c.accumulated
            if c.parent in self.view.drawn:
                grads[ids[c.parent]] = num(c.accumulated)
        shown = {c.parent for c in step.contributions
                 if self.steps.constant_grads or not is_constant(c.parent)}
        return {"kind": "backward", "node": ids[self.shown_as[step.node]], "grads": grads,
                "say": say, "edges": [e for e in [into[-1]] + [into[s] for s in slots
                                                               if step.node.parents[s] in shown]
                                      if e],
                "sources": [ids[c.parent] for c in step.contributions
                            if c.parent in self.view.drawn and c.parent in shown]}

    def _edges(self, node: Value) -> list[str | None]:
        """The ids of the edges drawn into node, one per parent slot ('#k' tells apart the
        two edges of x*x; None where nothing is drawn: inside a Sigma), then its op's edge.
        A partial sum of a Sigma uses the Sigma's: one edge from each term."""
        ids, at = self.ids, self.shown_as[node]
        if at in self.view.terms:
            into = [f"{ids[p]}->{ids[at]}_op#0" if p in self.view.drawn else None
                    for p in node.parents]
        else:
            into = [f"{ids[p]}->{ids[at]}_op#{node.parents[:slot].count(p)}"
                    for slot, p in enumerate(node.parents)]
        return into + [f"{ids[at]}_op->{ids[at]}#0"]

    def _explained(self) -> list[Value]:
        """The nodes whose chain rule the page can show: all of a small graph; else the
        named leaves (each text lists its paths, so all of them would grow as N^2)."""
        small = len(self.view.drawn) <= EXPLAIN_ALL
        return [n for n in self.order if n is not self.root and n in self.view.drawn and
                (self.steps.constant_grads or not is_constant(n)) and
                (small or n is self.focus or (n.is_leaf and n.label is not None))]

    def _selected(self) -> Value:
        """The node explained when the page opens: the focus, else the first named leaf."""
        leaves = [n for n in self.order if n.is_leaf and n.label is not None]
        return self.focus or (leaves or self.order)[0]

    def _svg(self, steps: Steps) -> str:
        """draw()'s SVG, rendered once, sized for the widest number each node will show,
        with ids on node and edge groups and classes on the data and grad texts."""
        widest = dict(steps.start)
        for step in steps:
            for c in step.contributions:
                if len(self._num(c.accumulated)) > len(self._num(widest[c.parent])):
                    widest[c.parent] = c.accumulated
        # show_local gives every edge a label, so graphviz leaves room for it; the label
        # becomes the arithmetic the page writes there, so nothing moves between steps
        options: dict[str, Any] = dict(grads=widest, digits=self.digits, focus=self.focus, show_local=True,
                       compact=self.compact, prune=self.focus is not None,
                       show_constant_grads=self.steps.constant_grads, labels_on_edges=True,
                       walked=self.walked)
        for rankdir in [self.rankdir] if self.rankdir else ["LR", "TB"]:
            graph = draw(self.root, rankdir=rankdir, **options)
            presented(graph)
            relabel_edges(graph, self.labels)
            try:
                svg = run(graph.source, "svg").decode("utf-8")
            except (NoRenderer, RenderError) as err:
                raise type(err)(f"stepper: cannot draw the graph: {err}") from None
            if _width(svg) * MIN_PX / FONT <= FITS:    # readable on a projector as it is
                break
        self.rankdir = rankdir
        final = dict(steps.start)                       # a saved notebook's picture:
        for step in steps:                              # the last step, as laid out here
            final.update((c.parent, c.accumulated) for c in step.contributions)
        picture = draw(self.root, rankdir=rankdir, **{**options, "grads": final})
        presented(picture)
        relabel_edges(picture, self.labels)
        self.final_dot = picture.source
        grads = dict(self.data["start"])
        for step in self.data["steps"]:
            grads.update(step.get("grads", {}))
        cells = {id: {"name": node["name"], "data": node["data"], "grad": grads[id]}
                 for id, node in self.data["nodes"].items()}
        return tag_svg(svg, self.uid, cells)

    def fragment(self, page: bool = False) -> str:
        """The stepper as one HTML element (its style, data and script inside it)."""
        return fragment(self.uid, self.title, self.svg, self.rows, self.names[self.root],
                        json.dumps(self.data, ensure_ascii=False),
                        len(self.data["steps"]) - 1, page, self._practice())

    def _practice(self) -> str:
        """Practice mode's panel, style and script ('' when not practising)."""
        if self.practice is None:
            return ""
        from .practice import part
        return part(self, self.practice)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **_: Any) -> tuple[JSON, JSON]:
        """The live stepper as HTML; saved and opened untrusted (or on GitHub), a PNG of its
        last step and one line saying to run the cell (saved.until_run)."""
        from .saved import until_run
        if self.practice is not None:           # a picture of the last step gives it all away
            return {"text/html": until_run(self.fragment(), None, {}, SAVED_PRACTICE),
                    "text/plain": repr(self)}, {}
        png, metadata = png_bundle(self.final_dot)
        html = until_run(self.fragment(), png.get("image/png"),
                         metadata.get("image/png", {}), SAVED)
        return {"text/html": html, **png, "text/plain": repr(self)}, metadata

    def _repr_html_(self) -> str:
        return self._repr_mimebundle_()[0]["text/html"]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to path (one HTML file, nothing fetched from anywhere); returns the Path."""
        return write(path, page(self.fragment(page=True), self.title).encode("utf-8"))

    def save_png_steps(self, folder: str | os.PathLike[str]) -> list[Path]:
        """One 1920x1080 PNG per step in folder (step_00.png ...) for slides, taken by a
        headless Chromium (NoBrowser, with how to install one, if there is none)."""
        from .slides import png_steps
        with tempfile.TemporaryDirectory(prefix="tg-slides-") as scratch:
            saved = self.save(Path(scratch) / "stepper.html")
            return png_steps(saved, len(self.data["steps"]) - 1, folder)


def presented(graph: Any) -> None:
    """graph (a Drawing) set for a projector: every text FONT points, tighter spacing, and
    each edge with an arrowhead at both ends (the page shows the one pointing the way the
    step flows: forward to the op, or back to the parent with the gradient)."""
    graph.graph_attr.update(ranksep="0.15", nodesep="0.15")
    graph.node_attr.update(fontsize=str(FONT), margin="0.06,0.03")
    graph.edge_attr.update(fontsize=str(FONT), dir="both", arrowsize="0.8")
    if graph.graph_attr.get("rankdir") in ("LR", "RL"):    # name, data, grad stacked: narrow
        graph.body[:] = [_RECORD.sub(r'\1"\2"', line) for line in graph.body]
    # blue edges are the forward step's (the legend says so), not the focus paths'
    graph.body[:] = [_FOCUS_EDGE.sub("", line) if " -> " in line else line
                     for line in graph.body]


_FOCUS_EDGE = re.compile(r' ?color="#1f77b4" penwidth=2')
_RECORD = re.compile(r'^(\t\w+ \[label=)"\{ (.*) \}"(?=.*shape=record)')


def _width(svg: str) -> float:
    """The width of an SVG's viewBox, in points."""
    found = re.search(r'viewBox="[\d.-]+ [\d.-]+ ([\d.]+)', svg)
    return float(found.group(1)) if found else 0.0


def _checked_view(root: Value, order: list[Value], focus: Value | None, max_nodes: int,
                  rankdir: str | None, compact: bool | None) -> View:
    """What the page will draw (draw's View), after checking every argument."""
    if rankdir is not None and rankdir not in RANKDIRS:
        raise ValueError(f"stepper: rankdir={rankdir!r}; use one of {', '.join(RANKDIRS)}")
    if compact not in (True, False, None):
        raise ValueError(f"stepper: compact={compact!r}; use True, False or None (as draw)")
    if focus is not None and focus not in order:
        raise ValueError(f"stepper: focus={focus!r} is not a node of the graph of {root!r}")
    shown = view(order, focus, compact, prune=focus is not None)
    if len(shown.drawn) > max_nodes:
        hint = ("Pass focus=leaf to draw and step through one weight's paths only, or raise "
                "max_nodes." if focus is None else "Raise max_nodes to draw them anyway.")
        which = "" if focus is None else " on the focus paths"
        raise ValueError(f"stepper: the graph of {root!r} has {len(shown.drawn)} Values to "
                         f"draw{which}, more than max_nodes={max_nodes}: too many to step "
                         f"through in class. {hint}")
    return shown


def _shown_as(order: list[Value], drawn: set[Value]) -> dict[Value, Value]:
    """The drawn node each node appears as: itself, or for a partial sum folded into a
    Sigma, the Sigma (a folded partial sum has one child: follow it until one is drawn)."""
    child: dict[Value, Value] = {}
    for node in order:
        for parent in node.parents:
            child[parent] = node
    shown: dict[Value, Value] = {}
    for node in reversed(order):                # children first: their answer is known
        shown[node] = node if node in drawn or node not in child else shown[child[node]]
    return shown


def _signed(text: str) -> str:
    """A negative number in parentheses, as written inside a product: 3 × (-2)."""
    return f"({text})" if text.startswith("-") else text

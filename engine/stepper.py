"""The backprop stepper: a graph's forward pass node by node, then its backward pass step by
step, as one self-contained HTML page (`stepper(root).save(path)`) or inline in a notebook.
Python does all the arithmetic, formatting and drawing (the SVG comes from draw()); the small
script beside this file (stepper.js) only shows step k of the timeline written into the page.
"""
import html
import itertools
import json
import re
from importlib import resources

from .draw import dot_ids, draw
from .explain import explain
from .graph import on_paths, topological_order
from .render import NoRenderer, RenderError, run, write
from .text import definition, fmt, with_numbers
from .trace import backward_steps

MAX_NODES = 150          # Values drawn; beyond this the page would be unreadable (and slow)
EXPLAIN_ALL = 40         # up to this many Values, every node's explanation is in the page
UNKNOWN = "?"            # a value or gradient not computed yet at this step
_uids = itertools.count(1)


def stepper(root, focus=None, digits=4, title=None, max_nodes=MAX_NODES):
    """An interactive stepper over root's graph: display it in a notebook, or .save(path).

    Runs root's backward pass (leaf grads zeroed first, as after zero_grad(), so the page
    shows one fresh pass). focus: a leaf; only the steps on its paths to root are stepped
    through and its paths are drawn in colour. digits: significant digits of floats
    (Fractions stay exact). Graphs of more than max_nodes Values are refused."""
    return Stepper(root, focus, digits, title, max_nodes)


class Stepper:
    """The timeline of one graph (step 0: the inputs; then one step per forward node, the
    seed d root/d root = 1, one step per backward node) and its rendered page parts."""

    def __init__(self, root, focus=None, digits=4, title=None, max_nodes=MAX_NODES):
        order = topological_order(root)
        if len(order) > max_nodes:
            hint = ("Pass focus=leaf to step through one weight's paths only, or raise "
                    "max_nodes." if focus is None else "The focus view still draws all of "
                    "them; raise max_nodes to draw it anyway.")
            raise ValueError(f"stepper: the graph of {root!r} has {len(order)} Values, more "
                             f"than max_nodes={max_nodes}: too many to step through in "
                             f"class. {hint}")
        if focus is not None and focus not in order:
            raise ValueError(f"stepper: focus={focus!r} is not a node of the graph of {root!r}")
        for node in order:
            if node.is_leaf:
                node.grad = 0                   # a fresh pass, as after zero_grad()
        steps = backward_steps(root)
        if focus is not None:
            steps = steps.towards(focus)
        self.root, self.focus, self.digits, self.order = root, focus, digits, order
        self.names, self.ids = steps.names, dot_ids(order)
        self.uid = f"tg-stepper-{next(_uids)}"
        self.title = title or f"backprop through {definition(root, self.names)}"
        self.data = self._timeline(steps, on_paths(order, focus) if focus is not None else None)
        self.svg = self._svg(steps)

    def __repr__(self):
        return (f"<Stepper of {self.names[self.root]}: {len(self.data['steps']) - 1} steps; "
                f"shows inline in a notebook, .save(path) writes the HTML page>")

    def _timeline(self, steps, path):
        """Every step as JSON-ready text: what to highlight, what each number becomes."""
        ids, names, num = self.ids, self.names, self._num
        self.rows = {"forward": [], "backward": []}     # (step, cells) per table row
        self.labels = {}                                # edge: its backward step's arithmetic
        nodes = {ids[n]: {"name": names[n], "data": num(n.data), "leaf": n.is_leaf}
                 for n in self.order}
        timeline = [{"kind": "start", "say": ["the inputs are given; press next (or the right "
                                              "arrow) to compute the forward pass"]}]
        for node in self.order:
            if not node.is_leaf and (path is None or node in path):
                nodes[ids[node]]["forward"] = len(timeline)
                timeline.append(self._forward(node, len(timeline)))
        timeline.append(self._seed(steps, len(timeline)))
        running = dict(steps.start)                     # every .grad as the steps go
        for step in steps:
            for node in [step.node] + [c.parent for c in step.contributions]:
                nodes[ids[node]]["final"] = len(timeline)   # its grad's last step so far
            timeline.append(self._backward(step, len(timeline), running))
        for node in self._explained():
            nodes[ids[node]]["explain"] = explain(self.root, node, digits=self.digits).text
        return {"uid": self.uid, "root": ids[self.root], "steps": timeline, "nodes": nodes,
                "start": {ids[n]: num(g) if path is None or n in path else UNKNOWN
                          for n, g in steps.start.items()},
                "unknown": UNKNOWN, "selected": ids[self._selected()]}

    def _num(self, x):
        return fmt(x, self.digits)

    def _forward(self, node, k):
        """Step k computes node from its parents' data: v1 = a * b = 3 * 2 = 6."""
        formula = f"{definition(node, self.names)} = {with_numbers(node, self.names, self.digits)}"
        self.rows["forward"].append((k, [formula, self._num(node.data)]))
        return {"kind": "forward", "node": self.ids[node], "edges": _edges(node, self.ids),
                "sources": [self.ids[p] for p in node.parents],
                "say": [f"forward: {formula} = {self._num(node.data)}"]}

    def _seed(self, steps, k):
        """Step k starts the backward pass: d root/d root = 1 (backward's gradient)."""
        # a leaf root has no steps: its .grad after the pass is the seed (it was zeroed)
        f = self.names[self.root]
        seed = self._num(steps[0].upstream if steps else self.root.grad)
        self.rows["backward"].append((k, [f, seed, "", "", "", ""]))
        return {"kind": "seed", "node": self.ids[self.root], "grads": {self.ids[self.root]: seed},
                "say": [f"backward: start at the root, d{f}/d{f} = {seed}"]}

    def _backward(self, step, k, running):
        """Step k: step.node sends its complete gradient to each parent, times the local
        derivative, added into the parent's running .grad (updated in running)."""
        ids, names, num = self.ids, self.names, self._num
        f, node, upstream = names[self.root], names[step.node], _signed(num(step.upstream))
        into = _edges(step.node, ids)
        kept = {c.parent for c in step.contributions}         # towards() may drop parents
        slots = [s for s, p in enumerate(step.node.parents) if p in kept]
        say = [f"backward: {definition(step.node, names)} sends d{f}/d{node} = "
               f"{num(step.upstream)} to its parents"]
        grads = {}
        for j, (slot, c) in enumerate(zip(slots, step.contributions)):
            p, local, contribution = names[c.parent], num(c.local), num(c.contribution)
            self.labels[into[slot]] = f"{local} × {upstream} = {contribution}"
            say.append(f"{p}: d{node}/d{p} = {local}, contribution {local} × {upstream} = "
                       f"{contribution}, {p}.grad = {num(running[c.parent])} + "
                       f"{_signed(contribution)} = {num(c.accumulated)}")
            first = [definition(step.node, names), num(step.upstream)] if j == 0 else ["", ""]
            self.rows["backward"].append((k, first + [p, local, contribution,
                                                      num(c.accumulated)]))
            running[c.parent] = c.accumulated
            grads[ids[c.parent]] = num(c.accumulated)
        return {"kind": "backward", "node": ids[step.node], "grads": grads, "say": say,
                "edges": [into[-1]] + [into[s] for s in slots],
                "sources": [ids[c.parent] for c in step.contributions]}

    def _explained(self):
        """The nodes whose chain rule the page can show: all of a small graph; else the
        named leaves (each text lists its paths, so all of them would grow as N^2)."""
        small = len(self.order) <= EXPLAIN_ALL
        return [n for n in self.order if n is not self.root and
                (small or n is self.focus or (n.is_leaf and n.label is not None))]

    def _selected(self):
        """The node explained when the page opens: the focus, else the first named leaf."""
        leaves = [n for n in self.order if n.is_leaf and n.label is not None]
        return self.focus or (leaves or self.order)[0]

    def _svg(self, steps):
        """draw()'s SVG, rendered once, sized for the widest number each node will show,
        with ids on node and edge groups and classes on the data and grad texts."""
        widest = {}
        for node, g in steps.start.items():
            widest[node] = g
        for step in steps:
            for c in step.contributions:
                if len(fmt(c.accumulated, self.digits)) > len(fmt(widest[c.parent], self.digits)):
                    widest[c.parent] = c.accumulated
        # show_local gives every edge a label, so graphviz leaves room for it; the label
        # becomes the arithmetic the page writes there, so nothing moves between steps
        graph = draw(self.root, grads=widest, digits=self.digits, focus=self.focus,
                     show_local=True, compact=False)      # every node: the page steps each
        count = {}
        for i, line in enumerate(graph.body):
            edge = _LABELLED_EDGE.match(line)
            if edge:                            # the k-th edge parent -> op in DOT order is #k
                key = f"{edge.group(2)}->{edge.group(3)}"
                count[key] = count.get(key, -1) + 1
                text = self.labels.get(f"{key}#{count[key]}", "")   # numbers: nothing to escape
                graph.body[i] = _LABELLED_EDGE.sub(f'\\1"{text}"', line)
        try:
            svg = run(graph.source, "svg").decode("utf-8")
        except (NoRenderer, RenderError) as err:
            raise type(err)(f"stepper: cannot draw the graph: {err}") from None
        return _tag_svg(svg, self.uid, self.names, {v: k for k, v in self.ids.items()})

    def fragment(self, page=False):
        """The stepper as one HTML element (its style, data and script inside it)."""
        tables = _tables(self.rows, self.names[self.root])
        data = json.dumps(self.data, ensure_ascii=False).replace("</", "<\\/")
        return TEMPLATE.format(uid=self.uid, page=" data-page" if page else "",
                               title=html.escape(self.title), css=_asset("stepper.css"),
                               svg=self.svg, shape=_shape(self.svg), tables=tables, data=data, js=_asset("stepper.js"),
                               last=len(self.data["steps"]) - 1)

    def _repr_html_(self):
        return self.fragment()

    def save(self, path):
        """Write the page to path (one HTML file, nothing fetched from anywhere); returns the Path."""
        page = PAGE.format(title=html.escape(self.title), body=self.fragment(page=True))
        return write(path, page.encode("utf-8"))


def _shape(svg):
    """'wide' for a graph much wider than tall (drawn above the tables), else 'tall' (beside)."""
    width, height = map(float, re.search(r'viewBox="[\d.-]+ [\d.-]+ ([\d.]+) ([\d.]+)"',
                                         svg).groups())
    return "wide" if width > 1.6 * height else "tall"


def _signed(text):
    """A negative number in parentheses, as written inside a product: 3 × (-2)."""
    return f"({text})" if text.startswith("-") else text


def _edges(node, ids):
    """The ids of the edges into node: one per parent slot into its op ('#k' tells apart
    the two edges of x*x), then the op's edge into node."""
    into = [f"{ids[p]}->{ids[node]}_op#{node.parents[:slot].count(p)}"
            for slot, p in enumerate(node.parents)]
    return into + [f"{ids[node]}_op->{ids[node]}#0"]


_GROUP = re.compile(r'<g id="(?:node|edge)(\d+)" class="(node|edge)">\s*<title>([^<]*)</title>'
                    r'(.*?)</g>', re.S)
_LABELLED_EDGE = re.compile(r'^(\t(\w+) -> (\w+_op) \[label=)"(?:[^"\\]|\\.)*"')
_TEXT = re.compile(r'<text([^>]*)>([^<]*)</text>')


def _tag_svg(svg, uid, names, nodes):
    """Graphviz's SVG made ready for the page: no XML prolog, no namespace URLs, each node
    and edge group given an id (uid-n3, uid-n0->n2_op#0), each data/grad text a class."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg).replace('id="graph0"', f'id="{uid}-graph"')
    # two edges parent -> op (x*x): the k-th in DOT order (graphviz numbers edges so) is #k
    numbers = {}
    for number, kind, title, _ in _GROUP.findall(svg):
        if kind == "edge":
            numbers.setdefault(html.unescape(title), []).append(int(number))

    def tag(match):
        number, kind, body = int(match.group(1)), match.group(2), match.group(4)
        title = html.unescape(match.group(3))
        if kind == "edge":
            key = f"{title}#{sorted(numbers[title]).index(number)}"
            body = _TEXT.sub(r'<text class="tg-local"\1>\2</text>', body)
            return f'<g id="{uid}-{html.escape(key)}" class="edge">{body}</g>'
        key = title.removesuffix("_op")
        if key != title:                                    # the op's ellipse
            return f'<g id="{uid}-{title}" class="node op" data-node="{key}">{body}</g>'
        body = _TEXT.sub(_text_class, body)
        return (f'<g id="{uid}-{title}" class="node" data-node="{key}" '
                f'data-name="{html.escape(names[nodes[key]])}">{body}</g>')

    return _GROUP.sub(tag, svg)


def _text_class(match):
    attrs, text = match.groups()
    for cell in ("data", "grad"):
        if html.unescape(text).startswith(cell + " "):
            return f'<text class="tg-{cell}"{attrs}>{text}</text>'
    return match.group(0)


def _tables(rows, f):
    """The forward and backward tables, one <tr> per contribution, data-step on each row."""
    return TABLES.format(f=html.escape(f), **{part: "".join(_row(k, cells) for k, cells in
                                                            rows[part]) for part in rows})


def _row(k, cells):
    return (f'<tr data-step="{k}"><td>{k}</td>'
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")


def _asset(name):
    """stepper.js or stepper.css, shipped beside this file (package data)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


TABLES = """<table class="tg-table"><caption>forward pass</caption>
<thead><tr><th>step</th><th>node</th><th>data</th></tr></thead><tbody>{forward}</tbody></table>
<table class="tg-table"><caption>backward pass</caption>
<thead><tr><th>step</th><th>node</th><th>d{f}/d(node)</th><th>parent</th>
<th>d(node)/d(parent)</th><th>contribution</th><th>parent .grad</th></tr></thead>
<tbody>{backward}</tbody></table>"""

TEMPLATE = """<div class="tg-stepper" id="{uid}" tabindex="0"{page}>
<style>{css}</style>
<div class="tg-bar"><strong class="tg-title">{title}</strong>
<button type="button" data-do="reset" title="reset (Home)">&#x21BA; reset</button>
<button type="button" data-do="prev" title="previous (left arrow)">&#x25C0; prev</button>
<button type="button" data-do="play" title="play / pause (space)">&#x25B6; play</button>
<button type="button" data-do="next" title="next (right arrow)">next &#x25B6;</button>
<button type="button" data-do="zoom" title="natural size / fit the width (z)">zoom</button>
<label>speed <select data-do="speed"><option value="0.5">0.5&times;</option>
<option value="1" selected>1&times;</option><option value="2">2&times;</option>
<option value="4">4&times;</option></select></label>
<span class="tg-count">step <b class="tg-k">0</b> of {last}</span></div>
<div class="tg-main tg-{shape}"><div class="tg-graph">{svg}</div>
<div class="tg-side"><div class="tg-info"><div class="tg-say"></div><pre class="tg-explain"></pre>
</div><div class="tg-tables">{tables}</div></div></div>
<script type="application/json" class="tg-data">{data}</script>
<script>{js}
tracegradStepper(document.getElementById("{uid}"));</script>
</div>"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body>
{body}
</body></html>
"""

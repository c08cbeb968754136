"""The stepper's page: graphviz's SVG given ids and classes the script finds (one id prefix
per stepper, so two in one notebook never clash), the steps tables, and the HTML around
them (style and script inlined from stepper.css and stepper.js, shipped as package data).
"""
import html
import re
from importlib import resources


def page(fragment, title):
    """A whole HTML document around one stepper fragment."""
    return PAGE.format(title=html.escape(title), body=fragment)


def fragment(uid, title, svg, rows, root_name, data, last, is_page, extra=""):
    """The stepper as one element: its style, bar, graph, tables, data and script; extra:
    what practice mode adds inside it (practice.py)."""
    return TEMPLATE.format(uid=uid, page=" data-page" if is_page else "",
                           title=html.escape(title), css=_asset("stepper.css"), svg=svg,
                           shape=_shape(svg), tables=_tables(rows, root_name),
                           data=script_safe(data), js=_asset("stepper.js"),
                           last=last, extra=extra)


def script_safe(data):
    """JSON text safe inside <script>: every < written as \\u003c (equal in JSON), so no
    label can end the block (</script>) or start a comment (<!--) that would swallow the
    page's own script, on a page or inline in Jupyter (without a <, > and & mean nothing)."""
    return data.replace("<", "\\u003c")


def _shape(svg):
    """'wide' for a graph much wider than tall (drawn above the tables), else 'tall' (beside)."""
    width, height = map(float, re.search(r'viewBox="[\d.-]+ [\d.-]+ ([\d.]+) ([\d.]+)"',
                                         svg).groups())
    return "wide" if width > 1.6 * height else "tall"


_GROUP = re.compile(r'<g id="(?:node|edge)(\d+)" class="(node|edge)">\s*<title>([^<]*)</title>'
                    r'(.*?)</g>', re.S)
_LABELLED_EDGE = re.compile(r'^(\t(\w+) -> (\w+_op) \[label=)"(?:[^"\\]|\\.)*"')
_TEXT = re.compile(r'<text([^>]*)>([^<]*)</text>')


def relabel_edges(graph, labels):
    """Write labels[edge id] on each labelled edge parent -> op of graph (a Drawing), in place;
    an edge without one gets an empty label. The k-th edge parent -> op in DOT order is #k."""
    count = {}
    for i, line in enumerate(graph.body):
        edge = _LABELLED_EDGE.match(line)
        if edge:
            key = f"{edge.group(2)}->{edge.group(3)}"
            count[key] = count.get(key, -1) + 1
            text = labels.get(f"{key}#{count[key]}", "")     # numbers: nothing to escape
            text = text.replace("\n", "\\n")                # a new line, as DOT writes it
            graph.body[i] = _LABELLED_EDGE.sub(lambda m: f'{m.group(1)}"{text}"', line)


def tag_svg(svg, uid, cells):
    """Graphviz's SVG made ready for the page: no XML prolog, no namespace URLs, each node
    and edge group given an id (uid-n3, uid-n0->n2_op#0), each data/grad text a class.
    cells: for each drawn Value's DOT id, its name and the data and grad to show without
    the script (the end of the pass: what a notebook viewer that runs no script shows)."""
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
            body = _arrowheads(_TEXT.sub(r'<text class="tg-local"\1>\2</text>', body))
            return f'<g id="{uid}-{html.escape(key)}" class="edge">{body}</g>'
        key = title.removesuffix("_op")
        if key != title:                                    # the op's ellipse
            return f'<g id="{uid}-{title}" class="node op" data-node="{key}">{body}</g>'
        # the record's cells end "data ..., grad ..." (a constant's: "data ..."); read from
        # the end by their places, so a label that reads "grad 1" stays a name
        texts = list(_TEXT.finditer(body))
        kinds = ("grad", "data") if texts and _starts(texts[-1], "grad") else ("data",)
        for text, kind in zip(reversed(texts[-len(kinds):]), kinds):
            body = body[:text.start()] + _cell(text, kind, cells[key]) + body[text.end():]
        return (f'<g id="{uid}-{title}" class="node" data-node="{key}" '
                f'data-name="{html.escape(cells[key]["name"])}">{body}</g>')

    return _GROUP.sub(tag, svg)


_START = re.compile(r'<path[^>]* d="M\s*([\d.-]+)[, ]([\d.-]+)')
_POLYGON = re.compile(r'<polygon([^>]*) points="([^"]*)"')


def _arrowheads(body):
    """An edge drawn with an arrowhead at each end (dir=both): the one at the edge's tail
    classed tg-back (the gradient's way, to the parent), the other tg-fwd (the data's way);
    the stylesheet shows one of them."""
    start = _START.search(body)
    if not start:
        return body
    x0, y0 = map(float, start.groups())

    def distance(points):
        xy = [tuple(map(float, p.split(","))) for p in points.split()]
        return min((x - x0) ** 2 + (y - y0) ** 2 for x, y in xy)
    heads = _POLYGON.findall(body)
    if len(heads) != 2:
        return body
    back = min(range(2), key=lambda i: distance(heads[i][1]))
    k = iter(range(2))
    return _POLYGON.sub(lambda m: f'<polygon class="{"tg-back" if next(k) == back else "tg-fwd"}"'
                        f'{m.group(1)} points="{m.group(2)}"', body)


def _cell(match, kind, cell):
    """A record's data or grad text (found by its place, so a label "grad 1" stays a
    name), classed, with the number cell gives."""
    attrs, text = match.groups()
    if not _starts(match, kind):
        return match.group(0)
    return f'<text class="tg-{kind}"{attrs}>{kind} {html.escape(cell[kind])}</text>'


def _starts(match, kind):
    return html.unescape(match.group(2)).startswith(kind + " ")


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
<thead><tr><th>step</th><th>node</th><th>d{f}/<wbr>d(node)</th><th>parent</th>
<th>d(node)/<wbr>d(parent)</th><th>contri&shy;bution</th><th>parent .grad</th></tr></thead>
<tbody>{backward}</tbody></table>"""

TEMPLATE = """<div class="tg-stepper" id="{uid}" tabindex="0"{page}>
<style>{css}</style>
<div class="tg-bar"><strong class="tg-title">{title}</strong>
<button type="button" data-do="reset" title="reset (Home)">&#x21BA; reset</button>
<button type="button" data-do="prev" title="previous (left arrow)">&#x25C0; prev</button>
<button type="button" data-do="play" title="play / pause (space)">&#x25B6; play</button>
<button type="button" data-do="next" title="next (right arrow)">next &#x25B6;</button>
<button type="button" data-do="zoom" title="the whole graph / readable size (z)">overview</button>
<label>speed <select data-do="speed"><option value="0.5">0.5&times;</option>
<option value="1" selected>1&times;</option><option value="2">2&times;</option>
<option value="4">4&times;</option></select></label>
<span class="tg-count">step <b class="tg-k">0</b> of {last}</span>
<div class="tg-legend">forward pass: <i>blue</i> arrows, data flows to the op;
backward pass: <b>red</b> arrows point back to the parents, the way the gradient flows</div></div>
<div class="tg-main tg-{shape}"><div class="tg-graph">{svg}</div>
<div class="tg-side"><div class="tg-info"><div class="tg-say" aria-live="polite"></div><pre class="tg-explain"></pre>
</div><div class="tg-tables">{tables}</div></div></div>
<script type="application/json" class="tg-data">{data}</script>
<script>{js}
tracegradStepper(document.getElementById("{uid}"));</script>
{extra}</div>"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body>
{body}
</body></html>
"""

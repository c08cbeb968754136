"""Fault trials for shared pages and drawings: labels and titles that try to add markup,
attributes, links or scripts, to break the stepper's script or the SVG's XML, or to be read
as a number cell. Each drawing is parsed with an XML parser; each page is opened in headless
Chromium, every link and button clicked, and window.__pwn must stay undefined. Shared by the
tests and census.py."""
import xml.etree.ElementTree as ET

from tracegrad.engine import Value, draw, stepper

PWN = "window.__pwn=1"
PAYLOADS = [
    f'<x> URL="javascript:void({PWN})" tooltip=<y>',
    f'x" URL="javascript:{PWN}" id="y',
    "<!--<script>",
    f"</script><script>{PWN}</script>",
    f'"><img src=x onerror="{PWN}">',
    f"<b onmouseover={PWN}>b</b>",
    f"javascript:{PWN}",
    "]]><x>",
    f"';{PWN};'",
    "&lt;", "&amp;", "&a;", "a & b",
    "a\x01b", "\x00", "t\x1b[31m",
    "grad 123", "data 4",
    "\\N", "\\G \\E", "{a|b}", "a\\", '"',
    "a\u2028b", "\u202eevil",
]
SHOWN = {"a\x01b": "a\\x01b", "\x00": "\\x00", "t\x1b[31m": "t\\x1b[31m"}   # as written


def graph(label):
    """f = x * y with x labelled label, after backward."""
    x, y = Value(2.0, label=label), Value(3.0, label="y")
    f = x * y
    f.label = "f"
    f.backward()
    return f


def svg_problems(label, **options):
    """What is wrong with draw(graph(label), **options) as SVG (an empty list when nothing)."""
    svg = draw(graph(label), **options).pipe(format="svg", encoding="utf-8")
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as err:
        return [f"not well-formed XML: {err}"]
    problems = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in ("a", "script", "foreignObject", "iframe"):
            problems.append(f"a <{tag}> element")
        for name, value in element.attrib.items():
            name = name.rsplit("}", 1)[-1]
            if name.startswith("on") or "javascript:" in value.lower() or name == "href":
                problems.append(f"attribute {name}={value!r}")
    texts = ["".join(t.itertext()) for t in root.iter() if t.tag.endswith("text")]
    wanted = SHOWN.get(label, label)
    where = options.get("title") and options["title"] == label
    if wanted.strip() and wanted not in texts and not where:
        problems.append(f"the label is not shown as typed (texts: {texts})")
    if where and wanted not in texts:
        problems.append(f"the title is not shown as typed (texts: {texts})")
    return problems


DRAWINGS = [{}, {"svg_ids": True}, {"svg_ids": True, "show_local": True}, {"title": None}]


def drawing_trials():
    """(tried, passed, failures) over every payload and drawing option."""
    tried, failures = 0, []
    for label in PAYLOADS:
        for options in DRAWINGS:
            options = {**options, "title": label} if "title" in options else options
            tried += 1
            try:
                problems = svg_problems(label, **options)
            except Exception as err:          # a renderer that chokes on it fails the trial
                problems = [f"{type(err).__name__}: {err}"]
            if problems:
                failures.append((label, options, problems))
    return tried, tried - len(failures), failures


CLICK_ALL = """
var links = document.querySelectorAll('a, [href], [xlink\\\\:href], button, g.node, tr');
links.forEach(function (el) {
  try { el.dispatchEvent(new MouseEvent('click', {bubbles: true})); } catch (e) {}
  try { el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); } catch (e) {}
});
return links.length;"""

STATE = """
var box = document.querySelector('.tg-stepper');
var names = Array.from(document.querySelectorAll('g.node[data-name] text:not([class])'),
                       t => t.textContent);
return {pwn: typeof window.__pwn, started: !!(box && box.dataset.step !== undefined),
        names: names, after: !!document.getElementById('after'),
        title: (document.querySelector('.tg-title') || {}).textContent};"""


def page_problems(browser, folder, label, inline):
    """What goes wrong when the stepper of graph(label), titled label, is opened: as a page,
    or (inline) as Jupyter puts it, a fragment with more output after it."""
    s = stepper(graph(label), title=label)
    path = folder / "page.html"
    if inline:
        path.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                        f"<div>{s._repr_html_()}</div><div id='after'>after</div></body></html>",
                        encoding="utf-8")
    else:
        s.save(path)
    browser.get(path.as_uri())
    browser.execute_script(CLICK_ALL)
    shown = browser.execute_script(STATE)
    problems = []
    if shown["pwn"] != "undefined":
        problems.append("a script ran")
    if not shown["started"]:
        problems.append("the stepper did not start")
    if inline and not shown["after"]:
        problems.append("the output after the stepper was swallowed")
    if SHOWN.get(label, label) not in shown["names"] and label.strip():
        problems.append(f"the name is not shown as typed ({shown['names']})")
    return problems


def page_trials(browser, folder):
    """(tried, passed, failures): every payload as a page and inline."""
    tried, failures = 0, []
    for label in PAYLOADS:
        for inline in (False, True):
            tried += 1
            try:
                problems = page_problems(browser, folder, label, inline)
            except Exception as err:          # the stepper cannot even be made
                problems = [f"{type(err).__name__}: {err}"]
            if problems:
                failures.append((label, inline, problems))
    return tried, tried - len(failures), failures

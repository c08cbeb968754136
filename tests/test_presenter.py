"""The stepper as a class sees it (issue 22), in headless Chromium: at 1280x720 every text of
the graph is 18 px or more on screen and every table cell and the step's text 20 px or more,
for the lecture neuron and one weight of MLP(2, [2, 1]); nothing is wider than the window at
1280 or 1920; printed, the tables are whole and the buttons gone; gradient arrows point back.
"""
import pytest

from tracegrad.engine import stepper
from tracegrad.engine.teach.demo import lecture_neuron
from tracegrad.nn import MLP, losses

from browser import Unavailable, chrome

SIZES = [(1280, 720), (1920, 1080)]

MEASURE = """
var px = function (e) { return parseFloat(getComputedStyle(e).fontSize); };
var svg = [], cells = [], wide = [];
document.querySelectorAll('.tg-graph svg text').forEach(function (t) {
  if (t.textContent.trim()) svg.push(px(t) * t.getScreenCTM().a);   // font size x scale
});
document.querySelectorAll('.tg-tables td, .tg-tables th, .tg-say div, .tg-explain')
  .forEach(function (e) { cells.push(px(e)); });
document.querySelectorAll('.tg-stepper *').forEach(function (e) {
  var r = e.getBoundingClientRect();
  if (r.width && r.right > innerWidth + 0.5) wide.push(e.tagName + ' ' + r.right);
});
var box = function (s) { return document.querySelector(s); };
return {svg: svg, cells: cells, wide: wide, page: document.documentElement.scrollWidth,
        clipped: Array.from(document.querySelectorAll('.tg-tables, .tg-info, .tg-say'),
                            e => e.scrollWidth > e.clientWidth + 1)};"""


def one_weight():
    model = MLP(2, [2, 1], seed=0)
    loss = losses.mse(model([0.5, -1.0]), [1.0])
    loss.label = "loss"
    return loss, model.layers[0].neurons[1].w[0]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("presenter")
    o, _ = lecture_neuron()
    loss, w = one_weight()
    return {"neuron": stepper(o).save(folder / "neuron.html"),
            "weight": stepper(loss, focus=w).save(folder / "weight.html")}


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def browser(request):
    try:
        driver = chrome(*request.param)
    except Unavailable as reason:
        pytest.skip(f"browser tests: {reason}")
    driver.size = request.param
    yield driver
    driver.quit()


@pytest.mark.parametrize("graph", ["neuron", "weight"])
@pytest.mark.parametrize("step", [0, 11, "last"])
def test_readable_from_the_back_of_the_room(browser, pages, graph, step):
    browser.get(pages[graph].as_uri() + ("#step=99" if step == "last" else f"#step={step}"))
    shown = browser.execute_script(MEASURE)
    width, _ = browser.size
    assert len(shown["svg"]) > 20 and min(shown["svg"]) >= 18 - 0.01, min(shown["svg"])
    assert min(shown["cells"]) >= (20 if width == 1280 else 30) - 0.01
    assert not shown["wide"] and shown["page"] <= width, shown["wide"][:5]
    assert not any(shown["clipped"])                         # nothing scrolls sideways


def test_the_screen_is_used_at_1920(browser, pages):
    if browser.size[0] != 1920:
        pytest.skip("measured at 1920x1080")
    browser.get(pages["neuron"].as_uri() + "#step=11")
    used = browser.execute_script("""
        var r = document.querySelector('.tg-graph svg').getBoundingClientRect();
        var t = document.querySelector('.tg-tables').getBoundingClientRect();
        return [r.width, r.height, t.bottom];""")
    assert used[0] > 0.7 * 1920 and used[2] > 0.9 * 1080, used


def test_gradient_arrows_point_back_to_the_parents(browser, pages):
    browser.get(pages["neuron"].as_uri() + "#step=11")      # x1w1 = x1*w1 sends 0.5 back
    arrows = browser.execute_script("""
        var shown = function (e) { return getComputedStyle(e).display !== 'none'; };
        return Array.from(document.querySelectorAll('g.edge'), function (g) {
          var back = g.querySelector('polygon.tg-back'), fwd = g.querySelector('polygon.tg-fwd');
          return [g.classList.contains('flow'), shown(back), shown(fwd)]; });""")
    flows = [a for a in arrows if a[0]]
    assert len(flows) == 3 and all(back and not fwd for _, back, fwd in flows)
    assert all(fwd and not back for flow, back, fwd in arrows if not flow)
    legend = browser.execute_script("return document.querySelector('.tg-legend').textContent")
    assert "point back to the parents" in legend


def test_printed_the_tables_are_whole_and_the_buttons_gone(browser, pages):
    browser.get(pages["weight"].as_uri() + "#step=99")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        printed = browser.execute_script("""
            var hidden = Array.from(document.querySelectorAll('.tg-stepper button'),
                                    b => getComputedStyle(b).display === 'none');
            var boxes = Array.from(document.querySelectorAll('.tg-tables, .tg-graph, .tg-info'),
              e => [e.scrollHeight <= e.clientHeight + 1, e.scrollWidth <= e.clientWidth + 1]);
            var svg = document.querySelector('.tg-graph svg').getBoundingClientRect();
            var page = document.querySelector('.tg-stepper').getBoundingClientRect();
            var rows = document.querySelectorAll('.tg-tables tr').length;
            return [hidden, boxes, svg.width / page.width, rows];""")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    hidden, boxes, share, rows = printed
    assert all(hidden) and all(all(b) for b in boxes), boxes
    assert share > 0.4 and rows > 20           # the graph across the page; every row there


@pytest.mark.slow
def test_png_steps_are_one_full_hd_slide_per_step(tmp_path):
    import struct
    import subprocess
    import sys
    from tracegrad.engine.teach.slides import find_chromium
    if find_chromium() is None:
        pytest.skip("png steps: no headless Chromium here (apt-get install chromium)")
    done = subprocess.run([sys.executable, "-m", "tracegrad", "play", "(a*b)*(a+b)", "--at",
                           "a=3", "b=2", "--title", "The diamond", "-o",
                           str(tmp_path / "d.html"), "--png-steps", str(tmp_path / "slides")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "<title>The diamond</title>" in (tmp_path / "d.html").read_text()
    slides = sorted((tmp_path / "slides").glob("*.png"))
    assert [p.name for p in slides] == [f"step_{k}.png" for k in range(8)]
    for png in slides:
        header = png.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", header[16:24]) == (1920, 1080)


def test_png_steps_without_a_browser_say_how_to_get_one(tmp_path, monkeypatch):
    from tracegrad.engine.teach.slides import NoBrowser
    monkeypatch.setenv("TRACEGRAD_CHROMIUM", "none")
    o, _ = lecture_neuron()
    with pytest.raises(NoBrowser, match="apt-get install chromium"):
        stepper(o).save_png_steps(tmp_path)


LABELS = """
var box = function (g) {
  var b = g.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; };
var edges = Array.from(document.querySelectorAll('g.edge'));
return Array.from(document.querySelectorAll('g.node'), function (g) {
  var b = box(g), cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2, label = /[.]label$/.test(g.id);
  var near = edges.map(function (h) {        // the distance from the label to each edge
    var p = h.querySelector('path'), n = p.getTotalLength(), best = Infinity;
    for (var s = 0; s <= 40; s++) {
      var q = p.getPointAtLength(n * s / 40);
      best = Math.min(best, Math.hypot(q.x - cx, q.y - cy));
    }
    return best; });
  return {id: g.id, label: label, box: b,
          text: Array.from(g.querySelectorAll('text'), t => t.textContent).join(' '),
          nearest: edges[near.indexOf(Math.min.apply(null, near))].id};
});"""


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_edge_labels_never_overlap_and_sit_by_their_own_edge(rankdir, tmp_path):
    from tracegrad.engine import draw
    from tracegrad.engine.teach.render import run
    o, _ = lecture_neuron()
    o.backward()
    svg = run(draw(o, rankdir=rankdir, show_local=True, svg_ids=True).source, "svg")
    page = tmp_path / "graph.html"
    page.write_bytes(b"<html><body>" + svg[svg.index(b"<svg"):] + b"</body></html>")
    try:
        driver = chrome()
    except Unavailable as reason:
        pytest.skip(f"browser tests: {reason}")
    try:
        driver.get(page.as_uri())
        nodes = driver.execute_script(LABELS)
    finally:
        driver.quit()
    labels = [n for n in nodes if n["label"]]
    assert len(labels) == 9                 # one per parent -> op edge of the neuron
    for i, a in enumerate(labels):
        edge = a["id"].removesuffix(".label")
        assert a["nearest"] in (edge, edge + ".tail"), a      # on its own edge
        for b in nodes:
            apart = (a["box"][2] <= b["box"][0] or b["box"][2] <= a["box"][0] or
                     a["box"][3] <= b["box"][1] or b["box"][3] <= a["box"][1])
            assert apart or a is b, (a["text"], b["text"])   # over no label and no node
    texts = {a["id"]: a["text"] for a in labels}     # top down: on two lines
    assert texts["x1->x1w1.op#0.label"] == "dx1w1/dx1 = w1 = -3"


def test_lesson_02s_graphs_fit_a_notebook_cell():
    import json
    import re
    from pathlib import Path
    lesson = Path(__file__).resolve().parent.parent / "notebooks" / "02_backprop_step_by_step.ipynb"
    import base64
    outputs = [out for cell in json.loads(lesson.read_text())["cells"]
               for out in cell.get("outputs", [])]
    widths = [float(w) * 4 / 3 for out in outputs for svg in [out.get("data", {}).get("image/svg+xml")]
              if svg for w in re.findall(r'<svg[^>]* width="([\d.]+)pt"', "".join(svg))]
    # the frames are saved as PNGs (issue 18): their width in CSS pixels
    widths += [int.from_bytes(base64.b64decode("".join(out["data"]["image/png"]))[16:20], "big")
               for out in outputs if "image/png" in out.get("data", {})
               and "image/svg+xml" not in out["data"] and "text/html" not in out["data"]]
    assert len(widths) >= 7 and max(widths) <= 1160, widths      # the graph and its frames

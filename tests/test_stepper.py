"""The backprop stepper: its timeline worked out by hand (the diamond (a*b)*(a+b) at a=3, b=2,
exact; the lecture neuron), the saved page (one file, no URL), and the page itself in headless
Chromium: highlighted node and row, shown gradients, controls, keys, #step=N, no network.
"""
import html
import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from tracegrad.engine import Value, backward_steps, stepper
from tracegrad.engine.teach.demo import lecture_neuron
from tracegrad.engine.text import fmt
from tracegrad.nn import MLP, losses


ROOT = Path(__file__).resolve().parent.parent


def diamond():
    a, b = Value(3, label="a"), Value(2, label="b")
    f = (a * b) * (a + b)
    f.label = "f"
    return f, a, b


# The diamond by hand. Forward: v1 = a*b = 6, v2 = a+b = 5, f = v1*v2 = 30 (steps 1-3).
# Step 4 seeds df/df = 1. Backward, root first: step 5 f = v1*v2 gives v1 df/dv1 = v2 = 5 and
# v2 df/dv2 = v1 = 6; step 6 v2 = a+b gives a and b 1*6 = 6 each; step 7 v1 = a*b gives a
# b*5 = 10 (a.grad 6+10 = 16 = 2ab + b^2) and b a*5 = 15 (b.grad 6+15 = 21 = a^2 + 2ab).
DIAMOND = {  # step: (current node, {node: grad shown}), "?" before the backward pass
    0: (None, {"a": "?", "b": "?", "v1": "?", "v2": "?", "f": "?"}),
    2: ("v2", {"a": "?", "f": "?"}),
    4: ("f", {"a": "0", "b": "0", "v1": "0", "v2": "0", "f": "1"}),
    5: ("f", {"a": "0", "b": "0", "v1": "5", "v2": "6", "f": "1"}),
    6: ("v2", {"a": "6", "b": "6", "v1": "5", "v2": "6"}),
    7: ("v1", {"a": "16", "b": "21", "v1": "5", "v2": "6", "f": "1"}),
}
DIAMOND_DATA = {0: {"a": "3", "b": "2", "v1": "?", "v2": "?", "f": "?"},
                2: {"v1": "6", "v2": "5", "f": "?"}, 3: {"f": "30"}}


def test_the_diamonds_timeline_is_the_hand_calculation():
    f, a, b = diamond()
    page = stepper(f)
    steps = page.data["steps"]
    assert [s["kind"] for s in steps] == ["start"] + ["forward"] * 3 + ["seed"] + ["backward"] * 3
    assert [s["say"][0] for s in steps[1:4]] == [
        "forward: v1 = a * b = 3 * 2 = 6", "forward: v2 = a + b = 3 + 2 = 5",
        "forward: f = v1 * v2 = 6 * 5 = 30"]
    assert steps[4]["say"] == ["backward: start at the root, df/df = 1"]
    assert steps[7]["say"] == [
        "backward: v1 = a * b sends df/dv1 = 5 back to its parents",
        "a: dv1/da = b = 2, contribution 2 × 5 = 10, a.grad = 6 + 10 = 16",
        "b: dv1/db = a = 3, contribution 3 × 5 = 15, b.grad = 6 + 15 = 21"]
    assert sorted(page.labels[e] for e in steps[7]["edges"][1:]) == ["2 × 5\n= 10", "3 × 5\n= 15"]
    assert ">2 × 5</text>" in page.svg and ">= 10</text>" in page.svg   # drawn once, in 2 lines
    assert (a.grad, b.grad) == (16, 21)          # the page ran one fresh backward pass
    assert re.search(r"<td>7</td><td>v1 = a \* b</td><td>5</td><td>a</td><td>2</td>"
                     r"<td>10</td><td>16</td>", page.fragment())


def test_a_second_page_of_the_same_graph_starts_from_zeroed_leaf_grads():
    f, a, b = diamond()
    stepper(f)
    assert stepper(f).data["steps"][7]["say"][1].endswith("a.grad = 6 + 10 = 16")


def test_x_times_x_says_which_edge_is_which():
    x = Value(3, label="x")
    y = x * x
    y.label = "y"
    # dy/dx = x for each slot: 3 * 1 twice, x.grad = 3 then 6 = 2x
    assert stepper(y).data["steps"][-1]["say"][1:] == [
        "x: dy/dx[1] = x = 3, contribution 3 × 1 = 3, x.grad = 0 + 3 = 3",
        "x: dy/dx[2] = x = 3, contribution 3 × 1 = 3, x.grad = 3 + 3 = 6"]


def test_a_leaf_alone_is_seeded_with_one():
    x = Value(2.0, label="x")
    steps = stepper(x).data["steps"]
    assert [s["kind"] for s in steps] == ["start", "seed"]
    assert steps[1]["say"] == ["backward: start at the root, dx/dx = 1"]


def test_fractions_show_as_fractions():
    x = Value(Fraction(1, 2), label="x")
    y = x * Fraction(2, 3) + x ** 2
    y.label = "y"
    page = stepper(y)
    # y = v1 + v2 with v1 = x*2/3 = 1/3, v2 = x^2 = 1/4, y = 7/12. Backward, root first:
    # v2 gives x 2x * 1 = 1, then v1 gives x 2/3 * 1: x.grad = 1 + 2/3 = 5/3
    assert [s["say"][0] for s in page.data["steps"][1:4]] == [
        "forward: v1 = x * 2/3 = 1/2 * 2/3 = 1/3", "forward: v2 = x**2 = (1/2)**2 = 1/4",
        "forward: y = v1 + v2 = 1/3 + 1/4 = 7/12"]
    assert page.data["steps"][-1]["say"][1] == ("x: dv1/dx = 2/3, contribution 2/3 × 1 = 2/3, "
                                                "x.grad = 1 + 2/3 = 5/3")


def test_the_page_is_one_file_that_names_no_url(tmp_path):
    f, _, _ = diamond()
    path = stepper(f).save(tmp_path / "deep" / "backprop.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "tracegradStepper(" in text
    assert not re.search(r"https?:|//[a-z]|\bsrc=|\bhref=|@import|url\(", text, re.I)
    assert text.count("<svg") == 1 and "class=\"tg-grad\"" in text


def test_a_large_graph_is_refused_with_the_focus_view_offered():
    x = Value(1.0, label="x")
    y = x
    for _ in range(80):
        y = y * 1.01 + x                 # 3 Values a turn: 1 + 3*80 = 241
    with pytest.raises(ValueError, match=r"stepper: .* 241 Values to draw, more than "
                                         r"max_nodes=150.*Pass focus=leaf"):
        stepper(y)


def test_one_weight_of_micrograds_moons_model_steps_in_the_focus_view():
    model = MLP(2, [16, 16, 1], seed=0)
    loss = losses.mse(model([0.5, -1.0]), [1.0])
    with pytest.raises(ValueError, match="Values to draw, more than max_nodes=150"):
        stepper(loss)
    w = model.parameters()[0]
    page = stepper(loss, focus=w)          # pruned to w's paths, sums drawn as Sigma nodes
    kept = backward_steps(loss).towards(w)
    backward = [s for s in page.data["steps"] if s["kind"] == "backward"]
    assert len(backward) == len(kept) and len(page.view.drawn) <= 150
    for step in page.data["steps"][1:]:    # every step lights up something that is drawn
        assert f'id="{page.uid}-{step["node"]}"' in page.svg
        for edge in step.get("edges", []):
            assert f'id="{page.uid}-{html.escape(edge)}"' in page.svg, edge
    assert backward[-1]["say"][-1].endswith(f"= {fmt(w.grad)}")


def test_a_long_sum_is_one_sigma_whose_steps_come_one_plus_at_a_time():
    a, b, c, d, e = (Value(k, label=n) for k, n in zip(range(1, 6), "abcde"))
    s = a + b + c + d + e                  # ((((a + b) + c) + d) + e): 5 terms, folded
    s.label = "s"
    page = stepper(s)
    backward = [st for st in page.data["steps"] if st["kind"] == "backward"]
    sid = page.ids[s]
    assert [st["node"] for st in backward] == [sid] * 4          # every + lights the Sigma
    assert backward[0]["say"][0] == "backward: s = v3 + e sends ds/ds = 1 back to its parents"
    assert backward[3]["say"][0] == ("backward: v1 = a + b sends ds/dv1 = 1 back to its parents "
                                     "(inside the \u03a3 of s)")
    # the last + sends 1 to a and to b, along a's and b's edges into the Sigma
    assert backward[3]["edges"][1:] == [f"{page.ids[a]}->{sid}_op#0", f"{page.ids[b]}->{sid}_op#0"]
    assert page.labels[f"{page.ids[a]}->{sid}_op#0"] == "1 × 1\n= 1"
    assert "\u03a3" in page.svg and len(page.view.drawn) == 6      # 5 terms and s
    every = stepper(s, compact=False)
    assert len(every.view.drawn) == 9 and "\u03a3" not in every.svg


def test_focus_steps_only_through_the_leafs_paths():
    o, (x1, w1, x2, w2, b) = lecture_neuron()
    page = stepper(o, focus=w1)
    backward = [s for s in page.data["steps"] if s["kind"] == "backward"]
    # w1 reaches o through x1w1 -> x1w1x2w2 -> n -> o: 4 backward steps of the 5
    assert [s["say"][0].split(" sends ")[0] for s in backward] == [
        "backward: o = tanh(n)", "backward: n = x1w1x2w2 + b",
        "backward: x1w1x2w2 = x1w1 + x2w2", "backward: x1w1 = x1 * w1"]
    assert backward[-1]["say"][1:] == ["w1: dx1w1/dw1 = x1 = 2, contribution 2 × 0.5 = 1, "
                                       "w1.grad = 0 + 1 = 1"]
    assert page.data["selected"] == page.ids[w1]
    with pytest.raises(ValueError, match="focus=.* is not a node"):
        stepper(o, focus=Value(1.0))


def test_a_top_to_bottom_graph_goes_beside_the_tables():
    f, _, _ = diamond()
    assert 'class="tg-main tg-wide"' in stepper(f).fragment()
    assert 'class="tg-main tg-tall"' in stepper(f, rankdir="TB").fragment()
    with pytest.raises(ValueError, match="stepper: rankdir='up'; use one of LR, TB, RL, BT"):
        stepper(f, rankdir="up")


def test_no_renderer_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TRACEGRAD_RENDERER", "none")
    f, _, _ = diamond()
    with pytest.raises(RuntimeError, match="stepper: cannot draw the graph: no Graphviz "
                                           "renderer found: pip install graphviz-pure"):
        stepper(f)


def test_play_command_writes_the_page(tmp_path):
    out = tmp_path / "backprop.html"
    done = subprocess.run([sys.executable, "-m", "tracegrad", "play", "(a*b)*(a+b)", "--at",
                           "a=3", "b=2", "--wrt", "a", "-o", str(out)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out}: 7 steps; open it in a browser"
    text = out.read_text()
    assert "a: dv1/da = b = 2, contribution 2 × 5 = 10, a.grad = 6 + 10 = 16" in text
    assert "<title>f = (a*b)*(a+b) at a=3, b=2</title>" in text
    bad = subprocess.run([sys.executable, "-m", "tracegrad", "play", "a*b", "--at", "a=1",
                          "b=2", "--wrt", "c"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--wrt c: not a variable" in bad.stderr
    folder = subprocess.run([sys.executable, "-m", "tracegrad", "play", "a*b", "--at", "a=1",
                             "b=2", "-o", str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert folder.returncode == 1 and folder.stderr.count("\n") == 1
    assert f"cannot write {tmp_path}: it is a folder" in folder.stderr


# ---- in a real browser -------------------------------------------------------------------

@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    f, _, _ = diamond()
    o, _ = lecture_neuron()
    return {"diamond": stepper(f).save(folder / "diamond.html"),
            "neuron": stepper(o).save(folder / "neuron.html")}


def state(driver):
    """What the page shows: step, current node's name, current rows' steps, data and grads."""
    return driver.execute_script("""
        var cur = document.querySelector('g.node.current[data-name]');
        var cells = {};
        document.querySelectorAll('g.node[data-name]').forEach(function (g) {
          cells[g.dataset.name] = [g.querySelector('text.tg-data').textContent,
                                   g.querySelector('text.tg-grad').textContent];
        });
        return {step: document.body.dataset.step, node: cur && cur.dataset.name,
                rows: Array.from(document.querySelectorAll('tr.current'), r => r.dataset.step),
                cells: cells, say: document.querySelector('.tg-say').innerText,
                flows: document.querySelectorAll('g.edge.flow').length};""")


def open_at(driver, path, step=None):
    driver.get(path.as_uri() + ("" if step is None else f"#step={step}"))
    return state(driver)


@pytest.mark.parametrize("step", sorted(DIAMOND))
def test_the_diamond_at_each_step(browser, pages, step):
    shown = open_at(browser, pages["diamond"], step)
    node, grads = DIAMOND[step]
    assert shown["step"] == str(step) and shown["node"] == node
    assert shown["rows"] == ([] if step == 0 else [str(step)] * (1 if step < 5 else 2))
    for name, grad in grads.items():
        assert shown["cells"][name][1] == f"grad {grad}", name
    for name, data in DIAMOND_DATA.get(step, {}).items():
        assert shown["cells"][name][0] == f"data {data}", name
    if step == 7:
        assert "a: dv1/da = b = 2, contribution 2 × 5 = 10, a.grad = 6 + 10 = 16" in shown["say"]
        assert shown["flows"] == 3                # v1's op -> v1, a -> op, b -> op


def test_next_keys_rows_and_nodes_move_the_step(browser, pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    assert open_at(browser, pages["diamond"])["step"] == "0"
    browser.find_element(By.CSS_SELECTOR, 'button[data-do="next"]').click()
    assert state(browser)["step"] == "1" and state(browser)["cells"]["v1"][0] == "data 6"
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    assert state(browser)["step"] == "4" and browser.current_url.endswith("#step=4")
    body.send_keys(Keys.ARROW_LEFT)
    assert state(browser)["step"] == "3"
    body.send_keys(Keys.END)
    assert state(browser)["step"] == "7"
    assert open_at(browser, pages["diamond"], 99)["step"] == "7"      # past the end: the last
    browser.find_element(By.CSS_SELECTOR, 'button[data-do="next"]').click()
    assert state(browser)["step"] == "7"
    browser.find_element(By.CSS_SELECTOR, 'button[data-do="prev"]').click()
    assert state(browser)["step"] == "6"
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-step="5"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()
    assert state(browser)["node"] == "f" and state(browser)["step"] == "5"
    # a node: its explanation shows, and the page goes to the step that finishes its grad
    browser.find_element(By.CSS_SELECTOR, 'g.node[data-name="b"]').click()
    assert state(browser)["step"] == "7"
    explained = browser.find_element(By.CSS_SELECTOR, ".tg-explain").text
    assert "path 1: b -> v1 -> f" in explained and "df/db = 21" in explained
    browser.find_element(By.CSS_SELECTOR, 'button[data-do="reset"]').click()
    assert state(browser)["step"] == "0" and state(browser)["cells"]["a"][1] == "grad ?"


def test_play_runs_to_the_end(browser, pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    open_at(browser, pages["diamond"], 5)
    Select(browser.find_element(By.CSS_SELECTOR, "select")).select_by_value("4")
    browser.find_element(By.CSS_SELECTOR, 'button[data-do="play"]').click()
    WebDriverWait(browser, 10).until(lambda d: state(d)["step"] == "7")
    assert "play" in browser.find_element(By.CSS_SELECTOR, 'button[data-do="play"]').text


def test_the_lecture_neuron(browser, pages):
    shown = open_at(browser, pages["neuron"], 7)          # o = tanh(n): 1 - tanh(n)^2 = 0.5
    assert shown["node"] == "o" and shown["cells"]["n"] == ["data 0.8814", "grad 0.5"]
    assert "n: do/dn = 1 - tanh(n)^2 = 0.5, contribution 0.5 × 1 = 0.5, n.grad = 0 + 0.5 = 0.5" in shown["say"]
    shown = open_at(browser, pages["neuron"], 11)         # x1w1 = x1*w1: x1 gets w1*0.5
    assert shown["node"] == "x1w1" and shown["rows"] == ["11", "11"]
    assert shown["cells"]["x1"][1] == "grad -1.5" and shown["cells"]["w1"][1] == "grad 1"
    assert shown["cells"]["x2"][1] == "grad 0.5" and shown["cells"]["w2"][1] == "grad 0"


def test_the_page_makes_no_network_request(browser, pages):
    browser.get("about:blank")                           # a fresh load, not a #step change
    browser.get_log("performance")                       # drop what came before
    open_at(browser, pages["neuron"], 3)
    urls = [json.loads(entry["message"])["message"]["params"]["request"]["url"]
            for entry in browser.get_log("performance")
            if '"Network.requestWillBeSent"' in entry["message"]]
    assert [u.split("#")[0] for u in urls] == [pages["neuron"].as_uri()], urls   # the page only
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_two_notebook_fragments_in_one_page_step_on_their_own(browser, tmp_path):
    from selenium.webdriver.common.by import By
    f, _, _ = diamond()
    o, _ = lecture_neuron()
    first, second = stepper(f), stepper(o)
    page = tmp_path / "notebook.html"                     # as Jupyter shows two outputs
    page.write_text(f"<html><body><div>{first._repr_html_()}</div>"
                    f"<div>{second._repr_html_()}</div></body></html>", encoding="utf-8")
    browser.get(page.as_uri())
    steps = lambda: browser.execute_script(
        "return Array.from(document.querySelectorAll('.tg-stepper'), e => e.dataset.step)")
    assert steps() == ["0", "0"]
    browser.find_elements(By.CSS_SELECTOR, 'button[data-do="next"]')[1].click()
    browser.find_elements(By.CSS_SELECTOR, 'button[data-do="next"]')[1].click()
    assert steps() == ["0", "2"] and "step" not in browser.execute_script(
        "return Object.keys(document.body.dataset)")     # a fragment leaves the page alone
    shown = browser.find_elements(By.CSS_SELECTOR, ".tg-say")[1].text
    assert shown == "forward: x2w2 = x2 * w2 = 0 * 1 = 0"


@pytest.mark.slow
def test_a_plain_install_ships_the_script_and_the_style(tmp_path):
    # not editable: the page reads stepper.js and stepper.css from the installed package
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                           "--target", str(target), str(ROOT)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"could not install here: {done.stderr.strip()[-300:]}")
    page = subprocess.run([sys.executable, "-c", (
        "import sys; sys.path.insert(0, sys.argv[1]); from tracegrad.engine import Value, "
        "stepper; import tracegrad.engine as e; x = Value(3, label='x'); y = x * x; "
        "print(e.__file__); print(stepper(y).fragment())"), str(target)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert page.returncode == 0, page.stderr
    assert page.stdout.startswith(str(target))
    assert "function tracegradStepper(root)" in page.stdout and ".tg-stepper g.node" in page.stdout


def test_a_fragment_runs_in_a_sandboxed_output_iframe(browser, tmp_path):
    # VS Code and JupyterLab's isolated outputs put HTML in an iframe: scripts, no origin
    from selenium.webdriver.common.by import By
    f, _, _ = diamond()
    page = tmp_path / "iframe.html"
    page.write_text('<html><body><iframe sandbox="allow-scripts" width="1200" height="600" '
                    f'srcdoc="{html.escape(stepper(f)._repr_html_())}"></iframe></body></html>',
                    encoding="utf-8")
    browser.get(page.as_uri())
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    try:
        for _ in range(6):
            browser.find_element(By.CSS_SELECTOR, 'button[data-do="next"]').click()
        shown = browser.execute_script("""
            var g = document.querySelector('g.node[data-name="a"] text.tg-grad');
            return [document.querySelector('.tg-stepper').dataset.step, g.textContent,
                    document.querySelector('g.node.current[data-name]').dataset.name];""")
        assert shown == ["6", "grad 6", "v2"]
    finally:
        browser.switch_to.default_content()


def test_a_notebooks_own_output_styles_do_not_undo_the_highlight(browser, tmp_path):
    # JupyterLab 4's rules for HTML outputs (selectors as it writes them): right-aligned,
    # striped, fixed-layout cells, wrapped pre, svg at most 100% wide. The stepper's win.
    jupyterlab = """
        :not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td { text-align: right; }
        .jp-RenderedHTMLCommon table { table-layout: fixed; }
        .jp-RenderedHTMLCommon tbody tr:nth-child(odd) { background: #fff; }
        .jp-RenderedHTMLCommon tbody tr:nth-child(even) { background: #eee; }
        .jp-OutputArea-output pre, .jp-RenderedHTMLCommon pre { white-space: pre-wrap; }
        .jp-RenderedHTMLCommon svg { max-width: 100%; }"""
    o, _ = lecture_neuron()                 # 897 pt wide: more than the cell at 18 px text
    page = tmp_path / "styled.html"
    page.write_text(f"<html><head><style>{jupyterlab}</style></head><body style='width: 700px'>"
                    "<div class='jp-OutputArea-output jp-RenderedHTMLCommon'>"
                    f"{stepper(o)._repr_html_()}</div></body></html>", encoding="utf-8")
    browser.get(page.as_uri())
    shown = browser.execute_script("""
        var next = document.querySelector('button[data-do="next"]');
        for (var i = 0; i < 11; i++) next.click();
        var c = getComputedStyle, rows = document.querySelectorAll('tr.current');
        var text = document.querySelector('.tg-graph svg text'), svg = text.ownerSVGElement;
        var px = function () { return parseFloat(c(text).fontSize) * text.getScreenCTM().a; };
        var before = [px(), svg.getBoundingClientRect().width];
        document.querySelector('button[data-do="zoom"]').click();
        return [Array.from(rows, r => c(r).backgroundColor), c(rows[0].cells[0]).textAlign,
                c(document.querySelector('.tg-explain')).fontFamily, before,
                [px(), svg.getBoundingClientRect().width]];""")
    colours, align, font, (px, width), (small, overview) = shown
    assert colours == ["rgb(255, 210, 127)"] * 2 and align == "left" and "monospace" in font
    # presenter view: text at 18 px or more, the svg not capped at 100% of the 700 px cell;
    # the overview: the whole graph in the cell, however small its text
    assert px >= 18 - 0.01 and small < px and overview <= 700 < width, (px, width, overview)


def test_without_the_script_the_graph_shows_the_end_of_the_pass():
    # a notebook viewer that runs no script still shows true numbers: the final ones
    x = Value(2.0, label="x")
    y = x * 1.5 + (-1.5) * x              # y = 0: x.grad is -1.5 (laid out for), then 0
    y.label = "y"
    svg = stepper(y).svg
    grads = dict(re.findall(r'data-name="(\w+)">.*?class="tg-grad"[^>]*>grad ([^<]*)<', svg, re.S))
    assert grads["x"] == "0" and grads["y"] == "1"

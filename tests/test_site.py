"""The static site (tracegrad/site): the page's Python (app.compute) checked in plain Python, the
builder's refusals, then one slow test that builds the folder (npm, pip), serves it on 127.0.0.1
and drives headless Chromium: Pyodide runs tracegrad from its wheel, viz-js draws.
"""
import functools
import json
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from tracegrad.engine.teach.expr import ExprError, parse
from tracegrad.site import app, build
from browser import Unavailable, chrome


def compute(**form):
    return json.loads(app.compute(json.dumps(form)))


@pytest.fixture
def renderer(monkeypatch):
    """use_renderer's changes undone after the test (the renderer hook, or the temporary
    patch of render.run and the stepper's copy of it)."""
    import importlib
    render = importlib.import_module("tracegrad.engine.teach.render")
    stepper = importlib.import_module("tracegrad.engine.teach.stepper")
    monkeypatch.setattr(render, "run", render.run)
    monkeypatch.setattr(stepper, "run", stepper.run)

    def graphviz(dot, fmt):                 # the installed program, not through the hook
        return subprocess.run([render.find_renderer(), f"-T{fmt}"], input=dot.encode(),
                              capture_output=True, check=True, timeout=60).stdout
    yield graphviz
    from tracegrad import engine
    if hasattr(engine, "set_renderer"):
        engine.set_renderer(None)


def test_the_diamond_in_every_part():
    r = compute(expr="(a*b)*(a+b)", at="a=3, b=2", wrt="b", expect="21")
    assert r["ok"] and r["names"] == ["a", "b"] and r["wrt"] == "b" and r["root"] == "f"
    assert r["grads"]["rows"] == [["a", "3", "16"], ["b", "2", "21"]]
    assert r["grads"]["caption"].startswith("f = 30;")
    assert [row[-1] for row in r["forward"]["rows"]] == ["3", "2", "6", "5", "30"]
    assert r["steps"]["rows"][0][:3] == ["1", "f = v1 * v2", "1"]
    assert "sum of the 2 paths: 15 + 6 = 21" in r["explain"]
    assert r["check"]["passed"] and r["check"]["text"].startswith("check_grad passed")
    assert r["drawing"]["svg"].startswith("<svg")
    assert 'class="tg-stepper"' in r["stepper"]["html"]


def test_a_wrong_hand_answer_fails_the_check_as_the_command_line_says():
    r = compute(expr="(a*b)*(a+b)", at="a=3 b=2", wrt="a", expect="15")
    assert not r["check"]["passed"]
    assert r["check"]["text"].startswith("check_grad FAILED") and "15" in r["check"]["text"]
    exact = compute(expr="(a*b)*(a+b)", at="a=3 b=2", expect="31/2", exact=True)["check"]
    assert not exact["passed"] and "31/2" in exact["text"]


def test_the_check_reads_its_options_as_the_command_line_does():
    r = compute(expr="-a*b", at="a=3 b=-2", wrt="a", expect="2")      # leading minus signs
    assert r["check"]["passed"], r["check"]["text"]
    r = compute(expr="x^2", at="x=0.5", wrt="x", expect="oops")
    assert r == {"ok": False, "error": "'oops' is not a number: write 2, -0.5, 1e-3 or 1/3"} \
        or "oops" in r["error"]                     # or a formula the formula check refuses


def test_practice_mode_where_the_stepper_has_it():
    plain = compute(expr="(a*b)*(a+b)", at="a=3 b=2")["stepper"]["html"]
    practice = compute(expr="(a*b)*(a+b)", at="a=3 b=2", practice=True)["stepper"]["html"]
    strip = functools.partial(re.sub, r"tg-stepper-\d+", "uid")
    assert (strip(plain) != strip(practice)) == app.PRACTICE


def test_the_input_to_explain_is_the_first_when_the_expression_has_no_such_name():
    r = compute(expr="x*y", at="x=2 y=5", wrt="a")
    assert r["wrt"] == "x" and r["explain"].startswith("df/dx")
    assert compute(expr="f*2", at="f=1")["root"] == "g"          # f is taken: the root is g


@pytest.mark.parametrize("expr", ["a.b", "2x + 1", "foo(x)", "x +* 2", "__import__('os')"])
def test_a_refused_expression_is_the_parsers_one_line(expr):
    r = compute(expr=expr, at="x=1")
    with pytest.raises(ExprError) as refused:
        parse(expr)
    assert not r["ok"] and r["error"] == str(refused.value) and "\n" not in r["error"]


@pytest.mark.parametrize("at, message", [
    ("x=one", "'one' is not a number: write 2, -0.5, 1e-3 or 1/3"),
    ("y=1", "--at y: 'x**2' has no variable y (its variables: x)"),
    ("", "no value for x: give one with --at x=..."),
    ("x=1 x=2", "--at gives x twice")])
def test_bad_values_get_the_command_lines_messages(at, message):
    assert compute(expr="x**2", at=at) == {"ok": False, "error": message}


@pytest.mark.parametrize("example", app.EXAMPLES, ids=lambda e: e["title"])
def test_every_gallery_example_computes(example):
    r = compute(**example)
    assert r["ok"], r.get("error")
    assert r["wrt"] == example["wrt"] and "svg" in r["drawing"] and "html" in r["stepper"]
    fields = {k: v[0] for k, v in parse_qs(build._fragment(example)).items()}
    assert fields == {k: "1" if v is True else v for k, v in example.items() if k != "title"}


def test_the_seeds_intercept_and_the_neuron_have_their_lecture_answers():
    ssr = compute(**app.EXAMPLES[2])
    assert ssr["grads"]["rows"] == [["intercept", "0", "3.8"]] and ssr["check"]["passed"]
    neuron = {name: grad for name, _, grad in compute(**app.EXAMPLES[0])["grads"]["rows"]}
    assert neuron == {"x1": "-1.5", "w1": "1", "x2": "0.5", "w2": "0", "b": "0.5"}


def test_use_renderer_draws_with_the_function_it_is_given(renderer):
    calls = []

    def fake_viz(dot, fmt):
        calls.append((dot.count("shape=record"), fmt))
        return renderer(dot, fmt).decode("utf-8")
    app.use_renderer(fake_viz)
    r = compute(expr="(a*b)*(a+b)", at="a=3 b=2")
    assert calls == [(5, "svg"), (5, "svg")]            # the drawing, then the stepper
    assert "svg" in r["drawing"] and "html" in r["stepper"]

    def broken(dot, fmt):
        raise RuntimeError("syntax error in line 1\nmore")
    app.use_renderer(broken)
    r = compute(expr="(a*b)*(a+b)", at="a=3 b=2")
    for error in (r["drawing"]["error"], r["stepper"]["error"]):   # one line, saying whose
        assert "viz-js" in error and error.endswith("syntax error in line 1")
    assert r["ok"] and r["stepper"]["error"].startswith("stepper: cannot draw the graph: ")


def test_the_build_never_deletes_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(build.SiteError, match="is not an earlier site build"):
        build.build(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_the_build_without_npm_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    with pytest.raises(build.SiteError, match="apt-get install nodejs npm"):
        build.build(tmp_path / "site")


@pytest.mark.slow
def test_a_pip_installed_tracegrad_is_zipped_as_its_own_wheel(tmp_path):
    """Without a clone (a pip user), the build zips the installed files as tracegrad's wheel."""
    root = Path(build.__file__).resolve().parents[2]
    run = functools.partial(subprocess.run, capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    made = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", "made", str(root)])
    assert made.returncode == 0, made.stderr
    wheel = next((tmp_path / "made").glob("tracegrad-*.whl"))
    done = run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", "site",
                str(wheel)])
    assert done.returncode == 0, done.stderr
    zipped = run([sys.executable, "-c", "import sys; sys.path.insert(0, 'site'); "
                  "from pathlib import Path; from tracegrad.site import build; "
                  "print(build.__file__); print(build._installed_wheel(Path('.')))"])
    assert zipped.returncode == 0, zipped.stderr
    where, path = zipped.stdout.split()
    assert Path(where).resolve().is_relative_to(tmp_path.resolve() / "site")
    assert Path(path).name == wheel.name
    with zipfile.ZipFile(wheel) as original, zipfile.ZipFile(tmp_path / path) as copy:
        python = {n for n in original.namelist() if n.startswith("tracegrad/")}
        assert python <= set(copy.namelist()) and "tracegrad/site/site.js" in python
        assert f"{wheel.name.rsplit('-', 3)[0]}.dist-info/METADATA" in copy.namelist()


# ---- built, served and opened in headless Chromium -----------------------------------------

class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def rows(driver, table):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#tg-" + table + " tbody tr'))"
        ".map(function (tr) { return Array.from(tr.cells).map(function (c) {"
        " return c.textContent; }); });")


def after_run(driver, runs):
    """Wait (at most 120 s: Pyodide starts in a few) until the page has computed runs times."""
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, 120, 0.1).until(lambda d: d.execute_script(
        "return document.body.dataset.failed || +(document.body.dataset.runs || 0) >= "
        + str(runs)))
    assert not driver.execute_script("return document.body.dataset.failed"), \
        driver.find_element("id", "tg-status").text


def requests(driver):
    """The URLs the browser asked for since the last call (the DevTools performance log)."""
    return [json.loads(e["message"])["message"]["params"]["request"]["url"]
            for e in driver.get_log("performance") if '"Network.requestWillBeSent"' in e["message"]]


def current(driver):
    return driver.execute_script("""var g = document.querySelector('#tg-stepper g.node.current[data-name]');
        return [g && g.dataset.name, document.querySelector('#tg-stepper .tg-k').textContent];""")


@pytest.mark.slow
def test_the_site_built_served_and_used_in_chromium(tmp_path_factory):
    if not shutil.which("npm"):
        pytest.skip("the site's build needs npm (Node.js): apt-get install nodejs npm")
    try:
        driver = chrome(1280, 720, loopback=True)
    except Unavailable as reason:
        pytest.skip(f"browser tests: {reason}")
    driver.set_script_timeout(120)              # Python starting blocks the page's thread
    folder = tmp_path_factory.mktemp("site") / "site"
    server = None
    try:
        build.build(folder)
        facts = json.loads((folder / build.MARKER).read_text())
        assert sorted(p.name for p in (folder / "pyodide").iterdir()) == sorted(build.NPM[0][3])
        assert facts["gzipped"] < 10e6 and facts["wheels"][0].startswith("tracegrad-")
        server = ThreadingHTTPServer(("127.0.0.1", 0),
                                     functools.partial(Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        driver.get("about:blank")
        driver.get_log("performance")              # drop the browser's own start-up requests
        driver.get(base)
        after_run(driver, 1)                                 # the gallery's first example
        assert [r[0] for r in rows(driver, "grads")] == ["x1", "w1", "x2", "w2", "b"]

        # type the diamond at a=3, b=2
        for box, text in (("tg-expr", "(a*b)*(a+b)"), ("tg-at", "a=3 b=2")):
            driver.find_element("id", box).clear()
            driver.find_element("id", box).send_keys(text)
        driver.find_element("id", "tg-go").click()
        after_run(driver, 2)
        assert rows(driver, "grads") == [["a", "3", "16"], ["b", "2", "21"]]

        # the stepper: steps 1-3 compute v1, v2, f forward, 4 seeds df/df = 1, 5 is f's turn
        for _ in range(5):
            driver.find_element("css selector", '#tg-stepper [data-do="next"]').click()
        assert current(driver) == ["f", "5"]
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys
        driver.execute_script("document.activeElement.blur()")     # the keys reach the page
        ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
        assert current(driver)[1] == "6"
        ActionChains(driver).send_keys(Keys.ARROW_LEFT).perform()
        assert current(driver) == ["f", "5"]
        link = driver.current_url
        assert "step=5" in link and "expr=" in link

        # a refused expression: the parser's one line
        driver.find_element("id", "tg-expr").clear()
        driver.find_element("id", "tg-expr").send_keys("a.b + 1")
        driver.find_element("id", "tg-go").click()
        after_run(driver, 3)
        with pytest.raises(ExprError) as refused:
            parse("a.b + 1")
        assert driver.find_element("id", "tg-error").text == str(refused.value)

        urls = requests(driver)
        # the link reproduces the state in a fresh page
        driver.get("about:blank")
        driver.get(link)
        after_run(driver, 1)
        assert current(driver) == ["f", "5"]
        assert rows(driver, "grads") == [["a", "3", "16"], ["b", "2", "21"]]

        if app.PRACTICE:            # practice mode: the answers hidden, the stepper asks
            driver.get("about:blank")
            driver.get(base + "#expr=(a*b)*(a%2Bb)&at=a%3D3+b%3D2&practice=1")
            after_run(driver, 1)
            assert driver.find_element("id", "tg-practice").is_selected()
            assert not driver.find_element("id", "tg-grads").is_displayed()
            box = driver.find_element("css selector", "#tg-stepper .tg-practice input")
            box.send_keys("6")                              # v1 = a * b = 3 * 2
            driver.find_element("css selector", '#tg-stepper [data-p="check"]').click()
            score = driver.find_element("css selector", "#tg-stepper .tg-p-score").text
            assert score.startswith("right first time 1")    # and on to step 2
            assert "step 2" in driver.find_element("css selector", "#tg-stepper .tg-p-head").text

        urls += requests(driver)
        assert any(u.endswith("pyodide.asm.wasm") for u in urls)
        outside = [u for u in urls if not u.startswith((base, "about:", "data:", "blob:"))]
        assert outside == [] and len(urls) >= 2 * 9          # two loads: page, 6 files, 2 wheels
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
        if server is not None:
            server.shutdown()
            server.server_close()

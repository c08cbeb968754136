"""Practice mode in headless Chromium: on the diamond (a*b)*(a+b) at a=3, b=2 (exact) and the
lecture neuron, the page holds each step back until it is answered, names each mistake (the
test works out the wrong number each mistake gives), counts "show me", keeps the score,
reads fractions in exact mode, exports the attempt (CSV, JSON) and fetches nothing. The
page's verdicts are the Python module's: every cell is checked against diagnose().
"""
import csv
import io
import json
import subprocess
import sys
from fractions import Fraction
from urllib.parse import unquote

import pytest

from tracegrad.engine import Value, stepper
from tracegrad.engine.teach.demo import lecture_neuron
from tracegrad.engine.teach.mistakes import backward_cells, diagnose, forward_cells
from tracegrad.engine.teach.practice import questions
from tracegrad.engine.teach.steps import backward_steps



def diamond():
    a, b = Value(3, label="a"), Value(2, label="b")
    f = (a * b) * (a + b)
    f.label = "f"
    return f


def cube():
    x = Value(2, label="x")
    y = x ** 3
    y.label = "y"
    return y


def fractions():
    x = Value(Fraction(1, 2), label="x")
    y = x * Fraction(2, 3) + x ** 2
    y.label = "y"
    return y


def test_the_questions_follow_the_stepper_timeline():
    page = stepper(diamond(), practice=True)
    asked = questions(page)
    # forward steps 1-3 ask one value each; 4 is the seed; 5-7 ask 3 numbers per parent
    assert {k: len(v) for k, v in asked.items()} == {"1": 1, "2": 1, "3": 1, "5": 6, "6": 6,
                                                     "7": 6}
    assert asked["1"][0]["asks"] == "v1 = a * b = 3 * 2" and asked["1"][0]["right"] == {
        "p": "6", "q": "1"}
    seventh = [(c["label"], c["show"]) for c in asked["7"]]
    assert seventh == [("a: local derivative", "2"), ("a: contribution", "10"),
                       ("a: new .grad", "16"), ("b: local derivative", "3"),
                       ("b: contribution", "15"), ("b: new .grad", "21")]
    replaced = next(m for m in asked["7"][2]["mistakes"] if m["kind"] == "replaced_grad")
    assert replaced["value"] == {"p": "10", "q": "1"}
    with pytest.raises(ValueError, match=r"stepper: practice='yes'; give True, or "
                                         r"\{'min_digits': N\}"):
        stepper(diamond(), practice="yes")
    assert "tg-practice" not in stepper(diamond()).fragment()


# ---- in a real browser -------------------------------------------------------------------

@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("practice")
    o, _ = lecture_neuron()
    return {"diamond": stepper(diamond(), practice=True).save(folder / "diamond.html"),
            "neuron": stepper(o, practice=True).save(folder / "neuron.html"),
            "cube": stepper(cube(), practice=True).save(folder / "cube.html"),
            "fractions": stepper(fractions(), practice=True).save(folder / "fractions.html")}


def panel(driver):
    """The panel's state: the stepper's step, the question, each cell's label, class and
    what it says, and the score."""
    return driver.execute_script("""
        var root = document.querySelector('.tg-stepper');
        return {step: root.dataset.step, score: root.dataset.score,
                head: root.querySelector('.tg-p-head').textContent,
                cells: Array.from(root.querySelectorAll('.tg-p-cell'), c => [
                    c.querySelector('label').textContent.trim(), c.className.split(' ')[1] || '',
                    c.querySelector('.tg-p-says').textContent]),
                hidden: Array.from(root.querySelectorAll('tr.tg-p-hidden'),
                                   r => r.dataset.step)};""")


def answer(driver, *texts):
    """Type texts into the question's inputs (None leaves one as it is), then press check."""
    from selenium.webdriver.common.by import By
    inputs = driver.find_elements(By.CSS_SELECTOR, ".tg-practice input")
    for box, text in zip(inputs, texts):
        if text is not None and not box.get_attribute("readonly"):
            box.clear()
            box.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, '.tg-practice [data-p="check"]').click()
    return panel(driver)


def says(shown, i):
    return shown["cells"][i][2]


def test_the_diamond_answered_with_each_mistake_on_the_way(browser, pages):
    from selenium.webdriver.common.by import By
    browser.get(pages["diamond"].as_uri())
    shown = panel(browser)
    assert shown["step"] == "0"
    assert shown["head"] == "your turn, step 1: compute v1 = a * b = 3 * 2 = ?"
    assert shown["hidden"] == [str(k) for k in [1, 2, 3, 4, 5, 5, 6, 6, 7, 7]]
    browser.find_element(By.CSS_SELECTOR, 'button[data-do="next"]').click()
    assert panel(browser)["step"] == "0", "next cannot pass a step not answered"
    # forward: v1 = a*b = 6 (5 would be a + b), v2 = a + b = 5, f = v1*v2 = 30
    shown = answer(browser, "5")
    assert shown["cells"][0][1] == "tg-p-wrong" and says(shown, 0) == (
        "not yet: added where the node multiplies")
    shown = answer(browser, "6")
    assert shown["step"] == "1" and shown["head"].startswith("your turn, step 2")
    answer(browser, "5")
    shown = answer(browser, "30")
    # the seed (step 4) needs no answer: it shows, and the next question is step 5
    assert shown["step"] == "4" and shown["head"] == (
        "your turn, step 5: f = v1 * v2 sends df/df = 1 back to its parents")
    assert shown["hidden"] == ["5", "5", "6", "6", "7", "7"]
    # df/dv1 = v2 = 5: f's own value (30) or v1 itself (6) is the classic slip; so is -5
    a_b = 3 * 2
    shown = answer(browser, str(a_b * 5), "5", "5", "6", "6", "6")
    assert says(shown, 0) == "not yet: took f's own value instead of the other factor: df/dv1 = v2"
    assert [c[1] for c in shown["cells"]] == ["tg-p-wrong"] + ["tg-p-right"] * 5
    shown = answer(browser, str(a_b))
    assert says(shown, 0) == "not yet: took v1 itself instead of the other factor: df/dv1 = v2"
    shown = answer(browser, "-5")
    assert says(shown, 0) == "not yet: sign error: df/dv1 has the opposite sign"
    shown = answer(browser, "5")
    assert shown["step"] == "5" and shown["head"].startswith("your turn, step 6: v2 = a + b")
    # step 6: v2 = a + b sends 6 to a and b; "show me" reveals them (counted as shown)
    browser.find_element(By.CSS_SELECTOR, '.tg-practice [data-p="show"]').click()
    shown = panel(browser)
    assert shown["step"] == "6" and shown["head"].startswith("your turn, step 7: v1 = a * b")
    # step 7: v1 = a*b gets df/dv1 = 5: a's contribution b*5 = 10 (forgetting the upstream
    # gives b = 2); a.grad = 6 + 10 = 16 (replacing it gives 10)
    shown = answer(browser, "2", "2", "10", "3", "15", "21")
    assert says(shown, 1) == ("not yet: forgot the upstream gradient df/dv1: contribution = "
                              "dv1/da × df/dv1 = 2 × 5")
    assert says(shown, 2) == ("not yet: replaced a.grad instead of adding to it: it held 6 "
                              "already, so a.grad = 6 + 10")
    shown = answer(browser, None, "10", "16")
    assert shown["head"] == "all done: every step answered" and shown["step"] == "7"
    assert shown["hidden"] == []
    # 3 forward + 3 x 6 cells; right first time: v2, f, 5 of step 5, 4 of step 7
    assert shown["score"] == "11 4 6 0"      # first time, after a retry, shown, to go
    assert "right first time 11 · after a retry 4 · shown 6 · to go 0" in browser.find_element(
        By.CSS_SELECTOR, ".tg-p-score").text
    # the export: every cell, what was typed, the mistakes named, the outcome
    href = browser.find_element(By.CSS_SELECTOR, '[data-p="csv"]').get_attribute("href")
    assert href.startswith("data:text/csv;charset=utf-8,")
    rows = list(csv.DictReader(io.StringIO(unquote(href.split(",", 1)[1]))))
    assert len(rows) == 21
    local = next(r for r in rows if r["step"] == "5" and r["parent"] == "v1"
                 and r["quantity"] == "local")
    assert local["answers"] == "30 | 6 | -5 | 5" and local["outcome"] == "retry"
    assert local["mistakes"] == "own_value | own_parent | sign | "
    grad = next(r for r in rows
                if r["step"] == "7" and r["parent"] == "a" and r["quantity"] == "grad")
    assert (grad["answers"], grad["mistakes"], grad["right"]) == ("10 | 16", "replaced_grad | ",
                                                                  "16")
    assert [r["outcome"] for r in rows if r["step"] == "6"] == ["shown"] * 6
    data = json.loads(unquote(browser.find_element(By.CSS_SELECTOR, '[data-p="json"]')
                              .get_attribute("href").split(",", 1)[1]))
    assert data["score"] == {"first": 11, "retry": 4, "shown": 6, "left": 0}
    assert data["title"] == "backprop through f = v1 * v2" and data["min_digits"] == 2


def test_the_neuron_tanh_and_rounded_answers(browser, pages):
    from selenium.webdriver.common.by import By
    browser.get(pages["neuron"].as_uri())
    o, _ = lecture_neuron()
    cells = {k: v for k, v in questions(stepper(o, practice=True)).items()}
    first_backward = min(int(k) for k, v in cells.items() if v[0]["table"] == "backward")
    for k in sorted(map(int, cells)):
        if k == first_backward:
            break
        browser.find_element(By.CSS_SELECTOR, '.tg-practice [data-p="show"]').click()
    shown = panel(browser)
    assert shown["head"].startswith(f"your turn, step {first_backward}: o = tanh(n)")
    # do/dn = 1 - tanh(n)^2 = 0.5: tanh(n) = 0.7071 itself is the mistake; 0.7 gives too few
    # digits to tell; 0.50 and 0.5 are right
    shown = answer(browser, "0.7071")
    assert says(shown, 0) == "not yet: used tanh(n) where 1 - tanh(n)^2 was due"
    shown = answer(browser, "0.29")
    assert says(shown, 0) == "not yet: do/dn is 1 - tanh(n)^2, not 1 - tanh(n)"
    shown = answer(browser, "0.4")
    assert says(shown, 0) == ("not yet: not the right number, and not one a known mistake "
                              "gives")
    shown = answer(browser, "0.50", "0.5", "1/2")            # all right: the step shows
    assert shown["step"] == str(first_backward) and "n = x1w1x2w2 + b" in shown["head"]


def test_the_power_rule_off_by_one(browser, pages):
    browser.get(pages["cube"].as_uri())
    answer(browser, "8")                                     # x**3 = 8
    # dy/dx = 3 x^2 = 12; 3 x^3 = 24, 3 x = 6 and 2 x^2 = 8 are the rule off by one
    for wrong in ("24", "6", "8"):
        shown = answer(browser, wrong)
        assert says(shown, 0) == "not yet: power rule off by one: dy/dx = 3 * x^2"
    shown = answer(browser, "4")
    assert says(shown, 0) == "not yet: forgot the factor 3 of the power rule: dy/dx = 3 * x^2"
    shown = answer(browser, "12", "12", "12")
    assert shown["head"] == "all done: every step answered"


def test_fractions_in_exact_mode(browser, pages):
    browser.get(pages["fractions"].as_uri())
    # v1 = x * 2/3 = 1/3 exactly: 0.3333 is close but not exact; 1/3 and 2/6 are right
    shown = answer(browser, "0.3333")
    assert says(shown, 0) == ("not yet: close, but this graph is exact: give the exact value "
                              "(a fraction such as 19/5)")
    shown = answer(browser, "2/6")
    assert shown["cells"] == [] or shown["step"] == "1"
    shown = answer(browser, "0.25")                          # v2 = x**2 = 1/4: a decimal is exact
    assert shown["step"] == "2"


def test_the_pages_verdicts_are_the_python_modules(browser, pages):
    # every cell of every page, against numbers right, rounded, mistaken and unreadable
    texts = ["0", "1", "-1", "2", "5", "6", "10", "16", "30", "0.5", "0.50", "0.7", "0.7071",
             "0.71", "-0.5", "1/2", "1/3", "0.3333", "2/3", "12", "24", "-1.5", "1.5", "0.29",
             "3.8", "abc", "", "1e-3", "1/0", "7"]
    builders = {"diamond": diamond, "neuron": lambda: lecture_neuron()[0], "cube": cube,
                "fractions": fractions}
    for name, build in builders.items():
        root = build()
        cells = forward_cells(root) + [c for c in backward_cells(backward_steps(root))
                                       if c.quantity != "upstream"]
        browser.get(pages[name].as_uri())
        asked = browser.execute_script(
            "var d = JSON.parse(document.querySelector('script.tg-practice-data').textContent);"
            "var out = []; Object.keys(d.steps).sort((a, b) => a - b).forEach(function (k) {"
            "  d.steps[k].forEach(function (c) { out.push(c); }); }); return out;")
        assert len(asked) == len(cells)
        for py, js in zip(cells, asked):
            assert (py.quantity, py.node, py.parent) == (js["quantity"], js["node"], js["parent"])
            got = browser.execute_script(
                "var p = document.querySelector('.tg-stepper').tgPractice, cell = arguments[0];"
                "return arguments[1].map(function (t) { var v = p.verdict(cell, t);"
                "  return [v.right, v.mistake ? v.mistake.kind : null, v.message]; });",
                js, texts)
            for text, (right, kind, message) in zip(texts, got):
                want = diagnose(py, text)
                assert right == want.right, (name, py.asks, text)
                assert kind == (want.mistake.kind if want.mistake else None), (name, py.asks, text)
                if want.mistake or right or "significant" in want.message:
                    assert message == want.message, (name, py.asks, text)


def test_the_page_makes_no_network_request(browser, pages):
    browser.get("about:blank")
    browser.get_log("performance")
    browser.get(pages["diamond"].as_uri())
    answer(browser, "6")
    urls = [json.loads(entry["message"])["message"]["params"]["request"]["url"]
            for entry in browser.get_log("performance")
            if '"Network.requestWillBeSent"' in entry["message"]]
    assert [u.split("#")[0] for u in urls] == [pages["diamond"].as_uri()], urls
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_play_practice_writes_one_offline_page(tmp_path):
    out = tmp_path / "practice.html"
    done = subprocess.run([sys.executable, "-m", "tracegrad", "play", "(a*b)*(a+b)", "--at",
                           "a=3", "b=2", "--exact", "--practice", "--min-digits", "3", "-o",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "tracegradPractice(" in text and '"min_digits": 3' in text
    assert "https:" not in text and "http:" not in text


def test_inline_in_a_notebook_page(browser, tmp_path):
    # as Jupyter shows stepper(f, practice=True): a fragment inside someone else's page
    page = tmp_path / "notebook.html"
    page.write_text("<html><body><p>In [1]:</p><div>"
                    f"{stepper(diamond(), practice=True)._repr_html_()}</div></body></html>",
                    encoding="utf-8")
    browser.get(page.as_uri())
    shown = answer(browser, "6")
    assert shown["step"] == "1" and shown["head"].startswith("your turn, step 2")
    assert "step" not in browser.execute_script("return Object.keys(document.body.dataset)")


def test_enter_checks_and_the_arrow_keys_stay_in_the_box(browser, pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    browser.get(pages["diamond"].as_uri())
    box = browser.find_element(By.CSS_SELECTOR, ".tg-practice input")
    box.send_keys("7", Keys.ARROW_LEFT, Keys.HOME, Keys.END, Keys.ENTER)
    shown = panel(browser)
    assert shown["step"] == "0" and shown["cells"][0][1] == "tg-p-wrong"
    box = browser.switch_to.active_element                     # the wrong box, selected
    box.send_keys("6", Keys.ENTER)                             # typing replaces the selection
    assert panel(browser)["step"] == "1"
    assert browser.switch_to.active_element.get_attribute("type") == "text"   # the next box

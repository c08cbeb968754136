"""The public renderer hook (set_renderer: fn(dot, format) -> bytes) through every caller: draw in
Jupyter, Drawing.render/pipe, save, draw_frames and the stepper; and what a saved notebook keeps
of a drawing (a PNG beside the SVG) and of a stepper (its last step as a picture, one line)."""
import re
import struct
import zlib

import pytest

import tracegrad.engine
from tracegrad.engine import Value, draw, draw_frames, set_renderer, stepper
from tracegrad.engine.teach.render import ENV, RenderError, png_size, save, with_dpi



def tiny_png(width, height):
    """A real PNG of width x height white pixels (no renderer needed to make one)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\xff" * (3 * width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class StandIn:
    """A renderer that needs no Graphviz: an SVG naming how many Values the DOT draws, or a
    PNG 10 px wide per Value (at the DOT's dpi over 96); it records every call."""

    def __init__(self):
        self.calls = []

    def __call__(self, dot, fmt):
        values = dot.count("shape=record")
        self.calls.append((fmt, values))
        if fmt == "png":
            dpi = re.search(r"\bdpi=(\d+)", dot)
            scale = int(dpi.group(1)) // 96 if dpi else 1
            return tiny_png(10 * values * scale, 20 * scale)
        if fmt == "svg":
            return (f'<svg width="{10 * values}pt" height="20pt" viewBox="0.00 0.00 '
                    f'{10 * values}.00 20.00"><text>stand-in: {values} Values</text></svg>')
        raise ValueError(f"the stand-in writes svg and png, not {fmt}")


@pytest.fixture
def standin(monkeypatch):
    monkeypatch.setenv(ENV, "none")            # no program: every picture must come from fn
    fn = StandIn()
    previous = set_renderer(fn)
    yield fn
    set_renderer(previous)


def neuron():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    y = (x * w).tanh()
    y.label = "y"
    return y                                   # x, w, x*w, y: 4 Values


def test_the_hook_is_the_engines_lazy_name_and_restores_with_none(monkeypatch):
    assert tracegrad.engine.set_renderer is set_renderer
    fn = StandIn()
    assert set_renderer(fn) is None and set_renderer(None) is fn
    monkeypatch.setenv(ENV, "none")
    bundle, _ = draw(neuron())._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and "set_renderer(fn)" in bundle["text/plain"]
    with pytest.raises(TypeError, match="set_renderer: 'svg' is not callable"):
        set_renderer("svg")


def test_draw_in_jupyter_uses_it_for_the_svg_and_a_sharp_png(standin):
    bundle, metadata = draw(neuron())._repr_mimebundle_()
    assert bundle["image/svg+xml"].endswith("<text>stand-in: 4 Values</text></svg>")
    assert png_size(bundle["image/png"]) == (80, 40)               # drawn at 192 dpi ...
    assert metadata == {"image/png": {"width": 40, "height": 20}}  # ... shown at its size
    assert standin.calls == [("svg", 4), ("png", 4)]


def test_save_render_and_pipe_use_it(standin, tmp_path):
    g = draw(neuron())
    assert b"stand-in: 4 Values" in save(g, tmp_path / "g.svg").read_bytes()
    assert png_size(save(g, tmp_path / "g.png").read_bytes()) == (40, 20)
    out = g.render(tmp_path / "r", format="svg", cleanup=True)
    assert "stand-in: 4 Values" in open(out).read()
    assert g.pipe(format="png")[:4] == b"\x89PNG"
    assert standin.calls == [("svg", 4), ("png", 4), ("svg", 4), ("png", 4)]


def test_draw_frames_asks_it_for_every_frame(standin, tmp_path):
    frames = draw_frames(neuron(), tmp_path, "svg")        # 2 steps (tanh, *): 3 frames
    assert [f.name for f in frames] == [f"step_{k}.svg" for k in range(3)]
    assert all("stand-in: 4 Values" in f.read_text() for f in frames)
    assert standin.calls == [("svg", 4)] * 3


def test_the_stepper_draws_with_it(standin):
    page = stepper(neuron())
    assert "stand-in: 4 Values" in page.svg and "stand-in" in page.fragment()
    assert standin.calls == [("svg", 4)]
    bundle, metadata = page._repr_mimebundle_()
    assert standin.calls[-1] == ("png", 4) and metadata["image/png"] == {"width": 40, "height": 20}


def test_a_failing_or_wrong_renderer_is_one_line_naming_it(standin, tmp_path):
    with pytest.raises(RenderError) as failed:
        save(draw(neuron()), tmp_path / "g.pdf")
    assert str(failed.value) == ("the renderer StandIn given to set_renderer failed for format "
                                 "'pdf': ValueError: the stand-in writes svg and png, not pdf")
    set_renderer(lambda dot, fmt: 42)
    with pytest.raises(RenderError, match="returned int for format 'svg'; it must return bytes"):
        save(draw(neuron()), tmp_path / "g.svg")
    set_renderer(lambda dot, fmt: "<svg/>")                    # text is taken as UTF-8
    assert save(draw(neuron()), tmp_path / "g.svg").read_text() == "<svg/>"


def test_a_renderer_without_png_still_shows_the_svg(standin):
    set_renderer(lambda dot, fmt: "<svg/>" if fmt == "svg" else 1 / 0)
    bundle, metadata = draw(neuron())._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml", "text/plain"] and metadata == {}


def test_dpi_goes_into_the_graph_attributes():
    assert with_dpi("digraph g {\n\ta -> b\n}\n", 192) == "digraph g {\n\tdpi=192\n\ta -> b\n}\n"


# ---- a saved notebook: what an untrusted viewer keeps -------------------------------------

def sanitized(html):
    """What JupyterLab keeps of untrusted HTML, as far as this output goes: no script or
    style element (contents included), no svg element (its text stays)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"</?svg\b[^>]*>", "", html)


def test_a_saved_stepper_shows_its_last_step_and_one_line(standin):
    html = stepper(neuron())._repr_html_()
    kept = sanitized(html)
    assert kept.startswith('<div class="tg-saved"><img src="data:image/png;base64,')
    assert 'width="40" height="20"' in kept
    assert kept.endswith("<p><em>the backward pass at its last step: run the cell to step "
                         "through it</em></p></div>")
    assert "stand-in" not in kept and "button" not in kept      # nothing of the live part


def test_run_the_saved_stepper_replaces_the_picture_with_the_live_page(browser, tmp_path):
    from selenium.webdriver.common.by import By
    y = neuron()
    page = tmp_path / "cell.html"                   # as a trusted or just-run output shows it
    page.write_text(f"<html><body><div>{stepper(y)._repr_html_()}</div></body></html>",
                    encoding="utf-8")
    browser.get(page.as_uri())
    assert not browser.find_elements(By.CSS_SELECTOR, ".tg-saved")     # replaced by the page
    for _ in range(3):
        browser.find_element(By.CSS_SELECTOR, 'button[data-do="next"]').click()
    assert browser.find_element(By.CSS_SELECTOR, ".tg-stepper").get_attribute("data-step") == "3"
    untrusted = tmp_path / "saved.html"             # opened untrusted: no script runs
    untrusted.write_text(f"<html><body>{sanitized(stepper(y)._repr_html_())}</body></html>",
                         encoding="utf-8")
    browser.get(untrusted.as_uri())
    width = browser.execute_script("return document.querySelector('.tg-saved img').naturalWidth")
    assert width > 100 and not browser.find_elements(By.CSS_SELECTOR, "button")
    assert browser.find_element(By.TAG_NAME, "body").text == (
        "the backward pass at its last step: run the cell to step through it")


def test_a_saved_practice_page_gives_no_answer_away(standin):
    bundle, metadata = stepper(neuron(), practice=True)._repr_mimebundle_()
    assert sanitized(bundle["text/html"]) == (
        '<div class="tg-saved"><p><em>practice: run the cell to work through it step by '
        'step</em></p></div>')
    assert "image/png" not in bundle and metadata == {}


@pytest.mark.parametrize("practice", [False, True])
def test_no_label_ends_or_comments_out_the_script_that_carries_the_live_page(standin, practice):
    y = neuron()
    y.label = "<!--<script></script>"
    html = stepper(y, practice=practice)._repr_html_()
    saved, script = html.split("<script>", 1)           # the saved part, then the script
    assert saved.startswith('<div class="tg-saved">') and "<script" not in saved
    assert html.count("</script") == 1 and html.endswith("</script>")   # only its own end
    assert "<!--" not in script                           # nor a comment that hides it

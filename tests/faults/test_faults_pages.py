"""Faults in shared pages and drawings: no label or title can add markup, attributes, links
or scripts, break the stepper's script, or make SVG that is not well-formed XML; labels
show as typed. Drawings are parsed with an XML parser; pages are opened in headless Chromium."""
import pytest

from tracegrad.engine.teach.render import NoRenderer, find_renderer

from . import pages

pytestmark = pytest.mark.skipif(find_renderer() is None, reason="no Graphviz renderer")


@pytest.mark.parametrize("options", pages.DRAWINGS, ids=["plain", "svg_ids", "local", "title"])
@pytest.mark.parametrize("label", pages.PAYLOADS, ids=[repr(p)[:30] for p in pages.PAYLOADS])
def test_a_label_or_title_cannot_inject_into_the_svg(label, options):
    options = {**options, "title": label} if "title" in options else options
    assert pages.svg_problems(label, **options) == []


def test_svg_ids_keep_safe_names_and_stay_unique():
    from tracegrad.engine import Value, draw
    a, b = Value(1.0, label="a<b"), Value(2.0, label="a>b")
    source = draw(a * b, svg_ids=True).source
    assert " id=a_x3c_b " in source and " id=a_x3e_b " in source     # one DOT token each
    assert "a<b" not in source.replace("\\<", "")       # the name is escaped in the label


@pytest.mark.parametrize("inline", [False, True], ids=["page", "jupyter"])
@pytest.mark.parametrize("label", pages.PAYLOADS, ids=[repr(p)[:30] for p in pages.PAYLOADS])
def test_a_label_or_title_cannot_break_or_script_the_stepper(browser, tmp_path, label, inline):
    assert pages.page_problems(browser, tmp_path, label, inline) == []


@pytest.mark.parametrize("practice", [False, True])
def test_no_label_opens_a_comment_or_ends_a_data_block(practice):
    from tracegrad.engine import stepper
    # the live element (in a notebook it travels inside one script as a JSON string, whose
    # safety tests/test_renderer.py checks)
    html = stepper(pages.graph("<!--<script></script>"), practice=practice).fragment()
    blocks = html.split('<script type="application/json"')[1:]
    assert len(blocks) == 1 + practice
    for block in blocks:                      # each data block, up to its own </script>
        data = block.split(">", 1)[1].split("</script>", 1)[0]
        assert "<" not in data and "\\u003c!--\\u003cscript>" in data

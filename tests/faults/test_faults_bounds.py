"""Faults in bounds: explain with a huge max_paths, the table of a huge backward pass and a
render of a huge graph end in bounded memory (each in its own process with an address-space
limit), with a result or a refusal that gives a hint (tests/faults/bounds.py)."""
import os

import pytest

from tracegrad.engine import Value, backward_steps, explain

from . import bounds

posix = pytest.mark.skipif(os.name != "posix", reason="resource limits are POSIX")


@posix
@pytest.mark.parametrize("name", list(bounds.CASES)[:2])
def test_explain_and_tables_are_bounded(name):
    assert bounds.trials([name])[2] == []


@posix
@pytest.mark.slow
def test_a_render_is_bounded_in_memory():
    assert bounds.trials(["render a 100,000-term sum"])[2] == []


def test_explain_lists_paths_up_to_its_limit_then_groups_them():
    x = Value(1.0, label="x")
    v = x
    for _ in range(11):                    # 2**11 = 2,048 paths: more than explain lists
        v = v * 1.0 + v * 1.0
    e = explain(v, x, max_paths=10_000)
    assert e.paths == 2048 and "(more than 1,000, the most explain lists)" in e.text
    assert e.value == 2048


def test_a_table_too_large_to_print_says_what_to_print_instead():
    x = Value(1.0, label="x")
    v = x
    for _ in range(50_001):
        v = v + 1.0
    with pytest.raises(ValueError, match="a table of 100,002 rows is too large"):
        str(backward_steps(v))


@posix
def test_a_render_that_needs_more_memory_than_allowed_is_stopped_with_a_hint(monkeypatch):
    from tracegrad.engine import draw
    from tracegrad.engine.teach import render
    if not str(render.find_renderer()).endswith("graphviz-pure"):
        pytest.skip("the limit is measured with graphviz-pure (dot maps more at start)")
    monkeypatch.setattr(render, "MEMORY", 20 << 20)     # 20 MB: a 300-term sum needs more
    terms = [Value(float(k), label=f"x{k}") for k in range(300)]
    total = sum(terms[1:], terms[0])
    with pytest.raises(render.RenderError, match="needed more than 20 MB and was stopped: "
                                                 "draw less of it"):
        draw(total, compact=False).pipe(format="svg")
    monkeypatch.setattr(render, "MEMORY", 2 << 30)
    assert draw(total, compact=False).pipe(format="svg").startswith(b"<?xml")

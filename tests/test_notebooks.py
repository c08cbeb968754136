"""Every lesson notebook runs top to bottom, and its committed outputs are fresh: a run now
gives the same text and the same images (kind and pixel size) as the file. "Fresh" is
defined once, by notebooks/build.py (execute, clean, differences), which also rebuilds."""
import base64
import copy
import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

BUILD = Path(__file__).resolve().parent.parent / "notebooks" / "build.py"
spec = importlib.util.spec_from_file_location("notebook_build", BUILD)
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)


@pytest.mark.parametrize("path", build.lessons(), ids=lambda p: p.stem)
def test_lesson_runs_and_its_outputs_are_fresh(path):
    committed = build.clean(nbformat.read(path, as_version=4))
    for module in build.needs(committed):
        pytest.importorskip(module, reason=f"{path.name} needs {module}")
    fresh, _ = build.execute(path)
    problems = build.differences(committed, fresh)
    assert not problems, (
        f"notebooks/{path.name} has stale outputs (the code now prints or draws something "
        f"else); rebuild it with `{build.rebuild_command(path)}` and commit it.\n"
        + "\n".join(problems))


def test_a_stale_output_is_reported_with_its_cell_and_size():
    cell = nbformat.v4.new_code_cell("print(1 + 1)", execution_count=1,
                                     outputs=[nbformat.v4.new_output("stream", text="2\n")])
    old = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# sums"), cell])
    new = copy.deepcopy(old)
    assert build.differences(old, new) == []
    new.cells[1].outputs[0].text = "3\n"
    (problem,) = build.differences(old, new)
    assert problem.startswith("cell 1 ('print(1 + 1)'): outputs differ")
    assert "-('stream', 'stdout', '2\\n')" in problem
    assert "+('stream', 'stdout', '3\\n')" in problem
    # images: the same kind and size passes, and so does a few pixels' difference (another
    # matplotlib or font); another size is stale
    old.cells[1].outputs = [nbformat.v4.new_output("display_data", data=png(640, 480))]
    new.cells[1].outputs = [nbformat.v4.new_output("display_data", data=png(642, 477))]
    assert build.differences(old, new) == []
    new.cells[1].outputs = [nbformat.v4.new_output("display_data", data=png(800, 480))]
    (problem,) = build.differences(old, new)
    assert "png 640 x 480" in problem and "png 800 x 480" in problem


def printed(text):
    """A one-cell notebook whose output is `text`."""
    cell = nbformat.v4.new_code_cell("print(x)", execution_count=1,
                                     outputs=[nbformat.v4.new_output("stream", text=text)])
    return nbformat.v4.new_notebook(cells=[cell])


def test_a_full_precision_number_may_differ_in_its_last_digits_from_cpu_to_cpu():
    # torch's float64 tanh printed on two machines of the same kind (issue 18)
    committed = printed("grads [-0.005101456543675734, 0.15840101585877178] passed\n")
    assert build.differences(committed, printed(
        "grads [-0.00510145654367572, 0.15840101585877178] passed\n")) == []
    # ... but not in its leading digits, nor in the words around it
    assert build.differences(committed, printed(
        "grads [-0.005101456543685734, 0.15840101585877178] passed\n"))
    assert build.differences(committed, printed(
        "grads [-0.00510145654367572, 0.15840101585877178] failed\n"))


def test_a_number_the_lesson_rounded_must_match_exactly():
    assert build.differences(printed("loss 0.1235\n"), printed("loss 0.1235\n")) == []
    (problem,) = build.differences(printed("loss 0.1235\n"), printed("loss 0.1236\n"))
    assert "-('stream', 'stdout', 'loss 0.1235\\n')" in problem
    assert build.differences(printed("3 steps\n"), printed("4 steps\n"))


def png(width, height):
    """An image/png output's data: the PNG signature and header, where its size lives."""
    header = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + width.to_bytes(4, "big")
              + height.to_bytes(4, "big"))
    return {"image/png": base64.b64encode(header).decode()}


def bar(*redraws):
    """A one-cell notebook whose stderr is a progress bar drawn as `redraws`, cleaned."""
    text = "".join("\r" + r for r in redraws) + "\n"
    cell = nbformat.v4.new_code_cell("fit(...)", execution_count=1,
                                     outputs=[nbformat.v4.new_output("stream", name="stderr", text=text)])
    return build.clean(nbformat.v4.new_notebook(cells=[cell]))


def test_a_progress_bar_is_saved_as_left_and_matches_whatever_its_clock_said():
    saved = bar("  0%|          | 0/90 [00:00<?, ?step/s]",
                "100%|##########| 90/90 [00:01<00:00, 61.30step/s, loss=0.0432]")
    assert saved.cells[0].outputs[0].text == (
        "100%|##########| 90/90 [00:01<00:00, 61.30step/s, loss=0.0432]\n")
    slower = bar("  0%|          | 0/90 [00:00<?, ?step/s]", " 50%|#####     | 45/90 [00:02<00:02, "
                 "20.1step/s, loss=0.31]", "100%|##########| 90/90 [00:04<00:00, 1.25s/step, loss=0.0432] ")
    assert build.differences(saved, slower) == []
    (problem,) = build.differences(saved, bar("100%|##########| 90/90 [00:01<00:00, 61.30step/s, "
                                              "loss=0.0433]"))
    assert "loss=0.0432" in problem and "loss=0.0433" in problem
    assert build.differences(saved, bar("100%|##########| 91/91 [00:01<00:00, 61.30step/s, "
                                        "loss=0.0432]"))


def test_a_picture_inside_html_is_compared_as_an_image():
    from tracegrad.jupyter import until_run

    def saved(width, live='<svg width="642pt" height="100pt"><text>a</text></svg>'):
        header = png(width, 20)["image/png"]
        html = until_run(live, base64.b64decode(header), {"width": width, "height": 20}, "run it")
        cell = nbformat.v4.new_code_cell("view", execution_count=1, outputs=[
            nbformat.v4.new_output("execute_result", data={"text/html": html}, execution_count=1)])
        return nbformat.v4.new_notebook(cells=[cell])
    assert build.differences(saved(400), saved(402)) == []                  # a few pixels
    assert build.differences(saved(400), saved(400, '<svg width="643pt" height="100pt">'
                                               '<text>b</text></svg>')) == []
    assert build.differences(saved(400), saved(500))                        # another picture
    assert build.differences(saved(400), saved(400, "<p>no graph</p>"))     # other HTML

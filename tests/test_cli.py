"""python -m tracegrad.engine, run for real in a subprocess: the demo, steps, explain, check and draw,
and refused inputs (exit code 2, one line on stderr, never a traceback)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracegrad.engine.teach.render import ENV, find_renderer

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SSR = "(1.3 - (b + 0.64*5))**2"


def run(*args, cwd=None, **env):
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "tracegrad.engine", *args], capture_output=True,
                          text=True, cwd=cwd, env=environ, timeout=60)


def test_demo_prints_the_neuron_and_writes_its_graph(tmp_path):
    done = run("demo", "--out", "slides", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "o = 0.707107" in done.stdout and "o = tanh(n)" in done.stdout
    assert "x1.grad = -1.5, w1.grad = 1, x2.grad = 0.5, w2.grad = 0, b.grad = 0.5" in done.stdout
    if find_renderer():
        assert (tmp_path / "slides" / "neuron.png").read_bytes()[:8] == PNG_MAGIC
        assert "<svg" in (tmp_path / "slides" / "neuron.svg").read_text()
    else:
        assert (tmp_path / "slides" / "neuron.dot").exists()


def test_steps():
    done = run("steps", "tanh(x*w + b)", "--at", "x=2", "w=-3", "b=6.8813735870195432")
    assert done.returncode == 0
    assert "f = tanh(v2)" in done.stdout and "x.grad = -1.5, w.grad = 1, b.grad = 0.5" in done.stdout


def test_explain_diamond_exactly():
    done = run("explain", "(a*b)*(a+b)", "--wrt", "a", "--at", "a=3", "b=2", "--exact")
    assert done.returncode == 0
    assert "sum of the 2 paths: 10 + 6 = 16" in done.stdout and "df/da = 16" in done.stdout


def test_check_ssr_intercept_exactly():
    done = run("check", SSR, "--wrt", "b", "--at", "b=0", "--expect", "19/5", "--exact")
    assert done.returncode == 0 and "19/5" in done.stdout and "passed" in done.stdout
    done = run("check", SSR, "--wrt", "b", "--at", "b=0", "--expect", "3.8", "--exact")
    assert done.returncode == 0                                     # 3.8 read as 19/5


def test_check_in_floats_and_a_failing_check():
    assert run("check", SSR, "--wrt", "b", "--at", "b=0", "--expect", "3.8").returncode == 0
    done = run("check", SSR, "--wrt", "b", "--at", "b=0", "--expect", "4")
    assert done.returncode == 1 and "FAILED" in done.stdout and "expected 4" in done.stdout


def test_draw_png_and_frames(tmp_path):
    done = run("draw", "tanh(x*w + b)", "--at", "x=2", "w=-3", "b=1", "-o", "g.png",
               "--frames", "frames", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    if find_renderer() is None:
        pytest.skip("no renderer: the DOT fallback is tested below")
    assert (tmp_path / "g.png").read_bytes()[:8] == PNG_MAGIC
    assert len(list((tmp_path / "frames").glob("step_*.png"))) == 4


def test_draw_without_a_renderer_writes_dot_and_one_line(tmp_path):
    done = run("draw", "x*y", "--at", "x=1", "y=2", "-o", "g.svg", cwd=tmp_path,
               **{ENV: "none"})
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "pip install graphviz-pure" in done.stderr
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_help_shows_examples():
    done = run("--help")
    assert done.returncode == 0 and "examples:" in done.stdout and "--exact" in done.stdout
    assert "examples:" in run("check", "--help").stdout


@pytest.mark.parametrize("args, says", [
    (["steps", "x.__class__", "--at", "x=1"], "attribute access"),
    (["steps", "__import__('os').getcwd()", "--at", "x=1"], "is not allowed"),
    (["steps", "import os"], "not a math expression"),
    (["steps", "foo(x)", "--at", "x=1"], "unknown function 'foo'"),
    (["steps", "x**100000", "--at", "x=2"], "too large"),
    (["steps", "x*y", "--at", "x=1"], "no value for y"),
    (["steps", "x", "--at", "x=1", "z=2"], "has no variable z"),
    (["steps", "x", "--at", "x"], "write NAME=VALUE"),
    (["steps", "x", "--at", "x=abc"], "is not a number"),
    (["steps", "log(x)", "--at", "x=-1"], "log is defined for positive numbers only"),
    (["steps", "2 + 3"], "has no variables"),
    (["explain", "x*y", "--wrt", "z", "--at", "x=1", "y=2"], "not a variable"),
    (["check", "x", "--at", "x=1", "--expect", "1", "2"], "--expect has 2 values"),
    (["draw", "x", "--at", "x=1", "--rankdir", "up"], "invalid choice"),
    (["fly"], "invalid choice"),
    ([], "required"),
    (["steps"], "required: EXPR"),
])
def test_refused_inputs(args, says):
    done = run(*args)
    assert done.returncode == 2
    assert says in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_an_expression_starting_with_minus_goes_after_dash_dash():
    done = run("steps", "--", "-x**2", "--at", "x=3")
    assert done.returncode == 0, done.stderr
    assert "f = -v1" in done.stdout and done.stdout.rstrip().endswith("x.grad = -6")
    assert run("steps", "--at", "x=3", "--", "-x^2").stdout == done.stdout


def test_a_value_for_e_wins_over_the_constant():
    done = run("check", "e*x", "--at", "x=0.5", "e=3", "--expect", "3", "0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    done = run("steps", "e^x", "--at", "x=0")
    assert "x.grad = 1" in done.stdout                      # d e^x/dx = e^x = 1 at 0


def test_huge_numbers_in_at_and_expect_are_refused_at_once():
    for args in [["steps", "x", "--at", "x=1e100000000"],
                 ["check", "x", "--at", "x=1", "--expect", "1e-100000000", "--exact"]]:
        done = run(*args)             # (test_expr checks no Fraction is ever built)
        assert done.returncode == 2 and "out of range" in done.stderr
        assert done.stderr.count("\n") == 1


def test_a_closed_stdout_is_one_line_not_a_traceback():
    command = [sys.executable, "-m", "tracegrad.engine", "steps", "tanh(x*w + b)",
               "--at", "x=1", "w=2", "b=3"]
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    reader.stdout.close()                                   # as `| head -0` would
    err = reader.stderr.read().decode()
    assert reader.wait(60) == 141 and "Traceback" not in err
    assert err == "python -m tracegrad.engine steps: standard output was closed before the " \
                  "output ended\n"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_stdout_is_one_line():
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "tracegrad.engine", "steps", "x*2",
                               "--at", "x=1"], stdout=full, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.returncode == 1 and "No space left on device" in done.stderr
    assert done.stderr.count("\n") == 1


def test_output_path_errors_are_one_line(tmp_path):
    (tmp_path / "folder").mkdir()
    cases = [("folder", "it is a folder"), ("missing/g.svg", "the folder missing does not exist")]
    if os.name != "nt" and os.geteuid() != 0:              # root may write anywhere
        (tmp_path / "locked").mkdir(mode=0o500)
        cases.append(("locked/g.dot", "Permission denied"))
    for output, says in cases:
        done = run("draw", "x*y", "--at", "x=1", "y=2", "-o", output, cwd=tmp_path)
        assert done.returncode == 1 and says in done.stderr, (output, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_write_refuses_what_cannot_be_written(tmp_path, monkeypatch):
    from tracegrad.engine.teach.render import OutputError, write
    with pytest.raises(OutputError, match="No space left on device"):
        if not Path("/dev/full").exists():
            raise OutputError("cannot write /dev/full: No space left on device")
        write(Path("/dev/full"), b"x")
    (tmp_path / "f").write_text("a file")
    with pytest.raises(OutputError, match="cannot write"):
        write(tmp_path / "f" / "g.svg", b"x")              # a file where a folder should be


def test_the_default_output_folder_is_created(tmp_path):
    done = run("draw", "x*y", "--at", "x=1", "y=2", cwd=tmp_path, **{ENV: "none"})
    assert done.returncode == 0 and (tmp_path / "out" / "graph.dot").exists()


def test_pdf_without_dot_says_what_to_install(tmp_path):
    renderer = find_renderer()
    if renderer is None or not Path(renderer).name.startswith("graphviz-pure"):
        pytest.skip("only graphviz-pure lacks PDF")
    done = run("draw", "x*y", "--at", "x=1", "y=2", "-o", "g.pdf", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "for PDF install Graphviz so `dot` is on PATH" in done.stderr


@pytest.mark.skipif(find_renderer() is None, reason="no renderer")
def test_a_slow_render_is_stopped_with_one_line(tmp_path):
    sum_150 = "+".join(["x"] * 150)                          # takes graphviz-pure ~2 minutes
    done = run("draw", sum_150, "--at", "x=1", "--timeout", "1", "--no-compact", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "took longer than 1 s and was stopped" in done.stderr
    # the compact view (the default) is one Sigma with one edge from x: it renders in time
    done = run("draw", sum_150, "--at", "x=1", "-o", "sum.svg", cwd=tmp_path)
    assert done.returncode == 0 and "\u03a3" in (tmp_path / "sum.svg").read_text()


def test_frames_of_a_large_graph_are_refused(tmp_path):
    done = run("draw", "+".join(["x"] * 150), "--at", "x=1", "-o", "g.dot", "--frames", "fr",
               cwd=tmp_path)
    assert done.returncode == 2 and "150 frames: more than max_frames=60" in done.stderr
    assert not (tmp_path / "fr").exists()


def test_forward_and_export_formats():
    at = ["--at", "x=2", "w=-3", "b=6.8813735870195432"]
    done = run("forward", "tanh(x*w + b)", *at)
    assert done.returncode == 0 and "3     v1    x * w     2 * (-3)" in done.stdout
    md = run("steps", "tanh(x*w + b)", *at, "--format", "md").stdout
    assert r"| 1 | $f = \tanh(v_{2})$ | 1 | $v_{2}$ | $1 - \tanh(v_{2})^{2} = 0.5$ | 0.5 | 0.5 |" in md
    csv_text = run("forward", "tanh(x*w + b)", *at, "--format", "csv").stdout
    assert csv_text.splitlines()[0] == "step,node,formula,with numbers,value"
    assert csv_text.splitlines()[-1] == "6,f,tanh(v2),tanh(0.8814),0.7071"
    latex = run("explain", "x*w", "--wrt", "x", *at[:3], "--format", "latex").stdout
    assert latex.count("\\begin{longtable}") == 2 and r"\frac{\partial f}{\partial x}" in latex
    whole = run("steps", "x*w", *at[:3], "--format", "latex", "--standalone").stdout
    assert whole.startswith("\\documentclass") and whole.rstrip().endswith("\\end{document}")
    assert run("steps", "x", "--at", "x=1", "--format", "docx").returncode == 2


def test_draw_focus_prune_and_compact_flags(tmp_path):
    expr = "+".join(f"w{i}*x{i}" for i in range(6))
    at = ["--at", *[f"w{i}={i}" for i in range(6)], *[f"x{i}=1" for i in range(6)]]
    done = run("draw", expr, *at, "-o", "g.dot", "--focus", "w2", "--prune", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    dot = (tmp_path / "g.dot").read_text()
    assert "\u03a3 of 6 terms (5 not drawn)" in dot and "w3" not in dot
    run("draw", expr, *at, "-o", "full.dot", "--no-compact", cwd=tmp_path)
    assert (tmp_path / "full.dot").read_text().count('label="+"') == 5
    done = run("draw", expr, *at, "--focus", "z", cwd=tmp_path)
    assert done.returncode == 2 and "--focus z: not a variable" in done.stderr
    done = run("draw", expr, *at, "--prune", cwd=tmp_path)
    assert done.returncode == 2 and "give --focus NAME" in done.stderr

"""python -m tracegrad.engine, run for real in a subprocess: the demo, steps, explain, check and draw,
and refused inputs (exit code 2, one line on stderr, never a traceback)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracegrad.engine.render import ENV, find_renderer

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

"""Worksheets: 30 sheets all different, each regenerated from the seed it names, none
dividing by zero or leaving a domain, the key equal to backward_steps on each sheet's
numbers, the blank tables blank, and the LaTeX compiling (where pdflatex is installed).
"""
import csv
import io
import shutil
import subprocess
import sys

import pytest

from tracegrad.engine import Value, backward_steps
from tracegrad.engine.teach.expr import parse
from tracegrad.engine.teach.grade import grade
from tracegrad.engine.teach.worksheet import (draw_sheet, latex, markdown, worksheets,
                                             write)

TEMPLATE = "log(x*{k}) + (x*y)/(y - {c}) + relu(y)"    # log needs x*k > 0; y - c != 0


def test_thirty_sheets_all_different_each_regenerated_from_its_seed():
    sheets = worksheets(TEMPLATE, 30, seed=7, ranges={"c": (-2, 2)}, fractions=True)
    assert len({tuple(s.values.items()) for s in sheets}) == 30
    assert [s.number for s in sheets] == list(range(1, 31))
    for s in sheets:
        again = draw_sheet(TEMPLATE, s.seed, {"c": (-2, 2)}, fractions=True)
        assert again.values == s.values and again.expr == s.expr
        assert -2 <= s.values["c"] <= 2 and s.values["c"] != 0
        # defined everywhere: log's argument positive, no division by zero, relu off its corner
        assert s.values["x"] * s.values["k"] > 0 and s.values["y"] != s.values["c"]
        assert s.values["y"] != 0
    again = worksheets(TEMPLATE, 30, seed=7, ranges={"c": (-2, 2)}, fractions=True)
    assert [(s.seed, s.values) for s in again] == [(s.seed, s.values) for s in sheets]
    assert [s.values for s in worksheets(TEMPLATE, 3, seed=8)] != \
        [s.values for s in sheets[:3]]


def test_the_key_is_backward_steps_on_each_sheets_numbers():
    for s in worksheets("(a*b)*(a+{k})", 30, seed=1):
        a, b = Value(s.values["a"], label="a"), Value(s.values["b"], label="b")
        f = (a * b) * (a + s.values["k"])
        f.label = "f"
        key = markdown(s, key=True)
        assert backward_steps(f).to_markdown() in key
        # by hand: df/da = 2ab + b k, df/db = a (a + k)
        assert a.grad == 2 * a.data * b.data + b.data * s.values["k"]
        assert b.grad == a.data * (a.data + s.values["k"])


def test_a_sheet_is_blank_where_the_student_writes_and_names_its_seed(tmp_path):
    s = draw_sheet("(a*b)*(a+b)", "class-3")
    sheet = markdown(s)
    assert "sheet 1 (seed class-3)" in sheet and "Name: ___" in sheet
    for line in sheet.splitlines():
        if line.startswith("| 1 | f = v1 * v2 |"):
            assert line == "| 1 | f = v1 * v2 |   | v1 |   |   |   |"
    files = write([s], tmp_path, "(a*b)*(a+b)", "class")
    names = {p.name for p in files}
    assert {"sheet-1.md", "sheet-1.html", "sheet-1.csv", "key-1.csv", "key.md", "key.html",
            "sheet-1.tex", "key.tex", "README.txt"} <= names
    readme = (tmp_path / "README.txt").read_text()
    assert f'tracegrad grade "(a*b)*(a+b)" sheet-1.csv --at {s.at} --exact' in readme
    # the blank CSV graded: all blank; the key's CSV: all right
    expr = parse(s.expr, exact=True)
    root = expr.evaluate({n: Value(s.values[n], label=n) for n in expr.names})
    root.label = "f"
    assert grade(root, (tmp_path / "sheet-1.csv").read_text()).right == 0
    assert grade(root, (tmp_path / "key-1.csv").read_text()).passed
    rows = list(csv.reader(io.StringIO((tmp_path / "sheet-1.csv").read_text())))
    assert rows[0] == ["table", "step", "quantity", "node", "parent", "asks", "answer"]
    assert all(r[6] == "" for r in rows[1:])


def test_a_template_with_no_safe_numbers_or_an_error_says_so():
    with pytest.raises(ValueError, match="no numbers in the ranges given make"):
        draw_sheet("log(-x*x)", "s")
    with pytest.raises(ValueError, match="fewer than 30 different sheets"):
        worksheets("x*2", 30, ranges={"x": (1, 3)})
    with pytest.raises(Exception, match="unknown function 'foo'"):
        draw_sheet("foo(x)", "s")


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex is not installed (apt-get install texlive-latex-base "
                           "texlive-latex-recommended; .ci/run does)")
def test_the_latex_compiles(tmp_path):
    sheets = worksheets("tanh(x*{w} + {b}) ^ 2", 2, seed=3, fractions=True)
    files = write(sheets, tmp_path, "tanh(x*{w} + {b}) ^ 2", 3, formats=["tex"])
    pdfs = [p for p in files if p.suffix == ".pdf"]
    assert sorted(p.name for p in pdfs) == ["key.pdf", "sheet-1.pdf", "sheet-2.pdf"]
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    assert r"\section*{Backprop by hand: sheet 1 (seed 3-1)}" in latex(sheets[:1])


def test_the_command_writes_the_sheets(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tracegrad", "worksheet", "(a*b)*(a+{k})",
                           "--students", "3", "--seed", "5", "-o", str(tmp_path / "out"),
                           "--range", "k=1..3", "--format", "md", "csv"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote 3 sheets and the key to {tmp_path / 'out'}/")
    assert sorted(p.name for p in (tmp_path / "out").iterdir())[:3] == [
        "README.txt", "key-1.csv", "key-2.csv"]
    bad = subprocess.run([sys.executable, "-m", "tracegrad", "worksheet", "a*b", "--range",
                          "a=3"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "write NAME=LO..HI" in bad.stderr

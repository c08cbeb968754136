"""tracegrad grade and grade(): a table filled in right passes (exit 0); each kind of
mistake, put in one cell of the diamond (a*b)*(a+b) at a=3, b=2 or x**3, gets its
diagnosis on that cell, reported first, with a total (exit 1).
"""
import csv
import io
import subprocess
import sys

import pytest

from tracegrad.engine import Value
from tracegrad.engine.teach.grade import SHEET_HEADER, blank_sheet, cells_of, grade


def diamond():
    a, b = Value(3, label="a"), Value(2, label="b")
    f = (a * b) * (a + b)
    f.label = "f"
    return f


def filled(root, change=None):
    """The worksheet CSV of root filled in right, with change = {(step, quantity, parent):
    text} put in (step: the table's own numbering; backward steps as backward_steps)."""
    rows = list(csv.reader(io.StringIO(blank_sheet(cells_of(root), key=True))))
    for row in rows[1:]:
        key = (row[0], int(row[1]), row[2], row[4])
        if change and key in change:
            row[6] = change[key]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_a_table_filled_in_right_passes():
    f = diamond()
    result = grade(f, filled(f))
    assert result.passed and result.right == len(result.cells) == 3 + 7 * 3
    assert "24 of 24 right, all right" in str(result)


# (cell, the wrong number the mistake gives, worked out by hand, the diagnosis)
DIAMOND_MISTAKES = [
    (("backward", 1, "local", "v1"), "30", "own_value"),        # f itself, not v2 = 5
    (("backward", 1, "local", "v2"), "5", "own_parent"),        # v2 itself, not v1 = 6
    (("backward", 3, "contribution", "a"), "2", "forgot_upstream"),   # b, not b*5 = 10
    (("backward", 3, "grad", "a"), "10", "replaced_grad"),      # 10, not 6 + 10 = 16
    (("backward", 3, "grad", "b"), "-21", "sign"),
    (("backward", 2, "local", "a"), "3", "own_parent"),         # a's value, not 1
    (("forward", 5, "value", ""), "11", "wrong_op"),            # 6 + 5, not 6 * 5
]


@pytest.mark.parametrize("where, wrong, kind", DIAMOND_MISTAKES)
def test_each_mistake_is_named_on_its_cell(where, wrong, kind):
    f = diamond()
    result = grade(f, filled(f, {where: wrong}))
    bad = [g for g in result.cells if not g.verdict.right]
    assert len(bad) == 1 and not result.passed
    c = bad[0].cell
    assert (c.table, c.step, c.quantity, c.parent) == where
    assert bad[0].verdict.mistake.kind == kind and bad[0].answer == wrong
    text = str(result).splitlines()
    assert text[0].endswith("23 of 24 right")
    assert text[1].startswith("first wrong: ") and bad[0].verdict.message in text[1]


def test_the_power_rule_and_tanh_in_a_steps_table(tmp_path):
    x = Value(2.0, label="x")
    y = (x ** 3).tanh()           # dy/dv1 = 1 - tanh(8)^2; dv1/dx = 3 x^2 = 12
    y.label = "y"
    from tracegrad.engine import backward_steps
    text = backward_steps(y).to_csv(10)
    result = grade(y, text)
    assert result.passed and len(result.cells) == 2 * 4
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][4].startswith("1 - tanh(v1)^2 = ") and rows[2][4] == "3 * x^2 = 12"
    rows[1][4] = "0.9999997749"                  # tanh(8) itself
    rows[2][4] = "24"                            # 3 x^3: the power rule off by one
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    wrong = out.getvalue()
    result = grade(y, wrong)
    kinds = [g.verdict.mistake.kind for g in result.cells if not g.verdict.right]
    assert kinds == ["own_value", "power_off_by_one"]
    assert "used tanh(v1) where 1 - tanh(v1)^2 was due" in str(result).splitlines()[1]


def test_a_blank_cell_a_missing_row_and_a_bad_header():
    f = diamond()
    lines = filled(f, {("backward", 1, "local", "v1"): ""}).splitlines()
    result = grade(f, "\n".join(lines[:-1]))            # b.grad's row left out: blank too
    assert result.right == 22 and "blank" in str(result).splitlines()[1]
    assert lines[0] == ",".join(SHEET_HEADER)
    with pytest.raises(ValueError, match="grade: the header 'x, y' is not a table"):
        grade(f, "x,y\n1,2\n")


def test_the_command_exits_0_only_when_all_are_right(tmp_path):
    f = diamond()
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(filled(f))
    bad.write_text(filled(f, {("backward", 3, "grad", "a"): "10"}))
    run = lambda path: subprocess.run(
        [sys.executable, "-m", "tracegrad", "grade", "(a*b)*(a+b)", str(path), "--at", "a=3",
         "b=2", "--exact"], capture_output=True, text=True, timeout=120)
    ok, wrong = run(good), run(bad)
    assert ok.returncode == 0 and "24 of 24 right, all right" in ok.stdout
    assert wrong.returncode == 1
    assert wrong.stdout.splitlines()[1] == (
        "first wrong: backward step 3, a.grad: wrong, you wrote 10: replaced a.grad instead "
        "of adding to it: it held 6 already, so a.grad = 6 + 10")
    missing = run(tmp_path / "none.csv")
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    steps = subprocess.run([sys.executable, "-m", "tracegrad", "steps", "(a*b)*(a+b)", "--at",
                            "a=3", "b=2", "--format", "csv"], capture_output=True, text=True,
                           timeout=120)
    table = tmp_path / "steps.csv"
    table.write_text(steps.stdout)
    assert run(table).returncode == 0                        # the steps table's own layout


def test_a_forward_table_and_a_float_key():
    from tracegrad.engine import forward_steps
    from tracegrad.engine.teach.demo import lecture_neuron
    o, _ = lecture_neuron()
    text = forward_steps(o).to_csv(6)              # 6 digits: right to the digits given
    assert grade(o, text).passed and len(grade(o, text).cells) == 5
    wrong = text.replace("0.707107", "0.881374")   # o written as n: forgot to apply tanh
    bad = [g for g in grade(o, wrong).cells if not g.verdict.right]
    assert [(g.cell.node, g.verdict.mistake.kind) for g in bad] == [("o", "forgot_function")]
    assert grade(o, blank_sheet(cells_of(o), key=True)).passed     # the key's 10 digits

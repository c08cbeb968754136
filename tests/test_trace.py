"""backward_steps and explain: known answers (lecture neuron, diamond, SSR intercept exactly),
agreement with backward() on random graphs, and the printed tables."""
import csv
import io
import random
import re
import shutil
import subprocess
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from tracegrad.engine import Value, backward_steps, explain, forward_steps
from tracegrad.engine.teach.demo import lecture_neuron

NEURON_GRADS = [-1.5, 1, 0.5, 0, 0.5]        # x1, w1, x2, w2, b


def diamond(a=3, b=2):
    a, b = Value(a, label="a"), Value(b, label="b")
    f = (a * b) * (a + b)
    f.label = "f"
    return f, a, b


def random_graph(seed, n_leaves=3, n_ops=12):
    """The same graph for the same seed: leaves reused, so paths fan out and join."""
    rng = random.Random(seed)
    nodes = [Value(rng.uniform(-2, 2), label=f"x{i}") for i in range(n_leaves)]
    for _ in range(n_ops):
        a, b = rng.choice(nodes), rng.choice(nodes)
        op = rng.choice(["add", "mul", "sub", "tanh", "sin", "square", "neg", "sigmoid", "self"])
        out = {"add": lambda: a + b, "mul": lambda: a * b, "sub": lambda: a - b,
               "tanh": a.tanh, "sin": a.sin, "square": lambda: a ** 2, "neg": lambda: -a,
               "sigmoid": a.sigmoid, "self": lambda: a * a}[op]()
        nodes.append(out)
    return nodes[-1], nodes[:n_leaves]


def test_lecture_neuron_steps_give_the_known_gradients():
    o, leaves = lecture_neuron()
    steps = backward_steps(o)
    assert [v.grad for v in leaves] == pytest.approx(NEURON_GRADS, abs=1e-12)
    assert steps[0].node is o and steps[0].upstream == 1
    assert [s.node.label for s in steps] == ["o", "n", "x1w1x2w2", "x2w2", "x1w1"]
    (tanh,) = steps[0].contributions
    assert tanh.local == pytest.approx(0.5) and tanh.accumulated == pytest.approx(0.5)


def test_table_reads_like_the_blackboard():
    o, _ = lecture_neuron()
    text = str(backward_steps(o))
    assert "o = tanh(n)" in text and "x1w1 = x1 * w1" in text
    assert "do/d(node)" in text.splitlines()[1]
    assert text.splitlines()[-1] == ("x1.grad = -1.5, w1.grad = 1, x2.grad = 0.5, w2.grad = 0, "
                                     "b.grad = 0.5")


def test_diamond_accumulates_from_both_paths():
    f, a, b = diamond()
    steps = backward_steps(f)
    assert (a.grad, b.grad) == (16, 21)           # b(a+b) + ab, a(a+b) + ab
    into_a = [c for s in steps for c in s.contributions if c.parent is a]
    assert [c.contribution for c in into_a] == [6, 10]
    assert [c.accumulated for c in into_a] == [6, 16]


def test_ssr_intercept_is_exactly_19_over_5():
    b = Value(Fraction(0), label="b")
    ssr = (Fraction(13, 10) - (b + Fraction(64, 100) * 5)) ** 2
    backward_steps(ssr)
    assert b.grad == Fraction(19, 5) and type(b.grad) is Fraction


def test_unlabelled_nodes_and_constants_get_names():
    x = Value(2.0, label="x")
    y = (x * 3).tanh()
    text = backward_steps(y).table()
    assert "v1 = x * 3" in text and "v2 = tanh(v1)" in text


def test_leaf_root_has_no_steps_and_each_call_is_one_fresh_pass():
    x = Value(2.0, label="x")
    x.grad = 5.0
    assert len(backward_steps(x)) == 0 and x.grad == 1      # dx/dx, from zero
    y = x * x
    first, second = str(backward_steps(y)), str(backward_steps(y))
    assert x.grad == 4                             # 2x once: a re-run does not double it
    assert first == second and "x.grad = 4" in second


def check_against_backward(seed):
    root, leaves = random_graph(seed)
    twin, twin_leaves = random_graph(seed)
    steps = backward_steps(root)
    twin.backward()
    assert [v.grad for v in leaves] == [v.grad for v in twin_leaves]
    last = {}
    for step in steps:
        for c in step.contributions:
            last[c.parent] = c.accumulated
            assert c.contribution == c.local * step.upstream
    assert all(node.grad == total for node, total in last.items())   # the replay is the pass


@pytest.mark.parametrize("seed", range(25))
def test_steps_match_backward_on_seeded_random_graphs(seed):
    check_against_backward(seed)


@given(st.integers(0, 10**9))
def test_steps_match_backward_on_hypothesis_graphs(seed):
    check_against_backward(seed)


@pytest.mark.slow
def test_deep_chain_of_100000_nodes():
    x = Value(0.5, label="x")
    y = x
    for _ in range(100_000):
        y = y * 1.0
    assert len(backward_steps(y)) == 100_000 and x.grad == 1
    assert explain(y, x).value == 1


def test_explain_lecture_neuron_path():
    o, (x1, *_) = lecture_neuron()
    e = explain(o, x1)
    assert e.paths == 1 and e.value == pytest.approx(-1.5)
    assert "path 1: x1 -> x1w1 -> x1w1x2w2 -> n -> o" in e.text
    assert "do/dn * dn/dx1w1x2w2 * dx1w1x2w2/dx1w1 * dx1w1/dx1" in e.text
    assert "= 0.5 * 1 * 1 * (-3) = -1.5" in e.text
    assert "do/dn           = 1 - tanh(n)^2 = 0.5" in e.text   # the table's rule, our names
    assert "dx1w1/dx1       = w1 = -3" in e.text
    assert x1.grad == 0                                     # explain changes no .grad


def test_explain_diamond_sums_two_paths_exactly():
    f, a, _ = diamond(Fraction(3), Fraction(2))
    e = explain(f, a)
    assert e.paths == 2 and e.value == 16
    assert "sum of the 2 paths: 10 + 6 = 16" in str(e)
    assert str(e).splitlines()[-6].startswith("df/da = 16")


def test_explain_falls_back_to_the_recurrence_and_says_so():
    f, a, _ = diamond()
    e = explain(f, a, max_paths=1)
    assert "grouped by node" in e.text and e.value == 16
    assert "df/da = df/dv1 * dv1/da + df/dv2 * dv2/da = 5 * 2 + 6 * 1 = 16" in e.text


def test_explain_many_paths_stays_quick():
    x = Value(1, label="x")
    y = x
    for _ in range(40):
        y = y + y                                  # 2**40 paths
    e = explain(y, x)
    assert e.paths == 2 ** 40 and e.value == 2 ** 40 and "grouped by node" in e.text


def test_explain_square_counts_both_slots():
    x = Value(3, label="x")
    y = x * x
    y.label = "y"
    e = explain(y, x)
    assert e.paths == 2 and e.value == 6 and "dy/dx[1]" in e.text and "dy/dx[2]" in e.text


def test_explain_unused_leaf_is_zero():
    x, z = Value(1.0, label="x"), Value(2.0, label="z")
    e = explain(x * 2, z)
    assert e.value == 0 and "not used" in e.text


def test_explain_exact_ssr():
    b = Value(Fraction(0), label="b")
    ssr = (Fraction(13, 10) - (b + Fraction(16, 5))) ** 2
    e = explain(ssr, b)
    assert e.value == Fraction(19, 5) and "19/5" in e.text


def test_towards_keeps_only_the_steps_that_reach_one_leaf():
    x1, w1 = Value(2.0, label="x1"), Value(-3.0, label="w1")
    x2, w2 = Value(0.0, label="x2"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    f = (x1 * w1 + x2 * w2 + b).tanh()
    f.label = "f"
    part = backward_steps(f).towards(w1)
    # f = tanh(v4), v4 = v3 + b, v3 = v1 + v2, v1 = x1 * w1: x2*w2 (v2) does not reach w1
    assert [len(step.contributions) for step in part] == [1, 1, 1, 1]
    assert [c.parent for step in part for c in step.contributions][-1] is w1
    assert part[-1].contributions[0].accumulated == pytest.approx(1.0) == w1.grad
    text = str(part)
    assert "x2" not in text and text.endswith("w1.grad = 1")
    assert text.startswith("backward pass of f: the 4 steps (of 5) that reach w1,")


def test_negative_zero_prints_as_zero():
    from tracegrad.engine.text import fmt
    assert fmt(-0.0) == "0" and fmt(-0.5) == "-0.5"


def test_forward_steps_list_every_node_in_topological_order():
    from tracegrad.engine import forward_steps
    o, _ = lecture_neuron()
    forward = forward_steps(o)
    assert [step.node.label for step in forward] == [
        "x1", "w1", "x1w1", "x2", "w2", "x2w2", "x1w1x2w2", "b", "n", "o"]
    lines = str(forward).splitlines()
    assert lines[0].startswith("forward pass of o: 10 nodes in topological order")
    assert lines[5].split() == ["3", "x1w1", "x1", "*", "w1", "2", "*", "(-3)", "-6"]
    assert lines[-1].split() == ["10", "o", "tanh(n)", "tanh(0.8814)", "0.7071"]
    assert o.grad == 0                                       # the forward table changes no .grad


def test_different_constants_get_different_names():
    x = Value(2.0, label="x")
    steps = backward_steps(x * 1.00001 + x * 1)              # both are "1" to 4 digits
    constants = [n for n in steps.names if n.is_leaf and n.label is None]
    assert sorted(steps.names[c] for c in constants) == ["1", "1.00001"]
    assert "v1 = x * 1.00001" in str(steps) and "v2 = x * 1 " in str(steps)
    same = backward_steps(x * 3 + x * 3)                     # equal numbers: the same name
    assert {name for n, name in same.names.items() if n.label is None and n.is_leaf} == {"3"}


def steps_of_the_diamond():
    f, a, b = diamond()
    return backward_steps(f)


def test_steps_export_as_markdown_csv_and_html():
    steps = steps_of_the_diamond()
    md = steps.to_markdown().splitlines()
    assert md[0].startswith("backward pass of f: 3 steps")
    # maths as GitHub and Jupyter render it: partials, subscripts, a centred dot
    assert md[2] == (r"| step | node | $\frac{\partial f}{\partial (\text{node})}$ | parent | "
                     r"$\frac{\partial (\text{node})}{\partial (\text{parent})}$ | contribution "
                     "| parent .grad |")
    assert md[4] == r"| 1 | $f = v_{1} \cdot v_{2}$ | 1 | $v_{1}$ | $v_{2} = 5$ | 5 | 5 |"
    assert md[-1] == r"$a\text{.grad} = 16, b\text{.grad} = 21$"
    rows = list(csv.reader(io.StringIO(steps.to_csv())))
    assert rows[0][0] == "step" and rows[1] == ["1", "f = v1 * v2", "1", "v1", "v2 = 5", "5", "5"]
    assert len(rows) == 1 + sum(len(s.contributions) for s in steps)
    html = steps._repr_html_()
    assert html.startswith("<table>") and "<td>f = v1 * v2</td>" in html
    assert str(steps).splitlines()[3].split()[:4] == ["1", "f", "=", "v1"]   # text unchanged


def test_explanation_exports_its_paths_and_rules():
    f, a, _ = diamond(Fraction(3), Fraction(2))
    e = explain(f, a)
    md = e.to_markdown()
    assert (r"| 1 | $a \to v_{1} \to f$ | $\frac{\partial f}{\partial v_{1}} \cdot "
            r"\frac{\partial v_{1}}{\partial a}$ | $5 \cdot 2$ | 10 |") in md
    assert "df/da = 16" in md and "| local derivative | rule | value | node |" in md
    assert r"| $\frac{\partial v_{1}}{\partial a}$ | $b$ | 2 | $v_{1} = a \cdot b$ |" in md
    assert list(csv.reader(io.StringIO(e.to_csv())))[1] == ["1", "a -> v1 -> f",
                                                             "df/dv1 * dv1/da", "5 * 2", "10"]
    assert e._repr_html_().count("<table>") == 2
    assert repr(e) == e.text and repr(e).startswith("df/da by the chain rule")   # at >>>


LATEX_SPECIALS = "x_1 & 50% {y} ^ ~ $ # \\"


def latex_document(tmp_path):
    x = Value(2.0, label=LATEX_SPECIALS)
    y = (x * x).tanh()
    y.label = "y"
    parts = [backward_steps(y).to_latex(), forward_steps(y).to_latex(), explain(y, x).to_latex()]
    tex = tmp_path / "handout.tex"
    tex.write_text(backward_steps(y).to_latex(document=True))
    return tex, parts


def test_latex_escapes_special_characters(tmp_path):
    _, parts = latex_document(tmp_path)
    assert all("\\begin{longtable}" in p and p.count("\\end{longtable}") >= 1 for p in parts)
    escaped = r"x\_1 \& 50\% \{y\} \^{} \textasciitilde{} \$ \# \textbackslash{}"
    assert escaped in parts[0] and LATEX_SPECIALS not in parts[0]


def test_latex_writes_the_neuron_in_real_maths():
    o, _ = lecture_neuron()
    tex = backward_steps(o).to_latex()
    # by hand: the rule of o = tanh(n), a true minus, a product, a partial in the header
    assert r"$o = \tanh(n)$ & 1 & $n$ & $1 - \tanh(n)^{2} = 0.5$ & 0.5 & 0.5 \\" in tex
    assert r"$w_{1} = -3$ & $-1.5$ & $-1.5$" in tex and r"x_{1} \cdot w_{1}" in tex
    assert r"\frac{\partial o}{\partial (\text{node})}" in tex and "tanh(n)\\^{}" not in tex
    # the columns share the text width: p{} widths that add up to at most the line
    widths = [float(w) for w in re.findall(r"p\{([\d.]+)\\dimexpr\\linewidth", tex)]
    assert len(widths) == 7 and sum(widths) <= 1.0001
    assert tex.count("\\endhead") == 1               # a long table repeats its header


def test_latex_writes_xlogys_rules_with_their_conditions():
    # kl_div's terms: xlogy(p, q)'s rules read "p/q if p != 0 else 0", a true \neq in LaTeX
    p, q = Value(0.0, label="p"), Value(0.25, label="q")
    y = p.xlogy(q)
    y.label = "y"
    tex = backward_steps(y).to_latex()
    assert r"$\frac{p}{q} \text{ if } p \neq 0 \text{ else } 0 = 0$" in tex
    assert r"$\log(q) \text{ if } q > 0 \text{ else } 0 = -1.386$" in tex and "!" not in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex is not installed (apt-get install texlive-latex-recommended)")
def test_the_standalone_latex_compiles_with_plain_pdflatex(tmp_path):
    tex, _ = latex_document(tmp_path)
    assert tex.read_text().startswith("\\documentclass")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Overfull \\hbox" not in done.stdout       # nothing runs past the page's edge
    assert (tmp_path / "handout.pdf").read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftoppm"):                      # the page as an image, as looked at
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-singlefile", "handout.pdf", "page"],
                       cwd=tmp_path, check=True, timeout=120)
        assert (tmp_path / "page.png").read_bytes()[:4] == b"\x89PNG"


def test_gradcheck_shows_as_an_html_table():
    from tracegrad.engine import check_grad
    result = check_grad(lambda x: x.tanh(), [0.5], [0.7864], digits=4)
    html = result._repr_html_()
    assert "<th>autograd</th>" in html and "<td>0.7864</td>" in html
    assert "(to 4 significant digits)" in html and str(result) == result.table


def test_rules_are_written_with_the_graphs_own_names():
    # colah's e = (a+b)(b+1): the table's generic d(a*b)/da = b would clash with a and b
    a, b = Value(2, label="a"), Value(1, label="b")
    c, d = a + b, b + 1
    c.label, d.label = "c", "d"
    e = c * d
    e.label = "e"
    text = explain(e, b).text
    assert "de/dc = d = 2" in text and "de/dd = c = 3" in text and "d(a*b)" not in text
    assert "de/db = 5" in text
    steps = str(backward_steps(e))
    assert "c       d = 2" in steps and "d       c = 3" in steps
    n = Value(0.8813735870195432, label="n")
    o = n.tanh()
    o.label = "o"
    assert "1 - tanh(n)^2 = 0.5" in str(backward_steps(o))
    assert "do/dn = 1 - tanh(n)^2 = 0.5" in explain(o, n).text
    x = Value(1.0, label="x")
    assert "1/(-4) = -0.25" in str(backward_steps(x / Value(-4.0)))   # a negative in brackets
    assert "x       -3 " in str(backward_steps(x * Value(-3.0)))      # ... unless alone


def test_one_step_is_singular():
    x = Value(2.0, label="x")
    assert str(backward_steps(x * 3)).startswith("backward pass of v1: 1 step, root first")


def test_format_pdf_writes_a_handout_or_says_how_to_get_pdflatex(tmp_path):
    import os
    import sys
    command = [sys.executable, "-m", "tracegrad", "steps", "(1.3 - (b + 0.64*5))**2", "--at",
               "b=0", "--format", "pdf", "-o", str(tmp_path / "ssr.pdf")]
    if shutil.which("pdflatex"):
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"wrote {tmp_path / 'ssr.pdf'}"
        assert (tmp_path / "ssr.pdf").read_bytes()[:5] == b"%PDF-"
    bare = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PATH": str(tmp_path)})      # no pdflatex on it
    assert bare.returncode == 1 and bare.stderr.count("\n") == 1
    assert "--format pdf needs pdflatex: apt-get install texlive-latex-recommended" in bare.stderr

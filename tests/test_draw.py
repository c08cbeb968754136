"""draw / draw_frames / rendering: the DOT source (no renderer needed), escaping, renderer
discovery, and real SVG and PNG files when a renderer (dot or graphviz-pure) is found."""
import os
import re
import stat
import struct
import subprocess

import graphviz
import pytest
from hypothesis import given, strategies as st

from tracegrad.engine import Value, backward_steps, draw, draw_frames
from tracegrad.engine.teach.demo import lecture_neuron
from tracegrad.engine.teach.draw import escape_record, op_label
from tracegrad.engine.teach.render import ENV, Drawing, RenderError, find_renderer, save

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RENDERER = find_renderer()
needs_renderer = pytest.mark.skipif(RENDERER is None, reason="no dot or graphviz-pure found")


def neuron():
    o, leaves = lecture_neuron()
    o.backward()
    return o, leaves


def test_records_op_nodes_and_left_to_right_by_default():
    o, _ = neuron()
    g = draw(o)
    assert isinstance(g, graphviz.Digraph)
    src = g.source
    assert "rankdir=LR" in src
    assert 'n0 [label="{ x1 | data 2 | grad -1.5 }" shape=record]' in src
    assert 'n9_op [label=tanh shape=ellipse]' in src and "n9_op -> n9" in src
    assert "n8 -> n9_op" in src


def test_node_ids_are_deterministic():
    assert draw(neuron()[0]).source == draw(neuron()[0]).source


def test_top_to_bottom_records_are_not_flipped():
    o, _ = neuron()
    assert 'label="x1 | data 2 | grad -1.5"' in draw(o, rankdir="TB").source
    with pytest.raises(ValueError, match="use one of LR, TB, RL, BT"):
        draw(o, rankdir="up")


def test_constants_show_without_a_name_and_ops_by_symbol():
    x = Value(2.0, label="x")
    y = (x * 3) ** 2 - x.leaky_relu(0.1)
    src = draw(y).source
    assert '"{ data 3 }"' in src                 # a constant: no name, no grad
    assert '"{ data 3 | grad 0 }"' in draw(y, show_constant_grads=True).source
    labels = {op_label(n) for n in [x * 3, x ** 2, -x, x.leaky_relu(0.1), x.tanh()]}
    assert labels == {"*", "**2", "-", "leaky_relu 0.1", "tanh"}


def test_labels_are_escaped():
    a = Value(1.0, label='a|b{c}<d>"e\\')
    b = Value(2.0, label="<b>")
    y = a * b
    y.label = "{y}"
    src = draw(y, show_local=True).source
    assert r'a\|b\{c\}\<d\>\"e\\ | data 1' in src
    assert r'\<b\> | data 2' in src and r'\{y\} | data 2' in src
    assert r'[label="d{y}/da|b{c}<d>\"e\\ = <b> = 2" ' in src     # edge label: plain text
    assert "label=<" not in src                                   # never an HTML label


def test_local_derivatives_on_edges():
    o, _ = neuron()
    src = draw(o, show_local=True).source
    # each label a text node on its own edge (n8 -> label -> n9's op): never by another edge
    assert 'n8_n9_op_0 [label="do/dn = 1 - tanh(n)^2 = 0.5" ' in src   # the graph's names
    assert 'n0_n2_op_0 [label="dx1w1/dx1 = w1 = -3" ' in src
    assert "n0 -> n0_n2_op_0 [dir=none]" in src and "n0_n2_op_0 -> n2_op" in src
    top_down = draw(o, show_local=True, rankdir="TB").source        # narrower: two lines
    assert 'n0_n2_op_0 [label="dx1w1/dx1\\n= w1 = -3" ' in top_down
    assert 'n0 -> n2_op [label="dx1w1/dx1 = w1 = -3"]' in draw(o, show_local=True,
                                                               labels_on_edges=True).source


def test_highlighting_one_step():
    o, _ = lecture_neuron()
    steps = backward_steps(o)
    src = draw(o, highlight=steps[-1]).source          # x1w1 = x1 * w1
    assert 'n2 [label="{ x1w1 | data -6 | grad 0.5 }" fillcolor="#ffd27f"' in src
    assert 'n0 -> n2_op [label="-3 * 0.5 = -1.5" color="#d62728"' in src


def test_escape_record():
    assert escape_record("a|{b}<c>") == r"a\|\{b\}\<c\>"


@needs_renderer
@given(st.text(alphabet='ab |{}<>"\\\'&;x', max_size=12))
def test_any_label_renders(label):
    y = Value(1.0, label=label) * 2
    svg = draw(y, show_local=True, title=label).pipe(format="svg", encoding="utf-8")
    assert "<svg" in svg


@needs_renderer
def test_svg_and_png_files(tmp_path):
    o, _ = neuron()
    svg = save(draw(o), tmp_path / "neuron.svg")
    png = save(draw(o), tmp_path / "sub" / "neuron.png")
    assert "<svg" in svg.read_text() and "x1w1x2w2" in svg.read_text()
    assert png.read_bytes()[:8] == PNG_MAGIC


@needs_renderer
def test_digraph_render_and_jupyter_use_the_found_renderer(tmp_path):
    o, _ = neuron()
    g = draw(o)
    out = g.render(tmp_path / "graph", format="png", cleanup=True)
    assert out.endswith("graph.png") and open(out, "rb").read(8) == PNG_MAGIC
    assert not (tmp_path / "graph").exists()
    assert "<svg" in g._repr_mimebundle_()["image/svg+xml"]


@needs_renderer
def test_a_failing_renderer_says_so_in_one_line(tmp_path):
    with pytest.raises(RenderError, match="-Tbogus failed") as failure:
        save(draw(Value(1.0) * 2), tmp_path / "g.bogus")
    assert "\n" not in str(failure.value)


def test_without_a_renderer_the_dot_text_and_a_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENV, "none")
    o, _ = neuron()
    written = save(draw(o), tmp_path / "neuron.png")
    assert written == tmp_path / "neuron.dot" and written.read_text() == draw(o).source
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install graphviz-pure" in err
    bundle = draw(o)._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and "digraph" in bundle["text/plain"]


def test_dot_on_path_is_preferred(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho '<svg/>'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_renderer() == str(fake)
    if os.name != "nt":
        assert Drawing().pipe(format="svg") == b"<svg/>\n"


def test_graphviz_pure_is_found_next_to_the_interpreter(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))               # no dot, nothing on PATH
    found = find_renderer()
    if found is None:
        pytest.skip("graphviz-pure is not installed in this interpreter's scripts folder")
    assert os.path.basename(found).startswith("graphviz-pure")
    version = subprocess.run([found, "-V"], capture_output=True, text=True)
    assert "graphviz-pure" in version.stdout + version.stderr


def test_frames_one_per_step(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "none")
    o, leaves = neuron()                                  # grads already set once
    frames = draw_frames(o, tmp_path, "dot")
    assert [f.name for f in frames] == [f"step_{k}.dot" for k in range(6)]
    first, last = frames[0].read_text(), frames[-1].read_text()
    assert "start: o = 0.7071, do/do = 1" in first and "grad -1.5" not in first
    assert "step 5 of 5: x1w1 = x1 * w1" in last and "grad -1.5" in last
    assert [v.grad for v in leaves] == pytest.approx([-1.5, 1, 0.5, 0, 0.5])   # fresh pass


@needs_renderer
def test_frames_as_png(tmp_path):
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    frames = draw_frames(y, tmp_path / "frames", "png")
    assert len(frames) == 3 and all(f.read_bytes()[:8] == PNG_MAGIC for f in frames)


def test_drawing_repr_has_no_memory_address():
    x = Value(1.0, label="x")
    drawing = draw((x * 2).tanh())
    assert repr(drawing) == "<Drawing of 4 Values: .source is the DOT text>"


def test_focus_colours_the_paths_from_one_leaf():
    x, w, c = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="c")
    f = x * w + c * c
    f.label = "f"
    source = draw(f, focus=w).source
    # n0 x, n1 w, n2 = x*w, n3 c, n4 = c*c, n5 = f: w reaches n2 and f, not c or c*c
    coloured = {line.split()[0] for line in source.splitlines() if "#dbe9f6" in line}
    assert coloured == {"n1", "n2", "n2_op", "n5", "n5_op"}
    bold = {line.strip().split(" [")[0] for line in source.splitlines() if "penwidth=2" in line}
    assert bold == {"n1 -> n2_op", "n2_op -> n2", "n2 -> n5_op", "n5_op -> n5"}


def dot_product(n):
    """w0*x0 + w1*x1 + ... + b, left to right, as a neuron builds it; f labelled."""
    ws = [Value(float(i + 1), label=f"w{i}") for i in range(n)]
    xs = [Value(0.5, label=f"x{i}") for i in range(n)]
    total = ws[0] * xs[0]
    for w, x in zip(ws[1:], xs[1:]):
        total = total + w * x
    f = total + Value(1.0, label="b")
    f.label = "f"
    f.backward()
    return f, ws


def test_a_long_sum_is_one_sigma_node_by_default():
    f, ws = dot_product(16)
    src = draw(f).source
    assert src.count('[label="\u03a3" shape=ellipse]') == 1 and src.count('label="*"') == 16
    assert src.count("shape=record") == 16 * 3 + 2           # w, x, w*x; b and f
    assert 'label="+"' not in src                           # every + folded into the Sigma
    assert src.count(" -> n64_op") == 17                     # 16 products and b
    full = draw(f, compact=False).source
    assert full.count('label="+"') == 16 and "\u03a3" not in full
    assert draw(dot_product(3)[0]).source.count("\u03a3") == 0       # 4 terms: drawn as +
    assert draw(dot_product(3)[0], compact=True).source.count("\u03a3") == 1
    with pytest.raises(ValueError, match="compact='yes'; use True"):
        draw(f, compact="yes")


def test_the_sigma_keeps_named_partial_sums_and_shows_gradients():
    o, _ = neuron()                        # x1w1 + x2w2 is labelled: the teacher named it
    assert "\u03a3" not in draw(o, compact=True).source
    f, ws = dot_product(6)
    src = draw(f, show_local=True).source
    # the record of every term still shows its grad, d f/d term = 1 on each edge into Sigma
    assert src.count('label="df/dv') == 6 and '"df/dv1 = 1"' in src
    assert '"{ w2 | data 3 | grad 0.5 }"' in src


def test_a_term_added_many_times_is_one_edge():
    x = Value(1.0, label="x")
    f = x
    for _ in range(149):
        f = f + x
    f.label = "f"
    src = draw(f, show_local=True).source
    assert src.count(" -> ") == 2 and 'label="df/dx = 150, added 150 times"' in src


def test_pruning_keeps_one_leafs_paths_and_each_ops_inputs():
    f, ws = dot_product(16)
    src = draw(f, focus=ws[3], prune=True).source
    # w3 and x3 into *, that product into the Sigma (15 terms and b not drawn), then f
    assert src.count("shape=record") == 4 and "\u03a3 of 17 terms (16 not drawn)" in src
    assert "{ x3 | data 0.5 | grad 4 }" in src and "w4" not in src
    with pytest.raises(ValueError, match="give focus="):
        draw(f, prune=True)


def test_pruning_draws_an_off_path_input_as_a_dashed_record():
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    f = x * (y + 1).tanh()
    src = draw(f, focus=x, prune=True).source
    assert "style=dashed" in src and "tanh" not in src and "y |" not in src


def test_svg_ids_come_from_the_names():
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    src = draw(y, svg_ids=True).source
    assert 'n0 [label="{ x | data 3 | grad 0 }" id=x shape=record]' in src
    assert 'n1_op [label="*" id="y.op" shape=ellipse]' in src
    assert 'n0 -> n1_op [id="x->y.op#0"]' in src and 'n0 -> n1_op [id="x->y.op#1"]' in src
    two = Value(2.0) * Value(2.0)                              # equal constants, distinct ids
    assert 'id="2~2"' in draw(two, svg_ids=True).source
    assert "id=" not in draw(y).source                         # graphviz's own ids by default


@needs_renderer
def test_svg_ids_reach_the_svg():
    x = Value(3.0, label="x")
    y = (x * 2).tanh()
    y.label = "y"
    svg = draw(y, svg_ids=True).pipe(format="svg", encoding="utf-8")
    for element in ['id="x"', 'id="v1"', 'id="y.op"', 'id="x&#45;&gt;v1.op#0"']:
        assert element in svg


def test_show_local_marks_which_operand_a_doubled_parent_is():
    x = Value(2.0, label="x")
    f = x ** x                                                # a powv node: x is base and exponent
    f.label = "f"
    src = draw(f, show_local=True).source
    assert 'label="df/dx[1] = x * x^(x-1) = 4"' in src         # 2 * 2
    assert 'label="df/dx[2] = x^x * log(x) = 2.773"' in src    # 4 ln 2


def test_a_highlighted_edge_points_back_to_the_parent():
    o, _ = lecture_neuron()
    steps = backward_steps(o)
    src = draw(o, highlight=steps[-1]).source
    assert src.count("dir=back") == 2                          # x1 and w1 receive gradients


def shapes(svg):
    """{graphviz title: the points of its outline} for every node of an SVG."""
    found = re.findall(r'<g id="[^"]*" class="node">\s*<title>([^<]*)</title>\s*'
                       r'<(?:polygon|ellipse)[^>]*?(points="[^"]*"|cx="[^"]*" cy="[^"]*")', svg)
    return dict(found)


@needs_renderer
def test_frames_keep_every_node_in_place_and_the_same_size(tmp_path):
    o, _ = neuron()
    frames = draw_frames(o, tmp_path, "svg")
    svgs = [f.read_text() for f in frames]
    sizes = {re.search(r'<svg width="([^"]+)" height="([^"]+)"', s).groups() for s in svgs}
    assert len(sizes) == 1                                   # one size for every frame
    first = shapes(svgs[0])
    assert len(first) == 10 + 5                              # records and op ellipses
    assert all(shapes(s) == first for s in svgs[1:])         # nothing moves
    assert "step 5 of 5" in svgs[-1] and "x1w1 = x1 * w1" in svgs[-1]


@needs_renderer
def test_frames_as_png_have_one_size(tmp_path):
    x = Value(2.0, label="x")
    y = (x * x + 1).tanh()
    frames = draw_frames(y, tmp_path, "png")
    assert len({struct.unpack(">II", f.read_bytes()[16:24]) for f in frames}) == 1


def test_frames_are_laid_out_for_the_widest_label():
    from tracegrad.engine.teach.frames import _pointing_back, widest
    a = '\tn0 [label="{ x | data 2 | grad 0 }" shape=record]\n\tn0 -> n1_op\n'
    b = '\tn0 [label="{ x | data 2 | grad -1.5 }" shape=record]\n\tn0 -> n1_op [label="-3 * 0.5 = -1.5" dir=back]\n'
    assert widest([a, b]) == b.replace(" dir=back", "")
    # the arrowhead moves from the head (e,...) to the tail (s,...), 10 points in
    assert _pointing_back("e,100,0 0,0 30,0 60,0 90,0") == "s,0,0 10.00,0.00 30,0 60,0 100,0"


def test_pdf_goes_to_a_system_dot(tmp_path, monkeypatch):
    if os.name == "nt":
        pytest.skip("a shell script stands in for dot")
    fake = tmp_path / "dot"                 # answers -Tpdf as Graphviz's dot would
    fake.write_text('#!/bin/sh\ncat > /dev/null\n[ "$1" = "-Tpdf" ] && printf "%%PDF-1.4 fake"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    written = save(draw(Value(1.0, label="x") * 2), tmp_path / "g.pdf")
    assert written.read_bytes() == b"%PDF-1.4 fake"


def test_pdf_with_graphviz_pure_is_a_clear_error(tmp_path, monkeypatch):
    pure = tmp_path / "graphviz-pure"
    pure.write_text("#!/bin/sh\nexit 3\n")
    pure.chmod(pure.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(ENV, str(pure))
    with pytest.raises(RenderError, match="graphviz-pure cannot write PDF: for PDF install "
                                          "Graphviz so `dot` is on PATH"):
        save(draw(Value(1.0) * 2), tmp_path / "g.pdf")


@needs_renderer
def test_the_demos_graph_fits_a_1920_by_1080_screen(tmp_path, capsys):
    # the demo's drawing (nn/demo.py show_backprop) of an MLP(2, [16, 16, 1]): the output
    # neuron's 16-term sum folded into a Sigma, pruned to one weight, top to bottom
    from tracegrad.nn import MLP, data as datasets
    from tracegrad.nn.demo import show_backprop
    data = datasets.moons(100, noise=0.1, seed=0, labels=(-1, 1))
    show_backprop(MLP(2, [16, 16, 1], seed=0), data, str(tmp_path))
    width, height = struct.unpack(">II", (tmp_path / "graph.png").read_bytes()[16:24])
    assert width <= 1920 and height <= 1080, (width, height)
    assert "wrote" in capsys.readouterr().out

"""The teacher's own notation (issue 22), compared with texts written by hand: every written
operation a node, constants without gradients, no '* 1', power rules simplified, named steps,
textbook parameter names, reprs that are the tables.
"""
import re
import subprocess
import sys

from tracegrad.engine import Value, backward_steps, check_grad, explain, forward_steps
from tracegrad.engine.teach.expr import parse
from tracegrad.engine.teach.notation import simplified
from tracegrad.nn import MLP, losses
from tracegrad.nn.module import short_name


def ssr(b=0.0):
    """The seeds' SSR intercept example, as a teacher types it."""
    e = parse("(1.3 - (b + 0.64*5))**2")
    f = e.evaluate({"b": Value(b, label="b")})
    f.label = "f"
    return f


def neuron():
    e = parse("n = x1*w1 + x2*w2 + b; o = tanh(n)")
    at = {k: Value(v, label=k) for k, v in
          dict(x1=2.0, w1=-3.0, x2=0.0, w2=1.0, b=6.8813735870195432).items()}
    return e, e.evaluate(at), at


# By hand: v1 = 0.64*5 = 3.2 (the term written, not folded), v2 = b + v1 = 3.2,
# v3 = 1.3 - v2 = -1.9, f = v3^2 = 3.61. Back: df/dv3 = 2 v3 = -3.8, dv3/dv2 = -1 gives 3.8,
# v2 = b + v1 gives b and v1 3.8 each; v1 = 0.64*5 has only constants: no row.
SSR_STEPS = """\
step  node           df/d(node)  parent  d(node)/d(parent)  contribution  parent .grad
----  -------------  ----------  ------  -----------------  ------------  ------------
1     f = v3**2      1           v3      2 * v3 = -3.8      -3.8          -3.8
2     v3 = 1.3 - v2  -3.8        v2      -1                 3.8           3.8
3     v2 = b + v1    3.8         b       1                  3.8           3.8
                                 v1      1                  3.8           3.8
b.grad = 3.8"""


def test_the_ssr_example_keeps_every_written_operation_and_shows_no_constant_grads():
    f = ssr()
    steps = backward_steps(f)
    assert str(steps).split("\n", 1)[1] == SSR_STEPS
    assert "v1    0.64 * 5  0.64 * 5      3.2" in str(forward_steps(f))
    every = backward_steps(f, show_constant_grads=True).table()
    assert "1.3     1" in every and "0.64    5" in every     # asked for: the constants' rows


def test_the_lecture_neuron_with_named_steps():
    e, o, at = neuron()
    assert e.names == ["x1", "w1", "x2", "w2", "b"] and o.label == "o"
    table = str(backward_steps(o))
    assert "1     o = tanh(n)   1           n       1 - tanh(n)^2 = 0.5  0.5" in table
    assert "2     n = v3 + b    0.5" in table
    assert "x1.grad = -1.5, w1.grad = 1, x2.grad = 0.5, w2.grad = 0, b.grad = 0.5" in table
    assert "do/dn * dn/dv3 * dv3/dv1 * dv1/dw1" in explain(o, at["w1"]).text


def test_named_steps_on_the_command_line():
    done = subprocess.run([sys.executable, "-m", "tracegrad", "steps",
                           "n = x1*w1 + x2*w2 + b; o = tanh(n)", "--at", "x1=2", "w1=-3",
                           "x2=0", "w2=1", "b=6.8813735870195432"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "o = tanh(n)" in done.stdout and "n = v3 + b" in done.stdout


def test_a_power_rule_reads_as_a_teacher_writes_it():
    assert simplified("2 * v2^(2-1)") == "2 * v2"
    assert simplified("3 * x^(3-1)") == "3 * x^2"
    assert simplified("1 * x^(1-1)") == "1"
    assert simplified("-1 * x^(-1-1)") == "-x^(-2)"
    assert simplified("1/2 * x^(1/2-1)") == "1/2 * x^(-1/2)"
    assert simplified("x * x^(x-1)") == "x * x^(x-1)"          # a Value exponent: as written
    x = Value(2.0, label="x")
    y = x ** 3
    y.label = "y"
    assert "y = x**3  1           x       3 * x^2 = 12" in str(backward_steps(y))


def test_a_one_sample_loss_has_no_times_one_node():
    model = MLP(2, [2, 1], seed=0)
    loss = losses.mse(model([0.5, -1.0]), [1.0])
    assert loss.op == "pow" and loss.arg == 2                 # (p - t)^2 itself
    assert losses.mse([Value(1.0), Value(2.0)], [0, 0]).op == "mul"    # two: times 1/2


def test_parameters_have_textbook_names_and_dotted_state_dict_names():
    model = MLP(2, [2, 1], seed=0)
    assert [p.label for p in model.parameters()] == [
        "w[1]_11", "w[1]_12", "b[1]_1", "w[1]_21", "w[1]_22", "b[1]_2",
        "w[2]_11", "w[2]_12", "b[2]_1"]
    assert list(model.state_dict())[3] == "layers.0.neurons.1.w.0"
    assert short_name("layers.0.neurons.11.w.2") == "w[1]_12,3"
    assert short_name("neurons.1.b") == "b_2" and short_name("w.0") == "w_1"
    assert short_name("embed.table") == "embed.table"


def test_one_weight_of_a_two_layer_network_as_a_table():
    model = MLP(2, [2, 1], seed=0)
    loss = losses.mse(model([0.5, -1.0]), [1.0])
    loss.label = "loss"
    w = model.layers[0].neurons[1].w[0]
    table = backward_steps(loss).towards(w).table()
    assert "reach w[1]_21" in table and "dloss/dlayers" not in table
    assert f"w[1]_21   x1" not in table                       # the inputs are constants
    assert "x1 = 0.5" not in table


def test_reprs_at_the_prompt_are_the_tables():
    f = ssr()
    assert repr(backward_steps(f)) == str(backward_steps(f))
    assert repr(forward_steps(f)) == str(forward_steps(f))
    b = f.parents[0].parents[1].parents[0]
    assert repr(explain(f, b)) == explain(f, b).text
    result = check_grad(lambda b: (1.3 - (b + 3.2)) ** 2, [Value(0.0)], [3.8])
    assert repr(result) == str(result) and repr(result).startswith("check_grad passed")


def test_help_texts_have_no_double_percent():
    done = subprocess.run([sys.executable, "-m", "tracegrad", "demo", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert "100% accuracy" in done.stdout and "%%" not in done.stdout


def test_softmax_of_34_32_25_as_tables():
    from tracegrad.nn.activations import softmax
    z = [Value(v, label=f"z{i}") for i, v in enumerate([34.0, 32.0, 25.0], 1)]
    p1 = softmax(z)[0]
    p1.label = "p1"
    forward = str(forward_steps(p1))
    # by hand: m = max(z1, z2, z3) = 34 (two max steps, so the graph is the same for every
    # sample and replays), then subtract it for stability, one step per logit; e^0 = 1,
    # e^-2 = 0.1353, e^-9 = 0.0001234; p1 = 1 / 1.135 = 0.8807
    for row in ["v2    max(v1, z3)  max(34, 25)        34", "v3    z1 - v2      34 - 34            0",
                "v4    exp(v3)      exp(0)             1", "v5    z2 - v2      32 - 34            -2",
                "v9    exp(v8)      exp(-9)            0.0001234",
                "p1    v4 / v10     1 / 1.135          0.8807"]:
        assert row in forward, row
    # dp1/dz1 = p1 (1 - p1) = 0.1051, dp1/dz2 = -p1 p2 = -0.105, dp1/dz3 = -p1 p3
    summary = "z1.grad = 0.1051, z2.grad = -0.105, z3.grad = -9.572e-05"
    assert str(backward_steps(p1)).endswith(summary)
    table = str(backward_steps(p1))
    assert "4     v8 = z3 - v2" in table and not re.search(r" 34 +-1 ", table)   # no row into 34
    textbook = softmax(z, shift=False)[0]
    textbook.label = "p1"
    assert "v1    exp(z1)  exp(34)" in str(forward_steps(textbook))
    assert str(backward_steps(textbook)).endswith(summary)          # d/dz unchanged


def test_the_ssr_example_drawn():
    from tracegrad.engine import draw
    f = ssr()
    f.backward()
    src = draw(f).source
    # the term the teacher wrote, 0.64 * 5, is an op with its two numbers; no constant
    # shows a grad, b does (3.8 by hand)
    assert '"{ data 0.64 }"' in src and '"{ data 5 }"' in src and '"{ data 1.3 }"' in src
    assert '"{ v1 | data 3.2 | grad 3.8 }"' in src and '"{ b | data 0 | grad 3.8 }"' in src
    assert src.count('label="*"') == 1 and "grad -3.8" in src


def test_named_steps_and_short_names_reach_drawings_and_the_stepper():
    from tracegrad.engine import draw, stepper
    _, o, _ = neuron()
    o.backward()
    src = draw(o).source
    assert '"{ n | data 0.8814 | grad 0.5 }"' in src and '"{ o | data 0.7071 | grad 1 }"' in src
    page = stepper(o)
    assert page.title == "backprop through o = tanh(n)"
    assert "backward: n = v3 + b sends do/dn = 0.5 back to its parents" in [
        s["say"][0] for s in page.data["steps"]]
    model = MLP(2, [2, 1], seed=0)
    loss = losses.mse(model([0.5, -1.0]), [1.0])
    loss.label = "loss"
    w = model.layers[0].neurons[1].w[0]
    loss.backward()
    drawn = draw(loss, focus=w, prune=True).source
    assert "{ w[1]_21 | data" in drawn and "layers." not in drawn
    assert stepper(loss, focus=w).title == "backprop through loss = v15**2"   # no '* 1'


def test_train_reports_the_last_epochs_mean_loss():
    done = subprocess.run([sys.executable, "-m", "tracegrad", "train", "--data", "moons",
                           "--samples", "40", "--hidden", "4", "--epochs", "2", "--batch-size",
                           "10", "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # 4 batches an epoch: the line is their mean, not the last batch's loss
    assert re.search(r"^epoch 2 mean loss [\d.]+ after 8 steps", done.stdout, re.M), done.stdout

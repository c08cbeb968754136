"""nn.plot figures (files written) and the command lines `python -m tracegrad.nn`: help,
one-line usage errors with exit status 2, a small training run, and the full demo (slow)."""
import os
import subprocess
import sys

import pytest

from tracegrad.nn import MLP, data, fit, losses, optim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "tracegrad.nn", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def plot():
    pytest.importorskip("matplotlib")
    from tracegrad.nn import plot
    return plot


def test_loss_curve_and_decision_boundary_are_saved(plot, tmp_path):
    model = MLP(2, [4, 1], seed=0)
    ds = data.moons(20, seed=0, labels=(-1, 1))
    history = fit(model, ds, "hinge", optim.SGD(model.parameters(), lr=0.1), epochs=3,
                  batch_size=5, metric=lambda out, y: 1, progress=False)
    fig = plot.loss_curve(history, tmp_path / "loss.png")
    assert (tmp_path / "loss.png").stat().st_size > 1000
    assert fig.axes[0].get_xlabel() == "step"
    assert len(fig.axes) == 2                                 # loss, and the metric's axis
    assert plot.loss_curve([3.0, 2.0, 1.0]).axes[0].lines[0].get_ydata().tolist() == [3, 2, 1]
    fig = plot.decision_boundary(model, ds, tmp_path / "sub" / "boundary.png", resolution=15)
    assert (tmp_path / "sub" / "boundary.png").exists()
    assert fig.axes[0].get_title() == "Decision boundary: MLP(2, [4, 1])"
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["top (-1)", "bottom (1)"]          # targets -1/1, not class indices


def test_decision_boundary_for_several_classes(plot):
    model = MLP(2, [3], seed=0)
    fig = plot.decision_boundary(model, data.blobs(30), resolution=12)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["blob 0", "blob 1", "blob 2"]


def test_loss_vs_parameter_draws_the_descent_steps_and_restores_the_parameter(plot, tmp_path):
    line = MLP(1, [1], seed=0)
    slope, intercept = line.layers[0].neurons[0].w[0], line.layers[0].neurons[0].b
    slope.data, intercept.data = 0.64, 0.0
    history = fit(line, data.height_weight(), losses.sse, optim.SGD([intercept], lr=0.1),
                  reduction="sum", max_steps=5, track=[intercept], progress=False)
    steps = history.tracked["layers.0.neurons.0.b"]
    fig = plot.loss_vs_parameter(line, "layers.0.neurons.0.b", data.height_weight(), losses.sse,
                                 steps=steps, path=tmp_path / "ssr.png")
    assert intercept.data == steps[-1]                        # put back after plotting
    ax = fig.axes[0]
    dots = [ln for ln in ax.lines if ln.get_label() == "gradient-descent steps"][0]
    assert dots.get_xdata().tolist() == steps
    # SSR at intercept 0, slope 0.64 (StatQuest's 3.1): 1.08^2 + 0.428^2 + 1.344^2 = 3.15592
    assert dots.get_ydata()[0] == pytest.approx(3.15592, abs=1e-12)
    assert (tmp_path / "ssr.png").exists()
    with pytest.raises(ValueError, match="not a parameter"):
        plot.loss_vs_parameter(line, "w", data.height_weight(), losses.sse)


def test_help_shows_examples():
    result = run("--help")
    assert result.returncode == 0
    assert "tracegrad train --data moons --hidden 16,16" in result.stdout
    assert "examples:" in run("train", "--help").stdout


@pytest.mark.parametrize("args, message", [
    ((), "the following arguments are required"),
    (("train", "--hidden", "16,x"), "--hidden: expected sizes like 16,16, got '16,x'"),
    (("train", "--lr", "-1"), "--lr: expected a positive number, got '-1'"),
    (("train", "--data", "mnist"), "--data: invalid choice: 'mnist'"),
    (("train", "--data", "dosage", "--samples", "5"), "dosage is a fixed textbook data set"),
    # 3 * 10^5 + 100,001 * 10^5 + 100,001 weights and biases, refused before any is made
    (("train", "--hidden", "100000,100000"), "would have 10,000,500,001 parameters; a scalar "
                                             "engine holds at most 1,000,000"),
    (("train", "--samples", "1000000000"), "moons: n must be an int >= 2 (and at most 100,000"),
    (("train", "--optimizer", "adam", "--momentum", "0.5"),
     "--momentum: --optimizer adam has no momentum (use --optimizer sgd or momentum)"),
    (("train", "--optimizer", "sgd", "--momentum", "-1"), "SGD: momentum must be a number >= 0"),
    (("fly",), "invalid choice: 'fly'"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_train_passes_momentum_to_sgd():
    result = run("train", "--data", "xor", "--optimizer", "sgd", "--momentum", "0.5",
                 "--epochs", "1", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "SGD(337 parameters, lr=0.1, momentum=0.5)" in result.stdout   # not dropped
    result = run("train", "--data", "xor", "--optimizer", "momentum", "--epochs", "1",
                 "--no-progress")
    assert "SGD(337 parameters, lr=0.1, momentum=0.9)" in result.stdout


def test_train_writes_model_and_plots(tmp_path):
    result = run("train", "--data", "xor", "--samples", "40", "--hidden", "8", "--epochs", "40",
                 "--lr", "0.05", "--no-progress", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "MLP(2, [8, 1])" in result.stdout and "training accuracy" in result.stdout
    assert sorted(os.listdir(tmp_path)) == ["boundary.png", "loss.png", "model.json"]
    MLP(2, [8, 1]).load(tmp_path / "model.json")


@pytest.mark.slow
def test_demo_reaches_100_percent_and_writes_its_images(tmp_path):
    result = run("demo", "--out", str(tmp_path), "--no-progress", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Training accuracy: 100% (100/100)" in result.stdout
    assert "the backward steps that reach w_" in result.stdout
    assert "(= w_" in result.stdout and "grad after loss.backward())" in result.stdout
    files = os.listdir(tmp_path)
    assert {"loss.png", "boundary.png", "graph.png"} <= set(files)


def test_demo_backprop_shows_one_weights_gradient(tmp_path, monkeypatch, capsys):
    from tracegrad.nn.demo import hardest_sample, one_weight_graph, show_backprop

    model = MLP(2, [4, 4, 1], seed=0)
    ds = data.moons(10, seed=0, labels=(-1, 1))
    loss, weight = one_weight_graph(model, ds, 0)
    assert loss.label == "loss" and weight.label.startswith("w_")
    loss.backward()                      # d loss/d w_i = d loss/d score * h_i, by hand:
    score = model(ds.X[0])[0].data
    hidden = model.layers[1](model.layers[0](ds.X[0]))
    i = int(weight.label[2:]) - 1                   # w_1 is the weight of h_1: counted from 1
    slope = -ds.y[0] if 1 - ds.y[0] * score > 0 else 0
    assert weight.grad == pytest.approx(slope * hidden[i].data, abs=1e-12)

    hard_loss, hard_weight = one_weight_graph(model, ds, hardest_sample(model, ds))
    hard_loss.backward()
    show_backprop(model, ds, str(tmp_path))
    out = capsys.readouterr().out
    # the steps table ends on that weight, and explain's sum equals its gradient
    name = hard_weight.label
    table_end = out.index(f"{name}.grad = {hard_weight.grad:.4g}")
    assert f"{name} * h_{name[2:]}" in out[:table_end]
    assert f"dloss/d{name} = {hard_weight.grad:.4g}   (= {name}.grad" in out
    assert (tmp_path / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

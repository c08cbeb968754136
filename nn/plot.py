"""Pictures of training: the loss curve, a 2-D classifier's decision boundary, and the loss
against one parameter with the gradient-descent steps drawn on it. Each function returns a
matplotlib Figure made with the object API (no pyplot state: nothing to close, no figure
leak) and, given a path, saves it there. In Jupyter a Figure shows as the cell's result.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Union

from tracegrad.engine import Value, grad, no_grad
from tracegrad.engine.extras import require
from .jupyter import ipython_shell

from .activations import argmax
from .data import Dataset
from .module import Module
from .train import data_loss

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Path = Union[str, "os.PathLike[str]", None]     # where to save a figure (None: don't)


def figure(**options: Any) -> Figure:
    """A new matplotlib Figure (options go to Figure: figsize, dpi, layout ...), outside
    pyplot's list of open figures, so it is freed like any object once unused."""
    require("matplotlib", "plot", "tracegrad.nn.plot's figures")
    from matplotlib.figure import Figure
    _show_figures_in_ipython(Figure)
    return Figure(**options)


def _show_figures_in_ipython(Figure: type) -> None:
    # IPython draws a Figure as an image only once matplotlib's inline support has
    # registered a formatter for it (%matplotlib inline, or importing pyplot in a kernel).
    # Without either, a Figure would print as "<Figure size 640x400 with 1 Axes>": register
    # IPython's own PNG printer then, leaving any formatter the user chose alone.
    shell = ipython_shell()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    for mime in ("image/png", "image/svg+xml", "application/pdf", "image/jpeg"):
        try:
            formatters[mime].lookup_by_type(Figure)
            return
        except KeyError:
            continue
    from IPython.core.pylabtools import select_figure_formats
    select_figure_formats(shell, {"png"})


def _finish(fig: Figure, path: Path) -> Figure:
    if path is not None:
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig


def loss_curve(history: Any, path: Path = None, log_scale: bool = False,
               title: str = "Training loss") -> Figure:
    """The loss at every step (from fit()'s History, or a list of numbers); when the history
    has a metric (e.g. accuracy) it is drawn against the right-hand axis."""
    losses = list(getattr(history, "loss", history))
    steps = list(getattr(history, "step", range(1, len(losses) + 1)))
    fig = figure(figsize=(6.4, 4), layout="tight")
    ax = fig.subplots()
    window = _window(history, len(losses))
    faint = 0.35 if window > 1 else 1.0
    ax.plot(steps, losses, color="tab:blue", alpha=faint, linewidth=0.8,
            label="loss (each batch)" if window > 1 else "loss")
    if window > 1:
        ax.plot(steps[window - 1:], _moving_mean(losses, window), color="tab:blue",
                linewidth=2, label=f"loss (mean of {window} steps)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss", color="tab:blue")
    if log_scale:
        ax.set_yscale("log")
    metric = list(getattr(history, "metric", []))
    if metric:
        right = ax.twinx()
        shown = _moving_mean(metric, window) if window > 1 else metric
        right.plot(steps[len(metric) - len(shown):len(metric)], shown, color="tab:orange",
                   linewidth=1.5, label="accuracy")
        right.set_ylabel("accuracy" + (f" (mean of {window} steps)" if window > 1 else ""),
                         color="tab:orange")
        right.set_ylim(0, 1.05)
    ax.legend(loc="center right", fontsize="small")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _finish(fig, path)


def decision_boundary(model: Callable[[list[float]], list[Value]], data: Dataset,
                      path: Path = None, resolution: int = 60, threshold: float = 0.0,
                      margin: float = 0.5, title: str | None = None) -> Figure:
    """The regions of the plane a 2-D classifier assigns to each class, with the data on top.
    One output: class 1 where the output > threshold (0 for a linear/tanh output, 0.5 for a
    sigmoid). Several outputs: the argmax. The model is run resolution^2 times (no_grad)."""
    xs, ys = [x[0] for x in data.X], [x[1] for x in data.X]
    gx = _grid(min(xs) - margin, max(xs) + margin, resolution)
    gy = _grid(min(ys) - margin, max(ys) + margin, resolution)
    with no_grad():
        scores = [[model([a, b]) for a in gx] for b in gy]
    classes = _class_indices(data)
    fig = figure(figsize=(5.6, 5), layout="tight")
    ax = fig.subplots()
    colors = [COLORS[i % len(COLORS)] for i in range(max(2, max(classes) + 1,
                                                          len(scores[0][0])))]
    k = len(colors)
    if len(scores[0][0]) == 1:       # contour the score itself: a smooth boundary line
        z = [[float(s[0].data) for s in row] for row in scores]
        lo, hi = min(map(min, z)), max(map(max, z))
        levels = [min(lo, threshold) - 1, threshold, max(hi, threshold) + 1]
        ax.contourf(gx, gy, z, levels=levels, colors=colors[:2], alpha=0.3)
        ax.contour(gx, gy, z, levels=[threshold], colors="k", linewidths=0.8)
    else:                            # colour by argmax; line where a class stops winning
        from matplotlib.colors import ListedColormap
        z = [[argmax(s) for s in row] for row in scores]
        ax.pcolormesh(gx, gy, z, shading="nearest", cmap=ListedColormap(colors), alpha=0.3,
                      vmin=-0.5, vmax=k - 0.5)
        for i in range(len(scores[0][0])):
            lead = [[s[i].data - max(v.data for j, v in enumerate(s) if j != i) for s in row]
                    for row in scores]
            if min(map(min, lead)) < 0 < max(map(max, lead)):
                ax.contour(gx, gy, lead, levels=[0], colors="k", linewidths=0.8)
    names = data.classes or [str(i) for i in range(k)]
    for i in range(k):
        mine = [j for j, c in enumerate(classes) if c == i]
        ax.scatter([xs[j] for j in mine], [ys[j] for j in mine], color=colors[i], s=28,
                   edgecolors="k", linewidths=0.6,
                   label=_legend(data, names, i))
    ax.legend(loc="best", fontsize="small")
    ax.set_xlabel(data.features[0] if data.features else "x1")
    ax.set_ylabel(data.features[1] if len(data.features) > 1 else "x2")
    ax.set_title(title or f"Decision boundary: {model!r}")
    return _finish(fig, path)


def loss_vs_parameter(model: Module, param: Value | str, data: Dataset, loss: Any,
                      steps: Iterable[float] | None = None,
                      span: tuple[float, float] | None = None, reduction: str = "sum",
                      path: Path = None, points: int = 200,
                      title: str | None = None) -> Figure:
    """The loss over the data set as one parameter varies (the others held fixed), with the
    gradient-descent steps (`steps`: the parameter's values, e.g. fit(track=[...])'s
    history.tracked[name]) drawn as dots, each with its tangent: the slope d loss / d param
    that gradient descent follows. param is a Value or a dotted name from named_parameters()."""
    name, param = _parameter(model, param)
    steps = list(steps or [])
    if span is None:
        around = steps or [float(param.data)]
        lo, hi = min(around), max(around)
        pad = max(hi - lo, 1.0) * 0.3
        span = (lo - pad, hi + pad)
    saved = param.data
    try:
        xs = _grid(span[0], span[1], points)
        with no_grad():
            curve = [float(_loss_at(model, param, x, data, loss, reduction).data) for x in xs]
        marks = []
        for x in steps:
            value = _loss_at(model, param, x, data, loss, reduction)
            marks.append((x, float(value.data), grad(value, [param])[0]))
    finally:
        param.data = saved
    fig = figure(figsize=(6.4, 4.4), layout="tight")
    ax = fig.subplots()
    ax.plot(xs, curve, color="tab:blue", label="loss")
    width = (span[1] - span[0]) * 0.08
    last = None
    for i, (x, y, slope) in enumerate(marks):
        ax.plot([x - width, x + width], [y - slope * width, y + slope * width],
                color="tab:green", linewidth=1.5, linestyle="--",
                label="slope d loss / d parameter" if i == 0 else None)
        if last is None or abs(x - last) > width / 2:      # number the steps that stand apart
            ax.annotate(str(i), (x, y), textcoords="offset points", xytext=(4, 6), fontsize=8)
            last = x
    if marks:
        ax.plot([m[0] for m in marks], [m[1] for m in marks], "o-", color="tab:red",
                markersize=4, linewidth=0.8, label="gradient-descent steps")
        ax.legend(loc="best", fontsize="small")
    ax.set_xlabel(name)
    ax.set_ylabel(f"loss ({reduction} over {len(data)} samples)")
    ax.set_title(title or f"Loss against {name}")
    ax.grid(alpha=0.3)
    return _finish(fig, path)


def _window(history: Any, n: int) -> int:
    """Steps per epoch when training used mini-batches (their losses are noisy), else 1."""
    epochs = list(getattr(history, "epoch", []))
    if len(epochs) < 2 or epochs[-1] == epochs[0]:
        return 1
    per_epoch = epochs.count(epochs[0])
    return per_epoch if 1 < per_epoch < n else 1


def _moving_mean(values: Sequence[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        if i >= window - 1:
            out.append(total / window)
    return out


def _loss_at(model: Module, param: Value, x: float, data: Dataset, loss: Any,
             reduction: str) -> Value:
    param.data = x
    return data_loss(model, data, loss, reduction)


def _parameter(model: Module, param: Value | str) -> tuple[str, Value]:
    named = model.named_parameters()
    for name, p in named:
        if p is param or name == param:
            return name, p
    raise ValueError(f"loss_vs_parameter: {param!r} is not a parameter of {model!r}")


COLORS = ["tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown"]


def _legend(data: Dataset, names: Sequence[str], i: int) -> str:
    """'top (-1)' when the targets are not the class indices 0, 1, ... (then every class
    shows its target), else just the name: 'arm 0'."""
    name = names[i] if i < len(names) else str(i)
    if data.labels and data.labels != list(range(len(data.labels))) and i < len(data.labels):
        return f"{name} ({data.labels[i]})"
    return name


def _grid(lo: float, hi: float, n: int) -> list[float]:
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def _class_indices(data: Dataset) -> list[int]:
    if data.labels:
        index = {label: i for i, label in enumerate(data.labels)}
        return [index[y] for y in data.y]
    return [int(y) for y in data.y]

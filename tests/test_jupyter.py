"""Jupyter-native behaviour: plots are pyplot-free Figures (no figure leak, one image per
cell in a kernel), and fit's progress bar shows only where someone watches (a terminal or
a Jupyter kernel, where tqdm.auto draws a widget) unless forced on or off."""
import gc
import io
import warnings
import weakref

import pytest

from tracegrad.jupyter import someone_watching
from tracegrad.nn import Neuron, data, fit, losses, optim


def tiny_fit(**options):
    model = Neuron(1, activation="linear", seed=0)
    return fit(model, data.height_weight(), losses.sse, optim.SGD(model.parameters(), lr=0.01),
               max_steps=3, **options)


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stream, progress, shown", [
    (Terminal(), None, True),           # a terminal: the bar by default
    (io.StringIO(), None, False),       # a pipe or a log: none by default
    (io.StringIO(), True, True),        # forced on
    (Terminal(), False, False),         # forced off
])
def test_progress_bar_shows_where_someone_watches(monkeypatch, stream, progress, shown):
    monkeypatch.setattr("sys.stderr", stream)
    tiny_fit(progress=progress)
    assert ("3/3" in stream.getvalue()) is shown, stream.getvalue()


def test_a_closed_stream_is_not_watched():
    stream = io.StringIO()
    stream.close()
    assert someone_watching(stream) is False


@pytest.fixture
def plot():
    pytest.importorskip("matplotlib")
    from tracegrad.nn import plot
    return plot


def test_plots_leak_no_figures(plot):
    # pyplot warns past 20 open figures and keeps every one alive until closed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figures = [plot.loss_curve([3.0, 2.0, 1.0]) for _ in range(25)]
    import matplotlib.pyplot as plt
    assert plt.get_fignums() == []
    last = weakref.ref(figures[-1])
    del figures
    gc.collect()
    assert last() is None                          # freed like any object


KERNEL_CELLS = [
    "from tracegrad.nn import plot",
    "plot.loss_curve([3.0, 2.0, 1.0])",                   # the result: one image
    "fig = plot.loss_curve([3.0, 2.0, 1.0])",             # assigned: nothing shown
    "display(fig)\nfig.axes[0].get_xlabel()",            # one image, then the text result
    "from tracegrad.nn import Neuron, data, fit, losses, optim\n"
    "m = Neuron(1, activation='linear', seed=0)\n"
    "h = fit(m, data.height_weight(), losses.sse, optim.SGD(m.parameters(), lr=0.01),"
    " max_steps=3)",                                      # in a kernel: the widget bar
]


def test_in_a_kernel_a_plot_is_one_image_and_the_bar_a_widget(plot):
    pytest.importorskip("ipykernel")
    pytest.importorskip("ipywidgets")
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in KERNEL_CELLS])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    kinds = [[(o.output_type, sorted(o.get("data", {}))) for o in cell.outputs]
             for cell in nb.cells]
    image = ["image/png", "text/plain"]
    assert kinds[1] == [("execute_result", image)]
    assert kinds[2] == []
    assert kinds[3] == [("display_data", image), ("execute_result", ["text/plain"])]
    widgets = [o for o in nb.cells[4].outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) == 1, kinds[4]

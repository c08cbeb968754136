"""Where tracegrad is running (a Jupyter kernel, a terminal, a pipe): the helpers live in
nn/jupyter.py, beside the progress bar and plots that ask, and what a saved notebook keeps of
the stepper in engine/teach/saved.py (imports run one way: from this thin folder down into
engine/ and nn/, never back); their names are importable from here too."""
from tracegrad.engine.teach.saved import until_run
from tracegrad.nn.jupyter import in_kernel, ipython_shell, someone_watching

__all__ = ["in_kernel", "ipython_shell", "someone_watching", "until_run"]

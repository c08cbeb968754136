"""tracegrad: a scalar autograd engine for teaching, and a small neural-net library on it.

    from tracegrad.engine import Value, grad, backward_steps, explain, check_grad, draw
    from tracegrad.nn import MLP, losses, optim, fit, data

The folders engine/ and nn/ of the repository install as tracegrad.engine and tracegrad.nn.
"""
import os as _os

__version__: str = "0.2.0"

__all__ = ["__version__"]

# In a clone, engine/ and nn/ are this folder's siblings, not its children. Python imports
# this folder (not the installed package) whenever the clone's root is on sys.path: a
# command or notebook run there, `python -m pytest`, an editable install in compat mode.
# So the package also looks beside itself for its subpackages, the way a namespace package
# spans folders; installed, they are inside it and this adds nothing.
_here = _os.path.dirname(__file__)
_clone = _os.path.dirname(_here)
if (not _os.path.isdir(_os.path.join(_here, "engine"))
        and _os.path.isfile(_os.path.join(_clone, "engine", "__init__.py"))):
    __path__.append(_clone)

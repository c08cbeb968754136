"""mypy on the installed layout (tracegrad/, with engine/ and nn/ inside it): the whole
package type-checks, and the modules listed in HINTED have a hint on every function.
What is not listed is not hinted yet (see the CHANGELOG)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HINTED = ["tracegrad", "tracegrad.cli", "tracegrad.extras", "tracegrad.jupyter",
          "tracegrad.engine.value", "tracegrad.engine.graph", "tracegrad.engine.modes",
          "tracegrad.engine.check", "tracegrad.engine.trace", "tracegrad.engine.explain",
          "tracegrad.engine.forward", "tracegrad.engine.torch_check", "tracegrad.nn.bridge",
          "tracegrad.nn.plot", "tracegrad.nn.layers", "tracegrad.nn.module", "tracegrad.engine",
          "tracegrad.engine.draw", "tracegrad.engine.stepper",
          "tracegrad.nn.activations",
          "tracegrad.nn.losses", "tracegrad.nn.optim", "tracegrad.nn.train"]


def installed_layout(folder):
    """tracegrad/ as pip installs it, built from symlinks: mypy cannot follow setuptools'
    package-dir mapping (engine/ -> tracegrad/engine) of an editable install."""
    package = folder / "tracegrad"
    package.mkdir()
    for item in (ROOT / "tracegrad").iterdir():
        if item.suffix in (".py", ".typed"):
            os.symlink(item, package / item.name)
    os.symlink(ROOT / "engine", package / "engine", target_is_directory=True)
    os.symlink(ROOT / "nn", package / "nn", target_is_directory=True)


@pytest.mark.slow
def test_mypy_is_clean_on_the_package_and_the_hinted_modules_are_fully_hinted(tmp_path):
    pytest.importorskip("mypy")
    try:
        installed_layout(tmp_path)
    except OSError as err:                          # Windows without symlink rights
        pytest.skip(f"cannot make symlinks here: {err}")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\npython_version = 3.10\nignore_missing_imports = True\n\n"
                      f"[mypy-{','.join(HINTED)}]\n"
                      "disallow_untyped_defs = True\ndisallow_incomplete_defs = True\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir",
         str(tmp_path / "cache"), "-p", "tracegrad"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_the_methods_declared_for_type_checkers_are_the_tables_one_input_rows():
    """value.py makes x.exp(), x.tanh() ... in a loop over the op table and declares them
    under `if TYPE_CHECKING:` for mypy; the two lists must not drift apart."""
    import ast

    from tracegrad.engine import OPS, Value
    tree = ast.parse((ROOT / "engine" / "value.py").read_text())
    value_class = next(node for node in tree.body
                       if isinstance(node, ast.ClassDef) and node.name == "Value")
    block = next(node for node in value_class.body
                 if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    declared = [node.name for node in block.body if isinstance(node, ast.FunctionDef)]
    rows = [op.name for op in OPS.values() if op.function and not op.arg]
    assert sorted(declared) == sorted(rows)
    assert declared and len(declared) == len(set(declared))
    assert all(callable(getattr(Value, name)) for name in declared)

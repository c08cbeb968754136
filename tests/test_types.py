"""mypy on the package as it is installed (tracegrad/, with engine/ and nn/ inside it): the whole
package type-checks, and the modules listed in HINTED have a hint on every function.
What is not listed is not hinted yet (see the CHANGELOG)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HINTED = ["tracegrad", "tracegrad.cli", "tracegrad.extras", "tracegrad.jupyter",
          "tracegrad.engine.extras", "tracegrad.nn.jupyter", "tracegrad.engine.teach.commandline",
          "tracegrad.engine.teach.walk", "tracegrad.engine.teach.verdict",
          "tracegrad.engine.value", "tracegrad.engine.graph", "tracegrad.engine.modes",
          "tracegrad.engine.teach.check", "tracegrad.engine.teach.steps", "tracegrad.engine.teach.explain",
          "tracegrad.engine.teach.forward", "tracegrad.engine.teach.torch_check", "tracegrad.nn.bridge",
          "tracegrad.nn.plot", "tracegrad.nn.layers", "tracegrad.nn.module", "tracegrad.engine",
          "tracegrad.engine.teach.draw", "tracegrad.engine.teach.stepper",
          "tracegrad.nn.activations", "tracegrad.nn.guards",
          "tracegrad.nn.losses", "tracegrad.nn.optim", "tracegrad.nn.train",
          "tracegrad.nn.data", "tracegrad.nn"]


def require_a_folder_install(folder):
    """mypy reads tracegrad where the interpreter finds it from a neutral folder, as users'
    editors do: a wheel or the strict editable install of tasks.py and the README are plain
    folders on sys.path (no symlink farm of the tests' own). pip's default editable mode is an
    import hook that no type checker follows: skip there, saying so."""
    where = subprocess.run(
        [sys.executable, "-c", "import tracegrad.engine.value as v; print(v.__file__)"],
        cwd=folder, capture_output=True, text=True, timeout=60).stdout.strip()
    if Path(where).parent.parent.name != "tracegrad":
        pytest.skip(f"tracegrad.engine is loaded from {where or 'nowhere'} by an import hook "
                    f"(pip install -e without --config-settings editable_mode=strict): type "
                    f"checkers cannot follow it; `python3 tasks.py test` installs it as they can")


@pytest.mark.slow
def test_mypy_is_clean_on_the_package_and_the_hinted_modules_are_fully_hinted(tmp_path):
    pytest.importorskip("mypy")
    require_a_folder_install(tmp_path)
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
    rows = [op.name for op in OPS.values() if op.function and not op.arg and len(op.rules) == 1]
    assert sorted(declared) == sorted(rows)
    assert declared and len(declared) == len(set(declared))
    assert all(callable(getattr(Value, name)) for name in declared)


USER_CODE = '''\
from tracegrad.engine import Value, backward_steps, check_grad, explain, grad, no_grad
x = Value(2.0, label="x")
y = (x * 3 + 1).tanh() + x.exp() / 2 - abs(x) ** 2 + 2 ** x + x.leaky_relu(0.1)
reveal_type(y)
reveal_type(grad(y, x))
reveal_type(grad(y, [x], create_graph=True))
(dx,) = grad(y, [x], create_graph=True)
dx.backward()
with no_grad():
    z = x.sigmoid() * 2
print(backward_steps(y).table(digits=3), explain(y, x).value, check_grad(lambda a: a.sin(), [1.0]))
x.tanh(2)
x.tanhh()
'''


@pytest.mark.slow
def test_user_code_type_checks_with_the_right_types_and_typos_are_caught(tmp_path):
    """The hints do what they are for: mypy knows what the operators, the methods made from
    the op table and grad() return, and flags a wrong call or a misspelt method."""
    pytest.importorskip("mypy")
    require_a_folder_install(tmp_path)
    (tmp_path / "user.py").write_text(USER_CODE)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-version", "3.10", "--ignore-missing-imports",
         "--cache-dir", str(tmp_path / "cache"), "user.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    # (mypy versions differ on writing the builtins. prefix)
    lines = [line.split(": ", 1)[1].replace("builtins.", "")
             for line in result.stdout.splitlines() if "user.py:" in line]
    assert lines == [
        'note: Revealed type is "tracegrad.engine.value.Value"',
        'note: Revealed type is "int | float | fractions.Fraction"',
        'note: Revealed type is "list[tracegrad.engine.value.Value]"',
        'error: Too many arguments for "tanh" of "Value"  [call-arg]',
        'error: "Value" has no attribute "tanhh"; maybe "tanh" or "atanh"?  [attr-defined]',
    ], result.stdout

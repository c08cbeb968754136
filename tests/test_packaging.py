"""The installed package: one `tracegrad` namespace, the `tracegrad` command, no clash with a
student's own engine.py / nn.py, and a wheel that holds nothing but tracegrad."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import tracegrad
from tracegrad import engine, nn

ROOT = Path(__file__).resolve().parent.parent


def run(args, cwd):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_subpackages_live_inside_tracegrad():
    assert engine.__name__ == "tracegrad.engine" and nn.__name__ == "tracegrad.nn"
    assert engine.Value(2.0) * 3 is not None
    assert tracegrad.__version__.count(".") == 2


def test_version_command_prints_the_package_version(tmp_path):
    result = run(["-m", "tracegrad", "--version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"tracegrad {tracegrad.__version__}"


def test_a_students_engine_py_and_nn_py_do_not_shadow_tracegrad(tmp_path):
    # the micrograd lecture has students write their own engine.py and nn.py
    (tmp_path / "engine.py").write_text("raise SystemExit('the student file was imported')\n")
    (tmp_path / "nn.py").write_text("raise SystemExit('the student file was imported')\n")
    result = run(["-m", "tracegrad", "steps", "x*x", "--at", "x=3"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "x.grad = 6" in result.stdout
    result = run(["-m", "tracegrad.engine", "steps", "x*x", "--at", "x=3"], tmp_path)
    assert "x.grad = 6" in result.stdout


def test_one_command_runs_both_halves(tmp_path):
    help_text = run(["-m", "tracegrad", "--help"], tmp_path).stdout
    for command in ("demo", "train", "neuron", "steps", "explain", "check", "draw"):
        assert f"    {command} " in help_text, command
    bad = run(["-m", "tracegrad", "train", "--hidden", "x"], tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("tracegrad train: error: argument --hidden")


@pytest.mark.slow
def test_the_wheel_holds_only_the_tracegrad_package(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "-q", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"could not build a wheel here: {built.stderr.strip()[-300:]}")
    (wheel,) = tmp_path.glob("tracegrad-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"tracegrad", f"tracegrad-{tracegrad.__version__}.dist-info"}
    names = zipfile.ZipFile(wheel).namelist()
    assert "tracegrad/py.typed" in names and "tracegrad/engine/ops.py" in names
    assert "tracegrad/nn/layers.py" in names


BLOCK_MATPLOTLIB = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "matplotlib":
            raise ImportError("blocked for the test")
sys.meta_path.insert(0, Block())
from tracegrad.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_demo_without_matplotlib_stops_at_once_naming_the_install(tmp_path):
    result = run(["-c", BLOCK_MATPLOTLIB, "demo", "--no-progress"], tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""                          # no training happened first
    (line,) = result.stderr.splitlines()
    assert line.startswith("tracegrad demo: error: matplotlib is not installed")
    assert 'pip install "tracegrad[plot]"' in line and 'pip install ".[plot]"' in line
    assert 'pip install "matplotlib>=3.7"' in line       # the plot extra's own pin, quoted


def test_an_install_hint_pins_the_package_as_its_extra_does():
    from tracegrad.extras import MissingExtra, pinned, require
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["torch"] == ["torch==2.13.0"]                # a bare torch pulls CUDA
    assert pinned("torch", "torch") == "torch==2.13.0"
    assert pinned("no-such-package", "plot") == "no-such-package"
    with pytest.raises(MissingExtra) as missing:
        require("no_such_module.sub", "plot", "a test")
    assert str(missing.value).startswith("no_such_module is not installed (needed for a test): "
                                         "pip install no_such_module, or install tracegrad")


def test_every_extra_named_in_an_install_hint_exists():
    import re
    tomllib = pytest.importorskip("tomllib")      # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    named = set()
    for path in [*ROOT.glob("engine/*.py"), *ROOT.glob("nn/*.py"), *ROOT.glob("tracegrad/*.py")]:
        named |= set(re.findall(r'require\("[\w.]+", "(\w+)"', path.read_text()))
    assert named and named <= set(extras), named - set(extras)

"""The installed package: one `tracegrad` namespace, the `tracegrad` command, no clash with a
student's own engine.py / nn.py, a wheel that holds nothing but tracegrad; and (slow) every
install mode from every folder, pytest and a notebook in a clone's root, and a base install
that resolves on platforms without graphviz-pure wheels."""
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
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


# ---- every install mode, from every folder (issue 18) -------------------------------------
# Each install goes into a fresh venv made from a throwaway copy of the repository, built with
# setuptools' own PEP 517 hooks (what pip calls; no network, no build isolation) and installed
# with --no-deps; the venv then reads this interpreter's packages after its own (graphviz and
# tqdm, which the command line imports; pytest and nbclient for the checks). Only the venv's
# own tracegrad can answer: a .pth line adds a folder, it does not run the .pth files in it.

IGNORED = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__",
                                 ".pytest_cache", ".hypothesis", ".mypy_cache")
CHECKS = {"import": ["{python}", "-c", "import tracegrad.engine as e, tracegrad.nn as n; "
                     "print(e.Value(2.0) * n.MLP(1, [1], seed=0)([1.0])[0])"],
          "python -m tracegrad": ["{python}", "-m", "tracegrad", "--version"],
          "tracegrad": ["{script}", "--version"]}


def bin_path(venv_dir, name):
    return venv_dir / ("Scripts" if os.name == "nt" else "bin") / (
        name + (".exe" if os.name == "nt" else ""))


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A copy of the repository (what a student's clone holds), and a folder outside it."""
    pytest.importorskip("setuptools")            # the build backend (in the test extra)
    where = tmp_path_factory.mktemp("installs")
    shutil.copytree(ROOT, where / "clone", ignore=IGNORED)
    (where / "neutral").mkdir()
    return where


def hook(clone_dir, name, out, settings=None):
    """Run setuptools' PEP 517 hook `name` in clone_dir; the Path of what it wrote in out."""
    code = (f"from setuptools import build_meta as b; import sys; "
            f"print(b.{name}(sys.argv[1], {settings!r}))")
    done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=clone_dir,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return out / done.stdout.strip().splitlines()[-1]


def fresh_venv(folder, wheel):
    """A new venv in folder with wheel installed (--no-deps), this interpreter's site-packages
    after its own."""
    venv.create(folder, with_pip=False)
    python = bin_path(folder, "python")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "-q", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True).stdout.strip()
    Path(site, "zz_outer.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def table(python, clone_root, neutral):
    """Each check's result in each folder: 'ok', or the last line it printed on failure."""
    script = bin_path(python.parent.parent, "tracegrad")
    folders = {"a neutral folder": neutral, "the clone's root": clone_root,
               "notebooks/": clone_root / "notebooks"}
    results = {}
    for where, folder in folders.items():
        for check, command in CHECKS.items():
            command = [c.format(python=python, script=script) for c in command]
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                                  timeout=120, env={**os.environ, "PYTHONPATH": ""})
            ok = done.returncode == 0 and ("tracegrad " in done.stdout or "Value(" in done.stdout)
            results[where, check] = "ok" if ok else (done.stderr.strip().splitlines() or ["?"])[-1]
    return results


@pytest.mark.slow
@pytest.mark.parametrize("install", ["wheel", "sdist", "editable default", "editable strict",
                                     "editable compat"])
def test_every_folder_in_every_install_mode(clone, install):
    copy = clone / "clone"
    out = clone / f"dist-{install.replace(' ', '-')}"
    out.mkdir()
    if install == "wheel":
        wheel = hook(copy, "build_wheel", out)
    elif install == "sdist":
        sdist = hook(copy, "build_sdist", out)
        with tarfile.open(sdist) as archive:
            archive.extractall(out, filter="data") if sys.version_info >= (3, 12) \
                else archive.extractall(out)
        unpacked = out / sdist.name.removesuffix(".tar.gz")
        wheel = hook(unpacked, "build_wheel", out)   # everything needed is in the sdist
    else:
        mode = install.split()[1]              # pip install -e . [--config-settings editable_mode=]
        wheel = hook(copy, "build_editable", out,
                     None if mode == "default" else {"editable_mode": mode})
    python = fresh_venv(clone / f"venv-{install.replace(' ', '-')}", wheel)
    results = table(python, copy, clone / "neutral")
    failed = {cell: why for cell, why in results.items() if why != "ok"}
    assert not failed, failed
    # what a type checker or editor does (mypy, pyright, Pylance, mkdocstrings): look for the
    # file tracegrad/engine/value.py in the folders on sys.path, running no import hook
    folders = subprocess.run([str(python), "-c", "import sys; print('\\n'.join(sys.path[1:]))"],
                             cwd=clone / "neutral", capture_output=True, text=True).stdout.split()
    static = any(Path(f, "tracegrad", "engine", "value.py").is_file() for f in folders)
    assert static == (install in ("wheel", "sdist", "editable strict")), folders


@pytest.fixture(scope="module")
def wheel_venv(clone):
    """A fresh venv with the built wheel (and the suite's tools after it)."""
    out = clone / "dist-tools"
    out.mkdir()
    return fresh_venv(clone / "venv-tools", hook(clone / "clone", "build_wheel", out))


@pytest.mark.slow
def test_pytest_collects_from_the_clones_root_after_a_wheel_install(clone, wheel_venv):
    root = clone / "clone"
    # `pytest` is a script in bin/ (its folder on sys.path); `python -m pytest` puts the root there
    script = wheel_venv.parent / "pytest-as-script.py"
    script.write_text("import sys\nfrom pytest import console_main\nsys.exit(console_main())\n")
    for command in ([str(wheel_venv), "-m", "pytest"], [str(wheel_venv), str(script)]):
        done = subprocess.run([*command, "--co", "-q", "-p", "no:cacheprovider"], cwd=root,
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": ""})
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        last = done.stdout.strip().splitlines()[-1]
        assert " tests collected in " in last and "error" not in last, last


@pytest.mark.slow
def test_a_notebook_in_the_clones_root_imports_tracegrad_after_a_wheel_install(clone, wheel_venv):
    pytest.importorskip("nbclient")
    root = clone / "clone"
    code = ("import nbformat, nbclient, sys\n"
            "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(\n"
            "    'import sys, tracegrad.engine as e\\nprint(sys.prefix)\\n'\n"
            "    'print(e.Value(3.0) * e.Value(2.0))')])\n"
            "nbformat.write(nb, 'scratch.ipynb')\n"
            "nbclient.NotebookClient(nb, timeout=120, resources={'metadata': {'path': '.'}}).execute()\n"
            "print(nb.cells[0].outputs[0]['text'])\n")
    done = subprocess.run([str(wheel_venv), "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})
    (root / "scratch.ipynb").unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr[-2000:]
    prefix, value = done.stdout.strip().splitlines()[-2:]
    assert Path(prefix) == wheel_venv.parent.parent             # the kernel ran in the venv
    assert value == "Value(data=6.0, grad=0, op='mul')"


@pytest.mark.slow
@pytest.mark.parametrize("platform", ["win32", "linux_armv7l", "emscripten_3_1_58_wasm32"])
def test_the_base_install_resolves_where_graphviz_pure_has_no_wheel(clone, platform):
    """pip resolves tracegrad for a platform graphviz-pure has no wheel for (32-bit Windows,
    ARM32 boards, Pyodide) as it would there; asking for the draw extra there cannot."""
    out = clone / f"dist-{platform}"
    out.mkdir()
    wheel = hook(clone / "clone", "build_wheel", out)

    def resolve(requirement):
        return subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--only-binary=:all:",
             "--platform", platform, "--python-version", "3.11", "--target",
             str(out / "target"), "--no-cache-dir", requirement],
            capture_output=True, text=True, timeout=600)
    done = resolve(str(wheel))
    assert done.returncode == 0, done.stderr[-1500:]
    assert "Would install" in done.stdout and "graphviz-pure" not in done.stdout
    assert {"graphviz", "tqdm", "tracegrad"} <= {
        name.rsplit("-", 1)[0] for name in done.stdout.split("Would install")[1].split()}
    drawn = resolve(f"{wheel}[draw]")
    assert drawn.returncode != 0 and "graphviz-pure" in drawn.stderr


def test_every_readme_link_is_absolute_and_names_a_file_or_heading_that_exists():
    """The README is the package index page too, where a relative link goes nowhere."""
    import re
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blob = "https://github.com/tracegrad/tracegrad/blob/main/"
    raw = "https://raw.githubusercontent.com/tracegrad/tracegrad/main/"
    links = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", readme)
    links += re.findall(r'(?:src|href)="([^"]+)"', readme)
    assert len(links) > 10
    relative = [link for link in links if not re.match(r"https?://", link)]
    assert not relative, relative
    headings = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                for h in re.findall(r"^#+ (.*)$", readme, flags=re.M)}
    for link in links:
        if link.startswith((blob, raw)):
            assert (ROOT / link.removeprefix(blob).removeprefix(raw)).exists(), link
        elif link.startswith("https://github.com/tracegrad/tracegrad#"):
            assert link.split("#")[1] in headings, link
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme)
    assert images and all(image.startswith(raw) for image in images)   # the image, not a page

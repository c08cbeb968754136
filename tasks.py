"""The project's tasks, on any OS with Python 3.10+ (no make needed). Each creates .venv
(once), installs tracegrad into it with the extras the task needs, then runs the task.

    python3 tasks.py demo        train a network, show one weight's backprop, write plots
    python3 tasks.py test        the whole test suite (notebooks included); args go to pytest
    python3 tasks.py notebooks   open the lessons in JupyterLab
    python3 tasks.py parity      add PyTorch (torch==2.13.0, CPU) for the parity tests
    python3 tasks.py bench       the benchmarks (writes benchmarks/results.md)
    python3 tasks.py bench-fit   fit(engine="replay") against torch, JAX and numpy (a few
                                 minutes on a quiet machine; its section of results.md)
    python3 tasks.py site        the static site in out/site/ (tracegrad in the browser; needs npm)
    python3 tasks.py versions    the suite under every Python 3.10+ found (pyenv's, python3.X on
                                 PATH), each in its own .venv-3.X; args go to pytest

On Windows: py tasks.py demo (and so on).
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

# task: (the extras it installs, the command it runs in the venv, after `python`)
TASKS = {
    "demo": ("plot,draw", ["-m", "tracegrad", "demo"]),
    "test": ("test", ["-m", "pytest", "-n", "2"]),
    "notebooks": ("notebook", ["-m", "jupyterlab", "notebooks"]),     # + --allow-root as root
    "parity": ("test,torch", None),
    "bench": ("bench,plot", ["benchmarks/run.py"]),
    "bench-fit": ("bench", ["benchmarks/fit.py"]),
    "site": ("", ["-m", "tracegrad.site", "-o", "out/site"]),
    "versions": ("test", ["-m", "pytest", "-n", "2"]),              # once per interpreter
}


def sh(*command):
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], cwd=ROOT, check=True)


def install(extras, python=PYTHON, base=None):
    """tracegrad with extras into the venv of python (made first, by base if given)."""
    if not python.exists():
        folder = python.parent.parent
        if base is None:
            venv.create(folder, with_pip=True)
        else:
            sh(base, "-m", "venv", folder)
        sh(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    # strict: a tree of links to the sources, which type checkers and editors (mypy, Pylance,
    # pyright) read as a plain package; reinstalled on every task, so new files are linked too
    sh(python, "-m", "pip", "install", "-qq", "--editable", f".[{extras}]" if extras else ".",
       "--config-settings", "editable_mode=strict")


def interpreters():
    """{'3.10': path, ...}: one Python per minor version that pyproject.toml's requires-python
    allows, from pyenv's versions, then python3.X on PATH (py -3.X on Windows)."""
    lowest = re.search(r'requires-python = ">=3\.(\d+)"', (ROOT / "pyproject.toml").read_text())
    found = {}
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(glob.glob(str(pyenv / "*" / "bin" / "python3")))
    candidates += [shutil.which(f"python3.{minor}") for minor in range(10, 20)]
    if os.name == "nt" and shutil.which("py"):          # the Windows launcher knows them all
        for minor in range(10, 20):
            where = subprocess.run(["py", f"-3.{minor}", "-c", "import sys; print(sys.executable)"],
                                   capture_output=True, text=True)
            candidates.append(where.stdout.strip() if where.returncode == 0 else None)
    for exe in filter(None, candidates):
        version = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True).stdout.strip()
        if version and int(version.split(".")[1]) >= int(lowest.group(1)):
            found.setdefault(version, exe)
    return dict(sorted(found.items(), key=lambda item: int(item[0].split(".")[1])))


def versions(extras, command, args):
    """The command under each interpreter, each in .venv-3.X; a summary line per version."""
    found = interpreters()
    if not found:
        sys.exit("tasks.py versions: no Python 3.10+ found (pyenv's versions or python3.X on PATH)")
    results = {}
    for version, exe in found.items():
        python = ROOT / f".venv-{version}" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        try:
            install(extras, python, base=exe)
            sh(python, *command, *args)
            results[version] = "passed"
        except subprocess.CalledProcessError as failed:
            results[version] = f"FAILED (exit status {failed.returncode})"
    for version, result in results.items():
        print(f"Python {version} ({found[version]}): {result}")
    if any(result != "passed" for result in results.values()):
        sys.exit(1)


def main(argv):
    if not argv or argv[0] not in TASKS:
        sys.exit(f"usage: python3 tasks.py {{{','.join(TASKS)}}} [args]\n\n{__doc__}")
    extras, command = TASKS[argv[0]]
    if argv[0] == "versions":
        return versions(extras, command, argv[1:])
    try:
        install(extras)
        if command is not None:
            if argv[0] == "notebooks" and getattr(os, "geteuid", lambda: 1)() == 0:
                command = [*command, "--allow-root"]     # JupyterLab refuses root without it
            sh(PYTHON, *command, *argv[1:])
    except subprocess.CalledProcessError as failed:
        sys.exit(failed.returncode)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main(sys.argv[1:])

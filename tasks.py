"""The project's tasks, on any OS with Python 3.10+ (no make needed). Each creates .venv
(once), installs tracegrad into it with the extras the task needs, then runs the task.

    python3 tasks.py demo        train a network, show one weight's backprop, write plots
    python3 tasks.py test        the whole test suite (notebooks included); args go to pytest
    python3 tasks.py notebooks   open the lessons in JupyterLab
    python3 tasks.py parity      add PyTorch (torch==2.13.0, CPU) for the parity tests
    python3 tasks.py bench       the benchmarks (writes benchmarks/results.md)
    python3 tasks.py site        the static site in out/site/ (tracegrad in the browser; needs npm)

On Windows: py tasks.py demo (and so on).
"""
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

# task: (the extras it installs, the command it runs in the venv, after `python`)
TASKS = {
    "demo": ("plot", ["-m", "tracegrad", "demo"]),
    "test": ("test", ["-m", "pytest", "-n", "2"]),
    "notebooks": ("notebook", ["-m", "jupyterlab", "notebooks"]),     # + --allow-root as root
    "parity": ("test,torch", None),
    "bench": ("bench,plot", ["benchmarks/run.py"]),
    "site": ("", ["-m", "tracegrad.site", "-o", "out/site"]),
}


def sh(*command):
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], cwd=ROOT, check=True)


def install(extras):
    if not PYTHON.exists():
        venv.create(VENV, with_pip=True)
        sh(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    # strict: a tree of links to the sources, which type checkers and editors (mypy, Pylance,
    # pyright) read as a plain package; reinstalled on every task, so new files are linked too
    sh(PYTHON, "-m", "pip", "install", "-qq", "--editable", f".[{extras}]" if extras else ".",
       "--config-settings", "editable_mode=strict")


def main(argv):
    if not argv or argv[0] not in TASKS:
        sys.exit(f"usage: python3 tasks.py {{{','.join(TASKS)}}} [args]\n\n{__doc__}")
    extras, command = TASKS[argv[0]]
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

"""Re-run the lesson notebooks in place, so the outputs committed with them are fresh.

    python notebooks/build.py            # every NN_*.ipynb, in order
    python notebooks/build.py 04 09      # only the lessons whose names start so

Each notebook runs top to bottom in a fresh kernel (the venv's python3 kernel) with
notebooks/ as its working directory. Volatile metadata (execution timestamps, the Python
version, widget state) is dropped, so running this twice gives no diff. The test run
(pytest --nbmake) executes the notebooks without rewriting them; this script is the only
thing that does.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
KERNEL = "python3"
TIMEOUT = 300                     # seconds per cell; every lesson runs in seconds
METADATA = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": KERNEL},
            "language_info": {"name": "python"}}


def lessons(prefixes=()):
    """The numbered notebooks, in lesson order (optionally only those matching a prefix)."""
    paths = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        paths = [p for p in paths if p.name.startswith(tuple(prefixes))]
    return paths


def clean(nb):
    """Drop what changes from run to run or machine to machine."""
    nb.metadata = nbformat.from_dict(METADATA)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
            for output in cell.outputs:
                output.get("metadata", {}).pop("execution", None)
    return nb


def merge_streams(outputs):
    """Join consecutive prints to the same stream into one output: how the kernel happens to
    split them depends on timing, and must not show up as a diff."""
    merged = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (output.output_type == "stream" and last is not None
                and last.output_type == "stream" and last.name == output.name):
            last.text += output.text
        else:
            merged.append(output)
    return merged


def run(path):
    """Execute one notebook in place; returns its run time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name=KERNEL, record_timing=False,
                            resources={"metadata": {"path": str(HERE)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.validate(clean(nb))
    nbformat.write(nb, path)
    return seconds


def main(argv):
    paths = lessons(argv)
    if not paths:
        sys.exit(f"build.py: no notebook matches {argv}; the lessons are "
                 f"{', '.join(p.name for p in lessons())}")
    for path in paths:
        seconds = run(path)
        size = path.stat().st_size
        print(f"{path.name:40s} {seconds:5.1f} s  {size / 1024:6.0f} KB")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Re-run the lesson notebooks in place, so the outputs committed with them are fresh.

    python notebooks/build.py            # every NN_*.ipynb, in order
    python notebooks/build.py 04 09      # only the lessons whose names start so
    python notebooks/build.py --check    # run them, write nothing: are the outputs fresh?

Each notebook runs top to bottom in a fresh kernel (the venv's python3 kernel) with
notebooks/ as its working directory. Volatile metadata (execution timestamps, the Python
version, widget state) is dropped, so running this twice gives no diff. fit's progress bar is
saved as text at its end (a widget saved without its state shows in no viewer); run live,
the lesson draws tqdm's widget as usual. execute() and
clean() here are the one definition of "fresh": tests/test_notebooks.py runs every lesson
through them and fails when the committed outputs differ; differences() and same() say
what "differ" means: text exactly, except a number printed to full precision, which may move
in its last digits from one CPU to another, and images by kind and size within a few pixels.
"""
import base64
import difflib
import math
import pprint
import re
import struct
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
# The build's kernel draws tqdm.auto's bars as text (stderr), which a saved lesson keeps; stdout
# and stderr reach the notebook in the order they were written (each flushed at the switch)
TEXT_BARS = """
def _text_bars():
    import sys, tqdm.auto, tqdm.std

    class TextBar(tqdm.std.tqdm):
        def __init__(self, *args, **kwargs):
            sys.stdout.flush()
            super().__init__(*args, **kwargs)

        def close(self):
            super().close()
            self.fp.flush()

    tqdm.auto.tqdm = TextBar
_text_bars(); del _text_bars
"""
# A lesson that needs an optional package lists it as metadata {"tracegrad": {"needs": [...]}}
# (lesson 11: torch); the test skips it where the package is missing.
KEPT = "tracegrad"


def lessons(prefixes=()):
    """The numbered notebooks, in lesson order (optionally only those matching a prefix)."""
    paths = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        paths = [p for p in paths if p.name.startswith(tuple(prefixes))]
    return paths


def clean(nb):
    """Drop what changes from run to run or machine to machine."""
    kept = {KEPT: nb.metadata[KEPT]} if KEPT in nb.metadata else {}
    nb.metadata = nbformat.from_dict({**METADATA, **kept})
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
            for output in cell.outputs:
                output.get("metadata", {}).pop("execution", None)
                if output.output_type == "stream":
                    output.text = last_redraw(output.text)
    return nb


def last_redraw(text):
    """Each line as it was left on screen: a progress bar redraws its line after a carriage
    return (padded with spaces over a longer one), and how many times it did depends on the
    machine's speed."""
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1].rstrip(" ") if "\r" in line else line
                     for line in text.split("\n"))


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


def needs(nb):
    """The optional packages a lesson needs to run (from its metadata)."""
    return list(nb.metadata.get(KEPT, {}).get("needs", []))


def execute(path):
    """Run one notebook top to bottom in a fresh kernel: (the cleaned notebook, seconds)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name=KERNEL, record_timing=False,
                            resources={"metadata": {"path": str(HERE)}},
                            extra_arguments=["--IPKernelApp.exec_lines=" + TEXT_BARS])
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.validate(clean(nb))
    return nb, seconds


def run(path):
    """Execute one notebook and write it back in place; returns its run time in seconds."""
    nb, seconds = execute(path)
    nbformat.write(nb, path)
    return seconds


def rebuild_command(path):
    return f"python notebooks/build.py {Path(path).name[:2]}"


def differences(committed, fresh):
    """Where a fresh run's outputs differ from the committed ones: a list of lines, each
    naming the cell. What must match is what a lesson means, not what one CPU or one
    matplotlib happens to print (see `same`)."""
    found = []
    if len(committed.cells) != len(fresh.cells):
        return [f"{len(committed.cells)} cells committed, {len(fresh.cells)} after a run"]
    for number, (old, new) in enumerate(zip(committed.cells, fresh.cells)):
        if old.cell_type != "code":
            continue
        where = f"cell {number} ({_first_line(old.source)})"
        if old.get("execution_count") != new.get("execution_count"):
            found.append(f"{where}: execution count {old.get('execution_count')} committed, "
                         f"{new.get('execution_count')} after a run")
        mine, theirs = [_summary(o) for o in old.outputs], [_summary(o) for o in new.outputs]
        if not same(mine, theirs):
            found.append(f"{where}: outputs differ (- committed, + fresh)\n" + _diff(mine, theirs))
    return found


TEXT = ("text/", "application/json", "application/javascript")

# A number printed to full precision (15 or more significant digits: repr of a float) may
# differ in its last digits from CPU to CPU (torch's vectorised tanh, libm's exp): such a
# pair matches within RELATIVE. A number a lesson printed rounded must match exactly, and so
# must every other character. An image matches by kind, and by size within PIXELS or SHARE
# (another matplotlib or font moves a picture's edge by a few pixels).
RELATIVE = 1e-13
PIXELS, SHARE = 4, 0.02
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
# A progress bar's clock and speed ([00:01<00:00, 61.3step/s) differ on every run; a picture
# inside HTML (a data: PNG, an inline SVG, also JSON-escaped in a script) is an image
CLOCK = re.compile(r"\[[\d:]+<[\d:?]+, *(?:\?|[\d.]+) ?(?:s/\w+|\w+/s)")
EMBEDDED = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"[^>]*>|<svg\b.*?<\\?/svg>',
                      re.S)


def same(mine, theirs):
    """True when two output summaries say the same thing (see RELATIVE, PIXELS)."""
    if type(mine) is not type(theirs):
        return False
    if isinstance(mine, Image):
        return mine.kind == theirs.kind and all(
            abs(a - b) <= max(PIXELS, SHARE * max(a, b)) for a, b in zip(mine.size, theirs.size))
    if isinstance(mine, (list, tuple)):
        return len(mine) == len(theirs) and all(map(same, mine, theirs))
    if isinstance(mine, dict):
        return mine.keys() == theirs.keys() and all(same(mine[k], theirs[k]) for k in mine)
    if isinstance(mine, str):
        return mine == theirs or _same_text(mine, theirs)
    return mine == theirs


def _same_text(mine, theirs):
    words, other_words = NUMBER.split(mine), NUMBER.split(theirs)
    numbers, other_numbers = NUMBER.findall(mine), NUMBER.findall(theirs)
    if words != other_words or len(numbers) != len(other_numbers):
        return False
    return all(a == b or (_full_precision(a) and _full_precision(b)
                          and math.isclose(float(a), float(b), rel_tol=RELATIVE))
               for a, b in zip(numbers, other_numbers))


def _full_precision(number):
    digits = re.sub(r"[eE].*", "", number).lstrip("+-").replace(".", "").lstrip("0")
    return len(digits) >= 15


class Image(tuple):
    """An image output as it is compared: its kind ('png', 'svg') and its size."""
    kind = property(lambda self: self[0])
    size = property(lambda self: self[1:])

    def __repr__(self):
        return f"{self.kind} {' x '.join(str(n) for n in self.size)}"


def _summary(output):
    """What must match in one output: its type and text, and each image's kind and size."""
    if output.output_type == "stream":
        return ("stream", output.name, CLOCK.sub("[clock", output.text))
    if output.output_type == "error":
        return ("error", output.ename, output.evalue)
    data = {}
    for mime, value in sorted(output.get("data", {}).items()):
        if mime.startswith(TEXT):
            data[mime] = _text(value if isinstance(value, str) else "".join(value))
        else:
            data[mime] = _image(mime, value)
    return (output.output_type, data)


def _text(text):
    """Text as it is compared: each picture inside it taken out as an Image (kind, size)."""
    images = [_image("image/png", found.group(1)) if found.group(1) else
              _image("image/svg+xml", found.group(0).replace('\\"', '"'))
              for found in EMBEDDED.finditer(text)]
    return (EMBEDDED.sub("<image>", text), *images) if images else text


def _image(mime, value):
    if mime == "image/png":
        width, height = struct.unpack(">II", base64.b64decode(value)[16:24])
        return Image(("png", width, height))
    if mime == "image/svg+xml":
        text = value if isinstance(value, str) else "".join(value)
        size = re.search(r'<svg[^>]*?width="([\d.]+)(?:pt|px)?"[^>]*?height="([\d.]+)(?:pt|px)?"',
                         text)
        return Image(("svg", *(round(float(n)) for n in size.groups()))) if size else Image(("svg",))
    return Image((mime,))


def _first_line(source):
    line = source.strip().splitlines()[0] if source.strip() else ""
    return repr(line[:50] + ("..." if len(line) > 50 else ""))


def _diff(mine, theirs, most=12):
    """The changed lines of two output summaries, at most `most` of them."""
    lines = lambda summary: [line for output in summary
                             for line in pprint.pformat(output, width=90).splitlines()]
    changed = [line for line in difflib.unified_diff(lines(mine), lines(theirs), lineterm="", n=0)
               if line[:1] in "-+" and line[:3] not in ("---", "+++")]
    more = f"\n  ... {len(changed) - most} more lines" if len(changed) > most else ""
    return "\n".join("  " + line for line in changed[:most]) + more


def check(path):
    """Execute a lesson without writing it: the differences from the committed outputs."""
    committed = clean(nbformat.read(path, as_version=4))
    fresh, _ = execute(path)
    return differences(committed, fresh)


def main(argv):
    checking = "--check" in argv
    paths = lessons([a for a in argv if a != "--check"])
    if not paths:
        sys.exit(f"build.py: no notebook matches {argv}; the lessons are "
                 f"{', '.join(p.name for p in lessons())}")
    stale = []
    for path in paths:
        if checking:
            problems = check(path)
            print(f"{path.name:40s} {'stale' if problems else 'fresh'}")
            stale += [f"{path.name}, {p}" for p in problems]
            continue
        seconds = run(path)
        size = path.stat().st_size
        print(f"{path.name:40s} {seconds:5.1f} s  {size / 1024:6.0f} KB")
    if stale:
        sys.exit("\n".join(stale))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Stepper benchmarks (issue 13): for the diamond, the lecture neuron and one weight of
MLP(2, [16, 16, 1]), the time to build the page (backward pass, explanations, one render),
its size, and in headless Chromium the time to open it and to show one step.

    python benchmarks/stepper.py            # writes the stepper section of results.md
    python benchmarks/stepper.py --quick    # prints only
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from browser import Unavailable, chrome  # noqa: E402
from sections import write_section  # noqa: E402
from tracegrad.engine import Value, stepper  # noqa: E402
from tracegrad.engine.teach.demo import lecture_neuron  # noqa: E402
from tracegrad.engine.teach.render import find_renderer  # noqa: E402
from tracegrad.nn import MLP, losses  # noqa: E402

HEAD = "## Stepper (issue 13)"


def graphs():
    """(name, root, focus) of each measured graph, built fresh."""
    a, b = Value(3, label="a"), Value(2, label="b")
    diamond = (a * b) * (a + b)
    neuron, _ = lecture_neuron()
    model = MLP(2, [16, 16, 1], seed=0)
    loss = losses.mse(model([0.5, -1.0]), [1.0])
    return [("diamond (a*b)*(a+b)", diamond, None), ("lecture neuron", neuron, None),
            ("MLP(2, [16, 16, 1]) loss, focus on one weight", loss, model.parameters()[0])]


def measure(repeat, folder):
    rows = []
    for k, (name, root, focus) in enumerate(graphs()):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            page = stepper(root, focus=focus)
            times.append(time.perf_counter() - start)
        path = page.save(Path(folder) / f"page{k}.html")
        rows.append([name, f"{len(page.view.drawn)}", f"{len(page.data['steps']) - 1}",
                     f"{statistics.median(times) * 1000:.0f} ms",
                     f"{path.stat().st_size / 1024:.0f} KB", path])
    return rows


def in_browser(rows, repeat):
    """Open each page (median of repeat loads) and time 20 steps forward from step 0."""
    try:
        driver = chrome(1920, 1080)
    except Unavailable as reason:
        print(f"no browser timings: {reason}", file=sys.stderr)
        return [row[:5] + ["-", "-"] for row in rows]
    try:
        for row in rows:
            loads = []
            for _ in range(repeat):
                driver.get("about:blank")
                driver.get(row[5].as_uri())
                loads.append(driver.execute_script(
                    "var t = performance.getEntriesByType('navigation')[0];"
                    "return t.loadEventEnd - t.startTime;"))
            step = driver.execute_script("""
                var next = document.querySelector('button[data-do="next"]'), t = performance.now();
                for (var i = 0; i < 20; i++) next.click();
                return (performance.now() - t) / 20;""")
            row[5:] = [f"{statistics.median(loads):.0f} ms", f"{step:.1f} ms"]
    finally:
        driver.quit()
    return rows


def report(rows, repeat):
    renderer = os.path.basename(find_renderer() or "none")
    lines = [HEAD, "", f"Written by `python benchmarks/stepper.py`. Renderer: {renderer}; "
             f"medians of {repeat} builds and {repeat} page loads; headless Chromium at "
             "1920x1080; a step is one press of next (the page replays the timeline up to it).",
             "", "| graph | Values drawn | steps | build the page | page size | open in Chromium "
             "| one step |", "|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition, print only")
    args = parser.parse_args()
    repeat = 1 if args.quick else 5
    with tempfile.TemporaryDirectory() as folder:
        text = report(in_browser(measure(repeat, folder), repeat), repeat)
    print(text)
    if not args.quick:
        write_section(HEAD, text)


if __name__ == "__main__":
    main()

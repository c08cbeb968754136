"""Static site benchmark (issue 24): the folder's size (raw and gzipped), the time from opening
the page to its first result in a fresh headless Chromium (cold: new profile, nothing cached),
and the time of a later expression for graphs of 10 to 50 nodes, with the browser's CPU time
beside the wall time (a load far above one core means the machine was busy: not a result).

    python benchmarks/site.py                   # builds into a temporary folder; writes results.md
    python benchmarks/site.py --site out/site   # measures a folder already built
    python benchmarks/site.py --quick           # one load, prints only
"""
import argparse
import functools
import gzip
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from browser import chrome  # noqa: E402
from sections import write_section  # noqa: E402
from tracegrad.site import build  # noqa: E402

HEAD = "## Static site (issue 24)"
TERMS = [2, 6, 12]          # tanh(x1*w1 + ... + xk*wk + b) has 4k + 2 nodes: 10, 26, 50


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def sizes(folder):
    """(path, bytes, gzipped bytes) of every file, largest first."""
    rows = [(p.relative_to(folder).as_posix(), p.stat().st_size, len(gzip.compress(p.read_bytes(), 6)))
            for p in Path(folder).rglob("*") if p.is_file()]
    return sorted(rows, key=lambda r: -r[1])


def cpu_seconds(pid):
    """CPU time (user + system, children reaped included) of pid and all its descendants."""
    parents, used = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        used[child] = sum(int(x) for x in fields[11:15])
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += used.get(p, 0)
        todo += [c for c, parent in parents.items() if parent == p]
    return total / os.sysconf("SC_CLK_TCK")


def expression(k):
    terms = " + ".join(f"x{i}*w{i}" for i in range(1, k + 1))
    values = " ".join(f"x{i}={i / 10} w{i}={-i / 20}" for i in range(1, k + 1))
    return f"tanh({terms} + b)", values + " b=0.5"


def first_result(url, driver=None):
    """One load: (ready s, first result s, browser CPU s, load average) and the driver. Cold
    in a new browser (fresh profile); warm in driver, which has loaded the page before."""
    new, driver = driver is None, driver or chrome(1280, 720, loopback=True)
    try:
        driver.set_script_timeout(300)          # Python starting blocks the page's thread
        pid, load = driver.service.process.pid, os.getloadavg()[0]
        before = cpu_seconds(pid)
        driver.get("about:blank")
        driver.get(url)
        for _ in range(2400):
            if driver.execute_script("return document.body.dataset.runs || "
                                     "document.body.dataset.failed"):
                break
            time.sleep(0.05)
        times = driver.execute_script("return window.tgTimes")
        used = cpu_seconds(pid) - before
    except BaseException:
        if new:
            driver.quit()
        raise
    return (times["ready"] / 1000, times["first"] / 1000, used, load, times["python"] / 1000,
            (times["tracegrad"] - times["python"]) / 1000), driver


def later(driver, repeat):
    """For each size: (nodes, median ms of compute-and-show after pressing compute)."""
    rows = []
    for k in TERMS:
        expr, at = expression(k)
        ms = [driver.execute_script("""
            document.getElementById('tg-expr').value = arguments[0];
            document.getElementById('tg-at').value = arguments[1];
            document.getElementById('tg-form').requestSubmit();
            return window.tgTimes.last;""", expr, at) for _ in range(repeat)]
        rows.append((4 * k + 2, statistics.median(ms)))
    return rows


def measure(folder, repeat):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    loads, driver, url = [], None, f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        for _ in range(repeat):
            if driver is not None:
                driver.quit()
            load, driver = first_result(url)
            loads.append(load)
        warm = [first_result(url, driver)[0] for _ in range(repeat)]
        return loads, warm, later(driver, max(repeat, 3))
    finally:
        if driver is not None:
            driver.quit()
        server.shutdown()
        server.server_close()


def report(files, loads, warm, exprs):
    raw, packed = sum(r[1] for r in files), sum(r[2] for r in files)
    ready, first, cpu, load, python, imported = (statistics.median(x) for x in zip(*loads))
    _, again, cpu_again, *_ = (statistics.median(x) for x in zip(*warm))
    lines = [HEAD, "", f"Written by `python benchmarks/site.py`: the folder `python -m "
             "tracegrad.site` builds, served by Python's http.server on 127.0.0.1, opened in "
             f"a fresh headless Chromium at 1280x720 ({len(loads)} cold loads, medians). "
             f"{os.cpu_count()} cores; load average before a load {load:.1f}.", "",
             f"- folder: {len(files)} files, {raw / 1e6:.1f} MB, **{packed / 1e6:.1f} MB "
             "gzipped** (budget 10 MB)",
             f"- first result: **{first:.1f} s** after opening (Python and tracegrad ready at "
             f"{ready:.1f} s; the browser used {cpu:.1f} s of CPU meanwhile) (budget 6 s): "
             f"Pyodide started at {python:.1f} s, importing tracegrad took {imported:.1f} s",
             f"- opened again (the browser's cache warm, as for a student coming back): "
             f"{again:.1f} s ({cpu_again:.1f} s of CPU)",
             "", "| file | size | gzipped |", "|---|---|---|"]
    lines += [f"| {name} | {size / 1e3:,.0f} KB | {gz / 1e3:,.0f} KB |" for name, size, gz in files]
    lines += ["", "A later expression, tanh(x1\\*w1 + ... + xk\\*wk + b), from pressing compute "
              "to the page showing every part (Python's forward, steps, explain, the drawing and "
              "the stepper, each graph drawn by viz-js): median ms (budget 500 ms).", "",
              "| nodes | compute and show |", "|---|---|"]
    lines += [f"| {nodes} | {ms:.0f} ms |" for nodes, ms in exprs]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", help="a folder already built (default: build one now)")
    parser.add_argument("--quick", action="store_true", help="one load, print only")
    args = parser.parse_args()
    repeat = 1 if args.quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.site) if args.site else build.build(Path(tmp) / "site")
        files = sizes(folder)
        loads, warm, exprs = measure(folder, repeat)
    text = report(files, loads, warm, exprs)
    print(text)
    if not args.quick:
        write_section(HEAD, text)


if __name__ == "__main__":
    main()

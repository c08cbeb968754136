"""Fault counts, tried / survived, for the issue's closing note and for comparing checkouts:
    python -m tests.faults.census            (from the repository root)
    python -m tests.faults.census --quick    (skip the slow SIGINT/SIGKILL and render trials)
Each line is one kind of fault; the tests assert that every trial survives."""
import pathlib
import sys
import tempfile

from . import bounds, cli, files, interrupts, pages, training


def main(quick=False):
    if not quick:
        tried, ok = interrupts.trials(100, seed=1)
        print(f"SIGINT at a random moment of fit: {tried} tried, {ok} survived")
        with tempfile.TemporaryDirectory() as folder:
            tried, ok, left = files.trials(50, folder, seed=1)
        print(f"SIGKILL during save: {tried} tried, {ok} survived "
              f"({left} kills left a temporary file for the next save to remove)")
    with tempfile.TemporaryDirectory() as folder:
        tried, ok = files.hostile_trials(folder)
    print(f"hostile files for load(): {tried} tried, {ok} refused with the file named")
    with tempfile.TemporaryDirectory() as folder:
        tried, ok, _ = files.special_trials(folder)
        same = files.read_only_trial(folder)
    print(f"special files for load() and save(): {tried + 1} tried, {ok + same} refused "
          "(or, read-only, treated as open() treats it)")
    report("labels and titles in drawings (SVG parsed as XML)", pages.drawing_trials)
    report("labels and titles in stepper pages, page and inline (Chromium)", _browser_trials)
    report("training faults, both engines alike", training.trials)
    report("command lines (result or one-line error within 20 s)", cli.trials)
    report("bounded work (explain, tables" + ("" if quick else ", renders") + ")",
           lambda: bounds.trials(list(bounds.CASES)[:2] if quick else None))


def report(what, trial):
    try:
        tried, ok, failures = trial()
    except Exception as err:                    # a checkout without the feature: say so
        print(f"{what}: not run ({type(err).__name__}: {str(err)[:80]})")
        return
    print(f"{what}: {tried} tried, {ok} survived")
    for failure in failures[:40]:
        print(f"    failed: {str(failure)[:160]}")


def _browser_trials():
    from ..browser import chrome
    browser = chrome()
    try:
        with tempfile.TemporaryDirectory() as folder:
            return pages.page_trials(browser, pathlib.Path(folder))
    finally:
        browser.quit()


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])

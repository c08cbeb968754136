"""Fault counts, tried / survived, for the issue's closing note and for comparing checkouts:
    python -m tests.faults.census        (from the repository root)
Each line is one kind of fault; the tests assert that every trial survives."""
import tempfile

from . import files, interrupts


def main():
    tried, ok = interrupts.trials(100, seed=1)
    print(f"SIGINT at a random moment of fit: {tried} tried, {ok} survived")
    with tempfile.TemporaryDirectory() as folder:
        tried, ok, left = files.trials(50, folder, seed=1)
    print(f"SIGKILL during save: {tried} tried, {ok} survived "
          f"({left} kills left a temporary file for the next save to remove)")
    with tempfile.TemporaryDirectory() as folder:
        tried, ok = files.hostile_trials(folder)
    print(f"hostile files for load(): {tried} tried, {ok} refused with the file named")


if __name__ == "__main__":
    main()

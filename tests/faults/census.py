"""Fault counts, tried / survived, for the issue's closing note and for comparing checkouts:
    python -m tests.faults.census        (from the repository root)
Each line is one kind of fault; the tests assert that every trial survives."""
from . import interrupts


def main():
    for name, (tried, ok) in [("SIGINT at a random moment of fit", interrupts.trials(100, 1))]:
        print(f"{name}: {tried} tried, {ok} survived")


if __name__ == "__main__":
    main()

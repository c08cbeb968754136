"""One section of benchmarks/results.md, rewritten by the benchmark that measures it (the
replay and stepper benchmarks each own a `## ...` section; run.py writes the rest)."""
import os

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.md")


def write_section(head, text):
    """Replace the section that starts with the line `head` (or append it) by text."""
    with open(RESULTS) as f:
        old = f.read()
    if head in old:
        start = old.index(head)
        rest = old.find("\n## ", start + 1)
        old = old[:start] + (old[rest + 1:] if rest != -1 else "")
    with open(RESULTS, "w") as f:
        f.write(old.rstrip("\n") + "\n\n" + text)

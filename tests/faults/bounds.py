"""Fault trials for bounded work: explain with a huge max_paths, a render of a huge graph and
the table of a huge backward pass must end in bounded memory, with a result or a refusal
that gives a hint. Each runs in its own process with a 4 GB address-space limit and a time
limit, so a regression fails instead of taking the machine. Shared by the tests and census."""
import subprocess
import sys

LIMIT = """import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
from tracegrad.engine import Value, explain, backward_steps, draw
"""

CASES = {
    "explain, 2**22 paths, max_paths=2**22": ("""
x = Value(1.0, label="x")
v = x
for _ in range(22):                       # a chain of diamonds: 2**22 paths from x to v
    v = v * 1.0 + v * 1.0
e = explain(v, x, max_paths=2**22)
print("ok" if "paths lead from x" in e.text and e.paths == 2**22 else e.text[:200])
""", 120),
    "str() of a 200,000-step table": ("""
x = Value(1.0, label="x")
v = x
for _ in range(200_000):
    v = v + 1.0
steps = backward_steps(v)
try:
    str(steps)
    print("printed")
except ValueError as err:
    print("ok" if "towards(leaf)" in str(err) else err)
print("ok" if len(str(steps.towards(x)).splitlines()) > 3 else "no")
""", 120),
    "render a 100,000-term sum": ("""
from tracegrad.engine.teach.render import RenderError
terms = [Value(float(k), label=f"x{k}") for k in range(100_000)]
total = terms[0]
for t in terms[1:]:
    total = total + t
total.backward()
try:
    draw(total, compact=False).pipe(format="svg")
    print("ok")                            # rendered within the limits
except RenderError as err:
    print("ok" if "stopped" in str(err) else err)
""", 300),
}


def outcome(code, timeout):
    try:
        done = subprocess.run([sys.executable, "-c", LIMIT + code], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timed out"
    return (done.stdout.strip() or done.stderr.strip()[-300:]) or f"exit {done.returncode}"


def trials(names=None):
    """(tried, passed, failures) over the cases named (all by default)."""
    failures = []
    chosen = names or list(CASES)
    for name in chosen:
        out = outcome(*CASES[name])
        if set(out.splitlines()) != {"ok"}:
            failures.append((name, out))
    return len(chosen), len(chosen) - len(failures), failures

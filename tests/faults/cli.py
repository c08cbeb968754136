"""Fault trials for the command line: every input must end within a few seconds with a result
or a one-line error (never a traceback): names that leave the root no label, exact numbers
that grow without bound, repeated --wrt/--at names, non-finite or negative tolerances, and
gradient checks at the edge of a function's domain. Shared by the tests and census.py."""
import subprocess
import sys

ALL_NAMES = ["f+g+h+F+out", "--at", "f=1", "g=1", "h=1", "F=1", "out=1"]
SUM = "x" + "".join(f"+1/(10**29+{k})**1000" for k in range(1, 52))       # 51 huge terms
PRODUCT = "x" + "".join(f"*(10**29+{k})**1000" for k in range(1, 58))     # 57 huge factors
BAD = "x*2", "--at", "x=1"

# (arguments after `python -m tracegrad`, exit status wanted, words the output must hold)
CASES = [
    *[([command, *ALL_NAMES], 0, "") for command in ("forward", "steps", "check")],
    (["explain", *ALL_NAMES, "--wrt", "f"], 0, "df0/df = 1"),
    (["steps", SUM, "--at", "x=1", "--exact"], 2, "bits is too large"),
    (["check", SUM, "--at", "x=1", "--exact"], 2, "bits is too large"),
    (["forward", PRODUCT, "--at", "x=1", "--exact"], 2, "bits is too large"),
    (["explain", PRODUCT, "--at", "x=1", "--exact", "--wrt", "x"], 2, "bits is too large"),
    (["check", *BAD, "--wrt", "x", "x", "--expect", "2", "2"], 2, "names x twice"),
    (["check", *BAD, "--at", "x=2"], 2, "--at gives x twice"),
    (["explain", *BAD, "--wrt", "x", "--wrt", "x"], 2, "names x twice"),
    *[(["check", *BAD, f"{flag}={value}"], 2, "give a finite number")
      for flag, value in (("--eps", "nan"), ("--eps", "inf"), ("--eps", "-1"), ("--eps", "0"),
                          ("--rtol", "nan"), ("--rtol", "-1"), ("--atol", "nan"),
                          ("--atol", "-inf"), ("--expect-rtol", "nan"),
                          ("--expect-rtol", "-1"))],
    (["check", "log(x)", "--at", "x=1e-300"], 0, "check_grad passed"),
    (["check", "2**x", "--at", "x=1000"], 0, "check_grad passed"),
    (["check", "sqrt(x)", "--at", "x=1e-300"], 0, "check_grad passed"),
    (["check", "log(x)", "--at", "x=1e-7"], 0, "check_grad passed"),
]


def outcome(args, timeout=20):
    """(exit status, stdout + stderr), or (None, 'timed out')."""
    try:
        done = subprocess.run([sys.executable, "-m", "tracegrad", *args], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    return done.returncode, done.stdout + done.stderr


def problems(args, status, words):
    code, text = outcome(args)
    wrong = []
    if code != status:
        wrong.append(f"exit {code}, not {status}")
    if "Traceback" in text or (code == 2 and text.strip().count("\n")):
        wrong.append("not a one-line error")
    if words not in text:
        wrong.append(f"no {words!r} in the output")
    return wrong and wrong + [text[-300:]]


def trials():
    """(tried, passed, failures) over every case."""
    failures = [(args[:3], p) for args, status, words in CASES
                for p in [problems(args, status, words)] if p]
    return len(CASES), len(CASES) - len(failures), failures

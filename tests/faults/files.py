"""Fault trials for files: hostile documents for load(), and a process saving in a loop
killed (SIGKILL) at a random moment (the file must still load and the next save must leave
no temporary file). Shared by the tests and census.py."""
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import time

from tracegrad.nn import MLP, Neuron

SAVER = """import sys
from tracegrad.nn import MLP, Neuron
model = MLP(2, [32, 32, 1], seed=0)       # 1,185 parameters: a save takes a few ms
model.save(sys.argv[1])
print("saving", flush=True)
while True:
    model.save(sys.argv[1])
"""


def saved(parameters, version="1"):
    return ('{"format": "tracegrad.nn", "version": %s, "model": "Neuron(2, relu)", '
            '"parameters": {%s}}' % (version, parameters))


def w0(value):
    return saved(f'"w.0": {value}, "w.1": 0.5, "b": 0.0')


HOSTILE = [
    ("NaN", w0("NaN"), "NaN is not a JSON number"),
    ("Infinity", w0("Infinity"), "Infinity is not a JSON number"),
    ("-Infinity", w0("-Infinity"), "-Infinity is not a JSON number"),
    ("1e400", w0("1e400"), "1e400' is beyond the range of a float"),
    ("version true", saved('"w.0": 1, "w.1": 1, "b": 1', version="true"), "version True"),
    ("4300-digit int", w0("9" * 4300), "an integer of 4300 digits does not fit a float"),
    ("310-digit int", w0("9" * 310), "(310 chars) is beyond the range of a float"),                 # 1e310 > float's max
    ("deep nesting", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("huge fraction", w0('"%s/1"' % ("1" + "0" * 400)), "parameter w.0 is '1000"),
    ("5000-digit fraction", w0('"%s/3"' % ("1" * 5000)), "parameter w.0 is '1111"),
    ("key twice", saved('"w.0": 1, "w.0": 2, "w.1": 1, "b": 1'), "the key 'w.0' is twice"),
    ("a list", w0("[1]"), "parameter w.0 is [1]"),
    ("a bool", w0("true"), "parameter w.0 is True"),
    ("'nan'", w0('"nan"'), "parameter w.0 is 'nan'"),
    ("'inf'", w0('"inf"'), "parameter w.0 is 'inf'"),
    ("'-inf'", w0('"-inf"'), "parameter w.0 is '-inf'"),
    ("40,000 keys, one twice", saved(", ".join(f'"k{i}": 0' for i in range(40_000))
                                     + ', "k7": 1'), "far more names than it has parameters"),
    ("another activation", saved('"w.0": 1, "w.1": 1, "b": 1').replace("relu", "tanh"),
     "saved from Neuron(2, tanh), not Neuron(2, relu)"),
]



def hostile_trials(folder):
    """(tried, refused with a ValueError naming the file), each load in its own process
    with a time limit, so a load that hangs counts as failed instead of hanging."""
    code = LOAD
    ok = 0
    for i, (_, text, _) in enumerate(HOSTILE + [("exponent", w0('"1e999999999"'), "")]):
        path = os.path.join(folder, f"hostile{i}.json")
        with open(path, "w") as f:
            f.write(text)
        try:
            out = subprocess.run([sys.executable, "-c", code, path], capture_output=True,
                                 text=True, timeout=20).stdout
        except subprocess.TimeoutExpired:
            out = ""
        ok += out.strip() == "refused"
    return len(HOSTILE) + 1, ok


def special_files(folder):
    """(kind, path) for each special file this system lets an unprivileged test make in
    folder: a FIFO, a directory, a socket, and (as root) a character device like /dev/zero.
    Nothing is made in /dev; nothing is ever written to a device."""
    made = []
    fifo = os.path.join(folder, "fifo.json")
    os.mkfifo(fifo)
    made.append(("FIFO", fifo))
    os.mkdir(os.path.join(folder, "dir.json"))
    made.append(("directory", os.path.join(folder, "dir.json")))
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(os.path.join(folder, "sock.json"))
    made.append(("socket", os.path.join(folder, "sock.json")))
    try:
        os.mknod(os.path.join(folder, "zero.json"), 0o666 | stat.S_IFCHR, os.makedev(1, 5))
        made.append(("character device", os.path.join(folder, "zero.json")))
    except (PermissionError, AttributeError):
        pass
    return made, sock


LOAD = ("import sys; from tracegrad.nn import Neuron\n"
        "try: Neuron(2, seed=0).load(sys.argv[1])\n"
        "except ValueError as e: print('refused' if sys.argv[1] in str(e) else e)")
SAVE = ("import sys; from tracegrad.nn import Neuron\n"
        "try: Neuron(2, seed=0).save(sys.argv[1])\n"
        "except (ValueError, OSError) as e: print('refused' if sys.argv[1] in str(e) else e)")


def special_trials(folder):
    """(tried, ok, failures): load() refuses each special file within 20 s (a hang counts
    as a failure), and save() refuses to replace it (it is still there, of its kind)."""
    made, sock = special_files(folder)
    failures = []
    try:
        for kind, path in made:
            before = os.lstat(path).st_mode
            for action, code in (("load", LOAD), ("save", SAVE)):
                try:
                    out = subprocess.run([sys.executable, "-c", code, path],
                                         capture_output=True, text=True, timeout=20).stdout
                except subprocess.TimeoutExpired:
                    out = "hung"
                if out.strip() != "refused" or os.lstat(path).st_mode != before:
                    failures.append((action, kind, out.strip()[-200:]))
    finally:
        sock.close()
    tried = 2 * len(made)
    return tried, tried - len(failures), failures


def read_only_trial(folder):
    """save() onto a read-only file does what open(path, "w") does: both refuse, or (as
    root) both write. True when they agree and a refused file is unchanged."""
    path = os.path.join(folder, "read-only.json")
    Neuron(2, seed=1).save(path)
    os.chmod(path, 0o444)
    before = open(path).read()
    try:
        open(path, "a").close()                 # "a": asks for write access, changes nothing
        opens = True
    except PermissionError:
        opens = False
    try:
        Neuron(2, seed=0).save(path)
        saves = True
    except PermissionError:
        saves = False
    return opens == saves and (saves or open(path).read() == before)


def temporaries(folder):
    return sorted(name for name in os.listdir(folder) if name != "model.json")


def kill_during_save(folder, rng):
    """(temporary files the kill left, temporary files after the next save, whether the
    saved file still loads)."""
    path = os.path.join(folder, "model.json")
    child = subprocess.Popen([sys.executable, "-c", SAVER, path], stdout=subprocess.PIPE,
                             text=True)
    try:
        child.stdout.readline()                       # "saving": the loop has started
        time.sleep(rng.uniform(0, 0.02))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    left = temporaries(folder)
    model = MLP(2, [32, 32, 1], seed=1)
    try:
        model.load(path)
        loads = model.state_dict() == MLP(2, [32, 32, 1], seed=0).state_dict()
    except ValueError:
        loads = False
    model.save(path)
    return left, temporaries(folder), loads


def trials(count, folder, seed=0):
    """(tried, survived, kills that left a temporary file, bytes left when nothing cleans)."""
    rng = random.Random(seed)
    ok = left_some = 0
    for _ in range(count):
        left, after, loads = kill_during_save(folder, rng)
        left_some += bool(left)
        ok += loads and not after
        for name in after:                            # count each leftover once
            os.remove(os.path.join(folder, name))
    return count, ok, left_some

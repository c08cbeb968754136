"""Fault trials for save(): a process saving in a loop is killed (SIGKILL) at a random
moment; the file must still load and the next save must leave no temporary file. Shared by
the tests and census.py."""
import os
import random
import signal
import subprocess
import sys
import time

from tracegrad.nn import MLP

SAVER = """import sys
from tracegrad.nn import MLP
model = MLP(2, [32, 32, 1], seed=0)       # 1,185 parameters: a save takes a few ms
model.save(sys.argv[1])
print("saving", flush=True)
while True:
    model.save(sys.argv[1])
"""


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

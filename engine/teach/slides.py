"""A stepper as slides: one 1920x1080 PNG per step, taken by a headless Chromium from the saved
page (`#step=k&slide`: the page without its buttons). Chromium is found on PATH (chromium,
chromium-browser, google-chrome) or named by $TRACEGRAD_CHROMIUM; without one, one line says
how to get it.
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ENV = "TRACEGRAD_CHROMIUM"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SIZE = (1920, 1080)
TIMEOUT = 60                    # seconds one screenshot may take
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=1", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-extensions",
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]   # nowhere to go
HINT = ("png steps need a headless Chromium: apt-get install chromium (or brew install "
        "--cask chromium), or set TRACEGRAD_CHROMIUM to the browser's path")


class NoBrowser(RuntimeError):
    """No Chromium to take the screenshots with (the message says how to get one)."""


def find_chromium():
    """The Chromium program: $TRACEGRAD_CHROMIUM, else the first of NAMES on PATH, or None."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "none") else chosen
    return next((found for found in map(shutil.which, NAMES) if found), None)


def png_steps(page, steps, folder, size=SIZE):
    """Screenshots of the saved stepper page at steps 0..steps, one PNG each in folder
    (created if missing): step_00.png ... Returns the Paths."""
    browser = find_chromium()
    if browser is None:
        raise NoBrowser(HINT)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width = len(str(steps))
    paths = []
    with tempfile.TemporaryDirectory(prefix="tg-chromium-") as profile:
        for k in range(steps + 1):
            path = (folder / f"step_{k:0{width}}.png").resolve()
            command = [browser, *FLAGS, f"--window-size={size[0]},{size[1]}",
                       f"--user-data-dir={profile}", f"--screenshot={path}",
                       f"{Path(page).resolve().as_uri()}#step={k}&slide"]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"png steps: Chromium took more than {TIMEOUT} s for step "
                                   f"{k}") from None
            if done.returncode != 0 or not path.is_file():
                why = (done.stderr.strip().splitlines() or ["no screenshot written"])[-1]
                raise RuntimeError(f"png steps: Chromium failed at step {k}: {why}")
            paths.append(path)
    return paths

"""A headless Chromium driven by selenium, for the stepper's browser tests (and screenshots):
networking off, a fresh profile, the DevTools performance log on so a test can list every
request the page made. `chrome()` raises Unavailable with the reason when it cannot start.
"""
import shutil
import tempfile

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]   # nowhere to go


class Unavailable(Exception):
    """No browser here: the reason says what to install."""


def chrome(width=1280, height=720, loopback=False):
    """A selenium WebDriver for headless Chromium at width x height (quit() it when done).
    loopback=True lets the page reach 127.0.0.1 (a test's own server); nothing else."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
    except ImportError:
        raise Unavailable("selenium is not installed (pip install '.[test]')") from None
    binary = shutil.which("chromium") or shutil.which("chromium-browser") \
        or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        raise Unavailable("no headless Chromium here: apt-get install chromium chromium-driver "
                          "(.ci/run does this in CI)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    flags = [f for f in FLAGS if not (loopback and f.startswith("--proxy-bypass-list"))]
    for flag in flags + [f"--window-size={width},{height}",
                         f"--user-data-dir={tempfile.mkdtemp(prefix='tg-chrome-')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    try:
        browser = webdriver.Chrome(options=options,
                                   service=webdriver.ChromeService(executable_path=driver))
    except WebDriverException as err:
        raise Unavailable(f"Chromium did not start: {str(err).splitlines()[0]}") from None
    # the page's viewport exactly width x height (a window size would include its frame)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return browser

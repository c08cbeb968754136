"""Shared test settings: a hypothesis profile that keeps the suite quick but thorough, and the
headless Chromium that the page tests share (one per test module)."""
import os

import pytest

from hypothesis import HealthCheck, settings

from browser import Unavailable, chrome

settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="module")
def browser():
    try:
        driver = chrome()
    except Unavailable as reason:
        pytest.skip(f"browser tests: {reason}")
    yield driver
    driver.quit()

"""End-to-end tests in a real browser: Debian's Chromium driven by Playwright's sync API.

Playwright's own browser download is not used (intranet machines have no
internet): the tests launch /usr/bin/chromium, which ``make browser`` installs.
Without it, and only then, the tests here are skipped.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent

# Playwright's sync API marks its event loop as running in the main thread
# between calls, and Django refuses database access from a thread with a
# running loop. The tests themselves are synchronous, so allow it. The browser
# lives for the whole session, so the setting must too.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (run `make browser` or apt-get install chromium)")
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh English-speaking browser context (the app picks the language from Accept-Language)."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()

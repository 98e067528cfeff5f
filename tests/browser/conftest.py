"""A live server on a free port and the system Chromium, driven by Playwright."""

import os
import re
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import REQUIRE_BROWSER, skip_or_fail

FAILED_LOAD = re.compile(r"Failed to load resource: .* status of (\d{3}) ")
CHROMIUM_FLAGS = [
    "--no-sandbox",  # root in CI needs it
    "--disable-gpu",
    "--disable-background-networking",  # the network is closed: no calls home
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.sqlite_only)


@pytest.fixture(scope="session")
def chromium_path():
    path = os.environ.get("CHROMIUM_PATH") or next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    if not path:
        skip_or_fail(REQUIRE_BROWSER, "browser tests need Chromium (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)  # a busy 2-core CI machine is slow, not broken

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def closing_before_sending(app):
    """Werkzeug's development server skips the response's close() when the browser resets the
    connection first (it reads the socket before closing), and close() is where mail is sent
    (``mail.send_after``). gunicorn always closes; here the body is read and closed first."""

    def wrapper(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wrapper


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, closing_before_sending(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def expected_statuses():
    """HTTP statuses the test expects the page to meet (Chromium logs each 4xx as an error)."""
    return {401, 422}


@pytest.fixture
def page(browser, live_server, expected_statuses):
    """A fresh browser tab; console errors (a CSP violation, a script error) fail the test."""
    context = browser.new_context(base_url=live_server, locale="bg-BG")
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    problems = [
        p
        for p in problems
        if not ((m := FAILED_LOAD.search(p)) and int(m.group(1)) in expected_statuses)
    ]
    assert problems == []

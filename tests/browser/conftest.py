"""Playwright (sync API) in Debian's Chromium against pytest-django's live_server.

Playwright's own browser download is never used: the tests drive /usr/bin/chromium, which .ci/run
installs in CI. Outside CI, a machine without it skips these tests with a reason.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
CLERK_PASSWORD = "pass12345"  # tests/factories.py StaffFactory's password


@pytest.fixture(autouse=True)
def _django_allow_async_unsafe(monkeypatch):
    """Playwright's sync API keeps an event loop running in this thread, so Django's ORM calls made by
    the test (factories, assertions) would raise SynchronousOnlyOperation. Scoped to browser tests."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def chromium_path() -> str:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run should have installed Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need it")
    return str(CHROMIUM)


BROWSER_TEST_TIMEOUT = 180  # seconds; the longest browser test takes about 20 s here
_not_started: list[str] = []  # why Playwright or Chromium did not start (once: the later tests fail at once)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.nodeid.startswith("tests/browser/") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(BROWSER_TEST_TIMEOUT))


@pytest.fixture
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    if _not_started:
        pytest.fail(f"Playwright or Chromium did not start in an earlier test ({_not_started[0]}): not tried again")
    manager = sync_playwright()
    try:
        pw = manager.__enter__()
    except BaseException as exc:  # a timeout from pytest-timeout too: one hung start costs one test, not the run
        _not_started.append(f"Playwright: {type(exc).__name__}: {str(exc)[:200]}")
        raise
    try:
        try:
            browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        except BaseException as exc:
            _not_started.append(f"Chromium: {type(exc).__name__}: {str(exc)[:200]}")
            raise
        try:
            yield browser
        finally:
            browser.close()
            # Between its sync calls Playwright marks its event loop as running in this thread, so
            # asgiref keeps the ORM connections the test opened in a context-local slot of their own,
            # which pytest-django's teardown does not see. Close them while that slot is visible,
            # or PostgreSQL refuses to drop the test database ("being accessed by other users").
            connections.close_all()
    finally:
        manager.__exit__(None, None, None)


class PageProblems:
    """What went wrong in the page: failed responses (e.g. a 404 for htmx), JavaScript errors and what the
    Content-Security-Policy refused (an inline script or handler left behind)."""

    def __init__(self, page):
        self.failed: list[str] = []
        self.js_errors: list[str] = []
        page.on("response", self._on_response)
        page.on("pageerror", lambda exc: self.js_errors.append(str(exc)))
        page.on("console", self._on_console)  # a Content-Security-Policy refusal is a console error

    def _on_console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.js_errors.append(message.text)

    def _on_response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.request.method} {response.url}")

    def assert_none(self):
        assert not self.failed, f"failed requests: {self.failed}"
        assert not self.js_errors, f"JavaScript errors: {self.js_errors}"


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.problems = PageProblems(page)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def login_as():
    """Log in through the real login page (fields id_username / id_password)."""

    def _login(page, user, password: str = CLERK_PASSWORD):
        page.goto("/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert "/login/" not in page.url, f"login failed for {user.username}: still on {page.url}"

    return _login

"""Browser fixtures: Playwright for Python driving Debian's Chromium (never a browser download).

Usage in a browser test (needs a live server, so transactional_db)::

    pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

    def test_x(transactional_db, live_server, logged_in_page, make_user):
        page = logged_in_page(make_user("ann"))         # a fresh context with a session for this user
        page.goto(live_server.url + "/projects/1/annotate/")
        assert not page.console_errors                   # uncaught errors collected per page

`browser_login(page, live_server, username, password)` logs in through the real login form instead.
"""

import os

import pytest

from tests.conftest import CHROMIUM, chromium_available, require_service

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
PASSWORD = "pw-not-secret-123"  # what tests/conftest.py's make_user sets


@pytest.fixture(scope="session")
def playwright():
    """Playwright's sync API, once per process: it keeps an asyncio loop in this thread, so a second
    `sync_playwright()` in the same process fails. Tests that need their own launch flags launch from this."""
    require_service("Chromium", chromium_available())
    # Django's ORM refuses to run while it sees that loop, although every call here is synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            yield p
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(playwright):
    """One headless Chromium for the session."""
    instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


def _watch(page):
    """Collect uncaught page errors and console.error calls on page.console_errors."""
    page.console_errors = []
    page.on("pageerror", lambda exc: page.console_errors.append(f"pageerror: {exc}"))
    # Chromium logs every 4xx/5xx response as "Failed to load resource"; expected ones (a 409, a 404 before
    # processing) are the page's business, so only script errors count here.
    page.on(
        "console",
        lambda msg: (
            msg.type == "error"
            and not msg.text.startswith("Failed to load resource")
            and page.console_errors.append(f"console: {msg.text}")
        ),
    )
    page.set_default_timeout(15000)
    return page


@pytest.fixture
def browser_context(browser):
    """Factory for fresh, isolated browser contexts (each like a separate browser profile); all closed at the end."""
    contexts = []

    def _make(**kwargs):
        ctx = browser.new_context(**{"viewport": {"width": 1400, "height": 900}, **kwargs})
        contexts.append(ctx)
        return ctx

    yield _make
    for ctx in contexts:
        ctx.close()


def session_cookie_for(user, url: str) -> dict:
    """A Django session cookie for `user`, ready for BrowserContext.add_cookies."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": url,
    }


@pytest.fixture
def logged_in_page(browser_context, live_server):
    """Factory: page(user) -> a Playwright page in a new context, already signed in as `user`."""

    def _page(user):
        ctx = browser_context()
        ctx.add_cookies([session_cookie_for(user, live_server.url)])
        return _watch(ctx.new_page())

    return _page


def browser_login(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form."""
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action$='/accounts/login/'] button[type=submit]")


@pytest.fixture
def new_page(browser_context):
    """Factory: a page in a new, signed-out context (with error collection)."""
    return lambda: _watch(browser_context().new_page())

"""Browser tests: real Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Every test under tests/browser gets the ``browser`` marker. Without
/usr/bin/chromium they are skipped with the reason, unless
CLOSEDLOOP_REQUIRE_BROWSER=1 (CI), when they fail instead. Tests use
pytest-django's ``live_server`` (so their database is transactional: the
server thread sees what the test wrote) and save screenshots with ``shot``
under test-artifacts/ at the root of the repository.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HERE = Path(__file__).resolve().parent


def browser_required() -> bool:
    return os.environ.get("CLOSEDLOOP_REQUIRE_BROWSER", "").strip() == "1"


def missing_reason() -> str:
    return f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need Debian's Chromium"


def pytest_collection_modifyitems(config, items):
    """Mark (or skip) the browser tests and run them last.

    Last, because Playwright's event loop stays in the main thread from the
    first browser test to the end of the session; no other test should run
    beside it.
    """
    skip = None if CHROMIUM.exists() or browser_required() else pytest.mark.skip(reason=missing_reason())
    in_browser, others = [], []
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if skip is not None:
                item.add_marker(skip)
            in_browser.append(item)
        else:
            others.append(item)
    items[:] = others + in_browser


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = missing_reason()
        if browser_required():
            pytest.fail(f"CLOSEDLOOP_REQUIRE_BROWSER=1 but {message}.", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the main thread, which makes
    # Django refuse database access from test code ("async-unsafe"). The tests
    # are synchronous code that merely shares the thread with that loop. Set
    # here, not at import: browser tests run last, and no other test (such as
    # `check --deploy`, which reports the variable) runs with it set.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def context(browser):
    # The platform's users run Chinese browsers: the language they get
    # before choosing one is what such a browser asks for.
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 860})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """A new page; ``page.failed_requests`` lists every 4xx/5xx response and failed request
    (the browser's favicon probe aside), so a test can prove its pages loaded whole."""
    new_page = context.new_page()
    failed: list[str] = []

    def on_response(response):
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            failed.append(f"{response.status} {response.url}")

    new_page.on("response", on_response)
    new_page.on("requestfailed", lambda request: failed.append(f"failed {request.url}: {request.failure}"))
    new_page.failed_requests = failed
    return new_page


@pytest.fixture
def server(live_server, transactional_db):
    """The live server's base URL (no trailing slash), with a database the server thread shares."""
    return live_server.url.rstrip("/")


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    safe = re.sub(r"[^\w.-]+", "-", name).strip("-") or "page"
    path = ARTIFACTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(name="shot")
def shot_fixture():
    """``shot(page, name)`` as a fixture, so tests need not import this conftest."""
    return shot

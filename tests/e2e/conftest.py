"""A live server around the test app and a headless Chromium (Debian's package,
driven by Playwright; never `playwright install`)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.services import unavailable

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("PARKGATE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        unavailable("Chromium (Debian package 'chromium')", FileNotFoundError(path))
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path, headless=True,
                                      args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    # Generous: every wait is on a condition, and a loaded 2-core machine can take
    # seconds for what usually takes milliseconds (a slow pass, never a false failure).
    context.set_default_timeout(60_000)
    tab = context.new_page()
    yield tab
    context.close()


class LiveServer:
    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture(params=["sqlite"])
def database(request, tmp_path, sqlite_template):  # type: ignore[no-untyped-def]
    # Browser tests run on the embedded engine; the PostgreSQL paths are covered by
    # the integration tests beneath them.
    from tests.conftest import _sqlite_database

    db = _sqlite_database(sqlite_template, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    with LiveServer(app) as server:
        yield server


def sign_in(page, base_url: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    submit(page, "button[type=submit]")


def sign_in_as_another(page, base_url: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Sign the page in as another user. The old page goes first: a request it still
    has in flight (a live board's refresh) could otherwise answer after the cookies are
    cleared and set its user's session cookie again, and the sign-in would not take."""
    page.goto("about:blank")
    page.context.clear_cookies()
    sign_in(page, base_url, username, password)


def submit(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Click a button that posts a form and wait for the page the server answers with.

    A bare click followed by ``wait_for_load_state`` can return before the post has
    even started (the old page is still "loaded"), so the next ``goto`` could cancel
    the post: a sign-in whose cookie never arrived.
    """
    with page.expect_navigation():
        page.click(selector)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests save screenshots for people to look at (not committed):
    PARKGATE_ARTIFACTS, or test-artifacts/ in the repository."""
    folder = Path(os.environ.get("PARKGATE_ARTIFACTS")
                  or Path(__file__).resolve().parents[2] / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder

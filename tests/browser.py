# SPDX-License-Identifier: GPL-3.0-or-later
"""Browser tests: Playwright's Python package driving Debian's ``chromium`` (never a downloaded
browser) against a live Hearth server.

Fixtures (``tests/conftest.py`` re-exports them): ``chromium`` (one headless browser per session),
``page`` (a fresh context and page per test, with ``page.base`` the server's URL), ``web_server``
(a SQLite server shared by the browser tests of a module), ``shots`` (where screenshots go; the
folder is printed). Helpers: :func:`sign_in`, :func:`shot`.

Without ``chromium`` or Playwright the tests skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import IN_CI, LiveServer, new_server

CHROMIUM = os.environ.get("HEARTH_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ.get("HEARTH_SCREENSHOTS", Path(__file__).parent / "screenshots"))


def _require_browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            pytest.fail("Playwright is required under CI=true")
        pytest.skip("Playwright is not installed")
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"chromium ({CHROMIUM}) is required under CI=true")
        pytest.skip("chromium is not installed")
    return sync_playwright


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    sync_playwright = _require_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live, _ = new_server(tmp_path_factory.mktemp("hearth-web"), "sqlite")
    yield live
    live.stop()


@pytest.fixture
def page(chromium: Any, web_server: LiveServer) -> Iterator[Any]:
    context = chromium.new_context(base_url=web_server.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(20_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    tab.base = web_server.url
    tab.js_errors = errors
    yield tab
    context.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {SHOTS}")
    return SHOTS


def shot(page: Any, shots: Path, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of ``page`` as ``<shots>/<name>.png``; returns its path."""
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot {path}")
    return path


def sign_in(page: Any, username: str, password: str, came_from: str = "/") -> None:
    """Sign in through the form, as a person does, and wait to be back on ``came_from``."""
    page.goto(f"/_admin/login?came_from={came_from}")
    page.get_by_label("User name or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/_admin/login" not in url)


def sign_out(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()

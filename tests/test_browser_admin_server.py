# SPDX-License-Identifier: GPL-3.0-or-later
""" "Rescan repositories" in a real headless Chromium (``tests/browser.py``) against live servers.

Without a broker the rescan runs in the POST: a bare repository put into the store on disk is
reported added and listed on the home page; a directory removed is reported removed when "Remove
obsolete repository records" is chosen; a missing store is a failure that says so. With a broker
and a real ``hearth worker`` the report page shows the task queued, then running with its real
counts (the worker is paused with SIGSTOP so the state can be looked at), then the report — by
polling, without a reload; with script off, the page refreshes itself to the same end. A non-admin
gets the missing-page answer. Screenshots: ``admin-server-rescan.png``, ``admin-rescan-*.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.browser import shot, sign_in, sign_out
from tests.live import LiveServer, unique
from tests.test_background import HearthWorker
from tests.test_rescan_pull import bare_git
from tests.test_tasks import REDIS_URL, _require_redis, wait_for

PASSWORD = "pw-Secret-42"
ADMIN = ("admin", "admin-secret-1")
ERROR = "Error occurred during rescan repositories action"
COUNT = 400  # repositories for the worker to register: several stretches (tasks.STRETCH)


def _no_errors(page: Any) -> None:
    assert page.js_errors == [], page.js_errors


def _state(page: Any) -> str:
    return str(page.locator("#rescan-status").get_attribute("data-state"))


def _listed(page: Any, ident: str) -> list[str]:
    return [str(li.get_attribute("data-name")) for li in page.locator(f"#rescan-{ident} li").all()]


def _press_rescan(page: Any, *, remove_obsolete: bool = False) -> None:
    if remove_obsolete:
        page.get_by_label("Remove obsolete repository records").check()
    page.get_by_role("button", name=re.compile("^Rescan (repositories|again)$")).click()
    page.wait_for_url(re.compile(r"/_admin/server/rescan/[0-9a-f]{32}$"))


def test_rescan_in_the_server(page: Any, web_server: LiveServer, shots: Path) -> None:
    root = web_server.home / "repos"
    found = unique("found")
    bare_git(root / found)
    sign_in(page, *ADMIN, came_from="/_admin/server")
    assert "It runs in the server" in page.locator("#rescan-form").inner_text()
    _press_rescan(page)
    assert _state(page) == "done"
    assert found in _listed(page, "added")
    assert page.locator("#rescan-summary").inner_text().startswith("1 added, 0 removed")
    shot(page, shots, "admin-rescan-report")
    page.locator("#rescan-added").get_by_role("link", name=found).click()
    page.wait_for_url(f"**/{found}")  # the repository's own page
    page.goto("/")
    assert page.locator(f'td.name a[href="/{found}"]').count() == 1  # listed on the home page

    # a directory removed: obsolete unless "remove obsolete" is chosen, then removed
    gone = web_server.new_repo(name=unique("gone"))["repo_name"]
    shutil.rmtree(root / gone)
    page.goto("/_admin/server")
    _press_rescan(page)
    assert _listed(page, "obsolete") == [gone] and _listed(page, "removed") == []
    page.goto("/")
    assert page.locator(f'td.name a[href="/{gone}"]').count() == 1  # kept
    page.go_back()
    _press_rescan(page, remove_obsolete=True)  # "Rescan again" on the report
    assert _state(page) == "done"
    assert _listed(page, "removed") == [gone] and _listed(page, "obsolete") == []
    assert "remove obsolete" in page.locator("#rescan-meta").inner_text()
    shot(page, shots, "admin-rescan-removed")
    page.goto("/")
    assert page.locator(f'td.name a[href="/{gone}"]').count() == 0
    assert page.locator(f'td.name a[href="/{found}"]').count() == 1

    # the store is not there: a failure, said clearly, and nothing changed
    away = web_server.home / "repos-away"
    bare_git(root / unique("never"))
    page.goto("/_admin/server")
    root.rename(away)
    try:
        _press_rescan(page, remove_obsolete=True)
    finally:
        away.rename(root)
    assert _state(page) == "failed"
    assert page.get_by_role("alert").inner_text() == ERROR
    assert "Nothing was changed." in page.locator("#rescan-status").inner_text()
    assert f"{root} is missing or not a directory" in page.locator("#rescan-cause").inner_text()
    shot(page, shots, "admin-rescan-failed")
    page.goto("/_admin/server")
    states = page.locator("#rescan-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.state)"
    )
    assert states[:4] == ["failed", "done", "done", "done"]  # newest first
    shot(page, shots, "admin-server-rescan")
    _no_errors(page)
    report = page.locator("#rescan-table a").first.get_attribute("href")

    # not an admin: the answer of a missing page
    name = unique("bn")
    web_server.ok("create_user", username=name, email=f"{name}@example.com", password=PASSWORD)
    sign_out(page)
    sign_in(page, name, PASSWORD)
    for path in (report, "/_admin/server"):
        answer = page.goto(path)
        assert answer is not None and answer.status == 404, path
        assert "Repository not found" in page.content()


@contextmanager
def _paused(worker: HearthWorker) -> Iterator[None]:
    """The worker stopped where it is (SIGSTOP), so its committed progress can be looked at."""
    assert worker.process is not None
    os.killpg(worker.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(worker.process.pid, signal.SIGCONT)


def _many_repositories(root: Path, count: int) -> list[str]:
    """``count`` empty bare git repositories under ``root/bulk`` (copies of one)."""
    template = root.parent / "bare-template.git"
    subprocess.run(["git", "init", "-q", "--bare", "--template=", str(template)], check=True)
    names = [f"bulk/r{i:03d}" for i in range(count)]
    for name in names:
        shutil.copytree(template, root / name)
    return names


def _running_task(server: LiveServer, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task = server.ok("get_task", task_id=task_id)
        if task["state"] != "queued":
            return dict(task)
        time.sleep(0.01)
    raise AssertionError(f"task {task_id} was never taken")


def test_rescan_by_a_worker_shows_its_progress(
    chromium: Any, make_server: Callable[..., LiveServer], shots: Path
) -> None:
    _require_redis()
    live = make_server(broker_url=REDIS_URL)
    worker = HearthWorker(live)
    root = live.home / "repos"
    names = _many_repositories(root, COUNT)
    context = chromium.new_context(base_url=live.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in(page, *ADMIN, came_from="/_admin/server")
        assert "A background worker runs it" in page.locator("#rescan-form").inner_text()
        _press_rescan(page)
        task_id = page.url.rsplit("/", 1)[1]
        assert _state(page) == "queued"  # no worker runs yet
        assert page.locator("progress#rescan-progress").count() == 1
        shot(page, shots, "admin-rescan-queued")
        page.evaluate("window.notReloaded = true")

        worker.start()
        assert _running_task(live, task_id)["state"] == "running"
        while not live.ok("get_repos"):  # until the worker has committed its first stretch
            time.sleep(0.01)
        with _paused(worker):
            committed = len(live.ok("get_repos"))
            assert 0 < committed < COUNT
            # the page catches up with what is committed, by itself, and shows exactly that
            page.wait_for_function(
                "n => document.querySelector('#rescan-stage')?.textContent === n",
                arg=f"{committed} of {COUNT}",
            )
            assert _state(page) == "running"
            assert page.locator("#rescan-progress").get_attribute("value") == str(committed)
            assert page.locator("#rescan-progress").get_attribute("max") == str(COUNT)
            assert "Registering new repositories" in page.locator("#rescan-state").inner_text()
            assert (
                page.locator("#rescan-counts")
                .inner_text()
                .startswith(f"Directories examined\n{COUNT + 1}")
            )
            shot(page, shots, "admin-rescan-progress")
        page.wait_for_selector('#rescan-status[data-state="done"]', timeout=90_000)
        assert page.evaluate("window.notReloaded") is True  # followed by polling, not reloading
        assert page.locator("#rescan-summary").inner_text().startswith(f"{COUNT} added, 0 removed")
        assert _listed(page, "added") == names
        assert page.get_by_role("button", name="Rescan again").count() == 1
        shot(page, shots, "admin-rescan-done")
        assert len(live.ok("get_repos")) == COUNT
        assert errors == []

        # without script the page refreshes itself until the report is there
        plain = chromium.new_context(base_url=live.url, java_script_enabled=False)
        try:
            tab = plain.new_page()
            sign_in(tab, *ADMIN, came_from="/_admin/server")
            shutil.rmtree(root / names[0])
            with _paused(worker):
                tab.get_by_label("Remove obsolete repository records").check()
                tab.get_by_role("button", name="Rescan repositories").click()
                tab.wait_for_url(re.compile(r"/_admin/server/rescan/[0-9a-f]{32}$"))
                assert _state(tab) == "queued"
            tab.wait_for_selector('#rescan-status[data-state="done"]', timeout=60_000)
            assert _listed(tab, "removed") == [names[0]]
            wait_for(live, tab.url.rsplit("/", 1)[1])
        finally:
            plain.close()
    finally:
        context.close()
        worker.stop()

# SPDX-License-Identifier: GPL-3.0-or-later
"""The server pages of the administration (issue 14, item 7) over HTTP against live servers:
"Rescan repositories" from the server page — a CSRF-checked POST through the job the API's
``rescan_repos`` runs, answered with a redirect to its report, which is a task row at its own
address (``get_task`` reads the same) — with "remove obsolete" and "invalidate caches"; a failed
rescan (in the server or in a real worker) and its error with its cause; everything refused to non-admins as a missing page. Also the settings page
naming each source (``hearth.toml``, the environment, the default) with secrets hidden, the
server page's queue, and the journal's user filter.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.live import LiveServer, free_port, unique
from tests.pagecheck import client, csrf_of, page_of, signed_in
from tests.test_background import HearthWorker
from tests.test_rescan_pull import EMPTY, bare_git, hg_repo, last
from tests.test_tasks import REDIS_URL, _require_redis, wait_for
from tests.vcs_clients import ADMIN
from tests.vcs_fixtures import hg

PASSWORD = "pw-Secret-42"
REPORT = re.compile(r"/_admin/server/rescan/([0-9a-f]{32})$")
ERROR = "Error occurred during rescan repositories action"


def _rescan(browser: httpx.Client, **options: str) -> tuple[str, str]:
    """Press "Rescan repositories" on the server page; returns (task id, the report page)."""
    token = csrf_of(page_of(browser, "/_admin/server"))
    answer = browser.post("/_admin/server/rescan", data={"_csrf": token, **options})
    assert answer.status_code == 303, answer.text[:500]
    found = REPORT.match(answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1), page_of(browser, answer.headers["location"])


def _state(report: str) -> str:
    found = re.search(r'id="rescan-status" data-state="(\w+)"', report)
    assert found, report[:2000]
    return found.group(1)


def _listed(report: str, ident: str) -> list[str]:
    """The names in the report's list ``ident`` (added, removed, obsolete, skipped)."""
    found = re.search(rf'<ul class="names" id="rescan-{ident}".*?</ul>', report, re.S)
    return re.findall(r'<li data-name="([^"]+)">', found.group(0)) if found else []


def _main(text: str) -> str:
    found = re.search(r"<main.*</main>", text, re.S)
    assert found is not None
    return found.group(0)


def test_rescan_from_the_server_page(make_server: Any) -> None:
    live = make_server()
    root = live.home / "repos"
    bare_git(root / "team" / "found")
    hg_repo(root / "hgone")
    browser = signed_in(live, *ADMIN)
    page = page_of(browser, "/_admin/server")
    assert 'action="/_admin/server/rescan"' in page and "It runs in the server" in page
    assert 'id="rescan-table"' not in page  # no rescan yet

    # without the form's token nothing happens
    refused = browser.post("/_admin/server/rescan", data={"remove_obsolete": "on"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert live.ok("get_repos") == []

    task_id, report = _rescan(browser)
    assert _state(report) == "done"
    assert "data-poll" not in report and "http-equiv" not in report  # finished: nothing polls
    assert "2 added, 0 removed, 0 obsolete, 0 skipped." in report
    assert _listed(report, "added") == ["hgone", "team/found"]
    assert '<a href="/team/found">team/found</a>' in report
    assert {r["repo_name"] for r in live.ok("get_repos")} == {"hgone", "team/found"}
    # the report is the task row the API reads
    task = live.ok("get_task", task_id=task_id)
    assert (task["method"], task["state"], task["error"]) == ("rescan_repos", "done", None)
    assert task["result"] == {
        "added": ["hgone", "team/found"], "removed": [], "obsolete": [], "task": task_id,
    }  # fmt: skip
    assert page_of(browser, f"/_admin/server/rescan/{task_id}") == report  # a URL to come back to
    listed = page_of(browser, "/_admin/server")
    assert f'href="/_admin/server/rescan/{task_id}"' in listed and 'id="rescan-table"' in listed

    # a directory gone: reported obsolete, and removed only when asked
    shutil.rmtree(root / "team" / "found")
    _, report = _rescan(browser)
    assert _listed(report, "obsolete") == ["team/found"] and _listed(report, "removed") == []
    assert "team/found" in {r["repo_name"] for r in live.ok("get_repos")}
    _, report = _rescan(browser, remove_obsolete="on")
    assert _listed(report, "removed") == ["team/found"] and _listed(report, "obsolete") == []
    assert "0 added, 1 removed, 0 obsolete, 0 skipped." in report
    assert "remove obsolete" in report  # the options chosen
    assert [r["repo_name"] for r in live.ok("get_repos")] == ["hgone"]

    # invalidate caches: a changeset committed behind Hearth's back shows after it
    assert last(live, "hgone") == EMPTY
    (root / "hgone" / "a.txt").write_text("a\n")
    hg(root / "hgone", "commit", "-A", "-q", "-m", "behind", "-u", "Alice <alice@example.com>")
    node = hg(root / "hgone", "log", "-r", "tip", "-T", "{node}")
    _, report = _rescan(browser)
    assert last(live, "hgone") == EMPTY  # a plain rescan leaves the cache alone
    _, report = _rescan(browser, invalidate_caches="on")
    assert "0 added, 0 removed, 0 obsolete, 0 skipped, 1 caches invalidated." in report
    assert last(live, "hgone") == node


def test_a_failed_rescan_shows_its_error(make_server: Any) -> None:
    live = make_server()
    root = live.home / "repos"
    bare_git(root / "never")
    browser = signed_in(live, *ADMIN)
    token = csrf_of(page_of(browser, "/_admin/server"))
    away = live.home / "repos-away"
    root.rename(away)  # the disk is not mounted
    try:
        answer = browser.post("/_admin/server/rescan", data={"_csrf": token})
        assert answer.status_code == 303
        task_id = REPORT.match(answer.headers["location"]).group(1)  # type: ignore[union-attr]
        report = page_of(browser, answer.headers["location"])
    finally:
        away.rename(root)
    assert _state(report) == "failed"
    assert f'<p class="flash bad" role="alert" id="rescan-error">{ERROR}</p>' in report
    assert f"<strong>Why:</strong> the repository directory {root} is missing or not a " \
        "directory." in report  # fmt: skip
    assert "Nothing was changed." in report
    assert live.ok("get_repos") == []
    task = live.ok("get_task", task_id=task_id)
    assert (task["state"], task["error"], task["result"]) == ("failed", ERROR, None)
    assert "failed" in page_of(browser, "/_admin/server")  # listed among the recent rescans


def test_a_worker_that_fails_says_why(make_server: Any) -> None:
    _require_redis()
    live = make_server(broker_url=REDIS_URL)
    root = live.home / "repos"
    bare_git(root / "later")
    worker = HearthWorker(live)
    browser = signed_in(live, *ADMIN)
    away = live.home / "repos-away"
    root.rename(away)
    try:
        task_id, report = _rescan(browser, remove_obsolete="on")
        assert _state(report) == "queued" and 'data-poll="1000"' in report
        assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in report
        worker.start()
        assert wait_for(live, task_id)["error"] == ERROR
    finally:
        away.rename(root)
        worker.stop()
    report = page_of(browser, f"/_admin/server/rescan/{task_id}")
    assert _state(report) == "failed" and "data-poll" not in report
    assert f"the repository directory {root} is missing or not a directory" in report
    assert "Nothing was changed." in report
    assert live.ok("get_repos") == []


def test_a_lost_worker_reads_failed_with_what_it_had_done(make_server: Any) -> None:
    _require_redis()
    live = make_server(broker_url=REDIS_URL, task_lost_after=2)
    root = live.home / "repos"
    template = live.home / "bare-template.git"
    subprocess.run(["git", "init", "-q", "--bare", "--template=", str(template)], check=True)
    for i in range(400):
        shutil.copytree(template, root / "bulk" / f"r{i:03d}")
    worker = HearthWorker(live)
    browser = signed_in(live, *ADMIN)
    task_id, _ = _rescan(browser)
    worker.start()
    try:
        while not live.ok("get_repos"):  # a first stretch is committed
            time.sleep(0.01)
        worker.kill()  # the machine running it is gone
    finally:
        worker.stop()
    done = len(live.ok("get_repos"))
    assert 0 < done < 400
    deadline = time.monotonic() + 30
    while _state(report := page_of(browser, f"/_admin/server/rescan/{task_id}")) == "running":
        assert time.monotonic() < deadline, "never declared lost"
        time.sleep(0.3)
    assert _state(report) == "failed" and ERROR in report  # the page declared it lost
    assert f"it had handled {done} of 400 new repositories" in report
    assert "that work is kept. Rescan again to finish." in report
    assert live.ok("get_task", task_id=task_id)["state"] == "failed"
    assert len(live.ok("get_repos")) == done
    again = HearthWorker(live).start()
    try:
        task_id, _ = _rescan(browser)  # rescan again: the rest is registered
        assert len(wait_for(live, task_id)["result"]["added"]) == 400 - done
    finally:
        again.stop()
    report = page_of(browser, f"/_admin/server/rescan/{task_id}")
    assert f"{400 - done} added, 0 removed" in report
    assert len(live.ok("get_repos")) == 400


def test_rescan_pages_answer_non_admins_as_missing_ones(make_server: Any) -> None:
    live = make_server()
    admin = signed_in(live, *ADMIN)
    task_id, _ = _rescan(admin)
    bare_git(live.home / "repos" / "planted")
    name = unique("nm")
    live.ok("create_user", username=name, email=f"{name}@example.com", password=PASSWORD)
    member = signed_in(live, name, PASSWORD)
    missing = member.get("/_admin/no-such-page-at-all")
    assert missing.status_code == 404
    token = csrf_of(page_of(member, "/_admin/my_account"))
    paths = [
        f"/_admin/server/rescan/{task_id}",
        "/_admin/server/rescan",
        "/_admin/settings/mapping",
    ]
    for path in paths:
        answer = member.get(path)
        assert (answer.status_code, _main(answer.text)) == (404, _main(missing.text)), path
    answer = member.post("/_admin/server/rescan", data={"_csrf": token, "remove_obsolete": "on"})
    assert (answer.status_code, _main(answer.text)) == (404, _main(missing.text))
    assert live.ok("get_repos") == []  # the refused POST registered nothing
    anonymous = client(live)
    plain_missing = httpx.get(live.url + "/_admin/no-such-page-at-all")
    for path in paths:
        answer = anonymous.get(path)
        assert answer.status_code == 302 and "/_admin/login" in answer.headers["location"], path
        plain = httpx.get(live.url + path)
        assert (plain.status_code, plain.text) == (404, plain_missing.text), path
    # an admin: an unknown report is a missing page; the old address leads to the form
    assert "task `nope` does not exist" in page_of(admin, "/_admin/server/rescan/nope", 404)
    for old in ("/_admin/settings/mapping", "/_admin/server/rescan"):
        answer = admin.get(old)
        assert (answer.status_code, answer.headers["location"]) == (303, "/_admin/server#rescan")


def test_settings_page_names_each_source(tmp_path: Path) -> None:
    toml = tmp_path / "hearth.toml"
    broker = f"redis://worker:hunter2secret@127.0.0.1:{free_port()}/0"
    toml.write_text(f'[hearth]\nfeed_items = 7\nrealm = "From toml"\nbroker_url = "{broker}"\n')
    live = LiveServer(tmp_path / "home", f"sqlite:///{tmp_path / 'hearth.db'}", realm="From env")
    live.env["HEARTH_CONFIG"] = str(toml)
    live.start()
    try:
        browser = signed_in(live, *ADMIN)
        text = page_of(browser, "/_admin/settings")
        rows = {
            name: (re.sub(r"<[^>]+>", "", value), re.sub(r"<[^>]+>", "", source))
            for name, value, source in re.findall(
                r'<tr data-name="([^"]+)">\s*<td class="mono">[^<]*</td>\s*'
                r'<td class="mono">(.*?)</td>\s*<td class="small">(.*?)</td>', text, re.S)
        }  # fmt: skip
        assert rows["feed_items"] == ("7", f"hearth.toml ({toml})")
        assert rows["realm"] == ("From env", "environment (HEARTH_REALM)")  # the environment wins
        assert rows["pull_timeout"] == ("600.0", "default")
        assert rows["repos"][1] == "default (inside home)"
        assert rows["broker_url"] == (
            broker.replace(":hunter2secret@", ":***@"),
            f"hearth.toml ({toml})",
        )
        assert rows["admin_password"] == ("*** (set)", "environment (HEARTH_ADMIN_PASSWORD)")
        assert "hunter2secret" not in text and "admin-secret-1" not in text
        info = page_of(browser, "/_admin/server")
        assert "background worker (broker)" in info and "hunter2secret" not in info
        assert re.search(r"<dt>Queue</dt><dd class=\"mono\">hearth\.[0-9a-f]{16}</dd>", info)
        assert "A background worker runs it" in info
        for word in ("pygit2", "libgit2", "SQLAlchemy", "GB free"):
            assert word in info, word
        # the broker cannot be reached: the rescan fails at once, and says so
        task_id, report = _rescan(browser)
        assert _state(report) == "failed" and ERROR in report
        assert live.ok("get_task", task_id=task_id)["state"] == "failed"
    finally:
        live.stop()


def test_admin_journal_filters_by_user(server: LiveServer) -> None:
    other, key = server.new_user("jf", admin=True)
    mine = server.new_repo(key=key)["repo_name"]
    theirs = server.new_repo()["repo_name"]
    browser = signed_in(server, *ADMIN)
    text = page_of(browser, f"/_admin?user={other['username'].upper()}")  # any case
    rows = re.findall(r'<tr data-action="([^"]+)">.*?</tr>', text, re.S)
    assert rows == ["user_created_repo"]
    assert mine in text and theirs not in text
    assert f'value="{other["username"].upper()}"' in text  # the filter keeps what was typed

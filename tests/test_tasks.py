# SPDX-License-Identifier: GPL-3.0-or-later
"""Background work (``methods.md`` "Background work", ``get_task``): ``pull`` and ``rescan_repos``
queued on a real Redis and run by a real Celery worker (``celery -A hearth.tasks.worker worker``).

Without a reachable Redis at 127.0.0.1:6379 the queued tests are skipped, except under ``CI=true``
where they fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import IN_CI, LiveServer, free_port, unique
from tests.test_rescan_pull import EMPTY, Remote, bare_git, last

REDIS_URL = os.environ.get("HEARTH_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping())
    except Exception:
        return False


def _require_redis() -> None:
    if redis_available():
        return
    if IN_CI:
        pytest.fail(f"Redis at {REDIS_URL} is required under CI=true")
    pytest.skip("Redis is not reachable")


class Worker:
    """``celery -A hearth.tasks.worker worker`` with the server's environment."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.log = server.home / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "hearth.tasks.worker", "worker",
                "--pool", "solo", "--loglevel", "info", "--without-gossip", "--without-mingle",
                "--without-heartbeat",
            ],
            env=self.server.env,
            cwd=self.server.home,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def queued(make_server) -> Iterator[tuple[LiveServer, Worker]]:
    """A fresh server with a broker, and its worker (not started: tests start it)."""
    _require_redis()
    live = make_server(broker_url=REDIS_URL)
    worker = Worker(live)
    yield live, worker
    worker.stop()


def wait_for(server: LiveServer, task_id: str, states: tuple[str, ...] = ("done", "failed")) -> Any:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        task = server.ok("get_task", task_id=task_id)
        if task["state"] in states:
            return task
        time.sleep(0.2)
    log = (server.home / "worker.log").read_text(errors="replace")[-3000:]
    raise AssertionError(f"task {task_id} did not finish: {task}\n{log}")


def test_rescan_queued_then_run_by_the_worker(queued: tuple[LiveServer, Worker]) -> None:
    live, worker = queued
    bare_git(live.home / "repos" / "team" / "found")
    answer = live.ok("rescan_repos")
    task_id = answer["task"]
    assert isinstance(task_id, str) and task_id
    assert answer == {"added": [], "removed": [], "obsolete": [], "task": task_id}
    assert live.ok("get_repos") == []  # not done yet: no worker runs

    task = live.ok("get_task", task_id=task_id)
    assert task == {
        "task_id": task_id,
        "method": "rescan_repos",
        "state": "queued",
        "result": None,
        "error": None,
        "created_on": task["created_on"],
        "finished_on": None,
    }
    assert isinstance(task["created_on"], str)

    worker.start()
    task = wait_for(live, task_id)
    assert task["state"] == "done", task
    assert task["result"] == {
        "added": ["team/found"],
        "removed": [],
        "obsolete": [],
        "task": task_id,
    }
    assert task["error"] is None and isinstance(task["finished_on"], str)
    assert task["finished_on"] >= task["created_on"]
    assert [r["repo_name"] for r in live.ok("get_repos")] == ["team/found"]


def test_pull_queued_success_and_failure(queued: tuple[LiveServer, Worker], tmp_path: Path) -> None:
    live, worker = queued
    worker.start()
    remote = Remote("git", tmp_path)
    head = remote.commit()
    live.ok("create_repo", repo_name="mirror", repo_type="git")

    answer = live.ok("pull", repo="mirror", remote_uri=str(remote.path))
    assert answer == {"msg": "Pulled from `mirror`", "repository": "mirror", "task": answer["task"]}
    task = wait_for(live, answer["task"])
    assert (task["method"], task["state"], task["error"]) == ("pull", "done", None)
    assert task["result"] == {
        "msg": "Pulled from `mirror`",
        "repository": "mirror",
        "task": answer["task"],
    }
    assert last(live, "mirror") == head

    bad = f"http://user:hunter2secret@127.0.0.1:{free_port()}/x.git"
    answer = live.ok("pull", repoid="mirror", clone_uri=bad)
    assert answer["msg"] == "Pulled from `mirror`"  # the same message in both modes
    task = wait_for(live, answer["task"])
    assert task["state"] == "failed"
    assert task["error"] == "Unable to pull changes from `mirror`"
    assert task["result"] is None
    assert last(live, "mirror") == head
    for log in (live.home / "worker.log", live.log):
        assert "hunter2secret" not in log.read_text(errors="replace")

    # errors found before queueing are answered at once
    assert live.err("pull", repoid="nothing-here") == "repository `nothing-here` does not exist"


def test_get_task_visibility(queued: tuple[LiveServer, Worker]) -> None:
    live, worker = queued
    task_id = live.ok("rescan_repos")["task"]
    other_admin, admin_key = live.new_user("ad", admin=True)
    _, user_key = live.new_user("nu")
    # another admin sees it; a non-admin does not (it is not theirs)
    assert live.ok("get_task", key=admin_key, task_id=task_id)["task_id"] == task_id
    assert live.err("get_task", key=user_key, task_id=task_id) == f"task `{task_id}` does not exist"
    worker.start()
    assert wait_for(live, task_id)["state"] == "done"
    assert live.err("get_task", key=user_key, task_id=task_id) == f"task `{task_id}` does not exist"
    # a task started by the other admin is theirs, and visible to every admin
    own = live.ok("rescan_repos", key=admin_key)["task"]
    assert other_admin["admin"] is True
    assert wait_for(live, own)["result"]["task"] == own
    assert live.ok("get_task", task_id=own)["state"] == "done"  # the first admin sees it too


def test_broker_unreachable(make_server) -> None:
    live = make_server(broker_url=f"redis://127.0.0.1:{free_port()}/0")
    live.ok("create_repo", repo_name="r", repo_type="git")
    started = time.monotonic()
    assert live.err("rescan_repos") == "Error occurred during rescan repositories action"
    assert live.err("pull", repoid="r") == "Unable to pull changes from `r`"
    assert time.monotonic() - started < 60


def test_get_task_unknown(server: LiveServer) -> None:
    """Without a broker nothing is queued: ``task`` is null and no id exists."""
    for task_id in ("nope", unique("t"), "0" * 32):
        assert server.err("get_task", task_id=task_id) == f"task `{task_id}` does not exist"
    assert server.ok("rescan_repos")["task"] is None
    assert server.err("get_task") == "Missing non optional `task_id` arg in JSON DATA"


def test_eager_mode_answers_with_null_task(make_server) -> None:
    live = make_server()
    bare_git(live.home / "repos" / "now")
    assert live.ok("rescan_repos") == {
        "added": ["now"],
        "removed": [],
        "obsolete": [],
        "task": None,
    }
    assert last(live, "now") == EMPTY

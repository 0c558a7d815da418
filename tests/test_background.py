# SPDX-License-Identifier: GPL-3.0-or-later
"""Queued ``create_repo`` (with a ``clone_uri``) and ``fork_repo`` (``methods.md`` "Background
work"), run by a real ``hearth worker`` over a real Redis: the name is reserved at once and the
repository invisible until done; a failed task, and a worker killed with SIGKILL mid-fork, leave a
failed task and nothing half-made.

Without Redis at 127.0.0.1:6379 these are skipped, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.live import LiveServer, free_port
from tests.test_rescan_pull import Remote
from tests.test_rescan_pull import serve_http as serve_http  # the fixture
from tests.test_tasks import REDIS_URL, _require_redis, wait_for
from tests.vcs_fixtures import clean_env, git, run

SCRATCH = ".hearth-scratch"


class HearthWorker:
    """``hearth worker`` (Celery's worker underneath) with the server's environment."""

    def __init__(self, server: LiveServer, *celery_args: str) -> None:
        self.server = server
        self.log = server.home / "worker.log"
        self.args = celery_args or (
            "--pool", "solo", "--loglevel", "info", "--without-gossip", "--without-mingle",
        )  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> HearthWorker:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hearth", "worker", *self.args],
            env=self.server.env,
            cwd=self.server.home,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL to the whole process group: the machine running it is gone."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    @staticmethod
    def kill_when(worker: HearthWorker, path: Path, timeout: float = 60) -> bool:
        """SIGKILL ``worker`` as soon as ``path`` appears (a clone has started there)."""
        deadline = time.monotonic() + timeout
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        worker.kill()
        return path.exists()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def queued(make_server: Callable[..., LiveServer]) -> Iterator[tuple[LiveServer, HearthWorker]]:
    _require_redis()
    live = make_server(broker_url=REDIS_URL, task_lost_after=4)
    worker = HearthWorker(live)
    yield live, worker
    worker.stop()


def store(live: LiveServer) -> Path:
    return live.home / "repos"


def leftovers(live: LiveServer) -> list[str]:
    """Anything in the store's scratch area."""
    scratch = store(live) / SCRATCH
    return sorted(p.name for p in scratch.iterdir()) if scratch.is_dir() else []


def test_worker_refuses_without_a_broker(server: LiveServer) -> None:
    proc = server.cli("worker", "--pool", "solo", check=False)
    assert proc.returncode == 2
    assert "broker_url is not set" in proc.stderr


def test_queued_create_with_clone_uri(
    queued: tuple[LiveServer, HearthWorker],
    tmp_path: Path,
    serve_http: Callable[[Remote], str],
) -> None:
    live, worker = queued
    remote = Remote("git", tmp_path / "remote")
    head = remote.commit()
    url = serve_http(remote)

    answer = live.ok("create_repo", repo_name="team/mirror", repo_type="git", clone_uri=url)
    task_id = answer["task"]
    assert answer == {
        "msg": "Created new repository `team/mirror`",
        "success": True,
        "task": task_id,
        "repo": None,
    }
    # reserved: the name is taken, the repository is invisible, nothing is on disk yet
    assert live.err("create_repo", repo_name="team/mirror", repo_type="git") == (
        "repo `team/mirror` already exist"
    )
    assert live.err("get_repo", repoid="team/mirror") == "repository `team/mirror` does not exist"
    assert "team/mirror" not in [r["repo_name"] for r in live.ok("get_repos")]
    assert not (store(live) / "team" / "mirror").exists()
    refs = "/info/refs?service=git-upload-pack"
    unknown = live.client.get("/team/no-such-repo" + refs).status_code
    assert live.client.get("/team/mirror" + refs).status_code == unknown  # as if absent
    assert live.ok("get_task", task_id=task_id)["state"] == "queued"

    worker.start()
    task = wait_for(live, task_id)
    assert task["state"] == "done", task
    assert task["error"] is None
    assert task["result"]["msg"] == "Created new repository `team/mirror`"
    assert task["result"]["task"] == task_id
    assert task["result"]["repo"]["repo_name"] == "team/mirror"
    assert task["result"]["repo"]["clone_uri"] == url
    repo = live.ok("get_repo", repoid="team/mirror")
    assert repo["last_changeset"]["raw_id"] == head
    assert leftovers(live) == []
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", f"{live.url}/team/mirror", str(clone)], env=clean_env(tmp_path))
    assert git(clone, "rev-parse", "HEAD").strip() == head


def test_queued_create_failure_leaves_nothing(queued: tuple[LiveServer, HearthWorker]) -> None:
    live, worker = queued
    worker.start()
    dead = f"http://127.0.0.1:{free_port()}/nothing.git"
    answer = live.ok("create_repo", repo_name="deep/er/gone", repo_type="git", clone_uri=dead)
    task = wait_for(live, answer["task"])
    assert (task["state"], task["error"], task["result"]) == (
        "failed",
        "failed to create repository `deep/er/gone`",
        None,
    )
    assert live.err("get_repo", repoid="deep/er/gone") == "repository `deep/er/gone` does not exist"
    # the groups auto-created for it went too, rows and directories
    assert [g["group_name"] for g in live.ok("get_repo_groups")] == []
    assert not (store(live) / "deep").exists()
    assert leftovers(live) == []
    # the name is free again
    assert live.ok("create_repo", repo_name="deep/er/gone", repo_type="git")["task"] is None


def big_git_source(live: LiveServer, repos: Path, tmp_path: Path) -> None:
    """A git repository of many loose objects: a local fork hard-links each one, which takes long
    enough to be caught in the middle."""
    live.ok("create_repo", repo_name="big", repo_type="git")
    work = tmp_path / "big-work"
    run(["git", "init", "-q", "-b", "master", str(work)], env=clean_env(tmp_path))
    for index in range(40):
        folder = work / f"d{index}"
        folder.mkdir()
        for item in range(500):
            (folder / f"f{item}").write_text(f"{index} {item}\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "many files")
    path = repos / "big"
    run(["git", "--git-dir", str(path), "fetch", "-q", str(work), "master:master"])
    pack_dir = path / "objects" / "pack"
    for pack in list(pack_dir.glob("*.pack")):
        moved = tmp_path / pack.name
        pack.rename(moved)
        pack.with_suffix(".idx").unlink()
        with moved.open("rb") as data:
            subprocess.run(
                ["git", "--git-dir", str(path), "unpack-objects", "-q"], stdin=data, check=True
            )
    assert sum(1 for _ in (path / "objects").rglob("*")) > 20000


def test_worker_killed_mid_fork_leaves_a_failed_task_and_nothing_half_made(
    queued: tuple[LiveServer, HearthWorker], tmp_path: Path
) -> None:
    live, worker = queued
    big_git_source(live, store(live), tmp_path)
    caught = 0
    for attempt in range(6):
        fork_name = f"forks/f{attempt}"
        worker = HearthWorker(live).start()
        answer = live.ok("fork_repo", repoid="big", fork_name=fork_name)
        task_id = answer["task"]
        assert answer == {
            "msg": f"Created fork of `big` as `{fork_name}`",
            "success": True,
            "task": task_id,
        }
        HearthWorker.kill_when(worker, store(live) / SCRATCH / task_id / "repo")
        task = wait_for(live, task_id)  # the lost task turns failed once task_lost_after passes
        if task["state"] == "done":  # the fork finished before the kill landed: a whole fork
            assert live.ok("get_repo", repoid=fork_name)["fork_of"] == "big"
            continue
        caught += 1
        assert task["error"] == f"failed to fork repository `big` as `{fork_name}`"
        assert live.err("get_repo", repoid=fork_name) == f"repository `{fork_name}` does not exist"
        assert not (store(live) / fork_name).exists()
        assert leftovers(live) == []
        if caught == 2:
            break
    assert caught >= 1, "no kill landed while a fork was running"
    # a new worker forks under the same name
    worker = HearthWorker(live).start()
    try:
        task = wait_for(live, live.ok("fork_repo", repoid="big", fork_name="forks/f0x")["task"])
        assert task["state"] == "done", task
        assert live.ok("get_repo", repoid="forks/f0x")["fork_of"] == "big"
    finally:
        worker.stop()


def test_fork_reserved_until_done(queued: tuple[LiveServer, HearthWorker]) -> None:
    live, worker = queued
    live.ok("create_repo", repo_name="src", repo_type="hg")
    task_id = live.ok("fork_repo", repoid="src", fork_name="mine")["task"]
    assert live.err("fork_repo", repoid="src", fork_name="mine") == "fork `mine` already exist"
    assert live.err("create_repo", repo_name="mine") == "repo `mine` already exist"
    assert live.err("get_repo", repoid="mine") == "repository `mine` does not exist"
    worker.start()
    task = wait_for(live, task_id)
    assert task["state"] == "done", task
    assert task["result"] == {
        "msg": "Created fork of `src` as `mine`",
        "success": True,
        "task": task_id,
    }
    assert live.ok("get_repo", repoid="mine")["fork_of"] == "src"
    assert live.err("fork_repo", repoid="src", fork_name="mine") == "fork `mine` already exist"

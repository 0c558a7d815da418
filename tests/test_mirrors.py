# SPDX-License-Identifier: GPL-3.0-or-later
"""Scheduled mirrors (issue 18, "Mirrors") in the production set-up: two servers and two workers
over PostgreSQL and Redis. A mirror pulled every 2 seconds picks up a new commit of its remote; a
remote that hangs times out (``pull_timeout``), one that refuses and one that answers garbage fail,
each only its own pull, while the good mirror keeps being pulled, once per change.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cluster import Cluster, require_services
from tests.live import free_port
from tests.test_ops import sample
from tests.test_rescan_pull import Remote
from tests.test_rescan_pull import serve_http as serve_http  # the fixture
from tests.test_tasks import wait_for
from tests.vcs_clients import journal


class BadRemote:
    """A TCP server that either never answers (``hang``) or answers garbage."""

    def __init__(self, hang: bool) -> None:
        self.hang = hang
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.hang:
                self.held.append(conn)  # read nothing, say nothing
                continue
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n" + os.urandom(4096))
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    require_services()
    running = Cluster(tmp_path / "cluster", pull_timeout=3).start()
    try:
        yield running
    finally:
        running.stop()


def mirror_of(server, name: str) -> dict:
    repo = server.ok("get_repo", repoid=name)
    return {"pull_interval": repo["pull_interval"], **(repo["mirror"] or {})}


def until(check: Callable[[], object], timeout: float = 90) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError("condition not reached")


def test_scheduled_mirrors(
    cluster: Cluster,
    tmp_path: Path,
    serve_http: Callable[[Remote], str],
) -> None:
    one, two = cluster.servers
    cluster.worker("--pool", "threads", "--concurrency", "2", "--loglevel", "info")
    cluster.worker("--pool", "threads", "--concurrency", "2", "--loglevel", "info")
    hanging, garbage = BadRemote(hang=True), BadRemote(hang=False)
    try:
        remote = Remote("git", tmp_path / "remote")
        first = remote.commit()
        url = serve_http(remote)
        task = one.ok("create_repo", repo_name="mirror", repo_type="git", clone_uri=url)["task"]
        assert wait_for(one, task)["state"] == "done"
        bad = {
            "hangs": f"http://127.0.0.1:{hanging.port}/x.git",
            "garbage": f"http://127.0.0.1:{garbage.port}/x.git",
            "refuses": f"http://127.0.0.1:{free_port()}/x.git",
        }
        for name, uri in bad.items():
            one.ok("create_repo", repo_name=name, repo_type="git")
            one.ok("update_repo", repoid=name, clone_uri=uri, pull_interval=2)
        answer = two.ok("update_repo", repoid="mirror", pull_interval=2)
        assert answer["repository"]["repo_name"] == "mirror"
        assert mirror_of(one, "mirror")["pull_interval"] == 2

        until(lambda: mirror_of(two, "mirror")["last_success"])
        second = remote.commit()
        until(lambda: one.ok("get_repo", repoid="mirror")["last_changeset"]["raw_id"] == second)

        # the bad remotes failed, each on its own, and left their repositories as they were
        for name in bad:
            state = until(
                lambda name=name: mirror_of(one, name)["last_error"] and mirror_of(one, name)
            )
            assert state["last_success"] is None
            assert state["last_error_on"] is not None
            assert one.ok("get_repo", repoid=name)["last_changeset"]["revision"] == -1
        assert "timed out" in mirror_of(one, "hangs")["last_error"]
        # the good mirror went on being pulled while the hanging one held its threads
        good = mirror_of(one, "mirror")
        assert good["last_error"] is None and good["duration"] < 3
        third = remote.commit()
        until(lambda: two.ok("get_repo", repoid="mirror")["last_changeset"]["raw_id"] == third)
        assert first != second != third

        # two workers schedule, one pulls: one journal entry per change pulled
        pulls = [row for row in journal(one, "mirror") if row["action"] == "push_remote"]
        assert len(pulls) == 2, pulls

        shown = json.loads(one.cli("repo", "mirror", "mirror", "--json").stdout)
        assert shown["pull_interval"] == 2 and shown["mirror"]["last_success"]
        assert "pulled every 2 s" in one.cli("repo", "mirror", "hangs").stdout
        metrics = one.client.get("/_admin/metrics").text
        assert (
            0 <= sample(metrics, "hearth_mirror_last_success_age_seconds", repository="mirror") < 60
        )
        assert sample(metrics, "hearth_mirror_last_success_age_seconds", repository="hangs") == -1

        # stopping a mirror; bad values are refused
        one.cli("repo", "mirror", "garbage", "--interval", "0")
        assert one.ok("get_repo", repoid="garbage")["mirror"] is None
        assert one.err("update_repo", repoid="mirror", pull_interval=-5).startswith(
            "pull_interval must be"
        )
        one.ok("create_repo", repo_name="plain", repo_type="git")
        assert one.err("update_repo", repoid="plain", pull_interval=5) == (
            "repository `plain` has no clone_uri to mirror"
        )
    finally:
        hanging.close()
        garbage.close()

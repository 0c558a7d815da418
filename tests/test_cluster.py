# SPDX-License-Identifier: GPL-3.0-or-later
"""Two ``hearth serve`` processes and a ``hearth worker`` over the real PostgreSQL and Redis and one
repository store (issue 18, "What must be shown"): races between the servers, queued forks, git and
hg through both, permissions changed on one server seen by the other at the next request, and a
worker killed mid-fork.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import Cluster, require_services
from tests.live import LiveServer
from tests.test_background import SCRATCH, HearthWorker, big_git_source
from tests.test_tasks import wait_for
from tests.vcs_clients import PASSWORD, Clients, repo_url


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    require_services()
    running = Cluster(tmp_path / "cluster").start()
    try:
        yield running
    finally:
        running.stop()


def at_once(*calls: tuple[LiveServer, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The envelopes of several calls started together (one thread each, released together)."""
    barrier = threading.Barrier(len(calls))
    replies: list[dict[str, Any]] = [{}] * len(calls)

    def run(index: int, server: LiveServer, method: str, args: dict[str, Any]) -> None:
        barrier.wait()
        replies[index] = server.call(method, **args)

    threads = [
        threading.Thread(target=run, args=(index, *call)) for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def test_two_servers_one_worker(cluster: Cluster, tmp_path: Path) -> None:
    one, two = cluster.servers
    cluster.worker()
    clients = Clients(tmp_path / "clients")

    # the same names raced from both servers: exactly one wins each
    for index in range(8):
        kind = ("git", "hg")[index % 2]
        name = f"race{index}"
        replies = at_once(
            (one, "create_repo", {"repo_name": name, "repo_type": kind}),
            (two, "create_repo", {"repo_name": name, "repo_type": kind}),
        )
        won = [r for r in replies if r["error"] is None]
        lost = [r for r in replies if r["error"] is not None]
        assert len(won) == 1 and len(lost) == 1, replies
        assert lost[0]["error"] == f"repo `{name}` already exist"
        assert two.ok("get_repo", repoid=name)["repo_type"] == kind
    assert sorted(p.name for p in cluster.store.iterdir() if not p.name.startswith(".")) == [
        f"race{i}" for i in range(8)
    ]

    # pushes through one server, clones through the other, git and hg
    heads = {}
    for kind, name, pusher, cloner in (("git", "race0", one, two), ("hg", "race1", two, one)):
        work = clients.seeded(kind)
        clients.push(kind, work, repo_url(pusher, name, "admin", "admin-secret-1"))
        heads[name] = clients.tip(kind, work)
        clone = clients.clone(kind, repo_url(cloner, name, "admin", "admin-secret-1"))
        assert clients.tip(kind, clone.dest) == heads[name]
        assert cloner.ok("get_repo", repoid=name)["last_changeset"]["raw_id"] == heads[name]

    # forks queued through one server, watched through the other
    forks = {
        name: two.ok("fork_repo", repoid=name, fork_name=f"forks/{name}")["task"]
        for name in ("race0", "race1")
    }
    for name, task_id in forks.items():
        task = wait_for(one, task_id)
        assert task["state"] == "done", (task, cluster.logs())
        fork = one.ok("get_repo", repoid=f"forks/{name}")
        assert fork["fork_of"] == name
        assert fork["last_changeset"]["raw_id"] == heads[name]

    # a queued fork raced from both servers: one reservation wins
    replies = at_once(
        (one, "fork_repo", {"repoid": "race0", "fork_name": "raced-fork"}),
        (two, "fork_repo", {"repoid": "race0", "fork_name": "raced-fork"}),
    )
    won = [r for r in replies if r["error"] is None]
    assert len(won) == 1, replies
    assert wait_for(two, won[0]["result"]["task"])["state"] == "done"

    # permissions changed through one server take effect on the other at the next request
    user, _key = one.new_user("dev", password=PASSWORD)
    login = user["username"]
    one.ok("update_repo", repoid="race0", private=True)
    denied = clients.clone("git", repo_url(two, "race0", login, PASSWORD), False)
    assert denied.returncode != 0
    one.ok("grant_user_permission", repoid="race0", userid=login, perm="repository.write")
    clone = clients.clone("git", repo_url(two, "race0", login, PASSWORD))
    assert clients.tip("git", clone.dest) == heads["race0"]
    two.ok("revoke_user_permission", repoid="race0", userid=login)
    assert clients.clone("git", repo_url(one, "race0", login, PASSWORD), False).returncode != 0


def test_worker_killed_mid_fork_in_the_cluster(cluster: Cluster, tmp_path: Path) -> None:
    one, two = cluster.servers
    big_git_source(one, cluster.store, tmp_path)
    caught = 0
    for attempt in range(6):
        worker = cluster.worker()
        fork_name = f"f{attempt}"
        task_id = one.ok("fork_repo", repoid="big", fork_name=fork_name)["task"]
        if not HearthWorker.kill_when(worker, cluster.store / SCRATCH / task_id / "repo"):
            continue
        task = wait_for(two, task_id)
        if task["state"] == "done":
            continue
        caught += 1
        assert task["error"] == f"failed to fork repository `big` as `{fork_name}`"
        assert two.err("get_repo", repoid=fork_name) == f"repository `{fork_name}` does not exist"
        assert not (cluster.store / fork_name).exists()
        assert list((cluster.store / SCRATCH).iterdir()) == []
        break
    assert caught == 1, cluster.logs()

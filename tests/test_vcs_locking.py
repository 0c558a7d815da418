# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository locking over HTTP with the real clients (``web-and-vcs.md`` §6), and the settings
that change the answers (``lock_ret_code``); the failure throttle.

Pull-to-lock, push-to-unlock: with ``enable_locking`` a clone by a user with write access locks
the repository for them; while locked every authenticated pull is refused (the holder's too), a
push by anyone else is refused, and the holder's push releases the lock and says so.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.live import LiveServer
from tests.vcs_clients import Clients, World, eventually, has_changeset, verify

TYPES = ["git", "hg"]


@pytest.fixture(scope="session")
def people(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World.make(server, Clients(tmp_path_factory.mktemp("lockers")))


def _lock(server: LiveServer, name: str) -> dict[str, Any]:
    repo = server.ok("get_repo", repoid=name)
    return {k: repo[k] for k in ("locked_by", "lock_reason")}


def _holder(server: LiveServer, name: str) -> str | None:
    locked_by = server.ok("get_repo", repoid=name)["locked_by"]
    return None if locked_by is None else locked_by["username"]


def _refused(repo_type: str, proc: Any, name: str, holder: str) -> None:
    """How each client shows the 423 (``web-and-vcs.md`` §6)."""
    assert proc.returncode != 0
    if repo_type == "git":
        assert "The requested URL returned error: 423" in proc.stderr, proc.stderr
    else:
        text = f"abort: HTTP Error 423: Repository `{name}` locked by user `{holder}`"
        assert text in proc.stderr, proc.stderr


def _advertisement(world: World, repo_type: str, name: str, who: str, push: bool) -> httpx.Response:
    login = world.logins[who]
    auth = httpx.BasicAuth(*login) if login else None
    if repo_type == "git":
        service = "git-receive-pack" if push else "git-upload-pack"
        return world.server.client.get(f"/{name}/info/refs", params={"service": service}, auth=auth)
    return world.server.client.get(f"/{name}", params={"cmd": "getbundle"}, auth=auth)


@pytest.mark.parametrize("repo_type", TYPES)
def test_pull_locks_and_the_holders_push_unlocks(people: World, repo_type: str) -> None:
    server, clients = people.server, people.clients
    # private: on a public repository clones are served anonymously and never lock (§5 step 2)
    name = people.new_repo(repo_type, private=True, enable_locking=True)
    writer, writer2 = people.usernames["writer"], people.usernames["writer2"]

    # no write access: served, nothing locked
    clients.clone(repo_type, people.url(name, "reader"))
    time.sleep(0.2)
    assert _holder(server, name) is None

    # a writer's clone locks the repository for them, once the clone succeeded
    work = clients.clone(repo_type, people.url(name, "writer")).dest
    assert eventually(lambda: _holder(server, name) == writer)
    assert _lock(server, name)["lock_reason"] == "lock_auto"

    # now every pull is refused, the holder's included
    for who in ("writer", "reader"):
        _refused(
            repo_type, clients.pull(repo_type, work, people.url(name, who), False), name, writer
        )
        answer = _advertisement(people, repo_type, name, who, push=False)
        assert answer.status_code == 423
        assert answer.text == f"Repository `{name}` locked by user `{writer}`"

    # another writer's push is refused
    other = clients.seeded(repo_type)
    _refused(
        repo_type,
        clients.push(repo_type, other, people.url(name, "writer2"), False, branch="o"),
        name,
        writer,
    )
    assert _advertisement(people, repo_type, name, "writer2", push=True).status_code == 423
    assert not has_changeset(server, repo_type, name, clients.tip(repo_type, other))

    # the holder's push is served, says it released the lock, and releases it
    clients.commit(repo_type, work)
    pushed = clients.push(repo_type, work, people.url(name, "writer"))
    assert f"remote: Released lock on repo `{name}`" in pushed.stdout + pushed.stderr
    assert eventually(lambda: _holder(server, name) is None)
    assert _lock(server, name)["lock_reason"] is None

    # unlocked: the other writer may push now
    clients.push(repo_type, other, people.url(name, "writer2"), branch="o")
    assert writer2 != writer
    verify(server, repo_type, name)


def test_hg_listkeys_and_the_rest_of_a_pull_conversation_are_exempt(people: World) -> None:
    server = people.server
    name = people.new_repo("hg", private=True)
    server.ok("lock", repoid=name, locked=True, userid=people.usernames["writer"])
    auth = people.logins["reader"]
    assert auth is not None
    for cmd in ("capabilities", "heads", "branchmap"):
        assert server.client.get(f"/{name}", params={"cmd": cmd}, auth=auth).status_code == 200
    listkeys = server.client.get(
        f"/{name}",
        params={"cmd": "listkeys"},
        headers={"x-hgarg-1": "namespace=bookmarks"},
        auth=auth,
    )
    assert listkeys.status_code == 200
    assert server.client.get(f"/{name}", params={"cmd": "getbundle"}, auth=auth).status_code == 423


@pytest.mark.parametrize("repo_type", TYPES)
def test_api_lock_is_enforced_without_enable_locking(people: World, repo_type: str) -> None:
    server, clients = people.server, people.clients
    name = people.new_repo(repo_type, private=True)
    writer = people.usernames["writer"]
    server.ok("lock", repoid=name, locked=True, userid=writer)
    assert _lock(server, name)["lock_reason"] == "lock_api"
    # refused to the holder's pull and to another writer's push
    _refused(repo_type, clients.clone(repo_type, people.url(name, "writer"), False), name, writer)
    other = clients.seeded(repo_type)
    refused = clients.push(repo_type, other, people.url(name, "writer2"), False, branch="o")
    _refused(repo_type, refused, name, writer)
    # the holder's push is served and releases the lock
    work = clients.seeded(repo_type)
    pushed = clients.push(repo_type, work, people.url(name, "writer"), branch="mine")
    assert f"remote: Released lock on repo `{name}`" in pushed.stdout + pushed.stderr
    assert eventually(lambda: _holder(server, name) is None)
    # unlocked: an ordinary clone does not take the lock (enable_locking is off)
    clients.clone(repo_type, people.url(name, "writer"))
    time.sleep(0.2)
    assert _holder(server, name) is None


@pytest.mark.parametrize("repo_type", TYPES)
def test_locks_never_apply_to_anonymous_requests(people: World, repo_type: str) -> None:
    server, clients = people.server, people.clients
    name = people.new_repo(repo_type, enable_locking=True)
    server.ok("lock", repoid=name, locked=True, userid=people.usernames["writer"])
    clients.clone(repo_type, people.url(name, "anonymous"))
    # with credentials too: the default user may read, so the clone is anonymous (§5 step 2)
    clients.clone(repo_type, people.url(name, "writer2"))
    assert _holder(server, name) == people.usernames["writer"]


# --- lock_ret_code in the 2xx range; the throttle ----------------------------------------------


@pytest.fixture(scope="module")
def lenient(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.live import new_server

    server, _ = new_server(
        tmp_path_factory.mktemp("hearth-lenient"),
        "sqlite",
        lock_ret_code=200,
    )
    request.addfinalizer(server.stop)
    return World.make(server, Clients(tmp_path_factory.mktemp("lenient-clients")))


@pytest.mark.parametrize("repo_type", TYPES)
def test_lock_ret_code_2xx_serves_and_shows_the_lock(lenient: World, repo_type: str) -> None:
    server, clients = lenient.server, lenient.clients
    name = lenient.new_repo(repo_type)
    server.ok("lock", repoid=name, locked=True, userid="admin")
    work = clients.clone(repo_type, lenient.url(name, "writer")).dest  # not refused
    clients.commit(repo_type, work)
    pushed = clients.push(repo_type, work, lenient.url(name, "writer"))
    assert f"remote: Repository `{name}` locked by user `admin`" in pushed.stdout + pushed.stderr
    assert has_changeset(server, repo_type, name, clients.tip(repo_type, work))
    time.sleep(0.2)
    assert _holder(server, name) == "admin"  # someone else's lock stays


def test_repeated_failures_are_slowed_down(lenient: World) -> None:
    server = lenient.server
    name = lenient.new_repo("git", private=True, seed=False)
    url = f"/{name}/info/refs"
    times = []
    for _ in range(8):
        started = time.monotonic()
        answer = server.client.get(
            url, params={"service": "git-upload-pack"}, auth=("admin", "not-the-password")
        )
        times.append(time.monotonic() - started)
        assert answer.status_code == 401
    # five free failures, then 0.1 s, 0.2 s, 0.4 s of delay: lower bounds, whatever the machine
    assert all(took >= delay for took, delay in zip(times[5:], (0.1, 0.2, 0.4), strict=True)), times
    # the right password is still accepted at once
    ok = server.client.get(
        url, params={"service": "git-upload-pack"}, auth=("admin", "admin-secret-1")
    )
    assert ok.status_code == 200

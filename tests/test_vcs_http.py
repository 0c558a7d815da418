# SPDX-License-Identifier: GPL-3.0-or-later
"""Clone, pull and push over HTTP with the real ``git`` and ``hg`` against a live Hearth
(``web-and-vcs.md`` §2-§5, §7).

The §5 table is checked cell by cell twice: with the client (does the clone/push work?) and with
the first request the client makes (the exact status, text and ``WWW-Authenticate``). The rest:
API keys and e-mail logins, protocol v0 and v2, shallow clones, nested groups, ``.git`` and
``_<id>`` URLs, the bookkeeping after a push, a 100 MB push, concurrent pushes and a client
killed in the middle of one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer, descendants, proc_table, unique
from tests.vcs_clients import (
    PASSWORD,
    Clients,
    World,
    eventually,
    has_changeset,
    journal,
    new_key,
    repo_url,
    verify,
)


def transport_only(server: LiveServer) -> None:
    """Tests of the transport itself need no second database: run them on SQLite only."""
    if not server.database_url.startswith("sqlite"):
        pytest.skip("transport only: covered by the SQLite run")


TYPES = ["git", "hg"]


@pytest.fixture(scope="session")
def world(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> World:
    w = World.make(server, Clients(tmp_path_factory.mktemp("clients")))
    for repo_type in TYPES:
        for private in (False, True):
            w.repos[(repo_type, private)] = w.new_repo(repo_type, private=private)
    return w


# --- §5: who may clone and push ------------------------------------------------------------------

# (who, private) -> expected HTTP status of the clone and of the push, as in the spec's table
TABLE = {
    ("anonymous", False): (200, 401),
    ("anonymous", True): (401, 401),
    ("outsider", False): (200, 403),
    ("outsider", True): (404, 404),
    ("reader", False): (200, 403),
    ("reader", True): (200, 403),
    ("writer", False): (200, 200),
    ("writer", True): (200, 200),
    ("admin", False): (200, 200),
    ("admin", True): (200, 200),
}
TEXTS = {401: "Authentication required", 403: "Push access denied", 404: "Repository not found"}


def _first_request(world: World, repo_type: str, name: str, who: str, op: str) -> httpx.Response:
    """The request of the clone/push that meets the access check, sent as the client sends it."""
    login = world.logins[who]
    auth = httpx.BasicAuth(*login) if login else None
    client = world.server.client
    if repo_type == "git":
        service = "git-upload-pack" if op == "clone" else "git-receive-pack"
        return client.get(f"/{name}/info/refs", params={"service": service}, auth=auth)
    if op == "clone":
        return client.get(f"/{name}", params={"cmd": "capabilities"}, auth=auth)
    return client.post(
        f"/{name}",
        params={"cmd": "unbundle", "heads": "666f726365"},
        content=b"",
        headers={"content-type": "application/mercurial-0.1"},
        auth=auth,
    )


@pytest.mark.parametrize("repo_type", TYPES)
@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("who", ["anonymous", "outsider", "reader", "writer", "admin"])
def test_clone_as(world: World, repo_type: str, private: bool, who: str) -> None:
    name = world.repos[(repo_type, private)]
    expected = TABLE[(who, private)][0]
    proc = world.clients.clone(repo_type, world.url(name, who), False)
    response = _first_request(world, repo_type, name, who, "clone")
    assert response.status_code == expected, response.text
    if repo_type == "git" or expected != 200:
        assert response.headers["cache-control"].startswith("no-cache")
    if expected == 200:
        assert proc.returncode == 0, proc.stderr
        assert len(list(proc.dest.iterdir())) > 1  # a checkout with the seeded file
        return
    assert proc.returncode != 0
    assert response.text == TEXTS[expected]
    if expected == 401:
        assert response.headers["www-authenticate"] == 'Basic realm="Hearth"'
        if repo_type == "hg":
            assert "http authorization required" in proc.stderr
    elif repo_type == "git":
        assert f"returned error: {expected}" in proc.stderr or "not found" in proc.stderr
    else:
        assert f"HTTP Error {expected}" in proc.stderr


@pytest.mark.parametrize("repo_type", TYPES)
@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("who", ["anonymous", "outsider", "reader", "writer", "admin"])
def test_push_as(world: World, repo_type: str, private: bool, who: str) -> None:
    name = world.repos[(repo_type, private)]
    expected = TABLE[(who, private)][1]
    clients = world.clients
    work = clients.seeded(repo_type)
    tip = clients.tip(repo_type, work)
    proc = clients.push(repo_type, work, world.url(name, who), False, branch=unique("b"))
    if expected == 200:
        assert proc.returncode == 0, proc.stderr
        assert has_changeset(world.server, repo_type, name, tip)
        return
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert not has_changeset(world.server, repo_type, name, tip)
    response = _first_request(world, repo_type, name, who, "push")
    assert response.status_code == expected, response.text
    assert response.text == TEXTS[expected]
    if expected == 401:
        assert response.headers["www-authenticate"] == 'Basic realm="Hearth"'
    if repo_type == "hg" and expected != 401:
        assert f"HTTP Error {expected}" in proc.stderr


@pytest.mark.parametrize("repo_type", TYPES)
def test_missing_repository_answers_like_a_private_one(world: World, repo_type: str) -> None:
    missing = unique("missing")
    for who in ("anonymous", "outsider"):
        gone = _first_request(world, repo_type, missing, who, "clone")
        hidden = _first_request(world, repo_type, world.repos[(repo_type, True)], who, "clone")
        assert (gone.status_code, gone.text) == (hidden.status_code, hidden.text)
        assert gone.headers.get("www-authenticate") == hidden.headers.get("www-authenticate")


# --- credentials -----------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_type", TYPES)
def test_api_key_as_password_and_email_login(world: World, repo_type: str) -> None:
    server, clients = world.server, world.clients
    user, key = server.new_user("keyed", password=PASSWORD)
    name = world.new_repo(repo_type, private=True)
    server.ok(
        "grant_user_permission", repoid=name, userid=user["username"], perm="repository.write"
    )
    # an API key (role all) instead of the password, for clone and push
    work = clients.clone(repo_type, repo_url(server, name, user["username"], key)).dest
    clients.commit(repo_type, work)
    clients.push(repo_type, work, repo_url(server, name, user["username"], key))
    # the e-mail address, in any case, instead of the username
    email = user["email"].upper()
    clients.clone(repo_type, repo_url(server, name, email, PASSWORD))
    # a wrong secret is refused like a missing one
    proc = clients.clone(repo_type, repo_url(server, name, user["username"], "wrong-pw"), False)
    assert proc.returncode != 0
    world.logins["wrong"] = (user["username"], "wrong-pw")
    wrong = _first_request(world, repo_type, name, "wrong", "clone")
    assert (wrong.status_code, wrong.text) == (401, "Authentication required")


def test_vcs_only_key_works_and_inactive_user_is_forbidden(world: World) -> None:
    server, clients = world.server, world.clients
    username = unique("vcskey")
    server.ok("create_user", username=username, email=f"{username}@example.com", password=PASSWORD)
    user = {"username": username}
    name = world.repos[("git", True)]
    server.ok("grant_user_permission", repoid=name, userid=user["username"], perm="repository.read")
    for role, works in (("vcs", True), ("api", False), ("feed", False), ("http", False)):
        secret = new_key(server, username, role)
        proc = clients.clone("git", repo_url(server, name, user["username"], secret), False)
        assert (proc.returncode == 0) == works, (role, proc.stderr)
    server.ok("update_user", userid=user["username"], active=False)
    response = server.client.get(
        f"/{name}/info/refs",
        params={"service": "git-upload-pack"},
        auth=(user["username"], PASSWORD),
    )
    assert (response.status_code, response.text) == (403, "Access denied")


# --- git protocol details -----------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0", "2"])
def test_git_protocol_versions(world: World, version: str) -> None:
    transport_only(world.server)
    clients = world.clients
    name = world.repos[("git", True)]
    dest = clients.path("v")
    env_trace = {**clients.env, "GIT_TRACE_PACKET": "1"}
    proc = subprocess.run(
        ["git", "-c", f"protocol.version={version}", "clone", world.url(name, "reader"), str(dest)],
        env=env_trace,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert ("version 2" in proc.stderr) == (version == "2")
    clients.commit("git", dest)
    pushed = clients.git(
        "-c", f"protocol.version={version}", "fetch", world.url(name, "reader"), cwd=dest
    )
    assert pushed.returncode == 0


def test_git_shallow_clone(world: World) -> None:
    transport_only(world.server)
    clients = world.clients
    name = world.new_repo("git")
    work = clients.clone("git", world.url(name, "writer")).dest
    for _ in range(3):
        clients.commit("git", work)
    clients.push("git", work, world.url(name, "writer"))
    for version in ("0", "2"):
        proc = clients.clone(
            "git",
            world.url(name, "reader"),
            True,
            "--depth",
            "1",
            "-c",
            f"protocol.version={version}",
        )
        count = clients.git("rev-list", "--count", "HEAD", cwd=proc.dest).stdout.strip()
        assert count == "1"
        assert (proc.dest / ".git" / "shallow").is_file()


def _upload_pack_request(tip: str) -> bytes:
    want = b"want %s side-band-64k ofs-delta\n" % tip.encode()
    return b"%04x%s" % (len(want) + 4, want) + b"0000" + b"0009done\n"


def test_git_writes_the_clone_answer_to_the_socket_itself(world: World) -> None:
    """The pack is written by ``git upload-pack`` straight into the client's socket
    (``smarthttp/direct.py``): a close-delimited answer, neither chunked nor sized, then the
    connection closes. The server log stays free of uvicorn's complaints about the response."""
    transport_only(world.server)
    server, clients = world.server, world.clients
    name = world.repos[("git", False)]
    work = clients.clone("git", world.url(name, "reader")).dest
    tip = clients.tip("git", work)
    logged = server.log.stat().st_size
    with httpx.Client(base_url=server.url, timeout=60) as client:
        reply = client.post(
            f"/{name}/git-upload-pack",
            content=_upload_pack_request(tip),
            headers={"content-type": "application/x-git-upload-pack-request"},
        )
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/x-git-upload-pack-result"
    assert reply.headers["connection"] == "close"
    assert "transfer-encoding" not in reply.headers
    assert "content-length" not in reply.headers
    assert reply.content.startswith(b"0008NAK\n")
    assert b"PACK" in reply.content
    assert reply.content.endswith(b"0000")  # upload-pack's own end: nothing cut, nothing added
    assert server.ok("get_repo", repoid=name)["repo_name"] == name  # the server carries on
    tail = server.log.read_bytes()[logged:].decode("utf-8", "replace")
    assert "ASGI" not in tail and "Traceback" not in tail, tail


def test_git_clone_answer_after_100_continue(world: World) -> None:
    """A client that waits for ``100 Continue`` before its body gets it before the answer's
    head, and the answer (written by git) follows the body it sends then."""
    transport_only(world.server)
    server, clients = world.server, world.clients
    name = world.repos[("git", False)]
    tip = clients.tip("git", clients.clone("git", world.url(name, "reader")).dest)
    body = _upload_pack_request(tip)
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(
            b"POST /%s/git-upload-pack HTTP/1.1\r\nHost: x\r\n" % name.encode()
            + b"Content-Type: application/x-git-upload-pack-request\r\n"
            + b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(body)
        )
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        assert received.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        while chunk := sock.recv(65536):
            received += chunk
    head, _, answer = received.split(b"\r\n\r\n", 1)[1].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"connection: close" in head.lower()
    assert answer.startswith(b"0008NAK\n") and answer.endswith(b"0000") and b"PACK" in answer


def test_client_killed_mid_clone_leaves_no_git_behind(
    world: World, big_git: tuple[Clients, Path]
) -> None:
    """git writes the pack to the socket; when the client dies, git and its pack-objects end
    and are reaped, and the next clone works."""
    transport_only(world.server)
    clients, work = big_git
    server = world.server
    assert server.process is not None
    name = world.new_repo("git", seed=False)
    clients.push("git", work, world.url(name, "writer"))
    dest = clients.path("killed")
    proc = clients.popen(["git", "clone", "--bare", world.url(name, "reader"), str(dest)])

    def serving() -> bool:
        table = proc_table()
        return any(table[pid][3] == "git" for pid in descendants(server.process.pid) & set(table))

    assert eventually(serving, 30)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert eventually(lambda: not serving(), 15)
    clone = clients.clone("git", world.url(name, "reader"), True, "--bare")
    assert clients.git("fsck", "--no-progress", cwd=clone.dest).returncode == 0


def test_dumb_protocol_is_not_served(world: World) -> None:
    transport_only(world.server)
    name = world.repos[("git", False)]
    for path in (f"/{name}/info/refs", f"/{name}/HEAD", f"/{name}/objects/info/packs"):
        assert world.server.client.get(path).status_code == 404


# --- addressing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_type", TYPES)
def test_nested_group_suffix_and_id_urls(world: World, repo_type: str) -> None:
    server, clients = world.server, world.clients
    name = f"{unique('ga')}/{unique('gb')}/{unique('repo')}"
    world.new_repo(repo_type, private=True, repo_name=name)
    repo_id = server.ok("get_repo", repoid=name)["repo_id"]
    urls = [name, f"_{repo_id}"]
    if repo_type == "git":
        urls.append(f"{name}.git")
    work = clients.clone(
        repo_type, world.url(urls[-1], "writer"), True, "-U" if repo_type == "hg" else "-q"
    ).dest
    for path in urls:
        clients.commit(repo_type, work)
        clients.push(repo_type, work, world.url(path, "writer"))
        assert has_changeset(server, repo_type, name, clients.tip(repo_type, work))
    verify(server, repo_type, name)


def test_git_suffix_prefers_an_exact_name(world: World) -> None:
    transport_only(world.server)
    server, clients = world.server, world.clients
    base = unique("dual")
    plain = world.new_repo("git", repo_name=base)
    dotted = world.new_repo("git", repo_name=f"{base}.git", seed=False)
    # the name ending in .git exists (and is empty): the URL means it, not the other one
    proc = clients.clone("git", world.url(dotted, "reader"))
    assert "empty repository" in proc.stderr
    assert list((proc.dest).iterdir()) == [proc.dest / ".git"]
    assert len(list(clients.clone("git", world.url(plain, "reader")).dest.iterdir())) > 1
    assert server.ok("get_repo", repoid=dotted)["repo_name"] == f"{base}.git"


# --- after a push --------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_type", TYPES)
def test_push_bookkeeping(world: World, repo_type: str) -> None:
    server, clients = world.server, world.clients
    name = world.new_repo(repo_type, private=True, seed=False)
    assert journal(server, name) == [] or all(e["action"] != "push" for e in journal(server, name))
    work = clients.seeded(repo_type)
    clients.commit(repo_type, work)
    first = clients.tip(repo_type, work)
    clients.commit(repo_type, work)
    tip = clients.tip(repo_type, work)
    proc = clients.push(repo_type, work, world.url(name, "writer"))
    assert "Released lock" not in proc.stdout + proc.stderr  # nothing was locked

    def pushed() -> list[dict[str, object]]:
        return [e for e in journal(server, name) if e["action"] == "push"]

    entries = eventually(pushed)
    assert len(entries) == 1, entries
    entry = entries[0]
    assert entry["username"] == world.usernames["writer"]
    assert entry["ip_addr"] == "127.0.0.1"
    revisions = str(entry["detail"]).split(",")
    assert len(revisions) == 3 and revisions[-2:] == [first, tip]
    last = eventually(lambda: server.ok("get_repo", repoid=name)["last_changeset"]["raw_id"] == tip)
    assert last, server.ok("get_repo", repoid=name)["last_changeset"]
    # a push that changes nothing writes nothing
    clients.push(repo_type, work, world.url(name, "writer"), False)
    time.sleep(0.3)
    assert len(pushed()) == 1


def test_git_branch_deletion_is_journaled_without_revisions(world: World) -> None:
    server, clients = world.server, world.clients
    name = world.new_repo("git")
    work = clients.clone("git", world.url(name, "writer")).dest
    clients.git("push", world.url(name, "writer"), "HEAD:refs/heads/gone", cwd=work)
    clients.git("push", world.url(name, "writer"), ":refs/heads/gone", cwd=work)
    entries = eventually(
        lambda: [e for e in journal(server, name) if e["action"] == "push"][2:] or None
    )
    assert entries and entries[0]["detail"] == ""


# --- big, concurrent and interrupted pushes -------------------------------------------------------


def _big_git_repo(clients: Clients, megabytes: int, commits: int) -> Path:
    """A local repository with ``megabytes`` of incompressible history, via git fast-import."""
    work = clients.path("big")
    clients.git("init", "-q", "-b", "master", str(work))
    size = megabytes * 1024 * 1024 // commits
    stream: list[bytes] = []
    for n in range(commits):
        blob = os.urandom(size)
        stream.append(b"blob\nmark :%d\ndata %d\n" % (2 * n + 1, len(blob)) + blob + b"\n")
        message = b"commit %d\n" % n
        parent = b"from :%d\n" % (2 * n) if n else b""
        stream.append(
            b"commit refs/heads/master\nmark :%d\n" % (2 * n + 2)
            + b"committer T <t@e> %d +0000\n" % (1700000000 + n)
            + b"data %d\n%s" % (len(message), message)
            + parent
            + b"M 100644 :%d file%d.bin\n\n" % (2 * n + 1, n % 50)
        )
    proc = subprocess.run(
        ["git", "-c", "core.compression=0", "fast-import", "--quiet"],
        cwd=work,
        input=b"".join(stream),
        env=clients.env,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    clients.git("reset", "-q", "--hard", "master", cwd=work)
    return work


@pytest.fixture(scope="session")
def big_git(tmp_path_factory: pytest.TempPathFactory) -> tuple[Clients, Path]:
    clients = Clients(tmp_path_factory.mktemp("big"))
    return clients, _big_git_repo(clients, 100, 200)


def test_push_100_mb_of_history(world: World, big_git: tuple[Clients, Path]) -> None:
    transport_only(world.server)
    clients, work = big_git
    server = world.server
    name = world.new_repo("git", seed=False)
    clients.push("git", work, world.url(name, "writer"))
    verify(server, "git", name)
    tip = clients.tip("git", work)
    assert eventually(
        lambda: server.ok("get_repo", repoid=name)["last_changeset"]["raw_id"] == tip, 30
    )
    entries = eventually(lambda: [e for e in journal(server, name) if e["action"] == "push"])
    assert len(str(entries[0]["detail"]).split(",")) == 200


def test_client_killed_mid_push_leaves_a_valid_repository(
    world: World, big_git: tuple[Clients, Path]
) -> None:
    transport_only(world.server)
    clients, work = big_git
    server = world.server
    name = world.new_repo("git", seed=False)
    proc = clients.popen(["git", "push", world.url(name, "writer"), "HEAD:refs/heads/master"], work)
    time.sleep(0.4)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    time.sleep(0.5)
    verify(server, "git", name)
    # and the repository still takes pushes
    small = clients.seeded("git")
    clients.push("git", small, world.url(name, "writer"), branch="after")
    verify(server, "git", name)


def test_hg_client_killed_mid_push_leaves_a_valid_repository(world: World) -> None:
    transport_only(world.server)
    server, clients = world.server, world.clients
    name = world.new_repo("hg", seed=False)
    work = clients.seeded("hg")
    for n in range(4):
        (work / f"big{n}.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    clients.hg("commit", "-q", "-A", "-m", "big", cwd=work)
    proc = clients.popen(["hg", "push", world.url(name, "writer")], work)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    time.sleep(0.5)
    verify(server, "hg", name)
    clients.push("hg", clients.seeded("hg"), world.url(name, "writer"))
    verify(server, "hg", name)


@pytest.mark.parametrize("repo_type", TYPES)
def test_two_writers_push_at_once(world: World, repo_type: str) -> None:
    transport_only(world.server)
    server, clients = world.server, world.clients
    name = world.new_repo(repo_type)
    works = [clients.clone(repo_type, world.url(name, who)).dest for who in ("writer", "admin")]
    tips = []
    for work in works:
        clients.commit(repo_type, work, data=os.urandom(500_000).hex())
        tips.append(clients.tip(repo_type, work))
    # twice: to different branches (both land), then to the same one (one wins, or both land)
    for same in (False, True) if repo_type == "git" else (False,):
        procs = []
        for n, (work, who) in enumerate(zip(works, ("writer", "admin"), strict=True)):
            url = world.url(name, who)
            if repo_type == "git":
                branch = "master" if same else f"w{n}"
                argv = ["git", "push", url, f"HEAD:refs/heads/{branch}"]
            else:
                argv = ["hg", "push", "-f", url]
            procs.append(clients.popen(argv, work))
        codes = [p.wait(120) for p in procs]
        for p in procs:
            p.communicate()
        if not same:
            assert codes == [0, 0]
        else:
            assert 0 in codes
        verify(server, repo_type, name)
    fresh = clients.clone(repo_type, world.url(name, "reader")).dest
    if repo_type == "git":
        listed = clients.git("log", "--all", "--format=%H", cwd=fresh).stdout
    else:
        listed = clients.hg("log", "-T", "{node}\n", cwd=fresh).stdout
    assert all(tip in listed for tip in tips)

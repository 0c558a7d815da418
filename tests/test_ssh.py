# SPDX-License-Identifier: GPL-3.0-or-later
"""Clone, pull and push over SSH with the real ``ssh``, ``git`` and ``hg`` (issue 16), through
both SSH edges:

* ``builtin`` — ``hearth serve``'s own asyncssh server (setting ``ssh_port``);
* ``sshd`` — a real OpenSSH ``sshd`` started by the test on a random port with its own host key
  and ``AuthorizedKeysCommand hearth ssh-keys %u %k``, whose forced command is
  ``hearth ssh-serve KEY_ID``. sshd insists that the command and every directory above it be
  root's and not writable by others, and only root may log in users, so this runs as root only:
  skipped otherwise, failed under ``CI=true``.

Both run the same scenarios: reader, writer and outsider on public and private repositories, an
inactive user's key, a removed key, an unknown key, locks with their messages, the journal entry
and ``last_changeset`` of a push, and command injection attempts that must run nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hearth import sshwire
from tests.live import IN_CI, LiveServer, free_port, new_server, unique
from tests.ssh_clients import (
    SshClients,
    add_key,
    make_key,
    require_ssh_client,
    url,
    wait_for_port,
)
from tests.vcs_clients import Clients, World, eventually, has_changeset, journal, verify

TYPES = ["git", "hg"]
SSHD = "/usr/sbin/sshd"
BAD_COMMAND = (
    "Hearth serves only git-upload-pack '<repo>', git-receive-pack '<repo>' "
    "and hg -R <repo> serve --stdio"
)


@dataclass
class Edge:
    """One way in: the port, the user name the URLs carry, and each person's clients."""

    name: str
    port: int
    user: str
    world: World
    people: dict[str, SshClients]

    def url(self, repo: str) -> str:
        return url(self.port, repo, self.user)

    def clients(self, who: str) -> SshClients:
        return self.people[who]


@pytest.fixture(scope="module")
def hearth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, int]]:
    require_ssh_client()
    port = free_port()
    home = tmp_path_factory.mktemp("hearth-ssh")
    server, _ = new_server(
        home,
        "sqlite",
        ssh_port=port,
        ssh_user="root",
        ssh_authorized_keys_file=home / "authorized_keys",
    )
    try:
        wait_for_port(port, server.process)
        yield server, port
    finally:
        server.stop()


@pytest.fixture(scope="module")
def world(hearth: tuple[LiveServer, int], tmp_path_factory: pytest.TempPathFactory) -> World:
    server, _ = hearth
    w = World.make(server, Clients(tmp_path_factory.mktemp("ssh-http-clients")))
    for repo_type in TYPES:
        for private in (False, True):
            w.repos[(repo_type, private)] = w.new_repo(repo_type, private=private)
    return w


@pytest.fixture(scope="module")
def keys(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One key per person, added through the API (the admin's by the admin, the others by
    the admin for them)."""
    directory = tmp_path_factory.mktemp("ssh-keys")
    found = {}
    for who in ("admin", "reader", "writer", "writer2", "outsider"):
        key = make_key(directory, who)
        add_key(world.server, world.usernames[who], key)
        found[who] = key
    return found


def _sshd_config(
    root: Path,
    port: int,
    server: LiveServer,
    keys_file: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Path:
    host_key = make_key(root, "host_key")
    settings = {
        name: server.env[name] for name in ("HEARTH_HOME", "HEARTH_DATABASE_URL", "HEARTH_SSH_USER")
    }
    env = " ".join(f"{name}={value}" for name, value in {**settings, **(extra_env or {})}.items())
    hearth = Path(sys.executable).with_name("hearth")
    if keys_file is None:
        lookup = (
            "AuthorizedKeysFile none\n"
            f"AuthorizedKeysCommand /usr/bin/env {env} {hearth} ssh-keys %u %k\n"
            "AuthorizedKeysCommandUser root"
        )
    else:  # the file lies below the test's temporary directory, which others may write
        lookup = f"AuthorizedKeysFile {keys_file}\nStrictModes no"
    config = root / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile none
UsePAM no
PermitRootLogin forced-commands-only
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
{lookup}
AcceptEnv GIT_PROTOCOL
LogLevel VERBOSE
"""
    )
    return config


def _sshd_unavailable() -> str | None:
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} is not installed (Debian's openssh-server)"
    if os.geteuid() != 0:
        return "sshd's AuthorizedKeysCommand and forced commands for a test user need root"
    hearth = Path(sys.executable).with_name("hearth")
    for path in [hearth, *hearth.parents]:
        info = path.stat()
        if info.st_uid != 0 or info.st_mode & 0o022:
            return f"sshd refuses an AuthorizedKeysCommand below {path} (not root's, or writable)"
    return None


@contextlib.contextmanager
def _running_sshd(
    root: Path,
    server: LiveServer,
    keys_file: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[int]:
    why = _sshd_unavailable()
    if why:
        if IN_CI:
            pytest.fail(f"the sshd tests are required under CI=true: {why}")
        pytest.skip(why)
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = _sshd_config(root, port, server, keys_file, extra_env)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    log = (root / "sshd.log").open("wb")
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture(scope="module")
def sshd(hearth: tuple[LiveServer, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with _running_sshd(tmp_path_factory.mktemp("sshd"), hearth[0]) as port:
        yield port


@pytest.fixture(scope="module", params=["builtin", "sshd"])
def edge(
    request: pytest.FixtureRequest,
    hearth: tuple[LiveServer, int],
    world: World,
    keys: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Edge:
    if request.param == "builtin":
        port, user = hearth[1], "hearth"
    else:
        port, user = request.getfixturevalue("sshd"), "root"
    people = {
        who: SshClients(tmp_path_factory.mktemp(f"{request.param}-{who}"), key, port)
        for who, key in keys.items()
    }
    return Edge(request.param, port, user, world, people)


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


# --- who may clone, pull and push ------------------------------------------------------------


@pytest.mark.parametrize("repo_type", TYPES)
def test_reader_clones_and_pulls_but_may_not_push(edge: Edge, repo_type: str) -> None:
    name = edge.world.repos[(repo_type, True)]
    reader = edge.clients("reader")
    work = reader.clone(repo_type, edge.url(name)).dest
    assert reader.tip(repo_type, work)
    reader.pull(repo_type, work, edge.url(name))
    reader.commit(repo_type, work)
    refused = reader.push(repo_type, work, edge.url(name), check=False, branch="r")
    assert refused.returncode != 0
    assert "Push access denied" in _output(refused), _output(refused)
    assert not has_changeset(edge.world.server, repo_type, name, reader.tip(repo_type, work))


@pytest.mark.parametrize("repo_type", TYPES)
def test_writer_push_is_journaled_as_over_http(edge: Edge, repo_type: str) -> None:
    world = edge.world
    server = world.server
    name = world.new_repo(repo_type, private=True, seed=False)
    writer = edge.clients("writer")
    work = writer.seeded(repo_type)
    writer.commit(repo_type, work)
    first = writer.tip(repo_type, work)
    writer.commit(repo_type, work)
    tip = writer.tip(repo_type, work)
    writer.push(repo_type, work, edge.url(name))

    def pushed() -> list[dict[str, object]]:
        return [e for e in journal(server, name) if e["action"] == "push"]

    entries = eventually(pushed)
    assert len(entries) == 1, entries
    entry = entries[0]
    assert entry["username"] == world.usernames["writer"]
    assert entry["ip_addr"] == "127.0.0.1"
    revisions = str(entry["detail"]).split(",")
    assert len(revisions) == 3 and revisions[-2:] == [first, tip]
    assert eventually(
        lambda: server.ok("get_repo", repoid=name)["last_changeset"]["raw_id"] == tip
    ), server.ok("get_repo", repoid=name)["last_changeset"]
    verify(server, repo_type, name)
    # a clone over HTTP sees the same changesets
    again = world.clients.clone(repo_type, world.url(name, "writer")).dest
    assert world.clients.tip(repo_type, again) == tip
    # the key's last use is recorded
    used = server.ok("get_ssh_keys", userid=world.usernames["writer"])
    assert used[0]["last_used"] is not None


@pytest.mark.parametrize("repo_type", TYPES)
def test_outsider_reads_public_and_finds_no_private(edge: Edge, repo_type: str) -> None:
    outsider = edge.clients("outsider")
    public = edge.world.repos[(repo_type, False)]
    work = outsider.clone(repo_type, edge.url(public)).dest
    outsider.commit(repo_type, work)
    refused = outsider.push(repo_type, work, edge.url(public), check=False, branch="o")
    assert refused.returncode != 0 and "Push access denied" in _output(refused)

    private = edge.world.repos[(repo_type, True)]
    hidden = outsider.clone(repo_type, edge.url(private), check=False)
    missing = outsider.clone(repo_type, edge.url(unique("nothing")), check=False)
    assert hidden.returncode != 0 and missing.returncode != 0

    # the same words for a private repository as for a missing one
    def said(proc: subprocess.CompletedProcess[str]) -> list[str]:
        return [line for line in proc.stderr.splitlines() if "Repository not found" in line]

    assert said(hidden) == said(missing) != [], hidden.stderr
    assert not hidden.dest.exists() or not any(hidden.dest.iterdir())


def test_a_git_repository_is_not_an_hg_one(edge: Edge) -> None:
    name = edge.world.repos[("git", False)]
    proc = edge.clients("writer").clone("hg", edge.url(name), check=False)
    assert proc.returncode != 0 and "Repository not found" in proc.stderr


# --- keys and users --------------------------------------------------------------------------


def test_unknown_key_is_refused(edge: Edge, tmp_path: Path) -> None:
    stranger = SshClients(tmp_path / "c", make_key(tmp_path, "stranger"), edge.port)
    name = edge.world.repos[("git", False)]
    proc = stranger.clone("git", edge.url(name), check=False)
    assert proc.returncode != 0
    assert "Permission denied (publickey)" in proc.stderr, proc.stderr


@pytest.mark.parametrize("repo_type", TYPES)
def test_inactive_users_key_is_refused(edge: Edge, repo_type: str, tmp_path: Path) -> None:
    server = edge.world.server
    user, _ = server.new_user("gone")
    key = make_key(tmp_path, "gone")
    add_key(server, user["username"], key)
    name = edge.world.repos[(repo_type, False)]
    clients = SshClients(tmp_path / "c", key, edge.port)
    clients.clone(repo_type, edge.url(name))
    server.ok("update_user", userid=user["username"], active=False)
    proc = clients.clone(repo_type, edge.url(name), check=False)
    assert proc.returncode != 0
    assert "Permission denied (publickey)" in proc.stderr, proc.stderr


def test_a_removed_key_stops_at_the_next_connection(edge: Edge, tmp_path: Path) -> None:
    server = edge.world.server
    user, _ = server.new_user("rm")
    key = make_key(tmp_path, "rm")
    added = add_key(server, user["username"], key)["ssh_key"]
    clients = SshClients(tmp_path / "c", key, edge.port)
    name = edge.world.repos[("git", False)]
    clients.clone("git", edge.url(name))
    server.ok("delete_ssh_key", userid=user["username"], fingerprint=added["fingerprint"])
    proc = clients.clone("git", edge.url(name), check=False)
    assert proc.returncode != 0 and "Permission denied (publickey)" in proc.stderr


def test_ip_rules_apply(edge: Edge, tmp_path: Path) -> None:
    server = edge.world.server
    user, _ = server.new_user("ip")
    key = make_key(tmp_path, "ip")
    add_key(server, user["username"], key)
    server.cli("admin", "ip-rule", "add", user["username"], "10.9.8.0/24")
    clients = SshClients(tmp_path / "c", key, edge.port)
    proc = clients.clone("git", edge.url(edge.world.repos[("git", False)]), check=False)
    assert proc.returncode != 0 and "Access denied" in proc.stderr, proc.stderr


# --- locks -----------------------------------------------------------------------------------


def _holder(server: LiveServer, name: str) -> str | None:
    locked_by = server.ok("get_repo", repoid=name)["locked_by"]
    return None if locked_by is None else locked_by["username"]


@pytest.mark.parametrize("repo_type", TYPES)
def test_pull_locks_and_the_holders_push_unlocks(edge: Edge, repo_type: str) -> None:
    world = edge.world
    server = world.server
    name = world.new_repo(repo_type, private=True, enable_locking=True)
    holder = world.usernames["writer"]
    lock_text = f"Repository `{name}` locked by user `{holder}`"
    writer, writer2, reader = (edge.clients(w) for w in ("writer", "writer2", "reader"))

    work = writer.clone(repo_type, edge.url(name)).dest
    assert eventually(lambda: _holder(server, name) == holder)

    for who in (writer, reader):  # every pull is refused while locked, the holder's too
        proc = who.pull(repo_type, work, edge.url(name), check=False)
        assert proc.returncode != 0 and lock_text in _output(proc), _output(proc)

    other = writer2.seeded(repo_type)
    refused = writer2.push(repo_type, other, edge.url(name), check=False, branch="o")
    assert refused.returncode != 0 and lock_text in _output(refused), _output(refused)
    assert not has_changeset(server, repo_type, name, writer2.tip(repo_type, other))

    writer.commit(repo_type, work)
    pushed = writer.push(repo_type, work, edge.url(name))
    assert f"remote: Released lock on repo `{name}`" in _output(pushed), _output(pushed)
    assert eventually(lambda: _holder(server, name) is None)
    writer2.push(repo_type, other, edge.url(name), branch="o")
    verify(server, repo_type, name)


# --- nothing else runs -----------------------------------------------------------------------


def test_commands_other_than_the_three_are_refused_and_run_nothing(
    edge: Edge, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    name = edge.world.repos[("git", False)]
    hg_name = edge.world.repos[("hg", False)]
    attempts = [
        "git-upload-pack '../../etc'",
        f"git-upload-pack '{name}'; touch {marker}",
        f"git-upload-pack '{name}' && touch {marker}",
        f"git-upload-pack '`touch {marker}`'",
        f"git-upload-pack '$(touch {marker})'",
        f"git-upload-pack --upload-pack='touch {marker}' '{name}'",
        f"git-upload-pack '--upload-pack=touch {marker}'",
        f"git upload-pack '{name}'",
        f"git-upload-archive '{name}'",
        f"hg -R {hg_name} serve --stdio --debugger",
        f"hg -R {hg_name} --config hooks.pre-serve='touch {marker}' serve --stdio",
        f"hg -R '--config=hooks.x=touch {marker}' serve --stdio",
        f"touch {marker}",
        "ls",
        "",
    ]
    client = edge.clients("admin")
    for command in attempts:
        proc = client.ssh(edge.user, command or None)
        assert proc.returncode != 0, (command, _output(proc))
        said = proc.stderr
        assert BAD_COMMAND in said or "Repository not found" in said or "no shell" in said, (
            command,
            said,
        )
    assert not marker.exists()
    assert not (Path("/") / "ran").exists()


def test_git_protocol_v2_is_passed_through(edge: Edge) -> None:
    name = edge.world.repos[("git", False)]
    reader = edge.clients("reader")
    proc = reader.run(
        ["git", "-c", "protocol.version=2", "ls-remote", edge.url(name)],
        check=True,
    )
    assert "refs/heads/master" in proc.stdout
    traced = reader.run(
        [
            "env",
            "GIT_TRACE_PACKET=1",
            "git",
            "-c",
            "protocol.version=2",
            "ls-remote",
            edge.url(name),
        ]
    )
    assert "version 2" in traced.stderr


def test_hearth_ssh_keys_answers_only_for_the_ssh_user(hearth: tuple[LiveServer, int]) -> None:
    server, _ = hearth
    assert shutil.which("ssh-keygen")
    user, _key = server.new_user("ak")
    directory = server.home / "ak-keys"
    key = make_key(directory, "ak")
    added = add_key(server, user["username"], key)["ssh_key"]
    blob = added["public_key"].split()[1]
    line = server.cli("ssh-keys", "root", blob).stdout.strip()
    assert line.startswith('restrict,command="')
    assert line.endswith(f' ssh-serve {added["key_id"]}" {added["public_key"]}')
    assert server.cli("ssh-keys", "someone-else", blob).stdout == ""
    assert server.cli("ssh-keys", "root", blob[:-4] + "AAAA").stdout == ""


def test_an_authorized_keys_file_follows_the_keys(
    hearth: tuple[LiveServer, int], world: World, keys: dict[str, Path], tmp_path: Path
) -> None:
    """Setting ``ssh_authorized_keys_file``: rewritten at every key change, served by sshd."""
    server, _ = hearth
    keys_file = server.home / "authorized_keys"
    assert keys_file.stat().st_mode & 0o777 == 0o600
    text = keys_file.read_text()
    assert "HEARTH_ADMIN_PASSWORD" not in text
    for key in keys.values():
        assert Path(f"{key}.pub").read_text().split()[1] in text
    printed = server.cli("ssh-authorized-keys").stdout
    assert printed.strip().splitlines() == [
        line for line in text.splitlines() if not line.startswith("#")
    ]
    user, _ = server.new_user("file")
    key = make_key(tmp_path, "file")
    added = add_key(server, user["username"], key)["ssh_key"]
    assert added["public_key"] in keys_file.read_text()
    with _running_sshd(tmp_path / "sshd", server, keys_file) as port:
        clients = SshClients(tmp_path / "c", key, port)
        name = world.repos[("git", False)]
        work = clients.clone("git", url(port, name, "root")).dest
        clients.commit("git", work)
        refused = clients.push("git", work, url(port, name, "root"), check=False, branch="f")
        assert refused.returncode != 0 and "Push access denied" in _output(refused)
        server.ok("delete_ssh_key", userid=user["username"], fingerprint=added["fingerprint"])
        assert added["public_key"] not in keys_file.read_text()
        gone = clients.clone("git", url(port, name, "root"), check=False)
        assert gone.returncode != 0 and "Permission denied (publickey)" in gone.stderr
    written = server.cli("ssh-authorized-keys", "--write", "--path", str(tmp_path / "ak"))
    assert "wrote" in written.stdout and (tmp_path / "ak").read_text() == keys_file.read_text()


# --- ssh-serve: handed to the running server, or alone ---------------------------------------


@pytest.fixture(scope="module")
def alone(
    hearth: tuple[LiveServer, int],
    world: World,
    keys: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Edge]:
    """sshd whose ``ssh-serve`` decides every session itself (``ssh_handoff`` off), as it does
    when no server listens."""
    root = tmp_path_factory.mktemp("sshd-alone")
    with _running_sshd(root, hearth[0], extra_env={"HEARTH_SSH_HANDOFF": "0"}) as port:
        people = {
            who: SshClients(tmp_path_factory.mktemp(f"alone-{who}"), key, port)
            for who, key in keys.items()
        }
        yield Edge("sshd-alone", port, "root", world, people)


def _sessions(server: LiveServer, edge: str) -> float:
    """What ``hearth_ssh_sessions_total`` counts for ``edge``, all services."""
    total = 0.0
    for line in server.client.get("/_admin/metrics").text.splitlines():
        if line.startswith("hearth_ssh_sessions_total{") and f'edge="{edge}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_ssh_serve_hands_its_session_to_the_running_server(
    hearth: tuple[LiveServer, int], edge: Edge
) -> None:
    server, _ = hearth
    name = edge.world.repos[("git", True)]
    label = "sshd" if edge.name == "sshd" else "builtin"
    before = _sessions(server, label)
    edge.clients("reader").clone("git", edge.url(name))
    assert _sessions(server, label) == before + 1
    socket_file = sshwire.socket_path(server.home)
    assert socket_file.stat().st_mode & 0o777 == 0o600


def test_ssh_serve_alone_decides_as_the_server_does(
    hearth: tuple[LiveServer, int], alone: Edge
) -> None:
    """A few of the scenarios above (each login here loads SQLAlchemy, seconds under load)."""
    server, _ = hearth
    before = _sessions(server, "sshd")
    for repo_type in TYPES:
        test_writer_push_is_journaled_as_over_http(alone, repo_type)
    test_outsider_reads_public_and_finds_no_private(alone, "git")
    assert _sessions(server, "sshd") == before  # nothing was handed over


def test_a_stale_socket_is_no_server(tmp_path: Path) -> None:
    """A server killed without cleaning up leaves its socket file: ``ssh-serve`` must see that
    nobody listens and serve alone, having sent nothing."""
    import socket

    path = sshwire.socket_path(tmp_path)
    path.parent.mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()
    assert path.exists()
    assert sshwire.hand_over(path, {"key_id": 1}, [0, 1, 2]) is None
    assert sshwire.hand_over(tmp_path / "none.sock", {"key_id": 1}, [0, 1, 2]) is None

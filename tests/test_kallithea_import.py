# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth admin import-kallithea`` against the real Kallithea 0.7 fixture (issue 17).

``fixtures/kallithea-0.7-instance.tar.gz`` was made by Kallithea 0.7.0 itself (its README is the
shared fixture README: passwords, facts, inventory). Each test unpacks it, initialises a Hearth
instance as ``hearth init`` does (``tests/live.py``), runs the import as a real process and checks
through a live server, the JSON-RPC API and real ``git`` / ``hg`` clients: every user signs in with
the old password exactly when Kallithea would let them, every key keeps working (the expired one
does not), every user sees the repositories Kallithea showed them at the level it gave them, the
repositories keep refs and commits, gists and the journal come over. The expected effective
levels are worked out by hand from the fixture's inventory with Kallithea 0.7's rules ("highest
wins" over the ``default`` row, active user groups and the user's row; owners admin; private
repositories ignore the ``default`` row).

Failure cases check that nothing is left behind: the target's tables and repository root are
compared before and after (``_snapshot``).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text

from hearth.db.session import make_engine
from tests.live import (
    IN_CI,
    LiveServer,
    create_pg_database,
    drop_pg_database,
    postgres_available,
)
from tests.pagecheck import client, csrf_of
from tests.vcs_clients import Clients, repo_url

FIXTURE = Path(__file__).with_name("fixtures") / "kallithea-0.7-instance.tar.gz"

PASSWORDS = {
    "admin": "Admin12345",
    "alice": "AlicePass1",
    "bob": "BobPass123",
    "carol": "CarolPass123",
    "dave": "DavePass123",
    "erin": "ErinPass123",
    "frank": "FrankPass123",
    "grace": "GracePass123",
}
REPOS = {
    "hello-git": "git",
    "hello-hg": "hg",
    "projects/webapp": "git",
    "projects/libs/corelib": "hg",
    "upstream-mirror": "hg",
    "secret-hg": "hg",
    "empty-git": "git",
    "attic/old-tool": "git",
    "hello-git-fork": "git",
    "projects/hello-hg-fork": "hg",
}
# effective levels by hand from the inventory (module docstring); missing = none
_R, _W, _A = "repository.read", "repository.write", "repository.admin"
_PUBLIC_READ = {
    n: _R
    for n in (
        "hello-git",
        "hello-hg",
        "projects/libs/corelib",
        "upstream-mirror",
        "attic/old-tool",
        "hello-git-fork",
        "projects/hello-hg-fork",
    )
}
LEVELS: dict[str, dict[str, str]] = {
    "alice": {
        **_PUBLIC_READ,
        "hello-git": _W,
        "hello-hg": _A,
        "projects/webapp": _A,
        "secret-hg": _W,
    },
    "bob": {
        **_PUBLIC_READ,
        "hello-git": _W,
        "hello-hg": _W,
        "projects/webapp": _W,
        "secret-hg": _W,
        "hello-git-fork": _A,
        "projects/hello-hg-fork": _W,
    },
    "frank": {
        **_PUBLIC_READ,
        "hello-hg": _A,
        "projects/webapp": _R,
        "projects/libs/corelib": _W,
        "empty-git": _A,
        "projects/hello-hg-fork": _A,
    },
    "grace": {
        **_PUBLIC_READ,
        "hello-git": _W,
        "projects/webapp": _R,
        "secret-hg": _W,
        "empty-git": _A,
        "projects/hello-hg-fork": _A,
    },
    "erin": dict(_PUBLIC_READ),
    "carol": {name: _A for name in REPOS},
    "admin": {name: _A for name in REPOS},
}


# --- the instance and the target ---------------------------------------------------------------


def unpack(into: Path) -> Path:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(into, filter="data")
    return into / "kallithea-0.7-instance"


def source_url(instance: Path) -> str:
    return f"sqlite:///{instance / 'kallithea.db'}"


def kallithea_rows(instance: Path, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{instance / 'kallithea.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _need_postgres() -> None:
    if postgres_available():
        return
    if IN_CI:
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is required under CI=true")
    pytest.skip("PostgreSQL is not reachable")


class Target:
    """A Hearth instance fresh from ``hearth init`` (not serving until :meth:`serve`)."""

    def __init__(self, home: Path, backend: str) -> None:
        self.pg_url: str | None = None
        if backend == "postgres":
            _need_postgres()
            self.pg_url = url = create_pg_database()
        else:
            url = f"sqlite:///{home / 'hearth.db'}"
        home.mkdir(parents=True, exist_ok=True)
        self.live = LiveServer(home, url)
        self.live.init()  # what `hearth init` does (tests/live.py)

    def import_(self, instance: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.live.cli(
            "admin",
            "import-kallithea",
            "--db",
            source_url(instance),
            "--repos",
            str(instance / "repos"),
            *extra,
            check=False,
        )

    def serve(self) -> LiveServer:
        self.live._spawn()
        return self.live

    def close(self) -> None:
        self.live.stop()
        if self.pg_url:
            drop_pg_database(self.pg_url)


def report_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"no JSON report: {proc.stdout}{proc.stderr}") from None


def _snapshot(target: Target, volatile: bool = True) -> dict[str, Any]:
    """Every row of every table (sorted) and every path under the repository root.

    With ``volatile`` False, what differs between two instances by chance is left out: the key
    ``hearth init`` made (random), the run's own timing."""
    engine = make_engine(target.live.database_url)
    tables: dict[str, Any] = {}
    try:
        with engine.connect() as conn:
            for name in sorted(inspect(conn).get_table_names()):
                if name == "alembic_version":
                    continue
                rows = [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {name}"))]
                if not volatile:
                    rows = [_stable(name, row) for row in rows]
                tables[name] = sorted(repr(sorted(row.items())) for row in rows)
    finally:
        engine.dispose()
    root = target.live.home / "repos"
    paths = sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
    return {"tables": tables, "paths": paths}


def _stable(table: str, row: dict[str, Any]) -> dict[str, Any]:
    if table == "api_keys" and row["description"] == "main key" and row["user_id"] == 2:
        return {"init": "key"}
    if table == "users" and row["username"] == "default":
        return {**row, "created_on": "at hearth init"}
    if table == "import_runs":
        report = row["report"] if isinstance(row["report"], dict) else json.loads(row["report"])
        return {"fingerprint": row["fingerprint"], "counts": report["counts"]}
    return row


# --- one import per backend, checked from every side -----------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def imported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Path, dict[str, Any], Path]]:
    tmp = tmp_path_factory.mktemp(f"kallithea-{request.param}")
    instance = unpack(tmp / "source")
    target = Target(tmp / "hearth", request.param)
    try:
        started = time.monotonic()
        proc = target.import_(instance, "--json")
        seconds = time.monotonic() - started
        assert proc.returncode == 0, proc.stderr + proc.stdout
        report = report_of(proc)
        report["wall_seconds"] = seconds
        live = target.serve()
        clients = tmp / "clients"
        clients.mkdir()
        yield live, instance, report, clients
    finally:
        target.close()


def main_key(instance: Path, username: str) -> str:
    rows = kallithea_rows(instance, f"SELECT api_key FROM users WHERE username = '{username}'")
    return str(rows[0]["api_key"])


def test_report_counts_every_kind(imported: Any) -> None:
    _live, _instance, report, _clients = imported
    counts = report["counts"]
    assert report["skipped"] == [] and report["merged_admin"] == "admin"
    assert (counts["users"], counts["emails"], counts["ip_rules"], counts["api_keys"]) == (
        8,
        2,
        3,
        12,
    )
    assert (counts["user_groups"], counts["members"], counts["repo_groups"]) == (3, 7, 3)
    assert (counts["repositories"], counts["gists"], counts["followers"]) == (10, 3, 10)
    assert (counts["journal"], counts["permissions"], counts["global_permissions"]) == (33, 45, 17)


def test_users_as_kallithea_had_them(imported: Any) -> None:
    live, instance, _report, _clients = imported
    key = main_key(instance, "admin")
    users = {u["username"]: u for u in live.ok("get_users", key)}
    for row in kallithea_rows(instance, "SELECT * FROM users WHERE username != 'default'"):
        user = users[row["username"]]
        assert user["user_id"] == row["user_id"]
        assert (user["firstname"], user["lastname"]) == (row["firstname"], row["lastname"])
        assert user["email"] == row["email"]
        assert (user["active"], user["admin"]) == (bool(row["active"]), bool(row["admin"]))
        assert user["extern_type"] == row["extern_type"]
        assert user["extern_name"] == (row["extern_name"] or "")
    alice = live.ok("get_user", key, userid="alice")
    assert alice["emails"] == [
        "alice@example.com",
        "alice.work@example.org",
        "a.liddell@old.example.net",
    ]
    bob = live.ok("get_user", key, userid="bob")
    assert sorted(bob["ip_addresses"]) == [
        "10.0.0.0/8",
        "127.0.0.1/32",
        "192.168.1.0/24",
    ]
    assert live.ok("get_user", key, userid="erin")["ldap_dn"] == (
        "uid=erin,ou=people,dc=corp,dc=example,dc=com"
    )


def _clone(clients: Clients, live: LiveServer, name: str, login: str, secret: str) -> Any:
    return clients.clone(REPOS[name], repo_url(live, name, login, secret), False)


def stored_hashes(live: LiveServer) -> dict[str, str]:
    engine = make_engine(live.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT username, password FROM users WHERE password != ''"))
            return {row.username: row.password for row in rows}
    finally:
        engine.dispose()


def test_passwords_sign_in_exactly_when_kallithea_would(imported: Any) -> None:
    live, _instance, _report, root = imported
    clients = Clients(root / "passwords")
    assert all(h.startswith("$2b$10$") for h in stored_hashes(live).values())
    # projects/webapp is private: every clone below has to sign in
    for username in ("admin", "alice", "bob", "carol", "frank", "grace"):
        proc = _clone(clients, live, "projects/webapp", username, PASSWORDS[username])
        assert proc.returncode == 0, (username, proc.stderr)
        assert clients.git("rev-list", "--count", "HEAD", cwd=proc.dest).stdout.strip() == "2"
    # the bcrypt hashes that verified are argon2 now, and still take the same passwords
    hashes = stored_hashes(live)
    assert all(hashes[u].startswith("$argon2id$") for u in ("admin", "alice", "carol", "grace"))
    assert hashes["dave"].startswith("$2b$") and hashes["erin"].startswith("$2b$")
    assert _clone(clients, live, "projects/webapp", "carol", PASSWORDS["carol"]).returncode == 0
    assert _clone(clients, live, "projects/webapp", "carol", "CarolPass124").returncode != 0
    # by every e-mail address, primary and extra, in any case
    for login in ("alice@example.com", "Alice.Work@example.org", "a.liddell@old.example.net"):
        proc = _clone(clients, live, "projects/webapp", login, PASSWORDS["alice"])
        assert proc.returncode == 0, (login, proc.stderr)
    dave = _clone(clients, live, "projects/webapp", "dave", PASSWORDS["dave"])
    assert dave.returncode != 0 and "403" in dave.stderr  # inactive
    erin = _clone(clients, live, "hello-git-fork", "erin", PASSWORDS["erin"])
    assert erin.returncode == 0  # public: anonymous access, credentials never asked for
    erin = _clone(clients, live, "secret-hg", "erin", PASSWORDS["erin"])
    assert erin.returncode != 0 and "authorization failed" in erin.stderr.lower()  # ldap
    wrong = _clone(clients, live, "projects/webapp", "alice", "AlicePass2")
    assert wrong.returncode != 0
    # not readable for erin even with her key: hidden
    erin_key = _clone(clients, live, "projects/webapp", "erin", main_key(_instance, "erin"))
    assert erin_key.returncode != 0 and "not found" in erin_key.stderr.lower()


def test_every_key_works_unless_expired_or_inactive(imported: Any) -> None:
    live, instance, _report, root = imported
    clients = Clients(root / "keys")
    now = time.time()
    keys = [
        (r["username"], r["api_key"], -1.0)
        for r in kallithea_rows(instance, "SELECT username, api_key FROM users")
    ] + [
        (r["username"], r["api_key"], r["expires"])
        for r in kallithea_rows(
            instance,
            "SELECT u.username, k.api_key, k.expires FROM user_api_keys k "
            "JOIN users u ON u.user_id = k.user_id",
        )
    ]
    expired_seen = False
    for username, key, expires in keys:
        expired = expires != -1 and expires <= now
        expired_seen |= expired
        reply = live.call("get_user", key)
        if username in ("default", "dave") or expired:
            assert reply["error"] == "Invalid API key", (username, reply)
            continue
        assert reply["error"] is None and reply["result"]["username"] == username
        # as a clone password, on a repository that needs a sign-in
        name = (
            "projects/webapp"
            if username in ("admin", "alice", "bob", "carol", "frank", "grace")
            else "hello-git"
        )
        proc = _clone(clients, live, name, username, key)
        assert proc.returncode == 0, (username, proc.stderr)
    assert expired_seen  # frank's one-day key of 2026-11-23
    frank_deploy = next(k for u, k, e in keys if u == "frank" and e != -1)
    proc = _clone(clients, live, "projects/libs/corelib", "frank", frank_deploy)
    assert proc.returncode == 0  # public, served anonymously
    proc = _clone(clients, live, "projects/webapp", "frank", frank_deploy)
    assert proc.returncode != 0


@pytest.mark.parametrize("username", sorted(LEVELS))
def test_each_user_sees_what_kallithea_showed(imported: Any, username: str) -> None:
    live, instance, _report, _clients = imported
    key = main_key(instance, username)
    repos = {r["repo_name"]: r for r in live.ok("get_repos", key)}
    assert set(repos) == set(LEVELS[username])
    user = live.ok("get_user", key)
    shown = {k: v for k, v in user["permissions"]["repositories"].items() if v != "repository.none"}
    assert shown == LEVELS[username]


def test_global_permissions_and_groups(imported: Any) -> None:
    live, instance, _report, _clients = imported
    admin = main_key(instance, "admin")
    alice = live.ok("get_user", main_key(instance, "alice"))["permissions"]["global"]
    assert "hg.create.repository" in alice and "hg.create.none" not in alice  # from developers
    frank = live.ok("get_user", main_key(instance, "frank"))["permissions"]["global"]
    # frank's own hg.fork.none cannot lower the default's hg.fork.repository (permissions.md)
    assert "hg.fork.repository" in frank and "hg.fork.none" not in frank
    grace = live.ok("get_user", main_key(instance, "grace"))["permissions"]["global"]
    assert {"hg.create.repository", "hg.usergroup.create.true"} <= set(grace)
    groups = {g["group_name"]: g for g in live.ok("get_user_groups", admin)}
    assert set(groups) == {"developers", "reviewers", "legacy-team"}
    members = {
        name: sorted(
            m["username"] for m in live.ok("get_user_group", admin, usergroupid=name)["members"]
        )
        for name in groups
    }
    assert members == {
        "developers": ["alice", "bob", "grace"],
        "reviewers": ["carol", "frank"],
        "legacy-team": ["bob", "dave"],
    }
    assert groups["legacy-team"]["active"] is False
    repo_groups = {g["group_name"]: g for g in live.ok("get_repo_groups", admin)}
    assert set(repo_groups) == {"projects", "projects/libs", "attic"}
    assert repo_groups["projects/libs"]["parent_group"] == "projects"
    assert repo_groups["attic"]["group_description"] == "Archived things"
    # what the default user sees: projects is readable, projects/libs and attic are not
    erin = live.ok("get_user", main_key(instance, "erin"))["permissions"]["repositories_groups"]
    assert erin.get("projects") == "group.read"
    assert (
        erin.get("attic", "group.none") == erin.get("projects/libs", "group.none") == "group.none"
    )
    frank_groups = live.ok("get_user", main_key(instance, "frank"))["permissions"]
    assert frank_groups["repositories_groups"]["projects/libs"] == "group.admin"


def test_push_where_kallithea_lets_them(imported: Any) -> None:
    live, _instance, _report, root = imported
    clients = Clients(root / "push")
    # grace: explicit none on hello-git, but developers give write
    work = _clone(clients, live, "hello-git", "grace", PASSWORDS["grace"]).dest
    clients.commit("git", work)
    ok = clients.push(
        "git", work, repo_url(live, "hello-git", "grace", PASSWORDS["grace"]), False, "grace-branch"
    )
    assert ok.returncode == 0, ok.stderr
    # frank only reads hello-git (reviewers read, default read)
    work = _clone(clients, live, "hello-git", "frank", PASSWORDS["frank"]).dest
    clients.commit("git", work)
    denied = clients.push(
        "git", work, repo_url(live, "hello-git", "frank", PASSWORDS["frank"]), False, "frank-branch"
    )
    assert denied.returncode != 0 and "403" in denied.stderr
    # bob: write on hello-hg
    work = _clone(clients, live, "hello-hg", "bob", PASSWORDS["bob"]).dest
    clients.commit("hg", work)
    pushed = clients.push("hg", work, repo_url(live, "hello-hg", "bob", PASSWORDS["bob"]), False)
    assert pushed.returncode == 0, pushed.stderr


def _git_refs(clients: Clients, git_dir: Path) -> list[str]:
    out = clients.git(
        "--git-dir", str(git_dir), "for-each-ref", "--format=%(refname) %(objectname)"
    )
    return sorted(line for line in out.stdout.splitlines() if not line.startswith("refs/remotes/"))


def _hg_state(clients: Clients, path: Path) -> dict[str, str]:
    def ask(*args: str) -> str:
        return clients.hg("-R", str(path), *args).stdout

    return {
        "nodes": ask("log", "-r", "all()", "-T", "{node}\n"),
        "branches": ask("branches", "-c", "-T", "{branch} {node}\n"),
        "tags": ask("tags", "-T", "{tag} {node}\n"),
        "bookmarks": ask("bookmarks", "-T", "{bookmark} {node}\n"),
    }


def test_repositories_keep_refs_commits_and_metadata(imported: Any) -> None:
    live, instance, _report, root = imported
    clients = Clients(root / "refs")
    admin = main_key(instance, "admin")
    source = {
        r["repo_name"]: r
        for r in kallithea_rows(
            instance,
            "SELECT r.*, u.username AS owner, f.repo_name AS parent FROM repositories r "
            "JOIN users u ON u.user_id = r.user_id "
            "LEFT JOIN repositories f ON f.repo_id = r.fork_id",
        )
    }
    repos = {r["repo_name"]: r for r in live.ok("get_repos", admin)}
    assert set(repos) == set(REPOS)
    for name, repo_type in REPOS.items():
        row, repo = source[name], repos[name]
        assert repo["repo_id"] == row["repo_id"]
        assert repo["repo_type"] == repo_type
        assert repo["private"] is bool(row["private"])
        assert repo["description"] == row["description"]
        assert repo["clone_uri"] == row["clone_uri"]
        assert repo["owner"] == row["owner"]
        assert repo["fork_of"] == row["parent"]
        assert repo["created_on"][:19] == row["created_on"][:19].replace(" ", "T")
        assert ":".join(repo["landing_rev"]) == row["landing_revision"]
        assert (repo["enable_statistics"], repo["enable_downloads"]) == (
            bool(row["statistics"]),
            bool(row["downloads"]),
        )
        original = instance / "repos" / name
        if name in ("hello-git", "hello-hg"):
            continue  # pushed to by test_push_where_kallithea_lets_them (order is not fixed)
        proc = clients.clone(repo_type, repo_url(live, name, "admin", PASSWORDS["admin"]))
        if repo_type == "git":
            clone_refs = _git_refs(clients, proc.dest / ".git")
            heads = [r for r in _git_refs(clients, original) if r.startswith("refs/tags/")]
            assert [r for r in clone_refs if r.startswith("refs/tags/")] == heads
            count = ["rev-list", "--all", "--count"]
            assert (
                clients.git("--git-dir", str(proc.dest / ".git"), *count).stdout
                == clients.git("--git-dir", str(original), *count).stdout
            )
            ours = clients.git("--git-dir", str(live.home / "repos" / name), "for-each-ref")
            theirs = clients.git("--git-dir", str(original), "for-each-ref")
            assert ours.stdout == theirs.stdout
            if row["changeset_cache"]:
                assert (
                    repo["last_changeset"]["raw_id"] == json.loads(row["changeset_cache"])["raw_id"]
                )
        else:
            assert _hg_state(clients, proc.dest) == _hg_state(clients, original)
            hooks = live.home / "repos" / name / ".hg" / "hgrc"
            assert not hooks.exists() or "kallithea" not in hooks.read_text().lower()
    hooks = sorted(p.name for p in (live.home / "repos" / "hello-git-fork" / "hooks").iterdir())
    assert hooks == []  # Kallithea's post-receive and git's samples replaced


def test_gists_by_each_user(imported: Any) -> None:
    live, instance, _report, _clients = imported
    private = kallithea_rows(
        instance, "SELECT gist_access_id FROM gists WHERE gist_type = 'private'"
    )
    private_id = private[0]["gist_access_id"]
    alice = live.ok("get_gists", main_key(instance, "alice"))
    assert [(g["access_id"], g["type"]) for g in alice] == [(private_id, "private")]
    assert alice[0]["expires"] == pytest.approx(1826960146.3105714)
    assert [g["access_id"] for g in live.ok("get_gists", main_key(instance, "bob"))] == ["3"]
    admin = live.ok("get_gists", main_key(instance, "admin"))
    assert [g["description"] for g in admin] == ["Public snippet by admin"]
    gist = live.ok("get_gist", main_key(instance, "admin"), gistid="1", content=True)
    assert sorted(gist["content"]) == ["hello.sh", "notes.md"]
    # a private gist is reached by its access id only, and not by others
    assert live.ok("get_gist", main_key(instance, "alice"), gistid=private_id)["content"] is None
    assert "does not exist" in live.err("get_gist", main_key(instance, "bob"), gistid=private_id)


def test_journal_keeps_user_repository_action_date_and_hashes(imported: Any) -> None:
    live, instance, _report, _clients = imported
    source = kallithea_rows(instance, "SELECT * FROM user_logs ORDER BY user_log_id")
    engine = make_engine(live.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT entry_id, username, repo_name, action, detail, ip_addr, action_date "
                    "FROM journal WHERE entry_id <= :last ORDER BY entry_id"
                ),
                {"last": source[-1]["user_log_id"]},
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == len(source) == 33
    for ours, theirs in zip(rows, source, strict=True):
        action = ours.action + (f":{ours.detail}" if ours.detail else "")
        assert (ours.entry_id, ours.username, ours.repo_name, action) == (
            theirs["user_log_id"],
            theirs["username"],
            theirs["repository_name"],
            theirs["action"],
        )
        assert ours.ip_addr == (theirs["user_ip"] or "")
        assert str(ours.action_date)[:26] == theirs["action_date"][:26]


# --- rerun, dry run, conflicts, failures ------------------------------------------------------------


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[Target, Path]]:
    instance = unpack(tmp_path / "source")
    target = Target(tmp_path / "hearth", "sqlite")
    try:
        yield target, instance
    finally:
        target.close()


def test_rerun_changes_nothing(fresh: tuple[Target, Path]) -> None:
    target, instance = fresh
    assert target.import_(instance, "--json").returncode == 0
    before = _snapshot(target)
    again = target.import_(instance, "--json")
    assert again.returncode == 0 and report_of(again)["already_imported"] is True
    assert _snapshot(target) == before


def test_dry_run_lists_conflicts_and_changes_nothing(fresh: tuple[Target, Path]) -> None:
    target, instance = fresh
    target.live.cli("user", "create", "bob", "--email", "bob@elsewhere.example.com")
    target.live.cli("repo", "create", "hello-git", "--type", "git")
    before = _snapshot(target)
    source_before = sorted(str(p) for p in (instance / "repos").rglob("*"))
    dry = target.import_(instance, "--dry-run", "--json")
    assert dry.returncode == 1, dry.stderr
    report = report_of(dry)
    assert report["dry_run"] is True
    skipped = {(s["kind"], s["name"]) for s in report["skipped"]}
    assert {("user", "bob"), ("repository", "hello-git")} <= skipped
    assert _snapshot(target) == before
    assert sorted(str(p) for p in (instance / "repos").rglob("*")) == source_before
    # the real run skips the same and imports the rest
    real = target.import_(instance, "--json")
    assert real.returncode == 1
    assert {(s["kind"], s["name"]) for s in report_of(real)["skipped"]} == skipped
    assert report_of(real)["merged_admin"] is None  # not a fresh target any more


def test_truncated_database_leaves_nothing(fresh: tuple[Target, Path]) -> None:
    target, instance = fresh
    db = instance / "kallithea.db"
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])
    before = _snapshot(target)
    proc = target.import_(instance)
    assert proc.returncode == 1
    assert "cannot read the Kallithea database" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(target) == before


def test_damaged_repository_leaves_nothing(fresh: tuple[Target, Path]) -> None:
    target, instance = fresh
    revlog = next((instance / "repos" / "upstream-mirror" / ".hg" / "store" / "data").rglob("*.i"))
    revlog.write_bytes(revlog.read_bytes()[:-7])
    before = _snapshot(target)
    proc = target.import_(instance)
    assert proc.returncode == 1, proc.stdout
    assert "repository upstream-mirror is damaged" in proc.stderr
    assert _snapshot(target) == before


def test_missing_repository_directory_is_a_named_skip(fresh: tuple[Target, Path]) -> None:
    target, instance = fresh
    os.rename(instance / "repos" / "attic" / "old-tool", instance / "elsewhere")
    proc = target.import_(instance, "--json")
    assert proc.returncode == 1
    report = report_of(proc)
    assert [s for s in report["skipped"] if s["kind"] == "repository"] == [
        {
            "kind": "repository",
            "name": "attic/old-tool",
            "reason": "directory attic/old-tool missing under --repos",
        }
    ]
    assert report["counts"]["repositories"] == 9
    assert not (target.live.home / "repos" / "attic" / "old-tool").exists()


def test_move_removes_the_sources(fresh: tuple[Target, Path]) -> None:
    target, instance = fresh
    proc = target.import_(instance, "--move", "--json")
    assert proc.returncode == 0, proc.stderr
    for name in REPOS:
        assert not (instance / "repos" / name).exists()
        assert (target.live.home / "repos" / name).is_dir()
    assert not list((instance / "repos" / ".rc_gist_store").iterdir())


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a plain import of the fixture into a fresh SQLite target ends in, as the stable
    snapshot (``_snapshot(…, volatile=False)``): every other way of importing it (killed and run
    again, from PostgreSQL) must end in the same. Made once: it is the same every time."""
    tmp = tmp_path_factory.mktemp("kallithea-reference")
    instance = unpack(tmp / "source")
    target = Target(tmp / "hearth", "sqlite")
    try:
        proc = target.import_(instance)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        return _snapshot(target, volatile=False)
    finally:
        target.close()


@pytest.mark.parametrize(
    "kill_at",
    [
        "import: copying upstream-mirror",  # in the middle of the copies
        "import: writing 12 api_keys",  # users written, not committed
        "import: placing projects/libs/corelib",  # in the middle of the renames
    ],
)
def test_killed_import_rerun_gives_the_same_result(
    tmp_path: Path, kill_at: str, reference: dict[str, Any]
) -> None:
    target = Target(tmp_path / "hearth", "sqlite")
    try:
        instance = unpack(tmp_path / "source")
        argv = [
            sys.executable,
            "-m",
            "hearth",
            "admin",
            "import-kallithea",
            "--db",
            source_url(instance),
            "--repos",
            str(instance / "repos"),
        ]
        child = subprocess.Popen(
            argv, env=target.live.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        assert child.stderr is not None
        for line in child.stderr:
            if line.strip() == kill_at:
                child.send_signal(signal.SIGKILL)
                break
        child.wait()
        assert child.returncode == -signal.SIGKILL
        killed = _snapshot(target)
        assert killed["tables"]["import_runs"] == []  # killed before its commit
        rerun = target.import_(instance, "--json")
        assert rerun.returncode == 0, rerun.stderr
        if "placing" in kill_at:
            # three repositories were renamed into place before the kill: the rerun removed them
            assert "hello-git" in killed["paths"] and killed["tables"]["repositories"] == []
            assert len(report_of(rerun)["recovered"]) >= 3
        assert _snapshot(target, volatile=False) == reference
    finally:
        target.close()


def copy_to_postgres(instance: Path) -> str:
    """Kallithea's tables and rows, as they are in the fixture's SQLite file, in a new PostgreSQL
    database (what an instance that ran on PostgreSQL holds); returns its URL."""
    from sqlalchemy import Column, DateTime, LargeBinary, MetaData, Table, create_engine, select
    from sqlalchemy import types as sqltypes

    url = create_pg_database()
    source = create_engine(source_url(instance))
    target = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        meta = MetaData()
        meta.reflect(source)
        copy = MetaData()
        for table in meta.sorted_tables:
            columns = []
            for column in table.columns:
                kind: Any = column.type
                if isinstance(kind, sqltypes.DateTime):
                    kind = DateTime()
                elif isinstance(kind, sqltypes.LargeBinary | sqltypes.BLOB):
                    kind = LargeBinary()
                columns.append(
                    Column(
                        column.name, kind, primary_key=column.primary_key, nullable=column.nullable
                    )
                )
            Table(table.name, copy, *columns)
        copy.create_all(target)
        with source.connect() as read, target.begin() as write:
            for table in meta.sorted_tables:
                rows = [dict(r._mapping) for r in read.execute(select(table))]
                for row in rows:
                    for key, value in row.items():
                        if isinstance(value, str) and isinstance(
                            copy.tables[table.name].c[key].type, LargeBinary
                        ):
                            row[key] = value.encode()
                if rows:
                    write.execute(copy.tables[table.name].insert(), rows)
    finally:
        source.dispose()
        target.dispose()
    return url


def test_postgres_source_gives_the_same_result(tmp_path: Path, reference: dict[str, Any]) -> None:
    _need_postgres()
    instance = unpack(tmp_path / "source")
    pg_source = copy_to_postgres(instance)
    target = Target(tmp_path / "hearth", "sqlite")
    try:
        proc = target.live.cli(
            "admin", "import-kallithea", "--db", pg_source, "--repos", str(instance / "repos"),
            "--json", check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert report_of(proc)["source"].startswith("postgresql")
        assert _snapshot(target, volatile=False) == reference
    finally:
        target.close()
        drop_pg_database(pg_source)


def test_locks_of_older_schemas_come_over(fresh: tuple[Target, Path]) -> None:
    """Kallithea 0.7 dropped locking; a database of an older schema still has its columns."""
    target, instance = fresh
    conn = sqlite3.connect(instance / "kallithea.db")
    conn.execute("ALTER TABLE repositories ADD COLUMN enable_locking BOOLEAN NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE repositories ADD COLUMN locked VARCHAR(255)")
    conn.execute(
        "UPDATE repositories SET enable_locking = 1, locked = '4:1700000000.5:lock_auto' "
        "WHERE repo_name = 'hello-git'"
    )
    conn.commit()
    conn.close()
    proc = target.import_(instance, "--json")
    assert proc.returncode == 0, proc.stderr
    engine = make_engine(target.live.database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                text(
                    "SELECT repo_name, enable_locking, locked_by, locked_date, lock_reason "
                    "FROM repositories WHERE repo_name IN ('hello-git', 'hello-hg') "
                    "ORDER BY repo_name"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("hello-git", True, 4, 1700000000.5, "lock_auto"),
        ("hello-hg", False, None, None, None),
    ]


def test_web_sign_in_takes_the_old_passwords_as_clone_push_does(imported: Any) -> None:
    """The sign-in form applies the same rules as HTTP Basic: an imported bcrypt password signs
    in (and is re-hashed with argon2), an inactive user is refused, an ``ldap`` user has no
    password here."""
    live = imported[0]

    def sign_in(login: str, password: str) -> httpx.Response:
        browser = client(live)
        token = csrf_of(browser.get("/_admin/login").text)
        return browser.post(
            "/_admin/login", data={"username": login, "password": password, "_csrf": token}
        )

    answer = sign_in("bob", PASSWORDS["bob"])  # bcrypt before, unless a clone signed in first
    assert answer.status_code == 303, answer.text
    assert stored_hashes(live)["bob"].startswith("$argon2id$")
    assert sign_in("bob", PASSWORDS["bob"]).status_code == 303  # the new hash takes it too
    assert sign_in("bob", PASSWORDS["bob"] + "x").status_code == 401
    assert "disabled" in sign_in("dave", PASSWORDS["dave"]).text  # inactive
    assert sign_in("erin", PASSWORDS["erin"]).status_code == 401  # ldap: no password sign-in

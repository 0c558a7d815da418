# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``hearth`` command's ``user``, ``api-key``, ``repo``, ``admin`` and ``doctor`` groups, run as
the program's own Typer application in process (one test starts ``python -m hearth``) against
real instances.

Changes made on the command line are checked through the API (a deactivated user's key stops working,
a revoked key is refused), in the database itself (the stored password hash) or on disk (repository
directories, ``rm__`` directories). The ``repo`` commands need no server: they run against an
initialised instance per database backend.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import hearth.vcs.hg  # Mercurial binds sys.stderr on import: see hearth() below
from hearth.cli import admin
from hearth.config import load_settings
from hearth.db.models import User
from hearth.db.session import Database
from hearth.services import bootstrap, permissions, repos
from hearth.services.passwords import verify_password
from tests.live import (
    IN_CI,
    LiveServer,
    create_pg_database,
    drop_pg_database,
    free_port,
    postgres_available,
    unique,
)
from tests.vcs_fixtures import git, hg

CHECKS = [
    "configuration",
    "whitelist",
    "database",
    "migrations",
    "initialised",
    "git",
    "mercurial",
    "repositories",
]


@dataclass(frozen=True)
class Done:
    """One ``hearth`` run: what a shell would see of it."""

    returncode: int
    stdout: str
    stderr: str


def hearth(env: dict[str, str], *args: str, input: str | None = None) -> Done:
    """Run ``hearth <args>`` in this process with ``env`` as its environment.

    In process because starting Python and importing SQLAlchemy, Typer and rich took about a
    second per command, most of this module's time; ``test_the_command_runs_as_a_process``
    covers the entry point itself. An exception that escapes the command shows in ``stderr``
    as its traceback would. Mercurial binds ``sys.stderr`` once, when first imported, so this
    module imports it first: inside a run it would bind the runner's stream, closed after.
    """
    unset: dict[str, str | None] = {name: None for name in os.environ if name not in env}
    result = CliRunner().invoke(
        admin.app, list(args), input=input, env={**unset, **env, "COLUMNS": "250"}
    )
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Done(result.exit_code, result.stdout, stderr)


def hearth_process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hearth", *args],
        env={**env, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def as_json(done: Done) -> Any:
    """The parsed stdout of a ``--json`` run, which ``python -m json.tool`` accepts too."""
    assert done.stderr == "", done.stderr
    tool = subprocess.run(
        [sys.executable, "-m", "json.tool"], input=done.stdout, capture_output=True, text=True
    )
    assert tool.returncode == 0, tool.stderr
    return json.loads(done.stdout)


def create(server: LiveServer) -> dict[str, Any]:
    name = unique("cli")
    done = hearth(server.env, "user", "create", name, "--email", f"{name}@Example.com", "--json")
    assert done.returncode == 0, done.stderr
    return as_json(done)


def stored_password(server: LiveServer, username: str) -> str:
    database = Database(server.database_url)
    try:
        with database.sessions() as db:
            return db.scalar(select(User.password).where(User.username == username)) or ""
    finally:
        database.dispose()


# --- hearth user … ------------------------------------------------------------------------------


def test_user_create_json_and_list(server: LiveServer) -> None:
    name = unique("cli")
    done = hearth(
        server.env,
        "user",
        "create",
        name,
        "--email",
        f"{name}@Example.com",
        "--firstname",
        "Ada",
        "--admin",
        "--json",
    )
    user = as_json(done)
    assert user["username"] == name
    assert user["email"] == f"{name}@example.com"
    assert (user["admin"], user["active"], user["firstname"]) == (True, True, "Ada")
    assert server.ok("get_user", userid=user["user_id"])["username"] == name

    listed = as_json(hearth(server.env, "user", "list", "--json"))
    assert user in listed
    assert "default" not in [u["username"] for u in listed]
    names = [u["username"] for u in listed]
    assert names == sorted(names)

    table = hearth(server.env, "user", "list")
    assert table.returncode == 0
    row = next(line for line in table.stdout.splitlines() if f" {name} " in line)
    assert str(user["user_id"]) in row and f"{name}@example.com" in row and "Ada" in row


def test_user_create_human_and_the_old_spelling(server: LiveServer) -> None:
    name = unique("cli")
    done = hearth(server.env, "user", "create", name, "--email", f"{name}@example.com")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(rf"created new user `{name}` \(ID \d+\)\n", done.stdout)

    again = hearth(server.env, "user", "create", name, "--email", f"other{name}@example.com")
    assert (again.returncode, again.stderr) == (1, f"hearth: user `{name}` already exist\n")

    old = unique("cli")
    done = hearth(server.env, "admin", "create-user", old, "--email", f"{old}@example.com")
    assert re.fullmatch(rf"created new user `{old}` \(ID \d+\)\n", done.stdout), done.stderr


def test_set_password(server: LiveServer) -> None:
    user = create(server)
    name = user["username"]
    done = hearth(server.env, "user", "set-password", name, "--password", "first-Secret")
    assert (done.returncode, done.stdout) == (0, f"password of `{name}` changed\n")
    assert verify_password(stored_password(server, name), "first-Secret")

    done = hearth(server.env, "user", "set-password", name, "--json", input="second-Secret\n")
    assert as_json(done) == {"username": name, "password_changed": True}
    stored = stored_password(server, name)
    assert verify_password(stored, "second-Secret")
    assert not verify_password(stored, "first-Secret")

    empty = hearth(server.env, "user", "set-password", name, input="\n")
    assert empty.returncode == 2
    assert stored_password(server, name) == stored

    done = hearth(server.env, "admin", "set-password", name, "--password", "third-Secret")
    assert done.returncode == 0
    assert verify_password(stored_password(server, name), "third-Secret")


def test_deactivate_and_activate(server: LiveServer) -> None:
    user, key = server.new_user("cli")
    name = user["username"]
    assert server.ok("get_user", key)["username"] == name

    done = hearth(server.env, "user", "deactivate", name, "--json")
    assert as_json(done)["active"] is False
    assert server.err("get_user", key) == "Invalid API key"
    assert server.ok("get_user", userid=name)["active"] is False

    done = hearth(server.env, "user", "activate", name)
    assert (done.returncode, done.stdout) == (0, f"activated user `{name}`\n")
    assert server.ok("get_user", key)["username"] == name

    done = hearth(server.env, "user", "deactivate", name)
    assert done.stdout == f"deactivated user `{name}`\n"


def test_deactivate_refusals(server: LiveServer) -> None:
    done = hearth(server.env, "user", "deactivate", "default")
    assert (done.returncode, done.stderr) == (1, "hearth: editing default user is forbidden\n")
    missing = unique("nobody")
    done = hearth(server.env, "user", "deactivate", missing, "--json")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"hearth: user `{missing}` does not exist\n"


# --- hearth api-key … ---------------------------------------------------------------------------


def test_api_key_create_list_revoke(server: LiveServer) -> None:
    user = create(server)
    name = user["username"]
    done = hearth(server.env, "api-key", "create", name, "--description", "ci job")
    assert done.returncode == 0, done.stderr
    key = done.stdout.splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    assert done.stdout == key + "\n"  # alone, so that KEY=$(hearth api-key create u) works
    assert server.ok("get_user", key)["username"] == name

    listed = as_json(hearth(server.env, "api-key", "list", name, "--json"))
    assert key not in json.dumps(listed)
    mine = [k for k in listed if k["hint"] == key[-4:] and k["description"] == "ci job"]
    assert len(mine) == 1
    entry = mine[0]
    assert entry["username"] == name
    assert (entry["role"], entry["expires"], entry["expired"], entry["is_main"]) == (
        "all",
        -1.0,
        False,
        False,
    )
    assert [k["is_main"] for k in listed].count(True) == 1  # the main key from user create

    for args in (("api-key", "list"), ("api-key", "list", name)):
        table = hearth(server.env, *args)
        assert table.returncode == 0
        assert key not in table.stdout
        assert f"…{key[-4:]}" in table.stdout and "ci job" in table.stdout

    everybody = as_json(hearth(server.env, "api-key", "list", "--json"))
    assert {"admin", name} <= {k["username"] for k in everybody}

    done = hearth(server.env, "api-key", "revoke", name, str(entry["key_id"]), "--json")
    revoked = as_json(done)
    assert (revoked["key_id"], revoked["revoked"]) == (entry["key_id"], True)
    assert server.err("get_user", key) == "Invalid API key"

    done = hearth(server.env, "api-key", "revoke", name, str(entry["key_id"]))
    assert done.returncode == 1
    assert done.stderr == f"hearth: `{name}` has no API key with ID {entry['key_id']}\n"


def test_api_key_revoke_is_per_user(server: LiveServer) -> None:
    owner, other = create(server), create(server)
    key = hearth(server.env, "api-key", "create", owner["username"]).stdout.strip()
    entry = next(
        k
        for k in as_json(hearth(server.env, "api-key", "list", owner["username"], "--json"))
        if k["hint"] == key[-4:] and not k["is_main"]
    )
    done = hearth(server.env, "api-key", "revoke", other["username"], str(entry["key_id"]))
    assert done.returncode == 1
    assert server.ok("get_user", key)["username"] == owner["username"]
    done = hearth(server.env, "api-key", "revoke", owner["username"], str(entry["key_id"]))
    assert re.fullmatch(rf"revoked key {entry['key_id']} \(…{key[-4:]}\) of `.+`\n", done.stdout)


def test_api_key_create_json_roles_and_expiry(server: LiveServer) -> None:
    name = create(server)["username"]
    issued = as_json(hearth(server.env, "api-key", "create", name, "--role", "api", "--json"))
    assert issued["role"] == "api" and issued["hint"] == issued["key"][-4:]
    assert server.ok("get_user", issued["key"])["username"] == name

    vcs = as_json(hearth(server.env, "api-key", "create", name, "--role", "vcs", "--json"))
    assert server.err("get_user", vcs["key"]) == "Invalid API key"

    expired = as_json(hearth(server.env, "api-key", "create", name, "--expires-in", "0", "--json"))
    assert expired["expired"] is True
    assert server.err("get_user", expired["key"]) == "Invalid API key"

    later = as_json(hearth(server.env, "api-key", "create", name, "--expires-in", "1", "--json"))
    assert later["expired"] is False and later["expires"] > 0
    assert server.ok("get_user", later["key"])["username"] == name

    bad = hearth(server.env, "api-key", "create", name, "--role", "root")
    assert (bad.returncode, bad.stdout) == (2, "")


def test_admin_api_key_keeps_working(server: LiveServer) -> None:
    name = create(server)["username"]
    done = hearth(server.env, "admin", "api-key", name)
    assert re.fullmatch(r"[0-9a-f]{40}\n", done.stdout)
    key = done.stdout.strip()
    assert server.ok("get_user", key)["username"] == name
    listed = as_json(hearth(server.env, "api-key", "list", name, "--json"))
    assert any(k["description"] == "hearth admin api-key" for k in listed)


# --- hearth doctor ------------------------------------------------------------------------------


def test_doctor_on_a_healthy_instance(server: LiveServer) -> None:
    report = as_json(hearth(server.env, "doctor", "--json"))
    assert report["ok"] is True
    assert [c["check"] for c in report["checks"]] == CHECKS
    assert all(c["ok"] and c["fix"] is None for c in report["checks"])

    done = hearth(server.env, "doctor")
    assert done.returncode == 0
    assert done.stdout.endswith("All checks passed.\n")
    assert "problem" not in done.stdout


def test_the_command_runs_as_a_process(server: LiveServer) -> None:
    """The entry point itself: exit codes, stdout and stderr as a shell sees them."""
    done = hearth_process(server.env, "doctor", "--json")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert json.loads(done.stdout)["ok"] is True
    refused = hearth_process(server.env, "user", "create", "admin", "--email", "a@example.com")
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == "hearth: user `admin` already exist\n"


@pytest.fixture
def instance(tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh, initialised SQLite instance (no server needed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        HEARTH_HOME=str(tmp_path / "home"),
        HEARTH_DATABASE_URL=f"sqlite:///{tmp_path / 'home' / 'hearth.db'}",
        HEARTH_ADMIN_PASSWORD="admin-secret-1",
    )
    done = hearth(env, "init")
    assert done.returncode == 0, done.stderr
    assert as_json(hearth(env, "doctor", "--json"))["ok"] is True
    return env


def broken(env: dict[str, str], **changes: str) -> dict[str, Any]:
    """The JSON report for ``env`` with ``changes``; doctor must exit 1 and list the problems."""
    done = hearth({**env, **changes}, "doctor", "--json")
    assert done.returncode == 1, done.stdout
    report = as_json(done)
    assert report["ok"] is False
    return {c["check"]: c for c in report["checks"]}


def test_doctor_missing_repository_directory(instance: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "no-repos"
    checks = broken(instance, HEARTH_REPOS=str(missing))
    assert list(checks) == CHECKS
    problem = checks["repositories"]
    assert problem["ok"] is False
    assert problem["detail"] == f"{missing} does not exist"
    assert f"mkdir -p {missing}" in problem["fix"]
    assert all(c["ok"] for name, c in checks.items() if name != "repositories")

    done = hearth({**instance, "HEARTH_REPOS": str(missing)}, "doctor")
    assert done.returncode == 1
    assert f"problem: repositories: {missing} does not exist\n  fix: " in done.stdout
    assert done.stdout.endswith("1 problem(s) found.\n")


def test_doctor_repository_path_is_a_file(instance: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "a-file"
    path.write_text("")
    checks = broken(instance, HEARTH_REPOS=str(path))
    assert checks["repositories"]["detail"] == f"{path} is not a directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_doctor_unwritable_repository_directory(instance: dict[str, str], tmp_path: Path) -> None:
    repos = tmp_path / "ro"
    repos.mkdir(mode=0o500)
    checks = broken(instance, HEARTH_REPOS=str(repos))
    assert checks["repositories"]["detail"].startswith(f"{repos} is not writable")


def test_doctor_database_that_cannot_be_opened(instance: dict[str, str], tmp_path: Path) -> None:
    nowhere = tmp_path / "no-such-dir" / "hearth.db"
    checks = broken(instance, HEARTH_DATABASE_URL=f"sqlite:///{nowhere}")
    assert checks["database"]["ok"] is False
    assert checks["database"]["detail"] == f"no database file at {nowhere}"
    assert "hearth init" in checks["database"]["fix"]
    assert "migrations" not in checks
    assert checks["repositories"]["ok"] is True

    port = free_port()
    checks = broken(instance, HEARTH_DATABASE_URL=f"postgresql://hearth:s3cret@127.0.0.1:{port}/x")
    detail = checks["database"]["detail"]
    assert detail.startswith(f"cannot open postgresql://hearth:***@127.0.0.1:{port}/x: ")
    assert "s3cret" not in json.dumps(checks)
    assert "HEARTH_DATABASE_URL" in checks["database"]["fix"]


def test_doctor_pending_migrations(instance: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    checks = broken(instance, HEARTH_DATABASE_URL=f"sqlite:///{empty}")
    assert checks["database"]["ok"] is True
    assert checks["migrations"]["ok"] is False
    assert re.fullmatch(r"\d+ not applied: .+", checks["migrations"]["detail"])
    assert "hearth init" in checks["migrations"]["fix"]


def test_doctor_missing_git(instance: dict[str, str]) -> None:
    checks = broken(instance, HEARTH_GIT_PATH="/nonexistent/git")
    assert checks["git"]["detail"] == "cannot run `/nonexistent/git --version`"
    assert "HEARTH_GIT_PATH" in checks["git"]["fix"]


def test_doctor_bad_configuration(instance: dict[str, str]) -> None:
    checks = broken(instance, HEARTH_PORT="eighty")
    assert list(checks) == ["configuration"]
    assert checks["configuration"]["detail"] == "port: expected an integer, got 'eighty'"
    assert "HEARTH_" in checks["configuration"]["fix"]


# --- hearth repo … ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    env: dict[str, str]
    repos: Path
    database_url: str


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def repo_instance(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Instance]:
    """An initialised instance per database backend, shared by the ``repo`` tests (no server)."""
    pg_url = None
    if request.param == "postgres":
        if not postgres_available():
            if IN_CI:
                pytest.fail("PostgreSQL at 127.0.0.1:5432 is required under CI=true")
            pytest.skip("PostgreSQL is not reachable")
        pg_url = create_pg_database()
    home = tmp_path_factory.mktemp(f"cli-repos-{request.param}")
    url = pg_url or f"sqlite:///{home / 'hearth.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(HEARTH_HOME=str(home), HEARTH_DATABASE_URL=url, HEARTH_ADMIN_PASSWORD="admin-1-pw")
    done = hearth(env, "init")
    assert done.returncode == 0, done.stderr
    yield Instance(env, home / "repos", url)
    if pg_url:
        drop_pg_database(pg_url)


def listed(instance: Instance) -> dict[str, dict[str, Any]]:
    return {r["repo_name"]: r for r in as_json(hearth(instance.env, "repo", "list", "--json"))}


def make_fork(instance: Instance, source: str, name: str) -> None:
    """A fork made through the service (the CLI has no fork command), as the first admin."""
    settings = load_settings(environ=instance.env, config_file=instance.repos / "no-such.toml")
    database = Database(instance.database_url)
    try:
        with database.session() as db:
            admin = bootstrap.first_admin(db)
            default_id = bootstrap.default_user_id(db)
            assert admin is not None and default_id is not None
            actor = permissions.actor_for(db, admin, default_id)
            new = repos.NewFork(name, None, "", False, False, "rev:tip")
            repos.fork(db, actor, settings, source, new)
    finally:
        database.dispose()


def test_repo_create_and_list(repo_instance: Instance) -> None:
    env = repo_instance.env
    owner = unique("owner")
    done = hearth(env, "user", "create", owner, "--email", f"{owner}@example.com")
    assert done.returncode == 0, done.stderr

    tools = unique("tools")
    done = hearth(
        env, "repo", "create", tools, "--type", "git", "--description", "[b]eta", "--json"
    )
    created = as_json(done)
    assert (created["msg"], created["success"], created["task"]) == (
        f"Created new repository `{tools}`",
        True,
        None,
    )
    repo = created["repo"]
    assert (repo["repo_name"], repo["repo_type"], repo["description"]) == (tools, "git", "[b]eta")
    assert (repo["owner"], repo["private"], repo["fork_of"]) == ("admin", False, None)
    assert (repo_instance.repos / tools / "HEAD").is_file()  # a bare git repository

    docs = f"{unique('grp')}/docs"
    done = hearth(env, "repo", "create", docs, "--type", "hg", "--owner", owner, "--private")
    path = repo_instance.repos / docs
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(rf"Created new repository `{docs}` \(ID \d+, hg\) in {path}\n", done.stdout)
    assert (path / ".hg").is_dir()

    found = listed(repo_instance)
    assert found[tools] == repo
    assert (found[docs]["repo_type"], found[docs]["owner"], found[docs]["private"]) == (
        "hg",
        owner,
        True,
    )
    assert found[docs]["description"] == "docs"
    ids = [r["repo_id"] for r in found.values()]
    assert ids == sorted(ids)

    table = hearth(env, "repo", "list")
    assert (table.returncode, table.stderr) == (0, "")
    row = next(line for line in table.stdout.splitlines() if f" {tools} " in line)
    assert str(repo["repo_id"]) in row and " git " in row and "[b]eta" in row and "empty" in row
    row = next(line for line in table.stdout.splitlines() if f" {docs} " in line)
    assert f" {owner} " in row and " yes " in row


def test_repo_create_refusals(repo_instance: Instance) -> None:
    env = repo_instance.env
    name = unique("taken")
    bad = hearth(env, "repo", "create", name, "--type", "svn", "--json")
    assert (bad.returncode, bad.stdout, bad.stderr) == (
        2,
        "",
        "hearth: --type must be one of git,hg\n",
    )
    assert not (repo_instance.repos / name).exists()

    assert hearth(env, "repo", "create", name, "--type", "hg").returncode == 0
    again = hearth(env, "repo", "create", name, "--type", "git", "--json")
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == f"hearth: repo `{name}` already exist\n"
    assert (repo_instance.repos / name / ".hg").is_dir()  # the first one is untouched

    spaced = hearth(env, "repo", "create", "a b", "--type", "git")
    assert (spaced.returncode, spaced.stderr) == (
        1,
        "hearth: Invalid repository name `a b`: character ` ` is not allowed\n",
    )

    nobody, orphan = unique("nobody"), unique("orphan")
    done = hearth(env, "repo", "create", orphan, "--type", "git", "--owner", nobody)
    assert (done.returncode, done.stderr) == (1, f"hearth: user `{nobody}` does not exist\n")
    assert not (repo_instance.repos / orphan).exists()


def deleted_dirs(parent: Path, last: str) -> list[Path]:
    return [
        p for p in parent.iterdir() if re.fullmatch(rf"rm__\d{{8}}_\d{{6}}_\d{{6}}__{last}", p.name)
    ]


def test_repo_delete_and_its_forks(repo_instance: Instance) -> None:
    env, root = repo_instance.env, repo_instance.repos
    source, fork = unique("src"), unique("fork")
    assert hearth(env, "repo", "create", source, "--type", "git").returncode == 0
    make_fork(repo_instance, source, fork)

    done = hearth(env, "repo", "delete", source, "--yes")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"hearth: Cannot delete `{source}` it still contains attached forks\n"

    done = hearth(env, "repo", "delete", source, "--forks", "sideways", "--yes")
    assert (done.returncode, done.stderr) == (2, "hearth: --forks must be one of delete,detach\n")

    done = hearth(env, "repo", "delete", source, "--forks", "detach", input="n\n")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"Delete repository `{source}`? [y/N]:")
    assert done.stderr.endswith("\nhearth: nothing deleted (confirm, or pass --yes)\n")
    assert (root / source).is_dir()

    done = hearth(env, "repo", "delete", source, "--forks", "detach", "--yes", "--json")
    assert as_json(done) == {
        "msg": f"Deleted repository `{source}` Detached 1 forks",
        "success": True,
        "repo_name": source,
        "forks": 1,
    }
    assert not (root / source).exists() and len(deleted_dirs(root, source)) == 1
    found = listed(repo_instance)
    assert source not in found and found[fork]["fork_of"] is None

    done = hearth(env, "repo", "delete", fork, input="y\n")
    assert (done.returncode, done.stdout) == (0, f"Deleted repository `{fork}`\n")
    assert len(deleted_dirs(root, fork)) == 1

    missing = unique("missing")
    done = hearth(env, "repo", "delete", missing, "--yes", "--json")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"hearth: repository `{missing}` does not exist\n"


def test_repo_delete_with_its_forks(repo_instance: Instance) -> None:
    env, root = repo_instance.env, repo_instance.repos
    source, fork, grandchild = unique("src"), unique("fork"), unique("fork")
    assert hearth(env, "repo", "create", source, "--type", "hg").returncode == 0
    make_fork(repo_instance, source, fork)
    make_fork(repo_instance, fork, grandchild)
    done = hearth(env, "repo", "delete", source, "--forks", "delete", "-y")
    assert (done.returncode, done.stdout) == (0, f"Deleted repository `{source}` Deleted 2 forks\n")
    found = listed(repo_instance)
    for name in (source, fork, grandchild):
        assert name not in found
        assert not (root / name).exists() and len(deleted_dirs(root, name)) == 1


def test_repo_rescan(repo_instance: Instance) -> None:
    env, root = repo_instance.env, repo_instance.repos
    by_git, group, by_hg = unique("handgit"), unique("handgrp"), unique("handhg")
    git(root, "init", "-q", "--bare", by_git)
    (root / group).mkdir()
    hg(root / group, "init", by_hg)
    hg_name = f"{group}/{by_hg}"

    result = as_json(hearth(env, "repo", "rescan", "--json"))
    assert set(result) == {"added", "removed", "obsolete", "skipped"}
    assert {by_git, hg_name} <= set(result["added"])
    found = listed(repo_instance)
    assert (found[by_git]["repo_type"], found[hg_name]["repo_type"]) == ("git", "hg")
    assert found[by_git]["description"] == f"{by_git} repository"
    assert found[by_git]["owner"] == "admin"

    shutil.rmtree(root / by_git)
    done = hearth(env, "repo", "rescan")
    assert (done.returncode, done.stderr) == (0, "")
    assert re.search(rf"│ obsolete +│ {by_git} +│", done.stdout), done.stdout
    assert "--remove-obsolete" in done.stdout
    assert by_git in listed(repo_instance)  # only reported

    removed = as_json(hearth(env, "admin", "repo", "rescan", "--remove-obsolete", "--json"))
    assert by_git in removed["removed"] and by_git not in removed["obsolete"]
    found = listed(repo_instance)
    assert by_git not in found and hg_name in found


def test_repo_commands_need_an_initialised_instance(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(HEARTH_HOME=str(tmp_path), HEARTH_DATABASE_URL=f"sqlite:///{tmp_path}/x/h.db")
    done = hearth(env, "repo", "list", "--json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("hearth: cannot open the database (sqlite:///")
    assert done.stderr.count("\n") == 1


# --- hearth admin purge-deleted -----------------------------------------------------------------


def stamp(when: datetime) -> str:
    return when.strftime("%Y%m%d_%H%M%S_%f")


def test_purge_deleted(tmp_path: Path) -> None:
    root = tmp_path / "repos"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(HEARTH_HOME=str(tmp_path), HEARTH_REPOS=str(root))
    now = datetime.now(UTC)
    old_top = f"rm__{stamp(now - timedelta(days=40))}__old"
    old_grp = f"grp/rm__{stamp(now - timedelta(days=31))}__older"
    recent = f"rm__{stamp(now - timedelta(hours=2))}__recent"
    future = f"rm__{stamp(now + timedelta(days=1))}__future"
    ancient = f"rm__{stamp(datetime(2001, 2, 3, tzinfo=UTC))}"
    outside = tmp_path / "outside"
    outside.mkdir()
    for path in (old_top, old_grp, recent, future):
        (root / path / "objects").mkdir(parents=True)
        (root / path / "objects" / "x").write_text("x")
    keep = [
        "rm__notastamp",  # not a name Hearth writes
        "rm__20201301_000000_000000__badmonth",
        f".hearth/{ancient}__scratch",  # never entered
        f"live/{ancient}__inside",  # inside a repository
        f"grp/{ancient}__afile",  # a file
        f"{ancient}__link",  # a symbolic link
        f"{ancient}__link/objects",
    ]
    (root / "rm__notastamp").mkdir()
    (root / "rm__20201301_000000_000000__badmonth").mkdir()
    (root / ".hearth" / f"{ancient}__scratch").mkdir(parents=True)
    hg(root, "init", "live")
    (root / "live" / f"{ancient}__inside").mkdir()
    (root / "grp" / f"{ancient}__afile").write_text("not a directory")
    (outside / "objects").mkdir()
    (root / f"{ancient}__link").symlink_to(outside)

    def entry(path: str, name: str, days: float) -> dict[str, str]:
        when = (now - timedelta(days=days)).isoformat(timespec="seconds")
        return {"path": path, "repo_name": name, "deleted_on": when}

    dry = as_json(hearth(env, "admin", "purge-deleted", "--dry-run", "--json"))
    assert dry["removed"] == [entry(old_grp, "grp/older", 31), entry(old_top, "old", 40)]
    assert [k["path"] for k in dry["kept"]] == [recent, future]
    assert (dry["dry_run"], dry["older_than"], dry["root"], dry["failed"]) == (
        True,
        "30d",
        str(root),
        [],
    )
    assert all((root / p).is_dir() for p in (old_top, old_grp, recent, future))

    done = hearth(env, "admin", "purge-deleted")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.endswith(
        f"Removed 2 deleted repositories older than 30d in {root}; kept 2 newer ones.\n"
    )
    assert old_grp in done.stdout and "grp/older" in done.stdout
    assert not (root / old_top).exists() and not (root / old_grp).exists()
    assert (root / recent).is_dir() and (root / "grp").is_dir()

    done = hearth(env, "admin", "purge-deleted", "--older-than", "1h", "--json")
    assert [k["path"] for k in as_json(done)["removed"]] == [recent]
    assert (root / future).is_dir()
    assert all((root / p).exists() for p in keep) and (outside / "objects").is_dir()
    assert (root / "live" / ".hg").is_dir()

    done = hearth(env, "admin", "purge-deleted", "--older-than", "0d", "--dry-run", "--json")
    assert as_json(done)["removed"] == []  # a time in the future is never old

    done = hearth(env, "admin", "purge-deleted", "--older-than", "a month")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "hearth: Invalid age `a month`: use a number and a unit (w, d, h, m or s), e.g. 30d\n"
    )
    gone = tmp_path / "gone"
    done = hearth({**env, "HEARTH_REPOS": str(gone)}, "admin", "purge-deleted", "--json")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"hearth: the repository root {gone} is not a directory\n"


def test_ip_rules_add_remove_and_refusals(server: LiveServer) -> None:
    """Garbage is one line and exit 2 for add and remove alike (remove used to raise a
    traceback); removing a rule that is not there is exit 1."""
    name = create(server)["username"]
    added = hearth(server.env, "admin", "ip-rule", "add", name, "10.1.2.3/8")
    assert (added.returncode, added.stdout.strip()) == (0, f"added 10.0.0.0/8 for `{name}`")
    assert server.ok("get_ip", userid=name)["user_ips"][0]["ip_addr"] == "10.0.0.0/8"
    for verb in ("add", "remove"):
        bad = hearth(server.env, "admin", "ip-rule", verb, name, "not-an-ip")
        assert bad.returncode == 2
        assert bad.stderr.strip() == "hearth: not an IP address or CIDR range: not-an-ip"
    removed = hearth(server.env, "admin", "ip-rule", "remove", name, "10.0.0.0/8")
    assert (removed.returncode, removed.stdout.strip()) == (0, f"removed 10.0.0.0/8 for `{name}`")
    again = hearth(server.env, "admin", "ip-rule", "remove", name, "10.0.0.0/8")
    assert again.returncode == 1
    assert again.stderr.strip() == f"hearth: `{name}` has no rule 10.0.0.0/8"
    assert server.ok("get_ip", userid=name)["user_ips"] == []

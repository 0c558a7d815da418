# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``hearth`` command's ``user``, ``api-key`` and ``doctor`` groups, against a live instance.

Changes made on the command line are checked through the API (a deactivated user's key stops working,
a revoked key is refused) or in the database itself (the stored password hash).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hearth.db.models import User
from hearth.db.session import Database
from hearth.services.passwords import verify_password
from tests.live import LiveServer, free_port, unique

CHECKS = [
    "configuration",
    "database",
    "migrations",
    "initialised",
    "git",
    "mercurial",
    "repositories",
]


def hearth(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hearth", *args],
        env={**env, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        input=input,
        timeout=120,
    )


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.stderr == "", done.stderr
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

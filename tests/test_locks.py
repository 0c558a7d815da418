# SPDX-License-Identifier: GPL-3.0-or-later
"""Locking (``methods.md`` §10, ``web-and-vcs.md`` §6): the API methods on the live server, and the
lock decisions the VCS handlers ask for, in process on a real database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hearth.config import Settings, load_settings
from hearth.db.session import Database
from hearth.services import bootstrap, locks, lookup, repoperms, repos, users
from hearth.services.permissions import Actor, Level
from tests.live import LiveServer, unique

# --- the API ---------------------------------------------------------------------------------------


def test_report_unlocked(server: LiveServer) -> None:
    name = server.new_repo()["repo_name"]
    assert server.ok("lock", repoid=name) == {
        "repo": name,
        "locked": False,
        "locked_since": None,
        "locked_by": None,
        "lock_reason": None,
        "lock_state_changed": False,
        "msg": f"Repo `{name}` not locked.",
    }


def test_lock_report_unlock_by_admin(server: LiveServer) -> None:
    name = server.new_repo()["repo_name"]
    before = time.time()
    result = server.ok("lock", repoid=name, locked=True)
    since = result.pop("locked_since")
    assert isinstance(since, float) and before - 1 <= since <= time.time() + 1
    assert result == {
        "repo": name,
        "locked": True,
        "locked_by": "admin",
        "lock_reason": "lock_api",
        "lock_state_changed": True,
        "msg": f"User `admin` set lock state for repo `{name}` to `True`",
    }
    repo = server.ok("get_repo", repoid=name)
    assert repo["locked_by"]["username"] == "admin"
    assert list(repo["locked_by"]) == [
        "user_id", "username", "firstname", "lastname", "email", "emails", "active", "admin",
    ]  # fmt: skip
    assert repo["lock_reason"] == "lock_api"
    date = repo["locked_date"]
    assert isinstance(date, str) and date.startswith(time.strftime("%Y-"))

    report = server.ok("lock", repoid=name)
    assert report == {
        "repo": name,
        "locked": True,
        "locked_since": since,
        "locked_by": "admin",
        "lock_reason": "lock_api",
        "lock_state_changed": False,
        "msg": f"Repo `{name}` locked by `admin` on `{json.dumps(date)}`.",
    }
    assert report["msg"].endswith(f'on `"{date}"`.')

    assert server.ok("lock", repoid=name, locked=False) == {
        "repo": name,
        "locked": False,
        "locked_since": None,
        "locked_by": "admin",
        "lock_reason": "lock_api",
        "lock_state_changed": True,
        "msg": f"User `admin` set lock state for repo `{name}` to `False`",
    }
    assert server.ok("lock", repoid=name)["msg"] == f"Repo `{name}` not locked."
    repo = server.ok("get_repo", repoid=name)
    assert (repo["locked_by"], repo["locked_date"], repo["lock_reason"]) == (None, None, None)


def test_lock_by_id_and_string_booleans(server: LiveServer) -> None:
    name = server.new_repo()["repo_name"]
    repo_id = server.ok("get_repo", repoid=name)["repo_id"]
    assert server.ok("lock", repoid=repo_id, locked="true")["locked"] is True
    assert server.ok("lock", repoid=str(repo_id))["locked"] is True
    assert server.ok("lock", repoid=name, locked="0")["msg"].endswith("to `False`")


def test_admin_locks_for_another_user(server: LiveServer) -> None:
    user, _ = server.new_user("lo")
    name = server.new_repo()["repo_name"]
    result = server.ok("lock", repoid=name, locked=True, userid=user["username"])
    assert result["locked_by"] == user["username"]
    assert result["msg"] == f"User `{user['username']}` set lock state for repo `{name}` to `True`"
    assert server.ok("lock", repoid=name)["msg"].startswith(
        f'Repo `{name}` locked by `{user["username"]}` on `"'
    )
    by_user = server.ok("get_locks", userid=user["user_id"])
    assert [r["repo_name"] for r in by_user] == [name]
    assert by_user[0]["locked_by"]["user_id"] == user["user_id"]
    assert [r["repo_name"] for r in server.ok("get_user_locks", userid=user["username"])] == [name]
    assert name in [r["repo_name"] for r in server.ok("get_locks")]


def test_lock_errors(server: LiveServer) -> None:
    name = server.new_repo()["repo_name"]
    missing = unique("nope")
    assert server.err("lock", repoid=missing) == f"repository `{missing}` does not exist"
    assert server.err("lock", repoid=name, userid=missing) == f"user `{missing}` does not exist"
    assert server.err("get_locks", userid=missing) == f"user `{missing}` does not exist"
    assert server.err("get_user_locks", userid=missing) == f"user `{missing}` does not exist"
    assert server.err("lock") == "Missing non optional `repoid` arg in JSON DATA"
    assert server.err("lock", repoid=name, locked="maybe") == (
        'Invalid value for `locked`: expected a boolean, got "maybe"'
    )


def test_non_admin_needs_write(server: LiveServer) -> None:
    user, key = server.new_user("nw")
    name = server.new_repo()["repo_name"]  # public: the user can read it
    assert server.ok("get_repo", key=key, repoid=name)["repo_name"] == name
    assert server.err("lock", key=key, repoid=name) == f"repository `{name}` does not exist"
    # the repository check comes before the self check
    assert server.err("lock", key=key, repoid=name, userid="admin") == (
        f"repository `{name}` does not exist"
    )
    server.ok(
        "grant_user_permission", repoid=name, userid=user["username"], perm="repository.write"
    )
    assert server.ok("lock", key=key, repoid=name)["locked"] is False


def test_non_admin_self_only(server: LiveServer) -> None:
    user, key = server.new_user("so")
    other, _ = server.new_user("ot")
    name = server.new_repo()["repo_name"]
    server.ok(
        "grant_user_permission", repoid=name, userid=user["username"], perm="repository.write"
    )
    text = "userid is not the same as your user"
    assert server.err("lock", key=key, repoid=name, locked=True, userid="admin") == text
    assert server.err("lock", key=key, repoid=name, userid=other["user_id"]) == text
    assert server.err("lock", key=key, repoid=name, userid=unique("ghost")) == text
    # README #15: own id, as number or digit string, and own username are accepted
    for ref in (user["user_id"], str(user["user_id"]), user["username"]):
        result = server.ok("lock", key=key, repoid=name, locked=True, userid=ref)
        assert result["locked_by"] == user["username"]
    result = server.ok("lock", key=key, repoid=name, locked=True)
    assert result["msg"] == f"User `{user['username']}` set lock state for repo `{name}` to `True`"
    assert server.err("get_locks", key=key, userid="admin") == text
    assert server.err("get_user_locks", key=key, userid=other["username"]) == text
    assert server.err("get_user_locks", key=key, userid=unique("ghost")) == text


def test_get_locks_non_admin_sees_only_own(server: LiveServer) -> None:
    """README #6: without ``userid`` a non-admin gets their own locks, not every lock."""
    user, key = server.new_user("gl")
    mine, admins = server.new_repo()["repo_name"], server.new_repo()["repo_name"]
    server.ok(
        "grant_user_permission", repoid=mine, userid=user["username"], perm="repository.write"
    )
    server.ok("lock", key=key, repoid=mine, locked=True)
    server.ok("lock", repoid=admins, locked=True)

    own = server.ok("get_locks", key=key)
    assert [r["repo_name"] for r in own] == [mine]
    assert own[0]["locked_by"]["username"] == user["username"]
    assert own[0]["lock_reason"] == "lock_api"
    assert server.ok("get_locks", key=key, userid=user["username"]) == own
    assert server.ok("get_user_locks", key=key) == own
    assert server.ok("get_user_locks", key=key, userid=str(user["user_id"])) == own

    every = [r["repo_name"] for r in server.ok("get_locks")]
    assert mine in every and admins in every
    assert every == sorted(every, key=lambda n: server.ok("get_repo", repoid=n)["repo_id"])
    assert admins in [r["repo_name"] for r in server.ok("get_user_locks")]
    assert mine not in [r["repo_name"] for r in server.ok("get_user_locks")]


def test_lock_on_private_repo_hidden_from_other_users(server: LiveServer) -> None:
    _, key = server.new_user("pv")
    name = server.new_repo(private=True)["repo_name"]
    assert server.err("lock", key=key, repoid=name) == f"repository `{name}` does not exist"
    server.ok("lock", repoid=name, locked=True)
    assert name not in [r["repo_name"] for r in server.ok("get_locks", key=key)]


# --- the lock decisions of the VCS layer (in process, real database) -------------------------------


@dataclass
class World:
    database: Database
    settings: Settings
    admin: Actor
    writer: Actor
    reader: Actor
    anonymous: Actor


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = load_settings(environ={"HEARTH_HOME": str(tmp_path)}, config_file=tmp_path / "none")
    database = Database(settings.database_url)
    bootstrap.initialise(database, settings)
    with database.session() as db:
        admin_user = bootstrap.first_admin(db)
        assert admin_user is not None
        default_id = bootstrap.default_user_id(db)
        assert default_id is not None
        made = {
            who: users.create_user(db, username=f"{who}1", email=f"{who}@example.com")
            for who in ("writer", "reader")
        }
        actors = {who: Actor(u.user_id, u.username, False, default_id) for who, u in made.items()}
    yield World(
        database,
        settings,
        Actor(admin_user.user_id, admin_user.username, True, default_id),
        actors["writer"],
        actors["reader"],
        Actor(default_id, "default", False, default_id),
    )
    database.dispose()


def make_repo(world: World, name: str, *, enable_locking: bool) -> None:
    with world.database.session() as db:
        repo = repos.create(
            db,
            world.admin,
            world.settings,
            repos.NewRepo(
                repo_name=name,
                owner=None,
                repo_type="git",
                description="",
                private=False,
                clone_uri=None,
                landing_rev="rev:tip",
                enable_statistics=None,
                enable_downloads=None,
                copy_permissions=False,
                enable_locking=enable_locking,
            ),
        )
        repoperms.set_user_level(db, repo.repo_id, world.writer.user_id, Level.WRITE)


def test_pull_auto_lock_needs_enable_locking(world: World) -> None:
    make_repo(world, "plain", enable_locking=False)
    with world.database.session() as db:
        repo = lookup.repository(db, "plain")
        assert locks.check_pull(db, repo, world.writer) == locks.ALLOWED
        assert locks.after_pull(db, repo, world.writer) is False
    with world.database.session() as db:
        assert lookup.repository(db, "plain").locked_by is None


def test_pull_auto_lock_only_with_write(world: World) -> None:
    """README #32: a puller with read only does not take the lock; README #33: real time."""
    make_repo(world, "auto", enable_locking=True)
    with world.database.session() as db:
        repo = lookup.repository(db, "auto")
        assert locks.after_pull(db, repo, world.reader) is False
        assert locks.after_pull(db, repo, None) is False
        assert locks.after_pull(db, repo, world.anonymous) is False
        assert repo.locked_by is None
        before = time.time()
        assert locks.after_pull(db, repo, world.writer) is True
    with world.database.session() as db:
        repo = lookup.repository(db, "auto")
        assert repo.locked_by == world.writer.user_id
        assert repo.lock_reason == "lock_auto"
        assert isinstance(repo.locked_date, float) and before <= repo.locked_date <= time.time()
        # a second pull does not move the lock to someone else
        assert locks.after_pull(db, repo, world.admin) is False
        assert repo.locked_by == world.writer.user_id


def test_locked_repo_refuses_pulls_and_foreign_pushes(world: World) -> None:
    make_repo(world, "held", enable_locking=True)
    with world.database.session() as db:
        repo = lookup.repository(db, "held")
        assert locks.after_pull(db, repo, world.writer)
    with world.database.session() as db:
        repo = lookup.repository(db, "held")
        text = "Repository `held` locked by user `writer1`"
        for who in (world.writer, world.reader, world.admin):  # the holder's own pull too (K)
            decision = locks.check_pull(db, repo, who)
            assert decision == locks.LockDecision(True, 423, text, "writer1")
            assert decision.refused
        assert locks.check_pull(db, repo, None) == locks.ALLOWED  # anonymous: no locking
        assert locks.check_pull(db, repo, world.anonymous) == locks.ALLOWED
        refused = locks.check_push(db, repo, world.reader)
        assert refused.refused and refused.message == text and refused.status == 423
        assert locks.check_push(db, repo, world.admin).refused
        assert locks.check_push(db, repo, world.writer) == locks.ALLOWED
        soft = locks.check_pull(db, repo, world.reader, ret_code=200)
        assert soft.locked and not soft.refused and soft.message == text
        assert locks.check_push(db, repo, world.reader, ret_code=409).status == 409


def test_push_by_holder_releases(world: World) -> None:
    make_repo(world, "rel", enable_locking=True)
    with world.database.session() as db:
        assert locks.after_pull(db, lookup.repository(db, "rel"), world.writer)
    with world.database.session() as db:
        repo = lookup.repository(db, "rel")
        assert locks.after_push(db, repo, world.admin) is None  # not the holder
        assert locks.after_push(db, repo, None) is None
        assert repo.locked_by == world.writer.user_id
        assert locks.after_push(db, repo, world.writer) == "Released lock on repo `rel`"
        assert locks.after_push(db, repo, world.writer) is None  # nothing left to release
    with world.database.session() as db:
        repo = lookup.repository(db, "rel")
        assert (repo.locked_by, repo.locked_date, repo.lock_reason) == (None, None, None)
        assert locks.check_pull(db, repo, world.reader) == locks.ALLOWED


def test_api_locks_apply_without_enable_locking(world: World) -> None:
    make_repo(world, "apilock", enable_locking=False)
    with world.database.session() as db:
        repo = lookup.repository(db, "apilock")
        since = locks.set_lock(db, repo, world.admin.user_id)
        assert since == repo.locked_date and repo.lock_reason == "lock_api"
    with world.database.session() as db:
        repo = lookup.repository(db, "apilock")
        assert locks.check_push(db, repo, world.writer).refused
        assert locks.check_pull(db, repo, world.writer).message == (
            "Repository `apilock` locked by user `admin`"
        )
        assert locks.current(repo) == locks.Lock(world.admin.user_id, since, "lock_api")
        locks.release(db, repo)
    with world.database.session() as db:
        assert locks.current(lookup.repository(db, "apilock")) is None

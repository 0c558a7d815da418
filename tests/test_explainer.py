# SPDX-License-Identifier: GPL-3.0-or-later
"""The permission explainer (issue 14 item 6) against the permission the service grants.

On generated data — users with and without user groups (some inactive), repositories public and
private in nested groups, group grants applied to everything inside, rows for the ``default`` user —
every (user, object) pair's explanation must give exactly what ``get_user``'s report (the service
behind the API method) and the access checks decide. Then the API method and ``hearth perms
explain`` on the live server.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from hearth.config import load_settings
from hearth.db.models import (
    GroupUserGroupPerm,
    GroupUserPerm,
    RepoGroup,
    Repository,
    RepoUserGroupPerm,
    RepoUserPerm,
    User,
    UserGroup,
    UserGroupMember,
    UserGroupUserGroupPerm,
    UserGroupUserPerm,
)
from hearth.db.session import Database
from hearth.services import bootstrap, explainer, groupperms, permissions, users
from hearth.services.permissions import Actor, Level
from tests.live import LiveServer, unique

LEVELS = [Level.NONE, Level.READ, Level.WRITE, Level.ADMIN]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    settings = load_settings(environ={"HEARTH_HOME": str(tmp_path)}, config_file=tmp_path / "none")
    database = Database(settings.database_url)
    bootstrap.initialise(database, settings)
    yield database
    database.dispose()


def _generate(db: Session, rng: random.Random, admin: Actor) -> tuple[list[User], int]:
    default_id = bootstrap.default_user_id(db)
    assert default_id is not None
    people = [
        users.create_user(db, username=f"u{i}", email=f"u{i}@example.com", admin=(i == 0))
        for i in range(24)
    ]
    default_user = db.get(User, default_id)
    assert default_user is not None
    everyone = [*people, default_user]
    ugroups = []
    for i in range(8):
        ug = UserGroup(group_name=f"team{i}", owner_id=people[1].user_id, active=i != 7)
        ug.created_on = people[0].created_on
        db.add(ug)
        db.flush()
        ugroups.append(ug)
        for person in rng.sample(people, 4):
            db.add(UserGroupMember(users_group_id=ug.users_group_id, user_id=person.user_id))
    groups: list[RepoGroup] = []
    for i in range(12):
        parent = rng.choice(groups) if groups and rng.random() < 0.6 else None
        name = f"{parent.group_name}/g{i}" if parent else f"g{i}"
        group = RepoGroup(
            group_name=name,
            parent_id=parent.group_id if parent else None,
            owner_id=rng.choice(people).user_id,
            created_on=people[0].created_on,
        )
        db.add(group)
        db.flush()
        groups.append(group)
    repos = []
    for i in range(80):
        group = rng.choice([None, *groups])
        name = f"{group.group_name}/r{i}" if group else f"r{i}"
        repo = Repository(
            repo_name=name,
            repo_type="git",
            private=rng.random() < 0.4,
            owner_id=rng.choice(people).user_id,
            group_id=group.group_id if group else None,
            created_on=people[0].created_on,
            updated_on=people[0].created_on,
            state="ready",
        )
        db.add(repo)
        db.flush()
        repos.append(repo)
        db.add(RepoUserPerm(repo_id=repo.repo_id, user_id=default_id, level=rng.choice(LEVELS)))
        for person in rng.sample(people, 3):
            db.add(RepoUserPerm(repo_id=repo.repo_id, user_id=person.user_id,
                                level=rng.choice(LEVELS)))  # fmt: skip
        for ug in rng.sample(ugroups, 2):
            db.add(RepoUserGroupPerm(repo_id=repo.repo_id, users_group_id=ug.users_group_id,
                                     level=rng.choice(LEVELS)))  # fmt: skip
    for group in groups:
        if rng.random() < 0.7:
            db.add(GroupUserPerm(group_id=group.group_id, user_id=default_id,
                                 level=rng.choice(LEVELS)))  # fmt: skip
        for person in rng.sample(people, 2):
            db.add(GroupUserPerm(group_id=group.group_id, user_id=person.user_id,
                                 level=rng.choice(LEVELS)))  # fmt: skip
        db.add(GroupUserGroupPerm(group_id=group.group_id,
                                  users_group_id=rng.choice(ugroups).users_group_id,
                                  level=rng.choice(LEVELS)))  # fmt: skip
    for ug in ugroups:
        db.add(UserGroupUserPerm(target_id=ug.users_group_id, user_id=rng.choice(people).user_id,
                                 level=rng.choice(LEVELS)))  # fmt: skip
        db.add(UserGroupUserGroupPerm(target_id=ug.users_group_id,
                                      users_group_id=rng.choice(ugroups).users_group_id,
                                      level=rng.choice(LEVELS)))  # fmt: skip
    db.flush()
    # inheritance: grants on groups applied to everything inside, as the API's apply_to_children
    for group in rng.sample(groups, 4):
        who = rng.choice(people[1:])
        perm = f"group.{rng.choice(['read', 'write', 'admin'])}"
        groupperms.grant_user(db, admin, group.group_id, who.user_id, perm, "all")
        ug = rng.choice(ugroups)
        groupperms.grant_user_group(db, admin, group.group_id, ug.users_group_id, perm, "repos")
    db.flush()
    return everyone, default_id


def test_explanation_equals_the_granted_permission(database: Database) -> None:
    rng = random.Random(14)
    pairs = 0
    with database.session() as db:
        admin_user = bootstrap.first_admin(db)
        assert admin_user is not None
        default_id = bootstrap.default_user_id(db)
        assert default_id is not None
        admin = permissions.actor_for(db, admin_user, default_id)
        everyone, default_id = _generate(db, rng, admin)
        objects = {
            "repository": [(r.repo_id, r.repo_name) for r in db.query(Repository)],
            "repository_group": [(g.group_id, g.group_name) for g in db.query(RepoGroup)],
            "user_group": [(g.users_group_id, g.group_name) for g in db.query(UserGroup)],
        }
        report_key = {"repository": "repositories", "repository_group": "repositories_groups",
                      "user_group": "user_groups"}  # fmt: skip
        seen_rules: set[str] = set()
        inherited = 0
        for subject in everyone:
            report = users.permission_report(db, subject, default_id, hide_none=False)
            actor = permissions.actor_for(db, subject, default_id)
            for object_type, found in objects.items():
                granted = getattr(report, report_key[object_type])
                kind = explainer.TYPES[object_type][0]
                for obj_id, name in found:
                    answer = explainer.explain_for(db, subject, default_id, object_type, obj_id,
                                                   name)  # fmt: skip
                    assert answer.permission == granted[name], (subject.username, name)
                    level = permissions.parse_object_permission(answer.permission, kind)
                    if kind == "repository":
                        assert level == permissions.repo_level(db, actor, obj_id) or actor.admin
                    strongest = [b for b in answer.because if b.effective]
                    assert len(strongest) == 1 and strongest[0].permission == answer.permission
                    assert all(
                        permissions.parse_object_permission(b.permission, kind) <= level
                        for b in answer.because
                    )
                    seen_rules.update(b.rule for b in answer.because)
                    # a rule inherited from a repository group names a group the object is in
                    for b in answer.because:
                        if b.inherited_from is not None:
                            assert name.startswith(b.inherited_from + "/"), (name, b)
                            assert b.rule in ("direct grant", "user group", "default user")
                            inherited += 1
                    pairs += 1
        # the generated data reached every kind of rule
        assert seen_rules == {"admin", "owner", "private", "direct grant", "user group",
                              "default user"}  # fmt: skip
        assert inherited >= 50
    assert pairs >= 2500


# --- the API method and the command, on the live server ------------------------------------------


def test_explain_permission_method(server: LiveServer) -> None:
    user, key = server.new_user()
    repo = server.new_repo(private=True)["repo_name"]
    group = server.ok("create_user_group", group_name=unique("team"))["user_group"]
    server.ok("add_user_to_user_group", usergroupid=group["group_name"], userid=user["username"])
    server.ok("grant_user_group_permission", repoid=repo, usergroupid=group["group_name"],
              perm="repository.write")  # fmt: skip
    server.ok("grant_user_permission", repoid=repo, userid=user["username"], perm="repository.read")
    answer = server.ok("explain_permission", userid=user["username"], repoid=repo)
    assert answer["user"] == user["username"]
    assert answer["object"] == {"type": "repository", "name": repo}
    assert answer["permission"] == "repository.write"
    assert answer["because"][0] == {"rule": "user group", "permission": "repository.write",
                                    "via": group["group_name"], "effective": True,
                                    "inherited_from": None}  # fmt: skip
    rules = {(b["rule"], b["permission"], b["effective"]) for b in answer["because"]}
    assert ("direct grant", "repository.read", False) in rules
    assert ("private", "repository.none", False) in rules
    got = server.ok("get_user", userid=user["username"])["permissions"]["repositories"][repo]
    assert got == answer["permission"]
    # the user about themself (userid defaults to the caller) — and not about somebody else
    mine = server.call("explain_permission", key=key, repoid=repo)
    assert mine["error"] is None and mine["result"] == answer
    other = server.call("explain_permission", key=key, userid="admin", repoid=repo)
    assert other["error"] == "userid is not the same as your user"
    both = server.call("explain_permission", repoid=repo, usergroupid=group["group_name"])
    assert both["error"] == "give exactly one of `repoid`, `repogroupid` and `usergroupid`"
    # the command says the same
    out = server.cli("perms", "explain", user["username"], f"repo:{repo}", "--json")
    assert json.loads(out.stdout) == answer
    table = server.cli("perms", "explain", user["username"], repo).stdout
    assert f"{user['username']} on repository `{repo}`: repository.write" in table
    assert "user group" in table and group["group_name"] in table


def test_explanation_names_the_group_a_permission_is_inherited_from(server: LiveServer) -> None:
    """A grant on a repository group with ``apply_to_children`` reaches what is inside as rows
    the explanation says are inherited from that group; a grant on the object itself is not."""
    user, _ = server.new_user()
    team = server.ok("create_user_group", group_name=unique("team"))["user_group"]["group_name"]
    server.ok("add_user_to_user_group", usergroupid=team, userid=user["username"])
    top = server.ok("create_repo_group", group_name=unique("top"))["repo_group"]["group_name"]
    sub = server.ok("create_repo_group", group_name=f"{top}/sub")["repo_group"]["group_name"]
    repo = server.new_repo(name=f"{sub}/{unique('r')}", private=True)["repo_name"]
    server.ok("grant_user_group_permission_to_repo_group", repogroupid=top, usergroupid=team,
              perm="group.write", apply_to_children="all")  # fmt: skip
    server.ok("grant_user_permission_to_repo_group", repogroupid=sub, userid=user["username"],
              perm="group.read", apply_to_children="repos")  # fmt: skip

    answer = server.ok("explain_permission", userid=user["username"], repoid=repo)
    assert answer["permission"] == "repository.write"
    assert answer["because"][0] == {"rule": "user group", "permission": "repository.write",
                                    "via": team, "effective": True,
                                    "inherited_from": top}  # fmt: skip
    rules = {(b["rule"], b["permission"], b["inherited_from"]) for b in answer["because"]}
    assert ("direct grant", "repository.read", sub) in rules
    on_sub = server.ok("explain_permission", userid=user["username"], repogroupid=sub)
    by_rule = {b["rule"]: b for b in on_sub["because"]}
    assert by_rule["user group"]["inherited_from"] == top
    assert by_rule["direct grant"]["inherited_from"] is None  # granted on sub itself
    on_top = server.ok("explain_permission", userid=user["username"], repogroupid=top)
    assert all(b["inherited_from"] is None for b in on_top["because"])

    # a grant on the repository itself replaces the inherited row: no longer inherited
    server.ok("grant_user_group_permission", repoid=repo, usergroupid=team,
              perm="repository.admin")  # fmt: skip
    again = server.ok("explain_permission", userid=user["username"], repoid=repo)
    assert again["because"][0]["rule"] == "user group"
    assert again["because"][0]["inherited_from"] is None
    table = server.cli("perms", "explain", user["username"], repo).stdout
    assert "inherited from" in table and sub in table

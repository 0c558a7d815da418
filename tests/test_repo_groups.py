# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository groups (``spec/methods.md`` §6, README #7 #10 #12-#14 #18 #35 #37-#39 #44) live.

Every method's success path and its errors in the documented order; nested creation (``parent``
and R's ``a/b/new``); rename and move re-path nested groups and repositories in the database and on
disk; delete refusals with the counts of direct children; ``apply_to_children`` for each value,
leaving the ``default`` row of private repositories alone; hiding for non-admins; and
``create_user create_personal_repo_group``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveServer, unique

GROUP_KEYS = [
    "group_id",
    "group_name",
    "group_description",
    "parent_group",
    "repositories",
    "owner",
]
DENIED = "Access was denied to this resource."
APPLY_ERROR = "apply_to_children must be one of all,groups,none,repos"


def missing(name: Any) -> str:
    return f"repository group `{name}` does not exist"


def root(server: LiveServer) -> Path:
    return server.home / "repos"


def new_group(server: LiveServer, name: str | None = None, **fields: Any) -> dict[str, Any]:
    """Create a group as the admin; returns the group object."""
    return server.ok("create_repo_group", group_name=name or unique("g"), **fields)["repo_group"]


def members(server: LiveServer, kind: str, name: str) -> dict[str, str]:
    """``{holder: permission}`` of a group (``kind`` "group") or a repository (``kind`` "repo")."""
    if kind == "group":
        rows = server.ok("get_repo_group", repogroupid=name)["members"]
    else:
        rows = server.ok("get_repo", repoid=name)["members"]
    return {m["name"]: m["permission"] for m in rows}


def tree(server: LiveServer) -> dict[str, Any]:
    """``top/sub`` with repositories ``top/r`` (public), ``top/p`` (private), ``top/sub/r2``."""
    top = unique("tree")
    new_group(server, top)
    new_group(server, f"{top}/sub")
    server.new_repo(name=f"{top}/r")
    server.new_repo(name=f"{top}/p", private=True)
    server.new_repo(name=f"{top}/sub/r2", repo_type="hg")
    return {"top": top, "sub": f"{top}/sub", "repos": [f"{top}/r", f"{top}/p", f"{top}/sub/r2"]}


# --- declarations and gates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "last_required"),
    [
        ("get_repo_group", "repogroupid"),
        ("create_repo_group", "group_name"),
        ("update_repo_group", "repogroupid"),
        ("delete_repo_group", "repogroupid"),
        ("grant_user_permission_to_repo_group", "perm"),
        ("revoke_user_permission_from_repo_group", "userid"),
        ("grant_user_group_permission_to_repo_group", "perm"),
        ("revoke_user_group_permission_from_repo_group", "usergroupid"),
    ],
)
def test_missing_args_report_the_last_required_one(
    server: LiveServer, name: str, last_required: str
) -> None:
    assert server.err(name) == f"Missing non optional `{last_required}` arg in JSON DATA"


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("get_repo_group", {"repogroupid": "x"}),
        ("get_repo_groups", {}),
        ("create_repo_group", {"group_name": "x"}),
        ("update_repo_group", {"repogroupid": "x"}),
        ("delete_repo_group", {"repogroupid": "x"}),
    ],
)
def test_admin_gate(server: LiveServer, name: str, args: dict[str, Any]) -> None:
    _, key = server.new_user()
    assert server.err(name, key, **args) == DENIED


def test_kinds_are_checked(server: LiveServer) -> None:
    assert server.err("get_repo_group", repogroupid=["a"]) == (
        'Invalid value for `repogroupid`: expected an id or a name, got ["a"]'
    )
    assert server.err("create_repo_group", group_name="x", copy_permissions="maybe") == (
        'Invalid value for `copy_permissions`: expected a boolean, got "maybe"'
    )
    assert server.err(
        "grant_user_permission_to_repo_group",
        repogroupid="x",
        userid="admin",
        perm="group.read",
        apply_to_children=1,
    ) == ("Invalid value for `apply_to_children`: expected a string, got 1")


# --- get ---------------------------------------------------------------------------------------


def test_get_repo_group_shape_and_lookup_by_id_and_name(server: LiveServer) -> None:
    parent = new_group(server)
    child = new_group(server, f"{parent['group_name']}/{unique('c')}")
    repo = server.new_repo(name=f"{child['group_name']}/{unique('r')}")
    for ref in (child["group_id"], str(child["group_id"]), child["group_name"]):
        got = server.ok("get_repo_group", repogroupid=ref)
        assert list(got) == [*GROUP_KEYS, "members"]
        assert got["group_name"] == child["group_name"]
        assert got["parent_group"] == parent["group_name"]
        assert got["repositories"] == [repo["repo_name"]]
        assert got["owner"] == "admin"
        assert got["members"] == [{"name": "default", "type": "user", "permission": "group.read"}]
    # repositories lists direct children only
    assert server.ok("get_repo_group", repogroupid=parent["group_id"])["repositories"] == []


def test_get_repo_group_missing(server: LiveServer) -> None:
    name = unique("nope")
    assert server.err("get_repo_group", repogroupid=name) == missing(name)
    assert server.err("get_repo_group", repogroupid=999999) == missing(999999)


def test_get_repo_groups_ordered_by_id(server: LiveServer) -> None:
    first = new_group(server)
    second = new_group(server, f"{first['group_name']}/{unique('s')}")
    groups = server.ok("get_repo_groups")
    assert all(list(g) == GROUP_KEYS for g in groups)
    ids = [g["group_id"] for g in groups]
    assert ids == sorted(ids)
    by_id = {g["group_id"]: g for g in groups}
    assert by_id[first["group_id"]] == first
    assert by_id[second["group_id"]]["parent_group"] == first["group_name"]


# --- create ------------------------------------------------------------------------------------


def test_create_top_level(server: LiveServer) -> None:
    name = unique("top")
    result = server.ok("create_repo_group", group_name=name)
    assert result["msg"] == f"created new repo group `{name}`"
    group = result["repo_group"]
    assert list(group) == GROUP_KEYS
    assert group["group_name"] == name
    assert group["group_description"] == name  # "" -> the group name
    assert (group["parent_group"], group["repositories"], group["owner"]) == (None, [], "admin")
    assert (root(server) / name).is_dir()
    assert members(server, "group", name) == {"default": "group.read"}


def test_create_with_parent_and_description(server: LiveServer) -> None:
    parent = new_group(server)
    name = unique("kid")
    result = server.ok(
        "create_repo_group", group_name=name, parent=parent["group_id"], description="hello"
    )
    assert result["msg"] == f"created new repo group `{name}`"
    group = result["repo_group"]
    full = f"{parent['group_name']}/{name}"
    assert (group["group_name"], group["parent_group"]) == (full, parent["group_name"])
    assert group["group_description"] == "hello"
    assert (root(server) / full).is_dir()


def test_create_rhodecode_nested_form(server: LiveServer) -> None:
    a = new_group(server)["group_name"]
    b = new_group(server, f"{a}/b")["group_name"]
    result = server.ok("create_repo_group", group_name=f"{b}/new")
    assert result["msg"] == f"created new repo group `{b}/new`"
    group = result["repo_group"]
    assert (group["group_name"], group["parent_group"]) == (f"{b}/new", b)
    assert group["group_description"] == "new"
    assert (root(server) / a / "b" / "new").is_dir()
    # a `parent` that agrees with the prefix is fine; one that disagrees does not exist
    agreed = server.ok("create_repo_group", group_name=f"{b}/new2", parent=b)["repo_group"]
    assert agreed["parent_group"] == b
    assert server.err("create_repo_group", group_name=f"{b}/new3", parent=a) == missing(a)
    # a missing prefix is a missing parent (no auto-creation here)
    assert server.err("create_repo_group", group_name=f"{a}/zz/new") == missing(f"{a}/zz")
    assert not (root(server) / a / "zz").exists()


def test_duplicates_compare_full_paths(server: LiveServer) -> None:
    """README #37: a nested ``b`` is fine when a top-level ``b`` exists."""
    same = unique("same")
    new_group(server, same)
    parent = new_group(server)["group_name"]
    nested = server.ok("create_repo_group", group_name=same, parent=parent)["repo_group"]
    assert nested["group_name"] == f"{parent}/{same}"
    assert server.err("create_repo_group", group_name=same) == f"repo group `{same}` already exist"
    assert server.err("create_repo_group", group_name=same, parent=parent) == (
        f"repo group `{parent}/{same}` already exist"
    )
    assert server.err("create_repo_group", group_name=f"{parent}/{same}") == (
        f"repo group `{parent}/{same}` already exist"
    )


def test_repository_at_the_path(server: LiveServer) -> None:
    """README #39: the other kind holds the path."""
    parent = new_group(server)["group_name"]
    repo = server.new_repo(name=f"{parent}/{unique('r')}")["repo_name"]
    last = repo.rpartition("/")[2]
    assert server.err("create_repo_group", group_name=last, parent=parent) == (
        f"repo `{repo}` already exist"
    )
    assert server.err("create_repo_group", group_name=repo) == f"repo `{repo}` already exist"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a b", "character ` ` is not allowed"),
        ("a//b", "empty path component"),
        (".hidden", "components must not start with a dot"),
        ("rm__x", "the rm__ prefix is reserved for deleted repositories"),
        ("_admin", "reserved name"),
        ("x" * 101, "name too long"),
        ("123", "a name of digits only would be read as an id"),
        ("", "empty path component"),
    ],
)
def test_create_invalid_names(server: LiveServer, name: str, reason: str) -> None:
    assert server.err("create_repo_group", group_name=name) == (
        f"Invalid repository group name `{name}`: {reason}"
    )


def test_digits_are_fine_below_a_parent(server: LiveServer) -> None:
    """Only a full name of digits is refused (README #35); ``p/123`` is addressable by name."""
    parent = new_group(server)["group_name"]
    group = server.ok("create_repo_group", group_name="123", parent=parent)["repo_group"]
    assert group["group_name"] == f"{parent}/123"


def test_create_errors_in_order(server: LiveServer) -> None:
    taken = new_group(server)["group_name"]
    ghost_parent, ghost_user = unique("noparent"), unique("nouser")
    # invalid name before everything
    assert server.err(
        "create_repo_group", group_name="bad name", parent=ghost_parent, owner=ghost_user
    ).startswith("Invalid repository group name `bad name`")
    # exists before owner
    assert server.err("create_repo_group", group_name=taken, owner=ghost_user) == (
        f"repo group `{taken}` already exist"
    )
    # parent before owner
    fresh = unique("fresh")
    assert server.err(
        "create_repo_group", group_name=fresh, parent=ghost_parent, owner=ghost_user
    ) == missing(ghost_parent)
    assert server.err("create_repo_group", group_name=fresh, parent=987654) == missing(987654)
    # owner (README #38)
    assert server.err("create_repo_group", group_name=fresh, owner=ghost_user) == (
        f"user `{ghost_user}` does not exist"
    )
    assert server.err("get_repo_group", repogroupid=fresh) == missing(fresh)
    assert not (root(server) / fresh).exists()


def test_create_failed_when_something_unregistered_sits_there(server: LiveServer) -> None:
    name = unique("occupied")
    (root(server) / name).mkdir(parents=True)
    (root(server) / name / "file").write_text("not ours")
    assert server.err("create_repo_group", group_name=name) == (
        f"failed to create repo group `{name}`"
    )
    assert (root(server) / name / "file").read_text() == "not ours"
    assert server.err("get_repo_group", repogroupid=name) == missing(name)


def test_create_owner_and_rows(server: LiveServer) -> None:
    user, _ = server.new_user()
    name = unique("owned")
    group = server.ok("create_repo_group", group_name=name, owner=user["user_id"])["repo_group"]
    assert group["owner"] == user["username"]
    # a non-admin owner gets a group.admin row
    assert members(server, "group", name) == {
        "default": "group.read",
        user["username"]: "group.admin",
    }
    admin_owned = new_group(server, owner="admin")
    assert members(server, "group", admin_owned["group_name"]) == {"default": "group.read"}


def test_copy_permissions(server: LiveServer) -> None:
    user, _ = server.new_user()
    ug = server.ok("create_user_group", group_name=unique("ug"))["user_group"]
    parent = new_group(server)["group_name"]
    server.ok(
        "grant_user_permission_to_repo_group",
        repogroupid=parent,
        userid=user["username"],
        perm="group.write",
    )
    server.ok(
        "grant_user_group_permission_to_repo_group",
        repogroupid=parent,
        usergroupid=ug["group_name"],
        perm="group.admin",
    )
    server.ok("revoke_user_permission_from_repo_group", repogroupid=parent, userid="default")
    copied = new_group(server, f"{parent}/{unique('c')}", copy_permissions=True)
    plain = new_group(server, f"{parent}/{unique('p')}")
    expected = server.ok("get_repo_group", repogroupid=parent)["members"]
    assert server.ok("get_repo_group", repogroupid=copied["group_id"])["members"] == expected
    assert members(server, "group", plain["group_name"]) == {"default": "group.read"}


# --- update ------------------------------------------------------------------------------------


def test_rename_repaths_nested_groups_and_repositories(server: LiveServer) -> None:
    t = tree(server)
    top, new_top = t["top"], unique("renamed")
    before = {r: server.ok("get_repo", repoid=r)["repo_id"] for r in t["repos"]}
    group_id = server.ok("get_repo_group", repogroupid=top)["group_id"]
    result = server.ok("update_repo_group", repogroupid=top, group_name=new_top)
    assert result["msg"] == f"updated repository group ID:{group_id} {new_top}"
    assert result["repo_group"]["group_name"] == new_top
    assert result["repo_group"]["repositories"] == [f"{new_top}/r", f"{new_top}/p"]
    for old_name, repo_id in before.items():
        new_name = new_top + old_name[len(top) :]
        assert server.ok("get_repo", repoid=new_name)["repo_id"] == repo_id
        assert server.err("get_repo", repoid=old_name) == f"repository `{old_name}` does not exist"
        assert (root(server) / new_name).is_dir()
    sub = server.ok("get_repo_group", repogroupid=f"{new_top}/sub")
    assert sub["parent_group"] == new_top and sub["repositories"] == [f"{new_top}/sub/r2"]
    assert server.err("get_repo_group", repogroupid=t["sub"]) == missing(t["sub"])
    assert not (root(server) / top).exists()
    # the moved repositories still work
    assert (root(server) / new_top / "sub" / "r2" / ".hg").is_dir()
    assert server.ok("invalidate_cache", repoid=f"{new_top}/sub/r2")["repository"] == (
        f"{new_top}/sub/r2"
    )


def test_move_under_another_parent_and_back_to_top(server: LiveServer) -> None:
    t = tree(server)
    target = new_group(server)["group_name"]
    sub_last = "sub"
    moved = server.ok("update_repo_group", repogroupid=t["sub"], parent=target)["repo_group"]
    assert moved["group_name"] == f"{target}/{sub_last}"
    assert moved["parent_group"] == target
    assert server.ok("get_repo", repoid=f"{target}/sub/r2")["repo_name"] == f"{target}/sub/r2"
    assert (root(server) / target / "sub" / "r2").is_dir()
    assert not (root(server) / t["sub"]).exists()
    assert server.ok("get_repo_group", repogroupid=t["top"])["repositories"] == [
        f"{t['top']}/r",
        f"{t['top']}/p",
    ]
    assert server.ok("get_repo_group", repogroupid=target)["repositories"] == []
    # README #18: parent "" moves to top level; rename and move in one call
    top_name = unique("lifted")
    lifted = server.ok(
        "update_repo_group", repogroupid=moved["group_id"], parent="", group_name=top_name
    )
    assert lifted["msg"].endswith(f" {top_name}")
    assert lifted["repo_group"]["parent_group"] is None
    assert server.ok("get_repo", repoid=f"{top_name}/r2")["repo_name"] == f"{top_name}/r2"
    assert (root(server) / top_name / "r2").is_dir()
    assert not (root(server) / target / "sub").exists()


def test_update_description_and_owner_only(server: LiveServer) -> None:
    user, _ = server.new_user()
    group = new_group(server)
    result = server.ok(
        "update_repo_group",
        repogroupid=group["group_id"],
        description="new words",
        owner=user["username"],
    )
    assert result["msg"] == f"updated repository group ID:{group['group_id']} {group['group_name']}"
    assert result["repo_group"]["group_description"] == "new words"
    assert result["repo_group"]["owner"] == user["username"]
    # null leaves everything unchanged
    again = server.ok("update_repo_group", repogroupid=group["group_id"], description=None)
    assert again["repo_group"] == result["repo_group"]


def test_update_errors_in_order(server: LiveServer) -> None:
    group = new_group(server)["group_name"]
    ghost, ghost_parent, ghost_user = unique("g"), unique("p"), unique("u")
    assert server.err(
        "update_repo_group", repogroupid=ghost, parent=ghost_parent, owner=ghost_user
    ) == missing(ghost)
    assert server.err(
        "update_repo_group", repogroupid=group, parent=ghost_parent, owner=ghost_user
    ) == missing(ghost_parent)
    assert server.err(
        "update_repo_group", repogroupid=group, owner=ghost_user, group_name="bad name"
    ) == (f"user `{ghost_user}` does not exist")
    assert server.err("update_repo_group", repogroupid=group, group_name="bad name") == (
        "Invalid repository group name `bad name`: character ` ` is not allowed"
    )
    assert server.err("update_repo_group", repogroupid=group, group_name="a/b") == (
        "Invalid repository group name `a/b`: character `/` is not allowed"
    )
    assert server.err("update_repo_group", repogroupid=group, group_name="42") == (
        "Invalid repository group name `42`: a name of digits only would be read as an id"
    )
    assert server.ok("get_repo_group", repogroupid=group)["group_name"] == group


def test_update_failures(server: LiveServer) -> None:
    t = tree(server)
    top, sub = t["top"], t["sub"]
    other = new_group(server)["group_name"]
    failed = f"failed to update repository group `{top}`"
    # target path taken by a group, or by a repository (X as passed)
    assert server.err("update_repo_group", repogroupid=top, group_name=other) == failed
    assert server.err("update_repo_group", repogroupid=sub, group_name="r") == (
        f"failed to update repository group `{sub}`"
    )
    group_id = server.ok("get_repo_group", repogroupid=top)["group_id"]
    assert server.err("update_repo_group", repogroupid=group_id, group_name="r", parent=top) == (
        f"failed to update repository group `{group_id}`"
    )
    # parent is the group itself, or inside it
    assert server.err("update_repo_group", repogroupid=top, parent=top) == failed
    assert server.err("update_repo_group", repogroupid=top, parent=sub) == failed
    # something unregistered at the target directory: nothing moves
    blocked = unique("blocked")
    (root(server) / blocked).mkdir()
    assert server.err("update_repo_group", repogroupid=top, group_name=blocked) == failed
    assert (root(server) / top / "sub" / "r2").is_dir()
    assert not any((root(server) / blocked).iterdir())
    assert server.ok("get_repo", repoid=f"{sub}/r2")["repo_name"] == f"{sub}/r2"
    assert server.ok("get_repo_group", repogroupid=sub)["parent_group"] == top


def test_rename_is_case_exact(server: LiveServer) -> None:
    """Names are case-sensitive: renaming ``low`` leaves ``LOW``'s children alone."""
    low = unique("case").lower()
    upper = low.upper()
    new_group(server, low)
    new_group(server, upper)
    server.new_repo(name=f"{upper}/r")
    renamed = unique("moved")
    server.ok("update_repo_group", repogroupid=low, group_name=renamed)
    assert server.ok("get_repo", repoid=f"{upper}/r")["repo_name"] == f"{upper}/r"
    assert server.ok("get_repo_group", repogroupid=upper)["repositories"] == [f"{upper}/r"]


# --- delete ------------------------------------------------------------------------------------


def test_delete_empty_group(server: LiveServer) -> None:
    group = new_group(server)
    path = root(server) / group["group_name"]
    assert path.is_dir()
    result = server.ok("delete_repo_group", repogroupid=group["group_name"])
    assert result == {
        "msg": f"deleted repo group ID:{group['group_id']} {group['group_name']}",
        "repo_group": None,
    }
    assert not path.exists()
    assert server.err("get_repo_group", repogroupid=group["group_id"]) == missing(group["group_id"])
    assert server.err("delete_repo_group", repogroupid=group["group_id"]) == missing(
        group["group_id"]
    )


def test_delete_refuses_non_empty_with_direct_counts(server: LiveServer) -> None:
    """README #7: the counts are of direct children only."""
    t = tree(server)
    new_group(server, f"{t['top']}/second")
    assert server.err("delete_repo_group", repogroupid=t["top"]) == (
        f"Cannot delete repository group `{t['top']}`: it still contains 2 repositories "
        "and 2 repository groups"
    )
    assert server.err("delete_repo_group", repogroupid=t["sub"]) == (
        f"Cannot delete repository group `{t['sub']}`: it still contains 1 repositories "
        "and 0 repository groups"
    )
    assert (root(server) / t["sub"] / "r2").is_dir()
    for repo in t["repos"]:
        assert server.ok("get_repo", repoid=repo)["repo_name"] == repo
    # emptied, it goes; leftovers of deleted repositories are kept aside, not destroyed
    server.ok("delete_repo", repoid=f"{t['sub']}/r2")
    server.ok("delete_repo_group", repogroupid=t["sub"])
    assert not (root(server) / t["sub"]).exists()
    aside = [p.name for p in (root(server) / t["top"]).iterdir() if p.name.startswith("rm__")]
    assert len(aside) == 1 and aside[0].endswith("__sub")


# --- permissions -------------------------------------------------------------------------------


def test_grant_and_revoke_user_messages_and_rows(server: LiveServer) -> None:
    user, _ = server.new_user()
    parent = new_group(server)["group_name"]
    group = new_group(server, f"{parent}/{unique('leaf')}")["group_name"]
    last = group.rpartition("/")[2]
    result = server.ok(
        "grant_user_permission_to_repo_group",
        repogroupid=group,
        userid=user["user_id"],
        perm="group.write",
    )
    assert result == {
        "msg": (
            f"Granted perm: `group.write` (recursive:none) for user: `{user['username']}` "
            f"in repo group: `{last}`"
        ),
        "success": True,
    }
    rows = server.ok("get_repo_group", repogroupid=group)["members"]
    assert rows == [
        {"name": "default", "type": "user", "permission": "group.read"},
        {"name": user["username"], "type": "user", "permission": "group.write"},
    ]
    # a second grant changes the row in place
    server.ok(
        "grant_user_permission_to_repo_group",
        repogroupid=group,
        userid=user["username"],
        perm="group.admin",
    )
    assert members(server, "group", group)[user["username"]] == "group.admin"
    revoked = server.ok(
        "revoke_user_permission_from_repo_group", repogroupid=group, userid=user["username"]
    )
    assert revoked == {
        "msg": (
            f"Revoked perm (recursive:none) for user: `{user['username']}` in repo group: `{last}`"
        ),
        "success": True,
    }
    assert members(server, "group", group) == {"default": "group.read"}
    # revoking a user without a row is not an error
    server.ok("revoke_user_permission_from_repo_group", repogroupid=group, userid=user["username"])


def test_grant_user_errors_in_order(server: LiveServer) -> None:
    group = new_group(server)["group_name"]
    ghost, ghost_user = unique("g"), unique("u")
    grant = "grant_user_permission_to_repo_group"
    assert (
        server.err(grant, repogroupid=ghost, userid=ghost_user, perm="x", apply_to_children="bad")
        == APPLY_ERROR
    )
    assert server.err(grant, repogroupid=ghost, userid=ghost_user, perm="x") == missing(ghost)
    assert server.err(grant, repogroupid=group, userid=ghost_user, perm="x") == (
        f"user `{ghost_user}` does not exist"
    )
    assert server.err(grant, repogroupid=group, userid="admin", perm="group.nope") == (
        "permission `group.nope` does not exist"
    )
    assert server.err(grant, repogroupid=group, userid="admin", perm="repository.read") == (
        "permission `repository.read` is invalid, should start with group."
    )
    revoke = "revoke_user_permission_from_repo_group"
    assert server.err(revoke, repogroupid=ghost, userid=ghost_user, apply_to_children="") == (
        APPLY_ERROR
    )
    assert server.err(revoke, repogroupid=ghost, userid=ghost_user) == missing(ghost)
    assert server.err(revoke, repogroupid=group, userid=ghost_user) == (
        f"user `{ghost_user}` does not exist"
    )


def test_user_group_grant_and_revoke(server: LiveServer) -> None:
    ug = server.ok("create_user_group", group_name=unique("ug"))["user_group"]
    group = new_group(server)["group_name"]
    result = server.ok(
        "grant_user_group_permission_to_repo_group",
        repogroupid=group,
        usersgroupid=ug["users_group_id"],
        perm="group.read",
    )
    assert result == {
        "msg": (
            f"Granted perm: `group.read` (recursive:none) for user group: `{ug['group_name']}` "
            f"in repo group: `{group}`"
        ),
        "success": True,
    }
    assert server.ok("get_repo_group", repogroupid=group)["members"][-1] == {
        "name": ug["group_name"],
        "type": "user_group",
        "permission": "group.read",
    }
    revoked = server.ok(
        "revoke_user_group_permission_from_repo_group",
        repogroupid=group,
        usergroupid=ug["group_name"],
        apply_to_children="all",
    )
    assert revoked["msg"] == (
        f"Revoked perm (recursive:all) for user group: `{ug['group_name']}` "
        f"in repo group: `{group}`"
    )
    assert members(server, "group", group) == {"default": "group.read"}


def test_user_group_errors_in_order(server: LiveServer) -> None:
    group = new_group(server)["group_name"]
    ghost, ghost_ug = unique("g"), unique("ug")
    grant = "grant_user_group_permission_to_repo_group"
    assert (
        server.err(
            grant, repogroupid=ghost, usergroupid=ghost_ug, perm="x", apply_to_children="every"
        )
        == APPLY_ERROR
    )
    assert server.err(grant, repogroupid=ghost, usergroupid=ghost_ug, perm="x") == missing(ghost)
    assert server.err(grant, repogroupid=group, usergroupid=ghost_ug, perm="x") == (
        "permission `x` does not exist"
    )
    assert server.err(grant, repogroupid=group, usergroupid=ghost_ug, perm="usergroup.read") == (
        "permission `usergroup.read` is invalid, should start with group."
    )
    assert server.err(grant, repogroupid=group, usergroupid=ghost_ug, perm="group.read") == (
        f"user group `{ghost_ug}` does not exist"
    )
    revoke = "revoke_user_group_permission_from_repo_group"
    assert server.err(revoke, repogroupid=ghost, usergroupid=ghost_ug, apply_to_children="x") == (
        APPLY_ERROR
    )
    assert server.err(revoke, repogroupid=ghost, usergroupid=ghost_ug) == missing(ghost)
    assert server.err(revoke, repogroupid=group, usergroupid=ghost_ug) == (
        f"user group `{ghost_ug}` does not exist"
    )


@pytest.mark.parametrize(
    ("apply", "groups", "repos"),
    [("none", False, False), ("groups", True, False), ("repos", False, True), ("all", True, True)],
)
def test_apply_to_children(server: LiveServer, apply: str, groups: bool, repos: bool) -> None:
    user, _ = server.new_user()
    ug = server.ok("create_user_group", group_name=unique("ug"))["user_group"]
    t = tree(server)
    name = user["username"]
    server.ok(
        "grant_user_permission_to_repo_group",
        repogroupid=t["top"],
        userid=name,
        perm="group.write",
        apply_to_children=apply,
    )
    server.ok(
        "grant_user_group_permission_to_repo_group",
        repogroupid=t["top"],
        usergroupid=ug["group_name"],
        perm="group.read",
        apply_to_children=apply,
    )
    assert members(server, "group", t["top"])[name] == "group.write"
    assert members(server, "group", t["top"])[ug["group_name"]] == "group.read"
    sub = members(server, "group", t["sub"])
    assert (sub.get(name), sub.get(ug["group_name"])) == (
        ("group.write", "group.read") if groups else (None, None)
    )
    for repo in t["repos"]:  # at any depth, private or not
        rows = members(server, "repo", repo)
        assert (rows.get(name), rows.get(ug["group_name"])) == (
            ("repository.write", "repository.read") if repos else (None, None)
        ), repo
    # revoking with the same reach removes every row it wrote
    server.ok(
        "revoke_user_permission_from_repo_group",
        repogroupid=t["top"],
        userid=name,
        apply_to_children=apply,
    )
    server.ok(
        "revoke_user_group_permission_from_repo_group",
        repogroupid=t["top"],
        usergroupid=ug["group_name"],
        apply_to_children=apply,
    )
    for kind, obj in [("group", t["top"]), ("group", t["sub"])] + [("repo", r) for r in t["repos"]]:
        rows = members(server, kind, obj)
        assert name not in rows and ug["group_name"] not in rows, obj


def test_recursive_grant_to_default_leaves_private_repositories_alone(server: LiveServer) -> None:
    """README #13 and #12: the default user's rows on private repositories are never touched;
    revoking the default user sets ``*.none`` instead of deleting."""
    t = tree(server)
    top, private = t["top"], f"{t['top']}/p"
    # make the private repository's default row observable: read instead of none
    server.ok("grant_user_permission", repoid=private, userid="default", perm="repository.read")
    server.ok(
        "grant_user_permission_to_repo_group",
        repogroupid=top,
        userid="default",
        perm="group.write",
        apply_to_children="all",
    )
    assert members(server, "group", top)["default"] == "group.write"
    assert members(server, "group", t["sub"])["default"] == "group.write"
    assert members(server, "repo", f"{top}/r")["default"] == "repository.write"
    assert members(server, "repo", f"{top}/sub/r2")["default"] == "repository.write"
    assert members(server, "repo", private)["default"] == "repository.read"
    server.ok(
        "revoke_user_permission_from_repo_group",
        repogroupid=top,
        userid="default",
        apply_to_children="all",
    )
    assert members(server, "group", top)["default"] == "group.none"
    assert members(server, "group", t["sub"])["default"] == "group.none"
    assert members(server, "repo", f"{top}/r")["default"] == "repository.none"
    assert members(server, "repo", f"{top}/sub/r2")["default"] == "repository.none"
    assert members(server, "repo", private)["default"] == "repository.read"
    # the default row stays in place: it is still the first member
    assert server.ok("get_repo_group", repogroupid=top)["members"][0]["name"] == "default"


def test_revoke_default_without_recursion(server: LiveServer) -> None:
    group = new_group(server)["group_name"]
    result = server.ok(
        "revoke_user_permission_from_repo_group", repogroupid=group, userid="default"
    )
    assert result["msg"] == (
        f"Revoked perm (recursive:none) for user: `default` in repo group: `{group}`"
    )
    assert server.ok("get_repo_group", repogroupid=group)["members"] == [
        {"name": "default", "type": "user", "permission": "group.none"}
    ]


def test_group_admin_manages_permissions_others_see_nothing(server: LiveServer) -> None:
    manager, manager_key = server.new_user()
    outsider, outsider_key = server.new_user()
    friend, _ = server.new_user()
    t = tree(server)
    top = t["top"]
    grant = "grant_user_permission_to_repo_group"
    # without group.admin (the default row gives read): hidden as missing
    assert server.err(
        grant, outsider_key, repogroupid=top, userid=friend["username"], perm="group.read"
    ) == missing(top)
    assert server.err(
        "revoke_user_permission_from_repo_group",
        outsider_key,
        repogroupid=top,
        userid=friend["username"],
    ) == missing(top)
    server.ok(grant, repogroupid=top, userid=manager["username"], perm="group.admin")
    done = server.ok(
        grant,
        manager_key,
        repogroupid=top,
        userid=friend["username"],
        perm="group.write",
        apply_to_children="all",
    )
    assert done["success"] is True
    assert members(server, "group", t["sub"])[friend["username"]] == "group.write"
    assert members(server, "repo", f"{top}/r")[friend["username"]] == "repository.write"
    server.ok(
        "revoke_user_permission_from_repo_group",
        manager_key,
        repogroupid=top,
        userid=friend["username"],
    )
    assert friend["username"] not in members(server, "group", top)
    # group.admin on the parent gives nothing on the child (no inheritance at check time)
    assert server.err(
        grant, manager_key, repogroupid=t["sub"], userid=friend["username"], perm="group.read"
    ) == missing(t["sub"])
    # the admin-only methods stay closed to a group admin
    assert server.err("get_repo_group", manager_key, repogroupid=top) == DENIED
    assert server.err("delete_repo_group", manager_key, repogroupid=top) == DENIED
    assert outsider["username"] not in members(server, "group", top)


def test_user_group_variants_hiding(server: LiveServer) -> None:
    manager, manager_key = server.new_user()
    outsider, outsider_key = server.new_user()
    visible = server.ok("create_user_group", group_name=unique("ugv"))["user_group"]
    hidden = server.ok("create_user_group", group_name=unique("ugh"))["user_group"]
    server.ok(
        "revoke_user_permission_from_user_group",
        usergroupid=hidden["users_group_id"],
        userid="default",
    )
    group = new_group(server)["group_name"]
    server.ok(
        "grant_user_permission_to_repo_group",
        repogroupid=group,
        userid=manager["username"],
        perm="group.admin",
    )
    grant = "grant_user_group_permission_to_repo_group"
    # not a group admin: the group is missing (checked after the user group lookup)
    ghost = unique("ghost")
    assert (
        server.err(grant, outsider_key, repogroupid=group, usergroupid=ghost, perm="group.read")
        == f"user group `{ghost}` does not exist"
    )
    assert server.err(
        grant,
        outsider_key,
        repogroupid=group,
        usergroupid=visible["group_name"],
        perm="group.read",
    ) == missing(group)
    # a group admin without read on the user group: the user group is missing
    assert (
        server.err(
            grant,
            manager_key,
            repogroupid=group,
            usergroupid=hidden["group_name"],
            perm="group.read",
        )
        == f"user group `{hidden['group_name']}` does not exist"
    )
    assert (
        server.err(
            "revoke_user_group_permission_from_repo_group",
            manager_key,
            repogroupid=group,
            usergroupid=hidden["group_name"],
        )
        == f"user group `{hidden['group_name']}` does not exist"
    )
    # group admin and usergroup.read: allowed
    server.ok(
        grant,
        manager_key,
        repogroupid=group,
        usergroupid=visible["group_name"],
        perm="group.write",
    )
    assert members(server, "group", group)[visible["group_name"]] == "group.write"
    server.ok(
        "revoke_user_group_permission_from_repo_group",
        manager_key,
        repogroupid=group,
        usergroupid=visible["group_name"],
    )
    assert visible["group_name"] not in members(server, "group", group)
    assert outsider["username"] not in members(server, "group", group)


def test_recursive_grant_then_create_repo_inside(server: LiveServer) -> None:
    """A group.write row reached by ``apply_to_children`` lets a user create inside the subgroup."""
    user, key = server.new_user()
    t = tree(server)
    name = f"{t['sub']}/{unique('mine')}"
    assert server.err("create_repo", key, repo_name=name, repo_type="git") == (
        f"no permission to create repo in {t['sub']}"
    )
    server.ok(
        "grant_user_permission_to_repo_group",
        repogroupid=t["top"],
        userid=user["username"],
        perm="group.write",
        apply_to_children="groups",
    )
    assert (
        server.ok("create_repo", key, repo_name=name, repo_type="git")["repo"]["owner"]
        == (user["username"])
    )


# --- create_user create_personal_repo_group ----------------------------------------------------


def test_create_user_with_personal_repo_group(server: LiveServer) -> None:
    name = unique("pers")
    server.ok(
        "create_user",
        username=name,
        email=f"{name}@example.com",
        create_personal_repo_group=True,
    )
    group = server.ok("get_repo_group", repogroupid=name)
    assert (group["group_name"], group["parent_group"], group["owner"]) == (name, None, name)
    assert group["group_description"] == f"personal repo group of user `{name}`"
    assert {m["name"]: m["permission"] for m in group["members"]} == {
        "default": "group.read",
        name: "group.admin",
    }
    assert (root(server) / name).is_dir()


def test_create_user_personal_group_default_off_and_existing_group_kept(
    server: LiveServer,
) -> None:
    plain = unique("plain")
    server.ok("create_user", username=plain, email=f"{plain}@example.com")
    assert server.err("get_repo_group", repogroupid=plain) == missing(plain)
    taken = unique("taken")
    existing = new_group(server, taken)
    server.ok(
        "create_user", username=taken, email=f"{taken}@example.com", create_personal_repo_group="1"
    )
    assert server.ok("get_repo_group", repogroupid=taken)["owner"] == "admin"
    assert server.ok("get_repo_group", repogroupid=taken)["group_id"] == existing["group_id"]


def test_create_user_declares_personal_group_last(server: LiveServer) -> None:
    _, _, declaration = server.ok("get_method", pattern="create_user")
    last = declaration["args"][-1]
    assert (last["name"], last["kind"], last["default"]) == (
        "create_personal_repo_group",
        "bool",
        False,
    )

# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository methods (``methods.md`` §4-§5) for git and Mercurial, with permission matrices."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.live import LiveServer, unique

TYPES = ["git", "hg"]
HG = str(Path(os.sys.executable).with_name("hg"))


def on_disk(server: LiveServer, name: str) -> Path:
    return server.home / "repos" / name


def push_commit(server: LiveServer, repo: dict, tmp_path: Path, message: str = "first") -> None:
    """Commit one file locally and push it into the repository directory with the real client."""
    work = tmp_path / unique("w")
    target = on_disk(server, repo["repo_name"])
    env = {**os.environ, "GIT_AUTHOR_NAME": "A U", "GIT_AUTHOR_EMAIL": "a@e.com", "GIT_COMMITTER_NAME": "A U",
           "GIT_COMMITTER_EMAIL": "a@e.com", "HGUSER": "A U <a@e.com>"}  # fmt: skip
    if repo["repo_type"] == "git":
        subprocess.run(["git", "init", "-q", "-b", "master", str(work)], check=True, env=env)
        (work / "f.txt").write_text(message)
        subprocess.run(["git", "-C", str(work), "add", "."], check=True, env=env)
        subprocess.run(["git", "-C", str(work), "commit", "-qm", message], check=True, env=env)
        subprocess.run(
            ["git", "-C", str(work), "push", "-q", str(target), "master"], check=True, env=env
        )
    else:
        subprocess.run([HG, "init", str(work)], check=True, env=env)
        (work / "f.txt").write_text(message)
        subprocess.run([HG, "-R", str(work), "commit", "-Aqm", message], check=True, env=env)
        subprocess.run([HG, "-R", str(work), "push", "-q", str(target)], check=True, env=env)


# --- create ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_type", TYPES)
def test_create_repo_result_and_disk(server: LiveServer, repo_type: str) -> None:
    name = unique("new")
    result = server.ok(
        "create_repo", repo_name=name, repo_type=repo_type, description="Repo-description"
    )
    assert result["msg"] == f"Created new repository `{name}`"
    assert (result["success"], result["task"]) == (True, None)
    repo = result["repo"]
    assert list(repo) == [
        "repo_id", "repo_name", "repo_type", "clone_uri", "private", "created_on", "description",
        "landing_rev", "owner", "fork_of", "enable_statistics", "enable_downloads", "last_changeset",
        "enable_locking", "locked_by", "locked_date", "lock_reason", "url",
    ]  # fmt: skip
    assert repo["repo_type"] == repo_type and repo["owner"] == "admin"
    assert repo["landing_rev"] == ["rev", "tip"] and repo["clone_uri"] is None
    assert repo["last_changeset"]["revision"] == -1
    assert repo["url"] == f"{server.url}/{name}"
    path = on_disk(server, name)
    assert (path / ".hg").is_dir() if repo_type == "hg" else (path / "HEAD").is_file()


def test_create_repo_defaults(server: LiveServer) -> None:
    name = unique("d")
    repo = server.ok("create_repo", repo_name=name)["repo"]
    assert repo["repo_type"] == "hg"  # setting default_repo_type
    assert repo["description"] == name
    got = server.ok("get_repo", repoid=name)
    assert got["members"] == [{"name": "default", "type": "user", "permission": "repository.read"}]
    assert got["permissions"][0] == {
        "name": "admin",
        "type": "user",
        "permission": "repository.admin",
        "origin": "owner",
    }
    assert [f["username"] for f in got["followers"]] == ["admin"]


def test_landing_rev_forms(server: LiveServer) -> None:
    assert server.new_repo("hg", landing_rev="tip")["landing_rev"] == ["rev", "tip"]
    assert server.new_repo("git", landing_rev="branch:master")["landing_rev"] == [
        "branch",
        "master",
    ]
    name = unique("lr")
    assert (
        server.err("create_repo", repo_name=name, landing_rev="what:x")
        == f"failed to create repository `{name}`"
    )


def test_create_in_new_nested_groups(server: LiveServer) -> None:
    top = unique("g")
    repo = server.new_repo("git", name=f"{top}/sub/name")
    assert repo["repo_name"] == f"{top}/sub/name"
    assert on_disk(server, f"{top}/sub/name").is_dir()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a//b", "empty path component"),
        ("/lead", "empty path component"),
        ("trail/", "empty path component"),
        ("sp ace", "character ` ` is not allowed"),
        ("semi;colon", "character `;` is not allowed"),
        ("tab\tx", "character `\t` is not allowed"),
        ("x/../y", "components must not start with a dot"),
        ("a/.git", "components must not start with a dot"),
        (".hidden", "components must not start with a dot"),
        ("rm__old", "the rm__ prefix is reserved for deleted repositories"),
        ("_admin", "reserved name"),
        ("x" * 101, "name too long"),
        ("123", "a name of digits only would be read as an id"),
    ],
)
def test_invalid_repository_names(server: LiveServer, name: str, reason: str) -> None:
    assert (
        server.err("create_repo", repo_name=name) == f"Invalid repository name `{name}`: {reason}"
    )
    assert not on_disk(server, name.strip("/")).exists() or name.strip("/") == ""


def test_create_errors_in_order(server: LiveServer) -> None:
    repo = server.new_repo("hg")
    assert (
        server.err("create_repo", repo_name=repo["repo_name"])
        == f"repo `{repo['repo_name']}` already exist"
    )
    group = unique("grp")
    server.new_repo("hg", name=f"{group}/inside")
    assert server.err("create_repo", repo_name=group) == f"repo group `{group}` already exist"
    bad_type = unique("bt")
    assert (
        server.err("create_repo", repo_name=bad_type, repo_type="svn")
        == f"failed to create repository `{bad_type}`"
    )
    assert not on_disk(server, bad_type).exists()
    owner_missing = unique("om")
    assert (
        server.err("create_repo", repo_name=owner_missing, owner="ghost-owner")
        == "user `ghost-owner` does not exist"
    )


@pytest.mark.parametrize("uri", ["/etc", "file:///tmp/x", "git+http://x/y", "ftp://x/y"])
def test_local_and_odd_clone_uris_are_refused(server: LiveServer, uri: str) -> None:
    name = unique("cu")
    assert (
        server.err("create_repo", repo_name=name, repo_type="git", clone_uri=uri)
        == f"failed to create repository `{name}`"
    )
    assert not on_disk(server, name).exists()


def test_unreachable_clone_uri_leaves_nothing(server: LiveServer) -> None:
    name = unique("cu")
    uri = "http://user:pw@127.0.0.1:9/nothing.git"
    assert (
        server.err("create_repo", repo_name=name, repo_type="git", clone_uri=uri)
        == f"failed to create repository `{name}`"
    )
    assert not on_disk(server, name).exists()
    assert server.err("get_repo", repoid=name) == f"repository `{name}` does not exist"


def test_non_admin_creation_rules(server: LiveServer) -> None:
    user, key = server.new_user()
    mine = server.new_repo("git", key=key)
    assert mine["owner"] == user["username"]
    # the owner has admin on their repository without any row
    assert server.ok("get_repo", key, repoid=mine["repo_name"])["members"] == [
        {"name": "default", "type": "user", "permission": "repository.read"}
    ]
    assert (
        server.err("create_repo", key, repo_name=unique(), owner="admin")
        == "Only an admin can specify `owner` param"
    )
    group = unique("g")
    server.new_repo("hg", name=f"{group}/x")  # the group exists, the user has only group.read
    assert (
        server.err("create_repo", key, repo_name=f"{group}/mine")
        == f"no permission to create repo in {group}"
    )
    assert server.err("create_repo", key, repo_name=f"{unique('n')}/deep/mine").startswith(
        "repo group `"
    )


def test_auto_create_can_be_switched_off(make_server) -> None:
    live = make_server(repo_group_auto_create="false")
    assert live.err("create_repo", repo_name="a/b/name") == "repo group `a/b` not found"


def test_private_default_setting(make_server) -> None:
    live = make_server(default_repo_private="true", default_repo_type="git")
    repo = live.ok("create_repo", repo_name="p")["repo"]
    assert (repo["private"], repo["repo_type"]) == (True, "git")
    assert live.ok("get_repo", repoid="p")["members"] == [
        {"name": "default", "type": "user", "permission": "repository.none"}
    ]


def test_eight_concurrent_creates_one_wins(server: LiveServer) -> None:
    name = unique("race")

    def attempt(_: int) -> dict:
        return server.call("create_repo", repo_name=name, repo_type="git")

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(attempt, range(8)))
    winners = [r for r in replies if r["error"] is None]
    losers = [r["error"] for r in replies if r["error"] is not None]
    assert len(winners) == 1, replies
    assert losers == [f"repo `{name}` already exist"] * 7
    assert len([r for r in server.ok("get_repos") if r["repo_name"] == name]) == 1
    path = on_disk(server, name)
    assert (path / "HEAD").is_file()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(name) and p != path]


# --- get_repo / get_repos -------------------------------------------------------------------------


@pytest.mark.parametrize("repo_type", TYPES)
def test_last_changeset_and_revision_names(
    server: LiveServer, repo_type: str, tmp_path: Path
) -> None:
    repo = server.new_repo(repo_type)
    push_commit(server, repo, tmp_path, "hello")
    # the cache is refreshed on invalidate_cache (pushes over HTTP refresh it themselves)
    result = server.ok("invalidate_cache", repoid=repo["repo_id"])
    assert result == {
        "msg": f"Cache for repository `{repo['repo_id']}` was invalidated",
        "repository": repo["repo_name"],
    }
    got = server.ok("get_repo", repoid=repo["repo_name"], with_revision_names=True)
    assert got["last_changeset"]["revision"] == 0
    assert got["last_changeset"]["message"].rstrip("\n") == "hello"
    assert got["last_changeset"]["author"] == "A U <a@e.com>"
    assert list(got)[18:21] == ["tags", "branches", "bookmarks"]
    if repo_type == "git":
        assert list(got["branches"]) == ["master"] and got["bookmarks"] == {}
    else:
        assert list(got["branches"]) == ["default"] and "tip" in got["tags"]


def test_get_repo_cache_false_recomputes(server: LiveServer, tmp_path: Path) -> None:
    repo = server.new_repo("git")
    push_commit(server, repo, tmp_path)
    assert server.ok("get_repo", repoid=repo["repo_name"])["last_changeset"]["revision"] == -1
    assert (
        server.ok("get_repo", repoid=repo["repo_name"], cache=False)["last_changeset"]["revision"]
        == 0
    )


def test_get_repos_orders(server: LiveServer) -> None:
    _user, key = server.new_user()
    names = [unique("Zz"), unique("aa"), unique("Mm")]
    for name in names:
        server.new_repo("hg", key=key, name=name)
    as_admin = [r["repo_id"] for r in server.ok("get_repos")]
    assert as_admin == sorted(as_admin)
    as_user = [r["repo_name"] for r in server.ok("get_repos", key)]
    assert as_user == sorted(as_user)
    assert set(names) <= set(as_user)
    assert "members" not in server.ok("get_repos", key)[0]


def test_get_repos_root_is_case_sensitive(server: LiveServer) -> None:
    """``Grp`` and ``grp`` are different groups: listing one never shows the other's repositories
    (SQLite's LIKE would match both)."""
    base = unique("case")
    upper = server.new_repo("git", name=f"{base.capitalize()}/sub/one")
    lower = server.new_repo("git", name=f"{base}/sub/two")
    listed = [r["repo_name"] for r in server.ok("get_repos", root=base.capitalize())]
    assert listed == [upper["repo_name"]]
    listed = [r["repo_name"] for r in server.ok("get_repos", root=base)]
    assert listed == [lower["repo_name"]]


def test_clone_uri_password_masked_for_non_admins(server: LiveServer) -> None:
    repo = server.new_repo("git")
    uri = "https://bob:hunter2@example.com/x.git"
    server.ok("update_repo", repoid=repo["repo_id"], clone_uri=uri)
    _, key = server.new_user()
    assert server.ok("get_repo", repoid=repo["repo_id"])["clone_uri"] == uri
    assert (
        server.ok("get_repo", key, repoid=repo["repo_id"])["clone_uri"]
        == "https://bob:*****@example.com/x.git"
    )
    server.ok("update_repo", repoid=repo["repo_id"], clone_uri="")
    assert server.ok("get_repo", repoid=repo["repo_id"])["clone_uri"] is None


# --- the permission matrix ------------------------------------------------------------------------


def visible(server: LiveServer, key: str, name: str) -> bool:
    reply = server.call("get_repo", key, repoid=name)
    listed = name in [r["repo_name"] for r in server.ok("get_repos", key)]
    assert (reply["error"] is None) is listed, (reply, listed)
    if reply["error"] is not None:
        assert reply["error"] == f"repository `{name}` does not exist"
    return listed


def test_permission_matrix(server: LiveServer) -> None:
    _owner, owner_key = server.new_user("own")
    reader, reader_key = server.new_user("rd")
    member, member_key = server.new_user("mem")
    stranger, stranger_key = server.new_user("str")
    public = server.new_repo("hg", key=owner_key)["repo_name"]
    private = server.new_repo("git", key=owner_key, private=True)["repo_name"]
    group = server.ok("create_user_group", group_name=unique("ug"))["user_group"]["group_name"]
    server.ok("add_user_to_user_group", usergroupid=group, userid=member["username"])
    server.ok(
        "grant_user_permission", repoid=private, userid=reader["username"], perm="repository.read"
    )
    server.ok(
        "grant_user_group_permission", repoid=private, usergroupid=group, perm="repository.write"
    )

    for key in (owner_key, reader_key, member_key, stranger_key, server.admin_key):
        assert visible(server, key, public)
    assert visible(server, owner_key, private)
    assert visible(server, server.admin_key, private)
    assert visible(server, reader_key, private)
    assert visible(server, member_key, private)
    assert not visible(server, stranger_key, private)

    # write (group) allows invalidate_cache; read does not (hidden as missing)
    assert server.ok("invalidate_cache", member_key, repoid=private)["repository"] == private
    assert (
        server.err("invalidate_cache", reader_key, repoid=private)
        == f"repository `{private}` does not exist"
    )
    # an inactive group's rows are ignored
    server.ok("update_user_group", usergroupid=group, active=False)
    assert not visible(server, member_key, private)
    server.ok("update_user_group", usergroupid=group, active=True)
    # rows cannot take away: a none row does not hide a public repository
    server.ok(
        "grant_user_permission", repoid=public, userid=stranger["username"], perm="repository.none"
    )
    assert visible(server, stranger_key, public)
    # making it private resets the default row; explicit holders keep access
    server.ok("update_repo", owner_key, repoid=public, private=True)
    assert not visible(server, stranger_key, public)
    assert visible(server, owner_key, public)
    # revoking the default user keeps a none row (README #12)
    server.ok("revoke_user_permission", repoid=private, userid="default")
    rows = server.ok("get_repo", repoid=private)["members"]
    assert rows[0] == {"name": "default", "type": "user", "permission": "repository.none"}


def test_default_user_rows_and_members_order(server: LiveServer) -> None:
    repo = server.new_repo("hg")["repo_name"]
    a, _ = server.new_user()
    b, _ = server.new_user()
    server.ok("grant_user_permission", repoid=repo, userid=a["username"], perm="repository.write")
    server.ok("grant_user_permission", repoid=repo, userid=b["username"], perm="repository.read")
    server.ok("grant_user_permission", repoid=repo, userid=a["username"], perm="repository.admin")
    names = [(m["name"], m["permission"]) for m in server.ok("get_repo", repoid=repo)["members"]]
    assert names == [
        ("default", "repository.read"),
        (a["username"], "repository.admin"),
        (b["username"], "repository.read"),
    ]
    server.ok("revoke_user_permission", repoid=repo, userid=a["username"])
    server.ok("grant_user_permission", repoid=repo, userid=a["username"], perm="repository.read")
    names = [m["name"] for m in server.ok("get_repo", repoid=repo)["members"]]
    assert names == ["default", b["username"], a["username"]]


def test_grant_errors(server: LiveServer) -> None:
    repo = server.new_repo("hg")["repo_name"]
    user, key = server.new_user()
    assert (
        server.err("grant_user_permission", repoid="nope-x", userid="admin", perm="repository.read")
        == "repository `nope-x` does not exist"
    )
    assert (
        server.err("grant_user_permission", repoid=repo, userid="nope-u", perm="repository.read")
        == "user `nope-u` does not exist"
    )
    assert (
        server.err("grant_user_permission", repoid=repo, userid="admin", perm="repository.bogus")
        == "permission `repository.bogus` does not exist"
    )
    assert (
        server.err("grant_user_permission", repoid=repo, userid="admin", perm="hg.admin")
        == "permission `hg.admin` is invalid, should start with repository."
    )
    assert (
        server.err(
            "grant_user_permission", key, repoid=repo, userid="admin", perm="repository.read"
        )
        == "Access was denied to this resource."
    )
    result = server.ok(
        "grant_user_permission", repoid=repo, userid=user["user_id"], perm="repository.write"
    )
    assert result == {
        "msg": f"Granted perm: `repository.write` for user: `{user['username']}` in repo: `{repo}`",
        "success": True,
    }
    result = server.ok("revoke_user_permission", repoid=repo, userid=user["username"])
    assert result == {
        "msg": f"Revoked perm for user: `{user['username']}` in repo: `{repo}`",
        "success": True,
    }


def test_user_group_grant_rules(server: LiveServer) -> None:
    _owner, owner_key = server.new_user()
    repo = server.new_repo("git", key=owner_key)["repo_name"]
    group = server.ok("create_user_group", group_name=unique("ug"))["user_group"]["group_name"]
    assert (
        server.err("grant_user_group_permission", repoid=repo, usergroupid=group, perm="group.read")
        == "permission `group.read` is invalid, should start with repository."
    )
    assert (
        server.err(
            "grant_user_group_permission", repoid=repo, usergroupid="no-grp", perm="repository.read"
        )
        == "user group `no-grp` does not exist"
    )
    # the repo owner is repo admin and reads the group through the default usergroup.read
    result = server.ok(
        "grant_user_group_permission",
        owner_key,
        repoid=repo,
        usersgroupid=group,
        perm="repository.read",
    )
    assert (
        result["msg"]
        == f"Granted perm: `repository.read` for user group: `{group}` in repo: `{repo}`"
    )
    _, other_key = server.new_user()
    assert (
        server.err(
            "grant_user_group_permission",
            other_key,
            repoid=repo,
            usergroupid=group,
            perm="repository.read",
        )
        == f"repository `{repo}` does not exist"
    )
    result = server.ok("revoke_user_group_permission", owner_key, repoid=repo, usergroupid=group)
    assert result == {
        "msg": f"Revoked perm for user group: `{group}` in repo: `{repo}`",
        "success": True,
    }


# --- update ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_type", TYPES)
def test_rename_and_move_into_group(server: LiveServer, repo_type: str, tmp_path: Path) -> None:
    repo = server.new_repo(repo_type)
    push_commit(server, repo, tmp_path)
    group = unique("dest")
    server.new_repo("hg", name=f"{group}/placeholder")
    new_last = unique("moved")
    result = server.ok("update_repo", repoid=repo["repo_id"], name=new_last, group=group)
    assert result["msg"] == f"updated repo ID:{repo['repo_id']} {group}/{new_last}"
    assert result["repository"]["repo_name"] == f"{group}/{new_last}"
    assert not on_disk(server, repo["repo_name"]).exists()
    assert on_disk(server, f"{group}/{new_last}").is_dir()
    assert (
        server.ok("get_repo", repoid=f"{group}/{new_last}", cache=False)["last_changeset"][
            "revision"
        ]
        == 0
    )
    # and back to top level with repo_name (the alias)
    back = server.ok("update_repo", repoid=repo["repo_id"], group="", repo_name=new_last)[
        "repository"
    ]
    assert back["repo_name"] == new_last and on_disk(server, new_last).is_dir()


def test_update_errors(server: LiveServer) -> None:
    repo = server.new_repo("git")
    other = server.new_repo("git")
    rid = repo["repo_id"]
    assert server.err("update_repo", repoid="missing-r") == "repository `missing-r` does not exist"
    assert (
        server.err("update_repo", repoid=rid, group="no-such-group")
        == "repository group `no-such-group` does not exist"
    )
    assert server.err("update_repo", repoid=rid, owner="ghost-x") == "user `ghost-x` does not exist"
    assert (
        server.err("update_repo", repoid=rid, name="bad name")
        == "Invalid repository name `bad name`: character ` ` is not allowed"
    )
    assert (
        server.err("update_repo", repoid=rid, name=other["repo_name"])
        == f"failed to update repo `{rid}`"
    )
    assert (
        server.err("update_repo", repoid=str(rid), landing_rev="nope:x")
        == f"failed to update repo `{rid}`"
    )
    _, key = server.new_user()
    assert (
        server.err("update_repo", key, repoid=rid, description="x")
        == f"repository `{rid}` does not exist"
    )


def test_update_fields_and_null_means_unchanged(server: LiveServer) -> None:
    repo = server.new_repo("hg")
    user, _ = server.new_user()
    updated = server.ok(
        "update_repo", repoid=repo["repo_name"], description="new d", enable_downloads=True, enable_locking="true",
        landing_rev="branch:default", owner=user["username"], private=None,
    )["repository"]  # fmt: skip
    assert (updated["description"], updated["enable_downloads"], updated["enable_locking"]) == (
        "new d",
        True,
        True,
    )
    assert updated["landing_rev"] == ["branch", "default"] and updated["owner"] == user["username"]
    assert updated["private"] is False


def test_non_admin_top_level_rename_needs_create_permission(server: LiveServer) -> None:
    _user, key = server.new_user()
    repo = server.new_repo("hg", key=key)
    # default permissions include hg.create.repository: allowed
    new = unique("rn")
    assert (
        server.ok("update_repo", key, repoid=repo["repo_id"], name=new)["repository"]["repo_name"]
        == new
    )
    assert (
        server.err("update_repo", key, repoid=repo["repo_id"], owner="admin")
        == "Only an admin can specify `owner` param"
    )
    group = unique("g")
    server.new_repo("hg", name=f"{group}/x")
    assert (
        server.err("update_repo", key, repoid=repo["repo_id"], group=group)
        == f"no permission to create (or move) repo in {group}"
    )


# --- fork -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_type", TYPES)
def test_fork_of_a_fork(server: LiveServer, repo_type: str, tmp_path: Path) -> None:
    source = server.new_repo(repo_type)
    push_commit(server, source, tmp_path)
    first = f"{unique('fk')}/one"
    result = server.ok("fork_repo", repoid=source["repo_name"], fork_name=first)
    assert result == {
        "msg": f"Created fork of `{source['repo_name']}` as `{first}`",
        "success": True,
        "task": None,
    }
    second = unique("fk2")
    server.ok("fork_repo", repoid=first, fork_name=second, description="")
    got = server.ok("get_repo", repoid=second)
    assert got["fork_of"] == first and got["repo_type"] == repo_type
    assert got["description"] == second
    assert got["last_changeset"]["revision"] == 0
    assert (got["enable_statistics"], got["enable_downloads"]) == (False, False)
    assert (
        server.err("fork_repo", repoid=source["repo_name"], fork_name=second)
        == f"fork `{second}` already exist"
    )
    assert (
        server.err("fork_repo", repoid=first, fork_name=source["repo_name"])
        == f"repo `{source['repo_name']}` already exist"
    )


def test_fork_permissions(server: LiveServer) -> None:
    source = server.new_repo("git", private=True)
    user, key = server.new_user()
    server.ok(
        "grant_user_permission",
        repoid=source["repo_id"],
        userid=user["user_id"],
        perm="repository.read",
    )
    copied = unique("cp")
    server.ok("fork_repo", repoid=source["repo_id"], fork_name=copied, copy_permissions=True)
    members = server.ok("get_repo", repoid=copied)["members"]
    assert {(m["name"], m["permission"]) for m in members} == {
        ("default", "repository.none"),
        (user["username"], "repository.read"),
    }
    mine = unique("mf")
    server.ok("fork_repo", key, repoid=source["repo_id"], fork_name=mine)
    got = server.ok("get_repo", key, repoid=mine)
    assert got["owner"] == user["username"] and [f["username"] for f in got["followers"]] == [
        user["username"]
    ]
    _, other_key = server.new_user()
    assert (
        server.err("fork_repo", other_key, repoid=source["repo_id"], fork_name=unique())
        == f"repository `{source['repo_id']}` does not exist"
    )
    assert (
        server.err("fork_repo", key, repoid=source["repo_id"], fork_name=unique(), owner="admin")
        == "Only an admin can specify `owner` param"
    )


# --- delete -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_type", TYPES)
def test_delete_with_forks(server: LiveServer, repo_type: str) -> None:
    source = server.new_repo(repo_type)
    name = source["repo_name"]
    fork1, fork2 = unique("f1"), unique("f2")
    server.ok("fork_repo", repoid=name, fork_name=fork1)
    server.ok("fork_repo", repoid=fork1, fork_name=fork2)
    assert (
        server.err("delete_repo", repoid=name)
        == f"Cannot delete `{name}` it still contains attached forks"
    )
    assert (
        server.err("delete_repo", repoid=name, forks="orphan")
        == "forks must be one of delete,detach"
    )
    result = server.ok("delete_repo", repoid=name, forks="delete")
    assert result == {"msg": f"Deleted repository `{name}` Deleted 2 forks", "success": True}
    for gone in (name, fork1, fork2):
        assert server.err("get_repo", repoid=gone) == f"repository `{gone}` does not exist"
        assert not on_disk(server, gone).exists()
    aside = [
        p.name
        for p in (server.home / "repos").iterdir()
        if p.name.startswith("rm__") and p.name.endswith(f"__{name}")
    ]
    assert len(aside) == 1


def test_delete_detach(server: LiveServer) -> None:
    source = server.new_repo("git")
    fork = unique("fd")
    server.ok("fork_repo", repoid=source["repo_id"], fork_name=fork)
    result = server.ok("delete_repo", repoid=source["repo_id"], forks="detach")
    assert result["msg"] == f"Deleted repository `{source['repo_name']}` Detached 1 forks"
    assert server.ok("get_repo", repoid=fork)["fork_of"] is None
    lone = server.new_repo("hg")
    assert server.ok("delete_repo", repoid=lone["repo_name"], forks="detach")["msg"].endswith(
        " Detached 0 forks"
    )


def test_delete_needs_repo_admin(server: LiveServer) -> None:
    repo = server.new_repo("hg")
    user, key = server.new_user()
    server.ok(
        "grant_user_permission",
        repoid=repo["repo_id"],
        userid=user["user_id"],
        perm="repository.write",
    )
    assert (
        server.err("delete_repo", key, repoid=repo["repo_name"])
        == f"repository `{repo['repo_name']}` does not exist"
    )
    server.ok(
        "grant_user_permission",
        repoid=repo["repo_id"],
        userid=user["user_id"],
        perm="repository.admin",
    )
    assert server.ok("delete_repo", key, repoid=repo["repo_name"])["success"] is True

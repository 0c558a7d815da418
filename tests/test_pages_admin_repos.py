# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository group and repository administration pages over HTTP against live servers (SQLite
and PostgreSQL): refused to non-admins exactly as a missing page; every form's bad input shown
on the form with what was typed, leaving no row and no directory; the changes are the API's (read
back through the JSON-RPC API)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import LiveServer, unique
from tests.pagecheck import client, csrf_of, page_of, signed_in
from tests.vcs_clients import ADMIN, Clients, repo_url

PASSWORD = "pw-Secret-42"


def _user(server: LiveServer) -> dict[str, Any]:
    name = unique("ar")
    return server.ok("create_user", username=name, email=f"{name}@example.com", password=PASSWORD)[
        "user"
    ]


def _post(browser: httpx.Client, path: str, form_page: str, **fields: str) -> httpx.Response:
    token = csrf_of(page_of(browser, form_page))
    return browser.post(path, data={"_csrf": token, **fields})


def _groups(server: LiveServer) -> dict[str, dict[str, Any]]:
    return {g["group_name"]: g for g in server.ok("get_repo_groups")}


@pytest.mark.parametrize(
    "path",
    ["/_admin/repo_groups", "/_admin/repo_groups/1/edit"],
)
def test_admin_pages_refused_like_missing_pages(server: LiveServer, path: str) -> None:
    user = _user(server)
    browser = signed_in(server, user["username"], PASSWORD)
    missing = page_of(browser, "/_admin/no-such-page-at-all", 404)
    refused = page_of(browser, path, 404)
    assert "Repository groups" not in refused
    assert re.sub(r"<[^>]+>", "", refused).count("Not found") >= 1
    assert missing.count("Not found") >= 1
    answer = client(server).get(path)
    assert answer.status_code == 302 and "/_admin/login" in answer.headers["location"]


def test_groups_create_nest_move_delete_and_refusals(server: LiveServer) -> None:
    admin = signed_in(server, *ADMIN)
    top, inner = unique("ag"), unique("in")
    answer = _post(
        admin, "/_admin/repo_groups", "/_admin/repo_groups", group_name=top, description="top <b>"
    )
    assert answer.status_code == 303, answer.text
    gid = _groups(server)[top]["group_id"]
    assert (server.home / "repos" / top).is_dir()
    answer = _post(
        admin, "/_admin/repo_groups", "/_admin/repo_groups", group_name=inner, parent=str(gid)
    )
    assert answer.status_code == 303, answer.text
    assert f"{top}/{inner}" in _groups(server)
    assert (server.home / "repos" / top / inner).is_dir()

    # bad input: shown on the form, typed value kept, nothing made
    bad = "bad name!"
    answer = _post(
        admin,
        "/_admin/repo_groups",
        "/_admin/repo_groups",
        group_name=bad,
        description="kept text",
        parent=str(gid),
    )
    assert answer.status_code == 400
    assert 'id="form-error"' in answer.text and "kept text" in answer.text
    assert (
        f"{top}/{bad}" not in _groups(server) and not (server.home / "repos" / top / bad).exists()
    )
    dup = _post(
        admin, "/_admin/repo_groups", "/_admin/repo_groups", group_name=inner, parent=str(gid)
    )
    assert dup.status_code == 400 and "already exist" in dup.text

    # a non-empty group is refused, as delete_repo_group refuses it
    edit = f"/_admin/repo_groups/{gid}/edit"
    refused = _post(admin, f"/_admin/repo_groups/{gid}/delete", edit)
    assert refused.status_code == 409 and 'id="form-error"' in refused.text
    assert top in _groups(server) and (server.home / "repos" / top).is_dir()

    # move the inner group to the top level, then delete both
    inner_id = _groups(server)[f"{top}/{inner}"]["group_id"]
    moved = _post(
        admin,
        f"/_admin/repo_groups/{inner_id}/edit",
        f"/_admin/repo_groups/{inner_id}/edit",
        group_name=inner,
        parent="",
        description="moved",
    )
    assert moved.status_code == 303, moved.text
    assert inner in _groups(server) and (server.home / "repos" / inner).is_dir()
    assert not (server.home / "repos" / top / inner).exists()
    for ident in (inner_id, gid):
        done = _post(
            admin, f"/_admin/repo_groups/{ident}/delete", f"/_admin/repo_groups/{ident}/edit"
        )
        assert done.status_code == 303, done.text
    assert top not in _groups(server) and not (server.home / "repos" / top).exists()


def test_group_permissions_apply_to_everything_inside(server: LiveServer) -> None:
    admin = signed_in(server, *ADMIN)
    user = _user(server)
    top = unique("gp")
    server.ok("create_repo_group", group_name=top)
    gid = _groups(server)[top]["group_id"]
    repo = f"{top}/{unique('r')}"
    server.ok("create_repo", repo_name=repo, repo_type="git", private=True)
    edit = f"/_admin/repo_groups/{gid}/edit"
    perms = f"/_admin/repo_groups/{gid}/permissions"
    missing = _post(
        admin,
        perms,
        edit,
        holder="user",
        name="nobody-" + top,
        perm="group.write",
        apply_to_children="all",
    )
    assert missing.status_code == 400 and "nobody-" + top in missing.text
    granted = _post(
        admin,
        perms,
        edit,
        holder="user",
        name=user["username"],
        perm="group.write",
        apply_to_children="all",
    )
    assert granted.status_code == 303, granted.text
    members = {m["name"]: m["permission"] for m in server.ok("get_repo", repoid=repo)["members"]}
    assert members[user["username"]] == "repository.write"
    assert user["username"] in page_of(admin, edit)
    revoked = _post(
        admin,
        perms,
        edit,
        holder="user",
        name=user["username"],
        perm="revoke",
        apply_to_children="all",
    )
    assert revoked.status_code == 303, revoked.text
    members = {m["name"] for m in server.ok("get_repo", repoid=repo)["members"]}
    assert user["username"] not in members


@pytest.mark.parametrize("kind", ["git", "hg"])
def test_new_repository_form_and_settings(server: LiveServer, kind: str) -> None:
    admin = signed_in(server, *ADMIN)
    top = unique("nr")
    server.ok("create_repo_group", group_name=top)
    gid = _groups(server)[top]["group_id"]
    name = unique("repo")
    made = _post(
        admin,
        "/_admin/repos",
        "/_admin/repos/new",
        repo_type=kind,
        repo_name=name,
        repo_group=str(gid),
        repo_description="made on a page",
        repo_private="on",
    )
    assert made.status_code == 303, made.text
    full = f"{top}/{name}"
    got = server.ok("get_repo", repoid=full)
    assert got["repo_type"] == kind and got["private"] is True
    assert (server.home / "repos" / full).is_dir()

    # bad input keeps what was typed and makes nothing
    again = _post(
        admin,
        "/_admin/repos",
        "/_admin/repos/new",
        repo_type=kind,
        repo_name=name,
        repo_group=str(gid),
        repo_description="second try",
    )
    assert (
        again.status_code == 400 and "second try" in again.text and 'id="form-error"' in again.text
    )
    bad = _post(
        admin,
        "/_admin/repos",
        "/_admin/repos/new",
        repo_type=kind,
        repo_name="bad name?",
        repo_group=str(gid),
        repo_description="typed",
    )
    assert bad.status_code == 400 and "typed" in bad.text
    assert not (server.home / "repos" / top / "bad name?").exists()

    assert f'href="/{full}/settings"' in page_of(admin, "/_admin/repos")
    assert 'id="new-repo-link"' in page_of(admin, "/")
    settings = f"/{full}/settings"
    text = page_of(admin, settings)
    assert "made on a page" in text
    saved = _post(
        admin,
        settings,
        settings,
        action="save",
        repo_name=name,
        repo_group=str(gid),
        repo_description="changed",
        repo_landing_rev="rev:tip",
        clone_uri="",
        repo_enable_downloads="on",
    )
    assert saved.status_code == 303, saved.text
    got = server.ok("get_repo", repoid=full)
    assert got["description"] == "changed" and got["private"] is False
    assert got["enable_downloads"] is True

    user = _user(server)
    granted = _post(
        admin,
        settings,
        settings,
        action="perm",
        holder="user",
        name=user["username"],
        perm="repository.admin",
    )
    assert granted.status_code == 303, granted.text
    # the new repository admin sees the settings; a stranger gets the missing page
    owner = signed_in(server, user["username"], PASSWORD)
    assert "Settings of" in page_of(owner, settings)
    stranger = signed_in(server, _user(server)["username"], PASSWORD)
    page_of(stranger, settings, 404)

    locked = _post(owner, settings, settings, action="lock")
    assert locked.status_code == 303, locked.text
    assert server.ok("lock", repoid=full)["locked"] is True
    assert _post(owner, settings, settings, action="unlock").status_code == 303
    assert _post(owner, settings, settings, action="invalidate").status_code == 303

    # rename and move to the top level
    renamed = unique("ren")
    moved = _post(
        admin,
        settings,
        settings,
        action="save",
        repo_name=renamed,
        repo_group="",
        repo_description="changed",
        repo_landing_rev="rev:tip",
        clone_uri="",
    )
    assert moved.status_code == 303, moved.text
    assert moved.headers["location"].startswith(f"/{renamed}/settings")
    assert (server.home / "repos" / renamed).is_dir() and not (
        server.home / "repos" / full
    ).exists()

    gone = _post(admin, f"/{renamed}/settings", f"/{renamed}/settings", action="delete", forks="")
    assert gone.status_code == 303, gone.text
    assert renamed not in {r["repo_name"] for r in server.ok("get_repos")}


def test_fork_from_the_summary_page(server: LiveServer) -> None:
    user = _user(server)
    source = unique("src")
    server.ok("create_repo", repo_name=source, repo_type="git", description="upstream")
    browser = signed_in(server, user["username"], PASSWORD)
    assert f'href="/{source}/fork"' in page_of(browser, f"/{source}")
    form = f"/{source}/fork"
    name = unique("fork")
    made = _post(browser, form, form, fork_name=name, description="mine", private="on")
    assert made.status_code == 303, made.text
    got = server.ok("get_repo", repoid=name)
    assert got["fork_of"] == source and got["private"] is True
    assert got["owner"] == user["username"]
    again = _post(browser, form, form, fork_name=name, description="typed again")
    assert again.status_code == 400 and "typed again" in again.text
    assert 'id="form-error"' in again.text


def test_user_group_permission_editor(server: LiveServer) -> None:
    admin = signed_in(server, *ADMIN)
    user = _user(server)
    group = unique("ug")
    gid = server.ok("create_user_group", group_name=group)["user_group"]["users_group_id"]
    path = f"/_admin/user_groups/{gid}/permissions"
    granted = _post(admin, path, path, holder="user", name=user["username"], perm="usergroup.admin")
    assert granted.status_code == 303, granted.text
    assert user["username"] in page_of(admin, path)
    # the new group admin may open the editor; another user gets the missing page
    page_of(signed_in(server, user["username"], PASSWORD), path)
    page_of(signed_in(server, _user(server)["username"], PASSWORD), path, 404)
    wrong = _post(admin, path, path, holder="user", name=user["username"], perm="repository.read")
    assert wrong.status_code == 400 and 'id="perm-error"' in wrong.text
    revoked = _post(admin, path, path, holder="user", name=user["username"], perm="revoke")
    assert revoked.status_code == 303, revoked.text
    assert f'data-name="{user["username"]}"' not in page_of(admin, path)


def _global_form(browser: httpx.Client) -> dict[str, str]:
    """The global permissions form's current values, as it would post them."""
    text = page_of(browser, "/_admin/permissions")
    fields = {}
    for kind, options in re.findall(
        r'<select id="perm-[^"]+" name="([^"]+)">(.*?)</select>', text, re.S
    ):
        fields[kind] = re.findall(r'<option value="([^"]+)" selected>', options)[0]
    if 'name="anonymous" checked' in text:
        fields["anonymous"] = "on"
    return fields


def test_global_permissions_page(make_server: Callable[..., LiveServer]) -> None:
    # a server of its own: saving the form writes every global row, also those the shared
    # server's other tests expect absent (``hg.usergroup.create``)
    server = make_server()
    admin = signed_in(server, *ADMIN)
    user = _user(server)
    page_of(signed_in(server, user["username"], PASSWORD), "/_admin/permissions", 404)
    before = _global_form(admin)
    assert before["hg.create"] == "hg.create.repository" and before["anonymous"] == "on"
    public = unique("pubg")
    server.ok("create_repo", repo_name=public, repo_type="git")
    try:
        bad = _post(
            admin,
            "/_admin/permissions",
            "/_admin/permissions",
            **{**before, "hg.create": "hg.create.everything"},
        )
        assert bad.status_code == 400 and "hg.create.everything" in bad.text
        assert _global_form(admin) == before
        changed = {**before, "hg.create": "hg.create.none"}
        changed.pop("anonymous")
        saved = _post(admin, "/_admin/permissions", "/_admin/permissions", **changed)
        assert saved.status_code == 303, saved.text
        assert _global_form(admin) == changed
        # nobody signed in is the disabled default user now: sent to sign in
        anonymous = client(server).get(f"/{public}")
        assert anonymous.status_code == 302
        # and a plain user may no longer create a repository at the top level
        browser = signed_in(server, user["username"], PASSWORD)
        refused = _post(
            browser,
            "/_admin/repos",
            "/_admin/repos/new",
            repo_type="git",
            repo_name=unique("nope"),
            repo_group="",
            repo_description="kept",
        )
        assert refused.status_code == 400 and "kept" in refused.text
    finally:
        restored = _post(admin, "/_admin/permissions", "/_admin/permissions", **before)
        assert restored.status_code == 303
    assert client(server).get(f"/{public}").status_code == 200


def test_import_from_clone_uri_and_pull_now(server: LiveServer, tmp_path: Path) -> None:
    clients = Clients(tmp_path)
    admin = signed_in(server, *ADMIN)
    source = unique("upstream")
    server.ok("create_repo", repo_name=source, repo_type="git")
    work = clients.seeded("git")
    upstream = repo_url(server, source, *ADMIN)
    clients.push("git", work, upstream)
    name = unique("mirror")
    made = _post(
        admin,
        "/_admin/repos",
        "/_admin/repos/new",
        repo_type="git",
        repo_name=name,
        repo_group="",
        repo_description="imported",
        clone_uri=upstream,
    )
    assert made.status_code == 303, made.text
    branches = server.ok("get_repo", repoid=name, with_revision_names=True)["branches"]
    assert branches["master"] == clients.tip("git", work)

    clients.commit("git", work)
    clients.push("git", work, upstream)
    settings = f"/{name}/settings"
    assert 'id="pull-button"' in page_of(admin, settings)
    pulled = _post(admin, settings, settings, action="pull")
    assert pulled.status_code == 303, pulled.text
    branches = server.ok("get_repo", repoid=name, with_revision_names=True)["branches"]
    assert branches["master"] == clients.tip("git", work)


def test_new_repository_copies_the_group_permissions(server: LiveServer) -> None:
    admin = signed_in(server, *ADMIN)
    user = _user(server)
    top = unique("cp")
    server.ok("create_repo_group", group_name=top)
    server.ok(
        "grant_user_permission_to_repo_group",
        repogroupid=top,
        userid=user["username"],
        perm="group.write",
    )
    gid = _groups(server)[top]["group_id"]
    for copy in ("on", ""):
        name = unique("c")
        made = _post(
            admin,
            "/_admin/repos",
            "/_admin/repos/new",
            repo_type="hg",
            repo_name=name,
            repo_group=str(gid),
            repo_description="",
            repo_copy_permissions=copy,
        )
        assert made.status_code == 303, made.text
        members = {
            m["name"]: m["permission"]
            for m in server.ok("get_repo", repoid=f"{top}/{name}")["members"]
        }
        assert (members.get(user["username"]) == "repository.write") == bool(copy), members


def test_delete_refuses_with_forks_then_detaches_them(server: LiveServer) -> None:
    admin = signed_in(server, *ADMIN)
    source, fork = unique("parent"), unique("child")
    server.ok("create_repo", repo_name=source, repo_type="git")
    server.ok("fork_repo", repoid=source, fork_name=fork)
    settings = f"/{source}/settings"
    refused = _post(admin, settings, settings, action="delete", forks="")
    assert refused.status_code == 409 and 'id="form-error"' in refused.text
    assert (server.home / "repos" / source).is_dir()
    detached = _post(admin, settings, settings, action="delete", forks="detach")
    assert detached.status_code == 303, detached.text
    names = {r["repo_name"] for r in server.ok("get_repos")}
    assert source not in names and fork in names
    assert server.ok("get_repo", repoid=fork)["fork_of"] is None

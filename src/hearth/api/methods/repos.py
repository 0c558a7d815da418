# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository methods (``methods.md`` §4 and §5): thin adapters over ``services.repos``."""

from __future__ import annotations

from typing import Any

from hearth import tasks as background
from hearth.api.declare import CALLER, Arg, Call, Kind, method
from hearth.api.methods import pullrequests as pr_shapes
from hearth.services import (
    cloneurls,
    mirrors,
    pullrequests,
    repogroups,
    repolisting,
    repoperms,
    repos,
    taskrecords,
)
from hearth.services.permissions import Level
from hearth.shapes import brief_user, member, repository


def render(call: Call, repo: Any) -> dict[str, Any]:
    return repository(repolisting.view(call.db, repo), call.base_url, admin=call.actor.admin)


@method(
    "get_repo",
    tier="seed",
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("with_revision_names", Kind.BOOL, False),
        Arg("with_pullrequests", Kind.BOOL, False),
        Arg("cache", Kind.BOOL, True),
    ],
)
def get_repo(
    call: Call, repoid: int | str, with_revision_names: bool, with_pullrequests: bool, cache: bool
) -> dict[str, Any]:
    repo = repos.find(call.db, call.actor, repoid, Level.READ)
    if not cache:
        repos.refresh_cache(call.settings, repo)
    out = render(call, repo)
    if with_revision_names:
        refs = repos.revision_names(call.settings, repo)
        out["tags"] = dict(refs.tags)
        out["branches"] = dict(refs.branches)
        out["bookmarks"] = dict(refs.bookmarks)
    if with_pullrequests:
        out["pull_requests"] = [
            pr_shapes.rendered(call, view)
            for view in pullrequests.for_target(call.db, call.actor, call.settings, repo.repo_id)
        ]
    rows = repoperms.members(call.db, repo.repo_id)
    out["members"] = [member(m) for m in rows]
    owner = out["owner"]
    out["permissions"] = [
        {"name": owner, "type": "user", "permission": "repository.admin", "origin": "owner"},
        *({**member(m), "origin": "permission"} for m in rows),
    ]
    out["followers"] = [brief_user(u) for u in repolisting.followers(call.db, repo.repo_id)]
    out.update(mirrors.describe(repo))  # Hearth's extra keys: the mirror schedule and outcome
    # Hearth extra, last and only with SSH on, so the pinned shape of spec §10 stays as it is
    ssh = cloneurls.ssh_url(call.settings, call.base_url, repo.repo_name)
    if ssh is not None:
        out["ssh_url"] = ssh
    return out


@method(
    "get_repos",
    tier="seed",
    args=[Arg("root", Kind.ID_NAME, None), Arg("traverse", Kind.BOOL, True)],
)
def get_repos(call: Call, root: int | str | None, traverse: bool) -> list[dict[str, Any]]:
    group = repogroups.find(call.db, call.actor, root) if root is not None else None
    views = repolisting.visible(
        call.db, call.actor, call.runtime.database.codepoint, root=group, traverse=traverse
    )
    admin = call.actor.admin
    return [repository(v, call.base_url, admin=admin) for v in views]


@method(
    "create_repo",
    tier="seed",
    blocking=True,
    args=[
        Arg("repo_name", Kind.STR),
        Arg("owner", Kind.ID_NAME, CALLER),
        Arg("repo_type", Kind.STR, None),
        Arg("description", Kind.STR, ""),
        Arg("private", Kind.BOOL, None),
        Arg("clone_uri", Kind.STR, None),
        Arg("landing_rev", Kind.STR, "rev:tip"),
        Arg("enable_statistics", Kind.BOOL, None),
        Arg("enable_downloads", Kind.BOOL, None),
        Arg("copy_permissions", Kind.BOOL, False),
        Arg("enable_locking", Kind.BOOL, None),
    ],
)
def create_repo(call: Call, **args: Any) -> dict[str, Any]:
    if args["clone_uri"] and taskrecords.queued(call.settings):
        new = repos.NewRepo(**args)
        return background.queue_create(call.db, call.actor, call.settings, new, call.client_ip)
    repo = repos.create(
        call.db, call.actor, call.settings, repos.NewRepo(**args), client_ip=call.client_ip
    )
    return {
        "msg": f"Created new repository `{repo.repo_name}`",
        "success": True,
        "task": None,
        "repo": render(call, repo),
    }


@method(
    "update_repo",
    tier="seed",
    blocking=True,
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("name", Kind.STR, None, aliases=("repo_name",)),
        Arg("owner", Kind.ID_NAME, None),
        Arg("group", Kind.ID_NAME, None),
        Arg("description", Kind.STR, None),
        Arg("private", Kind.BOOL, None),
        Arg("clone_uri", Kind.STR, None),
        Arg("landing_rev", Kind.STR, None),
        Arg("enable_statistics", Kind.BOOL, None),
        Arg("enable_downloads", Kind.BOOL, None),
        Arg("enable_locking", Kind.BOOL, None),
        Arg("pull_interval", Kind.INT, None),
    ],
)
def update_repo(
    call: Call, repoid: int | str, pull_interval: int | None, **changes: Any
) -> dict[str, Any]:
    repo = repos.update(call.db, call.actor, call.settings, repoid, changes)
    if pull_interval is not None:  # after update: a clone_uri given in the same call counts
        mirrors.set_interval(call.db, call.actor, repo.repo_id, pull_interval)
    return {"msg": repos.update_message(repo, changes), "repository": render(call, repo)}


@method(
    "fork_repo",
    tier="seed",
    gate="hg.fork.repository",
    blocking=True,
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("fork_name", Kind.STR),
        Arg("owner", Kind.ID_NAME, CALLER),
        Arg("description", Kind.STR, ""),
        Arg("copy_permissions", Kind.BOOL, False),
        Arg("private", Kind.BOOL, False),
        Arg("landing_rev", Kind.STR, "rev:tip"),
    ],
)
def fork_repo(call: Call, repoid: int | str, **args: Any) -> dict[str, Any]:
    if taskrecords.queued(call.settings):
        new = repos.NewFork(**args)
        return background.queue_fork(
            call.db, call.actor, call.settings, repoid, new, call.client_ip
        )
    source, fork = repos.fork(
        call.db, call.actor, call.settings, repoid, repos.NewFork(**args), client_ip=call.client_ip
    )
    return {
        "msg": f"Created fork of `{source.repo_name}` as `{fork.repo_name}`",
        "success": True,
        "task": None,
    }


@method(
    "delete_repo",
    tier="seed",
    blocking=True,
    args=[Arg("repoid", Kind.ID_NAME), Arg("forks", Kind.ENUM, "", values=repos.FORKS_CHOICES)],
)
def delete_repo(call: Call, repoid: int | str, forks: str) -> dict[str, Any]:
    name, count = repos.delete(
        call.db, call.actor, call.settings, repoid, forks, client_ip=call.client_ip
    )
    suffix = {"": "", "detach": f" Detached {count} forks", "delete": f" Deleted {count} forks"}[
        forks
    ]
    return {"msg": f"Deleted repository `{name}`{suffix}", "success": True}


@method(
    "invalidate_cache",
    tier="seed",
    blocking=True,
    args=[Arg("repoid", Kind.ID_NAME), Arg("delete_keys", Kind.BOOL, False)],
)
def invalidate_cache(call: Call, repoid: int | str, delete_keys: bool) -> dict[str, Any]:
    repo = repos.invalidate(call.db, call.actor, call.settings, repoid)
    return {
        "msg": f"Cache for repository `{repoid}` was invalidated",
        "repository": repo.repo_name,
    }


# --- §5 repository permissions ------------------------------------------------------------------


@method(
    "grant_user_permission",
    tier="seed",
    gate="admin",
    args=[Arg("repoid", Kind.ID_NAME), Arg("userid", Kind.ID_NAME), Arg("perm", Kind.STR)],
)
def grant_user_permission(
    call: Call, repoid: int | str, userid: int | str, perm: str
) -> dict[str, Any]:
    repo, user = repoperms.grant_user(call.db, repoid, userid, perm)
    return {
        "msg": f"Granted perm: `{perm}` for user: `{user.username}` in repo: `{repo.repo_name}`",
        "success": True,
    }


@method(
    "revoke_user_permission",
    tier="seed",
    gate="admin",
    args=[Arg("repoid", Kind.ID_NAME), Arg("userid", Kind.ID_NAME)],
)
def revoke_user_permission(call: Call, repoid: int | str, userid: int | str) -> dict[str, Any]:
    repo, user = repoperms.revoke_user_ref(call.db, repoid, userid, call.actor.default_user_id)
    return {
        "msg": f"Revoked perm for user: `{user.username}` in repo: `{repo.repo_name}`",
        "success": True,
    }


@method(
    "grant_user_group_permission",
    tier="seed",
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("usergroupid", Kind.ID_NAME, aliases=("usersgroupid",)),
        Arg("perm", Kind.STR),
    ],
)
def grant_user_group_permission(
    call: Call, repoid: int | str, usergroupid: int | str, perm: str
) -> dict[str, Any]:
    repo, group = repoperms.grant_group(call.db, call.actor, repoid, usergroupid, perm)
    return {
        "msg": f"Granted perm: `{perm}` for user group: `{group.group_name}` in repo: `{repo.repo_name}`",
        "success": True,
    }


@method(
    "revoke_user_group_permission",
    tier="seed",
    args=[Arg("repoid", Kind.ID_NAME), Arg("usergroupid", Kind.ID_NAME, aliases=("usersgroupid",))],
)
def revoke_user_group_permission(
    call: Call, repoid: int | str, usergroupid: int | str
) -> dict[str, Any]:
    repo, group = repoperms.revoke_group_ref(call.db, call.actor, repoid, usergroupid)
    return {
        "msg": f"Revoked perm for user group: `{group.group_name}` in repo: `{repo.repo_name}`",
        "success": True,
    }

# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository group methods (``methods.md`` §6): thin adapters over ``services.repogroups``."""

from __future__ import annotations

from typing import Any

from hearth.api.declare import CALLER, Arg, Call, Kind, method
from hearth.services import groupperms, lookup, repogroups
from hearth.shapes import member, repo_group


def _shape(call: Call, group: Any) -> dict[str, Any]:
    return repo_group(repogroups.view(call.db, group))


def _apply_arg() -> Arg:
    return Arg("apply_to_children", Kind.ENUM, "none", values=groupperms.APPLY_CHOICES)


def _user_group_arg() -> Arg:
    return Arg("usergroupid", Kind.ID_NAME, aliases=("usersgroupid",))


@method(
    "get_repo_group", tier="kallithea-0.7", gate="admin", args=[Arg("repogroupid", Kind.ID_NAME)]
)
def get_repo_group(call: Call, repogroupid: int | str) -> dict[str, Any]:
    group = lookup.repo_group(call.db, repogroupid)
    out = _shape(call, group)
    out["members"] = [member(m) for m in repogroups.members(call.db, group.group_id)]
    return out


@method("get_repo_groups", tier="kallithea-0.7", gate="admin")
def get_repo_groups(call: Call) -> list[dict[str, Any]]:
    return [repo_group(v) for v in repogroups.list_all(call.db)]


@method(
    "create_repo_group",
    tier="kallithea-0.7",
    gate="admin",
    blocking=True,
    args=[
        Arg("group_name", Kind.STR),
        Arg("description", Kind.STR, ""),
        Arg("owner", Kind.ID_NAME, CALLER),
        Arg("parent", Kind.ID_NAME, None),
        Arg("copy_permissions", Kind.BOOL, False),
    ],
)
def create_repo_group(call: Call, **args: Any) -> dict[str, Any]:
    new = repogroups.NewGroup(**args)
    group = repogroups.create_group(call.db, call.actor, call.settings.repos, new)
    return {
        "msg": f"created new repo group `{new.group_name}`",
        "repo_group": _shape(call, group),
    }


@method(
    "update_repo_group",
    tier="kallithea-0.7",
    gate="admin",
    blocking=True,
    args=[
        Arg("repogroupid", Kind.ID_NAME),
        Arg("group_name", Kind.STR, None),
        Arg("description", Kind.STR, None),
        Arg("owner", Kind.ID_NAME, None),
        Arg("parent", Kind.ID_NAME, None),
    ],
)
def update_repo_group(call: Call, repogroupid: int | str, **changes: Any) -> dict[str, Any]:
    group = repogroups.update_group(
        call.db, call.actor, call.settings.repos, repogroupid, repogroups.GroupChanges(**changes)
    )
    return {
        "msg": f"updated repository group ID:{group.group_id} {group.group_name}",
        "repo_group": _shape(call, group),
    }


@method(
    "delete_repo_group",
    tier="kallithea-0.7",
    gate="admin",
    blocking=True,
    args=[Arg("repogroupid", Kind.ID_NAME)],
)
def delete_repo_group(call: Call, repogroupid: int | str) -> dict[str, Any]:
    ident, path = repogroups.delete_group(call.db, call.actor, call.settings.repos, repogroupid)
    return {"msg": f"deleted repo group ID:{ident} {path}", "repo_group": None}


@method(
    "grant_user_permission_to_repo_group",
    tier="kallithea-0.7",
    args=[
        Arg("repogroupid", Kind.ID_NAME),
        Arg("userid", Kind.ID_NAME),
        Arg("perm", Kind.STR),
        _apply_arg(),
    ],
)
def grant_user_permission_to_repo_group(
    call: Call, repogroupid: int | str, userid: int | str, perm: str, apply_to_children: str
) -> dict[str, Any]:
    done = groupperms.grant_user(call.db, call.actor, repogroupid, userid, perm, apply_to_children)
    return {
        "msg": (
            f"Granted perm: `{perm}` (recursive:{apply_to_children}) for user: "
            f"`{done.holder}` in repo group: `{done.name}`"
        ),
        "success": True,
    }


@method(
    "revoke_user_permission_from_repo_group",
    tier="kallithea-0.7",
    args=[Arg("repogroupid", Kind.ID_NAME), Arg("userid", Kind.ID_NAME), _apply_arg()],
)
def revoke_user_permission_from_repo_group(
    call: Call, repogroupid: int | str, userid: int | str, apply_to_children: str
) -> dict[str, Any]:
    done = groupperms.revoke_user(call.db, call.actor, repogroupid, userid, apply_to_children)
    return {
        "msg": (
            f"Revoked perm (recursive:{apply_to_children}) for user: "
            f"`{done.holder}` in repo group: `{done.name}`"
        ),
        "success": True,
    }


@method(
    "grant_user_group_permission_to_repo_group",
    tier="kallithea-0.7",
    args=[
        Arg("repogroupid", Kind.ID_NAME),
        _user_group_arg(),
        Arg("perm", Kind.STR),
        _apply_arg(),
    ],
)
def grant_user_group_permission_to_repo_group(
    call: Call, repogroupid: int | str, usergroupid: int | str, perm: str, apply_to_children: str
) -> dict[str, Any]:
    done = groupperms.grant_user_group(
        call.db, call.actor, repogroupid, usergroupid, perm, apply_to_children
    )
    return {
        "msg": (
            f"Granted perm: `{perm}` (recursive:{apply_to_children}) for user group: "
            f"`{done.holder}` in repo group: `{done.name}`"
        ),
        "success": True,
    }


@method(
    "revoke_user_group_permission_from_repo_group",
    tier="kallithea-0.7",
    args=[Arg("repogroupid", Kind.ID_NAME), _user_group_arg(), _apply_arg()],
)
def revoke_user_group_permission_from_repo_group(
    call: Call, repogroupid: int | str, usergroupid: int | str, apply_to_children: str
) -> dict[str, Any]:
    done = groupperms.revoke_user_group(
        call.db, call.actor, repogroupid, usergroupid, apply_to_children
    )
    return {
        "msg": (
            f"Revoked perm (recursive:{apply_to_children}) for user group: "
            f"`{done.holder}` in repo group: `{done.name}`"
        ),
        "success": True,
    }

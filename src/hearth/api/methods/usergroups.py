# SPDX-License-Identifier: GPL-3.0-or-later
"""User group methods (``methods.md`` §3): thin adapters over ``services.usergroups``."""

from __future__ import annotations

from typing import Any

from hearth.api.declare import CALLER, Arg, Call, Kind, method
from hearth.services import usergroups
from hearth.shapes import user_group


def _group_arg() -> Arg:
    """``usergroupid``, with the seed's spelling ``usersgroupid`` in every method (README)."""
    return Arg("usergroupid", Kind.ID_NAME, aliases=("usersgroupid",))


@method("get_user_group", tier="seed", args=[_group_arg()])
def get_user_group(call: Call, usergroupid: int | str) -> dict[str, Any]:
    group = usergroups.get(call.db, call.actor, usergroupid)
    return user_group(usergroups.details(call.db, [group])[0])


@method("get_user_groups", tier="seed")
def get_user_groups(call: Call) -> list[dict[str, Any]]:
    groups = usergroups.list_visible(call.db, call.actor)
    return [user_group(d) for d in usergroups.details(call.db, groups)]


@method(
    "create_user_group",
    tier="seed",
    gate="hg.usergroup.create.true",
    args=[
        Arg("group_name", Kind.STR),
        Arg("description", Kind.STR, ""),
        Arg("owner", Kind.ID_NAME, CALLER),
        Arg("active", Kind.BOOL, True),
    ],
)
def create_user_group(
    call: Call, group_name: str, description: str, owner: int | str | None, active: bool
) -> dict[str, Any]:
    group = usergroups.create(
        call.db, call.actor, name=group_name, description=description, owner=owner, active=active
    )
    shape = user_group(usergroups.details(call.db, [group])[0])
    return {
        "msg": f"created new user group `{group.group_name}`",
        "user_group": shape,
        "users_group": shape,
    }


@method(
    "update_user_group",
    tier="kallithea-0.7",
    args=[
        _group_arg(),
        Arg("group_name", Kind.STR, None),
        Arg("description", Kind.STR, None),
        Arg("owner", Kind.ID_NAME, None),
        Arg("active", Kind.BOOL, None),
    ],
)
def update_user_group(
    call: Call,
    usergroupid: int | str,
    group_name: str | None,
    description: str | None,
    owner: int | str | None,
    active: bool | None,
) -> dict[str, Any]:
    group = usergroups.update(
        call.db,
        call.actor,
        usergroupid,
        name=group_name,
        description=description,
        owner=owner,
        active=active,
    )
    return {
        "msg": f"updated user group ID:{group.users_group_id} {group.group_name}",
        "user_group": user_group(usergroups.details(call.db, [group])[0]),
    }


@method("delete_user_group", tier="kallithea-0.7", args=[_group_arg()])
def delete_user_group(call: Call, usergroupid: int | str) -> dict[str, Any]:
    ident, name = usergroups.delete_group(call.db, call.actor, usergroupid)
    return {"msg": f"deleted user group ID:{ident} {name}", "user_group": None}


@method(
    "add_user_to_user_group",
    tier="kallithea-0.7",
    aliases=("add_user_user_group",),
    args=[_group_arg(), Arg("userid", Kind.ID_NAME)],
)
def add_user_to_user_group(call: Call, usergroupid: int | str, userid: int | str) -> dict[str, Any]:
    change = usergroups.add_member(call.db, call.actor, usergroupid, userid)
    return usergroups.membership_answer(change, added=True)


@method(
    "remove_user_from_user_group",
    tier="seed",
    args=[_group_arg(), Arg("userid", Kind.ID_NAME)],
)
def remove_user_from_user_group(
    call: Call, usergroupid: int | str, userid: int | str
) -> dict[str, Any]:
    change = usergroups.remove_member(call.db, call.actor, usergroupid, userid)
    return usergroups.membership_answer(change, added=False)


@method(
    "grant_user_permission_to_user_group",
    tier="rhodecode",
    args=[_group_arg(), Arg("userid", Kind.ID_NAME), Arg("perm", Kind.STR)],
)
def grant_user_permission_to_user_group(
    call: Call, usergroupid: int | str, userid: int | str, perm: str
) -> dict[str, Any]:
    done = usergroups.grant_user(call.db, call.actor, usergroupid, userid, perm)
    return {
        "msg": (
            f"Granted perm: `{done.permission}` for user: `{done.user.username}` "
            f"in user group: `{done.group.group_name}`"
        ),
        "success": True,
    }


@method(
    "revoke_user_permission_from_user_group",
    tier="rhodecode",
    args=[_group_arg(), Arg("userid", Kind.ID_NAME)],
)
def revoke_user_permission_from_user_group(
    call: Call, usergroupid: int | str, userid: int | str
) -> dict[str, Any]:
    done = usergroups.revoke_user(call.db, call.actor, usergroupid, userid)
    return {
        "msg": (
            f"Revoked perm for user: `{done.user.username}` "
            f"in user group: `{done.group.group_name}`"
        ),
        "success": True,
    }


@method(
    "grant_user_group_permission_to_user_group",
    tier="rhodecode",
    args=[_group_arg(), Arg("sourceusergroupid", Kind.ID_NAME), Arg("perm", Kind.STR)],
)
def grant_user_group_permission_to_user_group(
    call: Call, usergroupid: int | str, sourceusergroupid: int | str, perm: str
) -> dict[str, Any]:
    done = usergroups.grant_group(call.db, call.actor, usergroupid, sourceusergroupid, perm)
    return {
        "msg": (
            f"Granted perm: `{done.permission}` for user group: `{done.source.group_name}` "
            f"in user group: `{done.group.group_name}`"
        ),
        "success": True,
    }


@method(
    "revoke_user_group_permission_from_user_group",
    tier="rhodecode",
    args=[_group_arg(), Arg("sourceusergroupid", Kind.ID_NAME)],
)
def revoke_user_group_permission_from_user_group(
    call: Call, usergroupid: int | str, sourceusergroupid: int | str
) -> dict[str, Any]:
    done = usergroups.revoke_group(call.db, call.actor, usergroupid, sourceusergroupid)
    return {
        "msg": (
            f"Revoked perm for user group: `{done.source.group_name}` "
            f"in user group: `{done.group.group_name}`"
        ),
        "success": True,
    }

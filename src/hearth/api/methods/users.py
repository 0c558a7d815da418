# SPDX-License-Identifier: GPL-3.0-or-later
"""User methods (``methods.md`` §2): thin adapters over ``services.users``."""

from __future__ import annotations

from typing import Any

from hearth.api.declare import CALLER, Arg, Call, Kind, method
from hearth.errors import Forbidden
from hearth.services import explainer, lookup, repogroups, users
from hearth.services.lookup import as_id
from hearth.shapes import detailed_user, permission_block


def self_only(call: Call, userid: int | str | None) -> None:
    """A non-admin may name only themself (README #15); checked before any lookup."""
    if userid is None or call.actor.admin:
        return
    if as_id(userid) == call.actor.user_id or userid == call.actor.username:
        return
    raise Forbidden("not_same_user")


def _detailed(call: Call, user: Any) -> dict[str, Any]:
    return detailed_user(users.details(call.db, [user])[0])


@method("get_user", tier="seed", args=[Arg("userid", Kind.ID_NAME, CALLER)])
def get_user(call: Call, userid: int | str | None) -> dict[str, Any]:
    self_only(call, userid)
    user = lookup.user(call.db, call.actor.user_id if userid is None else userid)
    out = _detailed(call, user)
    report = users.permission_report(
        call.db, user, call.actor.default_user_id, hide_none=not call.actor.admin
    )
    out["permissions"] = permission_block(report)
    return out


@method("get_users", tier="seed", gate="admin")
def get_users(call: Call) -> list[dict[str, Any]]:
    found = users.list_users(call.db, call.runtime.database.codepoint)
    return [detailed_user(d) for d in users.details(call.db, found)]


_PROFILE = (
    Arg("password", Kind.STR, ""),
    Arg("firstname", Kind.STR, ""),
    Arg("lastname", Kind.STR, ""),
    Arg("active", Kind.BOOL, True),
    Arg("admin", Kind.BOOL, False),
    Arg("extern_type", Kind.STR, "internal"),
    Arg("extern_name", Kind.STR, "", aliases=("ldap_dn",)),
    Arg("description", Kind.STR, ""),
)


def _extern_type(call: Call, extern_type: str | None) -> str | None:
    """``ldap_dn`` (the seed's spelling) implies ``extern_type: ldap`` unless one is given."""
    if call.given.get("extern_name") == "ldap_dn" and "extern_type" not in call.given:
        return "ldap"
    return extern_type


@method(
    "create_user",
    tier="seed",
    gate="admin",
    args=[
        Arg("username", Kind.STR),
        Arg("email", Kind.STR),
        *_PROFILE,
        Arg("force_password_change", Kind.BOOL, False),
        Arg("create_personal_repo_group", Kind.BOOL, False),
    ],
)
def create_user(
    call: Call, username: str, email: str, create_personal_repo_group: bool, **profile: Any
) -> dict[str, Any]:
    profile["extern_type"] = _extern_type(call, profile["extern_type"])
    user = users.create_user_or_fail(call.db, username=username, email=email, **profile)
    if create_personal_repo_group:
        repogroups.create_personal(call.db, call.actor, call.settings.repos, user)
    return {"msg": f"created new user `{user.username}`", "user": _detailed(call, user)}


@method(
    "update_user",
    tier="seed",
    gate="admin",
    args=[
        Arg("userid", Kind.ID_NAME),
        Arg("username", Kind.STR, None),
        Arg("email", Kind.STR, None),
        *(Arg(a.name, a.kind, None, a.aliases) for a in _PROFILE),
    ],
)
def update_user(call: Call, userid: int | str, **changes: Any) -> dict[str, Any]:
    user = lookup.user(call.db, userid)
    changes["extern_type"] = _extern_type(call, changes["extern_type"])
    user = users.update_user(call.db, user, userid, changes)
    return {
        "msg": f"updated user ID:{user.user_id} {user.username}",
        "user": _detailed(call, user),
    }


@method("delete_user", tier="seed", gate="admin", args=[Arg("userid", Kind.ID_NAME)])
def delete_user(call: Call, userid: int | str) -> dict[str, Any]:
    user = lookup.user(call.db, userid)
    ident, name = user.user_id, user.username
    users.delete_user(call.db, user)
    return {"msg": f"deleted user ID:{ident} {name}", "user": None}


@method(
    "explain_permission",
    tier="hearth",
    readonly=True,
    args=[
        Arg("userid", Kind.ID_NAME, CALLER),
        Arg("repoid", Kind.ID_NAME, None),
        Arg("repogroupid", Kind.ID_NAME, None),
        Arg("usergroupid", Kind.ID_NAME, None),
    ],
)
def explain_permission(
    call: Call,
    userid: int | str | None,
    repoid: int | str | None,
    repogroupid: int | str | None,
    usergroupid: int | str | None,
) -> dict[str, Any]:
    """A user's effective permission on one object, and why (Hearth's own method).

    Give exactly one of `repoid`, `repogroupid`, `usergroupid`. Admins may ask about any user;
    others only about themselves (else `userid is not the same as your user`), and an object
    on which they have no permission at all is answered as missing.

    Result: `{"user": NAME, "object": {"type": "repository"|"repository_group"|"user_group",
    "name": NAME}, "permission": P, "because": [{"rule", "permission", "via", "effective",
    "inherited_from"}, ...]}`.
    `permission` is exactly what `get_user`'s `permissions` reports for the object (e.g.
    `repository.write`; `repository.none` where `get_user` omits a none). `because` lists every
    rule that gives the user a level on the object, strongest first; the first is `effective`
    (the one that decided), the others were overridden or only equal it. `rule` is one of
    `admin` (the user is an administrator; `via` the user), `owner` (owner of the repository),
    `direct grant` (a row for the user), `user group` (a row for an active user group the user
    is a member of; `via` the group), `default user` (the row of the `default` user: what
    everybody gets), `private` (a private repository gives nothing through the `default` user).
    Inheritance from repository groups works as in Kallithea: granting on a group with
    `apply_to_children` (or creating with `copy_permissions`) writes rows on what is inside;
    such a row's `inherited_from` is the full name of the repository group whose grant wrote
    it (`null` for a row written on the object itself, or before Hearth recorded where rows
    come from), and a later grant on the object itself makes it the object's own again. The
    rules are read from the rows the access checks themselves take the
    highest of (`services/permissions.py`), so the answer cannot disagree with a check."""
    answer = explainer.explain_permission(
        call.db, call.actor, userid, repoid, repogroupid, usergroupid
    )
    return answer.as_json()

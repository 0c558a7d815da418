# SPDX-License-Identifier: GPL-3.0-or-later
"""Gist methods (``methods.md`` §7): thin adapters over ``services.gists``."""

from __future__ import annotations

from typing import Any

from hearth.api.declare import CALLER, Arg, Call, Kind, method
from hearth.api.methods.users import self_only
from hearth.services import gists, lookup
from hearth.shapes import gist as gist_shape


@method(
    "get_gist",
    tier="kallithea-0.7",
    blocking=True,  # ``content`` reads the repository
    args=[Arg("gistid", Kind.ID_NAME), Arg("content", Kind.BOOL, False)],
)
def get_gist(call: Call, gistid: int | str, content: bool) -> dict[str, Any]:
    """Admins and the owner see any of their gists, anyone else public ones (README #23);
    ``content: true`` adds ``{filename: text}`` read from the gist's repository."""
    found = gists.find(call.db, call.actor, gistid)
    files = gists.contents(call.settings.repos, found) if content else None
    return gist_shape(found, call.base_url, files)


@method("get_gists", tier="kallithea-0.7", args=[Arg("userid", Kind.ID_NAME, CALLER)])
def get_gists(call: Call, userid: int | str | None) -> list[dict[str, Any]]:
    """The user's live gists, newest first; a non-admin may only ask about themself (README #15)."""
    self_only(call, userid)
    user_id = call.actor.user_id if userid is None else lookup.user(call.db, userid).user_id
    return [gist_shape(g, call.base_url) for g in gists.owned_by(call.db, user_id)]


@method(
    "create_gist",
    tier="kallithea-0.7",
    blocking=True,
    args=[
        Arg("files", Kind.OBJECT),
        Arg("owner", Kind.ID_NAME, CALLER),
        Arg("gist_type", Kind.ENUM, gists.PUBLIC, values=gists.GIST_TYPES),
        Arg("lifetime", Kind.INT, -1),
        Arg("description", Kind.STR, ""),
        Arg("acl_level", Kind.ENUM, "acl_public", values=gists.ACL_LEVELS),
    ],
)
def create_gist(
    call: Call,
    files: dict[str, Any],
    owner: int | str | None,
    gist_type: str,
    lifetime: int,
    description: str,
    acl_level: str,
) -> dict[str, Any]:
    """``files`` is ``{filename: {"content": text}}``, committed as one hg changeset by the owner.

    ``lifetime`` is in minutes: ``-1`` (the default) never expires, ``1`` to ``1000000000`` set
    ``expires`` to now + 60 × lifetime seconds. ``0`` and other negative values are refused with
    ``Invalid value for `lifetime` …`` (Kallithea would make a gist that is already expired, i.e.
    missing the moment it is created); they are checked after ``acl_level``, before the owner
    lookup. A non-admin may name themself as ``owner``, nobody else.
    """
    created = gists.create(
        call.db,
        call.actor,
        call.settings.repos,
        files=files,
        owner=owner,
        gist_type=gist_type,
        lifetime=lifetime,
        description=description,
        acl_level=acl_level,
    )
    return {"msg": "created new gist", "gist": gist_shape(created, call.base_url)}


@method("delete_gist", tier="kallithea-0.7", blocking=True, args=[Arg("gistid", Kind.ID_NAME)])
def delete_gist(call: Call, gistid: int | str) -> dict[str, Any]:
    """Admins any gist, others their own (else ``gist `X` does not exist``); row and directory."""
    access_id = gists.delete(call.db, call.actor, call.settings.repos, gistid)
    return {"msg": f"deleted gist ID:{access_id}", "gist": None}

# SPDX-License-Identifier: GPL-3.0-or-later
"""The global permissions of the ``default`` user, which every user starts from (Kallithea's
"Default permissions" page): anonymous access on/off (the ``default`` user's active flag), who
may create repositories, user groups and forks, and which ``repository.*`` / ``group.*`` /
``usergroup.*`` row a new object gives the ``default`` user. Read by the checks in
``services/permissions.py``; changed only here, by an administrator, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hearth.db.models import User, UserGlobalPerm
from hearth.errors import Forbidden, Invalid
from hearth.services.permissions import GLOBAL_KINDS, Actor

#: the families the page edits, in its order (``hg.admin`` is a user flag, not a default)
EDITABLE = (
    "repository",
    "group",
    "usergroup",
    "hg.create",
    "hg.usergroup.create",
    "hg.fork",
    "hg.register",
    "hg.extern_activate",
)


@dataclass(frozen=True)
class Defaults:
    """What the page shows: anonymous access, and per family the chosen name and the choices."""

    anonymous: bool
    chosen: dict[str, str]
    choices: dict[str, list[str]]


def _rows(db: Session, default_user_id: int) -> dict[str, UserGlobalPerm]:
    return {
        row.kind: row
        for row in db.scalars(
            select(UserGlobalPerm).where(UserGlobalPerm.user_id == default_user_id)
        )
    }


def defaults(db: Session, default_user_id: int) -> Defaults:
    user = db.get(User, default_user_id)
    rows = _rows(db, default_user_id)
    choices = {kind: [name for name, _ in GLOBAL_KINDS[kind]] for kind in EDITABLE}
    chosen = {
        kind: rows[kind].permission if kind in rows else choices[kind][0] for kind in EDITABLE
    }
    return Defaults(bool(user is not None and user.active), chosen, choices)


def set_defaults(db: Session, actor: Actor, anonymous: bool, chosen: dict[str, str]) -> Defaults:
    """Check every choice first (nothing changes when one is wrong), then write the rows."""
    if not actor.admin:
        raise Forbidden("global_perm_admin_only")
    for kind in EDITABLE:
        allowed = [name for name, _ in GLOBAL_KINDS[kind]]
        if chosen.get(kind) not in allowed:
            raise Invalid(
                "global_perm_invalid", x=chosen.get(kind, ""), kind=kind, choices=", ".join(allowed)
            )
    default_id = actor.default_user_id
    rows = _rows(db, default_id)
    for kind in EDITABLE:
        row = rows.get(kind)
        if row is None:
            db.add(UserGlobalPerm(user_id=default_id, kind=kind, permission=chosen[kind]))
        else:
            row.permission = chosen[kind]
    user = db.get(User, default_id)
    assert user is not None
    user.active = anonymous
    db.flush()
    return defaults(db, default_id)

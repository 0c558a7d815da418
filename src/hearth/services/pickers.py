# SPDX-License-Identifier: GPL-3.0-or-later
"""The names the pages' pickers offer: the ``<datalist>`` beside a permission row's name and an
owner field (``templates/_perm_rows.html``, the repository and repository-group settings).

An administrator is offered every active user (``default`` first) and every user group. Anyone
else — the administrator of one repository or user group who is not a site administrator — is
offered the ``default`` user, themself and the user groups they may read (what granting to a
user group needs): the list of users is the site administrators' (``get_users``). A picker only
suggests; any name may be typed, and the service the form calls decides, as for the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hearth.db.models import User
from hearth.services import usergroups
from hearth.services.permissions import DEFAULT_USERNAME, Actor

#: at most this many user names (the page stays small; more are typed)
LIMIT = 2000


@dataclass(frozen=True)
class Holder:
    name: str
    label: str  # what the picker shows beside the name


@dataclass(frozen=True)
class Holders:
    users: list[Holder]
    user_groups: list[Holder]

    @property
    def user_names(self) -> set[str]:
        return {h.name for h in self.users}

    @property
    def user_group_names(self) -> set[str]:
        return {h.name for h in self.user_groups}


def holders(db: Session, actor: Actor) -> Holders:
    """Who the actor may pick as a permission holder or owner (see the module docstring)."""
    if actor.admin:
        names = db.scalars(
            select(User.username)
            .where(User.active.is_(True), User.username != DEFAULT_USERNAME)
            .order_by(User.username_lower, User.username)
            .limit(LIMIT)
        ).all()
    else:
        names = [] if actor.is_anonymous else [actor.username]
    people = [Holder(DEFAULT_USERNAME, "everyone, also anonymous")]
    people += [Holder(name, "user") for name in names]
    groups = [
        Holder(g.group_name, "user group" if g.active else "user group, inactive")
        for g in sorted(usergroups.list_visible(db, actor), key=lambda g: g.group_name.lower())
    ]
    return Holders(people, groups)

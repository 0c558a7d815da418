# SPDX-License-Identifier: GPL-3.0-or-later
"""Permissions on a repository group and, with ``apply_to_children``, on everything below it
(``methods.md`` §6): the four grant/revoke methods, beside ``services/repoperms.py``.

Checks run in the order ``methods.md`` lists them; who may is asked of ``services.permissions``.
Rows are written in a savepoint: a database failure leaves none and answers ``Failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, delete, exists, insert, literal, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from hearth.db.models import (
    GroupUserGroupPerm,
    GroupUserPerm,
    RepoGroup,
    Repository,
    RepoUserGroupPerm,
    RepoUserPerm,
)
from hearth.errors import Failed, NotFound, enum_error
from hearth.services import lookup, names, permissions
from hearth.services.permissions import Actor, Level
from hearth.services.repogroups import atomic, below, find

# --- permissions on a group and, recursively, below it ----------------------------------------

APPLY_CHOICES = ("none", "repos", "groups", "all")


def check_apply(apply_to_children: str) -> None:
    """The enum of the four permission methods, checked before any lookup (README #14)."""
    if apply_to_children not in APPLY_CHOICES:
        raise enum_error("apply_to_children", APPLY_CHOICES)


@dataclass(frozen=True)
class _Rows:
    """A permission-row table: the column naming the object, the one naming the holder."""

    table: Any
    obj: Any
    holder: Any


_GROUP_ROWS = {
    "user": _Rows(GroupUserPerm, GroupUserPerm.group_id, GroupUserPerm.user_id),
    "user_group": _Rows(
        GroupUserGroupPerm, GroupUserGroupPerm.group_id, GroupUserGroupPerm.users_group_id
    ),
}
_REPO_ROWS = {
    "user": _Rows(RepoUserPerm, RepoUserPerm.repo_id, RepoUserPerm.user_id),
    "user_group": _Rows(
        RepoUserGroupPerm, RepoUserGroupPerm.repo_id, RepoUserGroupPerm.users_group_id
    ),
}


def _write_rows(
    db: Session,
    rows: _Rows,
    pk: Any,
    where: Any,
    holder_id: int,
    level: Level | None,
    origin: int | None,
) -> None:
    """Set the holder's row to ``level`` on every object ``where`` selects (rows that exist change
    in place and keep their position; missing ones are appended in id order), or delete the
    holder's rows there when ``level`` is None. Two statements, whatever the number of objects.
    ``origin`` is the group whose grant writes rows inside it (``from_group_id``, which the
    permission explainer names), None on the group itself."""
    targets = select(pk).where(where)
    if level is None:
        db.execute(
            delete(rows.table)
            .where(rows.holder == holder_id, rows.obj.in_(targets))
            .execution_options(synchronize_session="fetch")
        )
        return
    db.execute(
        sql_update(rows.table)
        .where(rows.holder == holder_id, rows.obj.in_(targets))
        .values(level=int(level), from_group_id=origin)
        .execution_options(synchronize_session="fetch")
    )
    missing = (
        select(
            pk,
            literal(holder_id, Integer),
            literal(int(level), Integer),
            literal(origin, Integer),
        )
        .where(where, ~exists().where(rows.obj == pk, rows.holder == holder_id))
        .order_by(pk)
    )
    columns = [rows.obj.key, rows.holder.key, "level", "from_group_id"]
    db.execute(insert(rows.table).from_select(columns, missing))


def _apply(
    db: Session,
    group: RepoGroup,
    holder: str,
    holder_id: int,
    level: Level | None,
    apply_to_children: str,
    *,
    is_default: bool,
) -> None:
    """Write (or, ``level`` None, revoke) the holder's row on the group and, per
    ``apply_to_children``, on every group and/or repository below it. The ``default`` user's
    revoke becomes ``*.none`` (README #12), and its rows on private repositories are never
    touched (README #13)."""
    if level is None and is_default:
        level = Level.NONE
    gid = group.group_id
    here = RepoGroup.group_id == gid
    _write_rows(db, _GROUP_ROWS[holder], RepoGroup.group_id, here, holder_id, level, None)
    if apply_to_children in ("groups", "all"):
        inside = below(RepoGroup.group_name, group.group_name)
        _write_rows(db, _GROUP_ROWS[holder], RepoGroup.group_id, inside, holder_id, level, gid)
    if apply_to_children in ("repos", "all"):
        repos = below(Repository.repo_name, group.group_name)
        if is_default:
            repos = repos & Repository.private.is_(False)
        _write_rows(db, _REPO_ROWS[holder], Repository.repo_id, repos, holder_id, level, gid)
    db.flush()


@dataclass(frozen=True)
class GroupGrant:
    """Whose row changed on which group (for the method's message)."""

    group: RepoGroup
    holder: str  # username or user group name

    @property
    def name(self) -> str:
        """The group's last component, as Kallithea's messages show it."""
        return names.last_component(self.group.group_name)


def grant_user(
    db: Session, actor: Actor, ref: int | str, user_ref: int | str, perm: str, apply: str
) -> GroupGrant:
    """``grant_user_permission_to_repo_group``: admin or ``group.admin`` on the group."""
    return _user_rows(db, actor, ref, user_ref, perm, apply)


def revoke_user(
    db: Session, actor: Actor, ref: int | str, user_ref: int | str, apply: str
) -> GroupGrant:
    """``revoke_user_permission_from_repo_group``: delete the rows (``default``: set none)."""
    return _user_rows(db, actor, ref, user_ref, None, apply)


def _user_rows(
    db: Session, actor: Actor, ref: int | str, user_ref: int | str, perm: str | None, apply: str
) -> GroupGrant:
    """Checks in ``methods.md`` §6's order: enum, group (hidden without ``group.admin``), user,
    permission; then the rows."""
    check_apply(apply)
    group = find(db, actor, ref, Level.ADMIN)
    user = lookup.user(db, user_ref)
    level = None if perm is None else permissions.parse_object_permission(perm, "group")
    failure = Failed("group_user_perm_failed", x=user_ref, group=_last(group))
    is_default = user.user_id == actor.default_user_id
    with atomic(db, failure):
        _apply(db, group, "user", user.user_id, level, apply, is_default=is_default)
    return GroupGrant(group, user.username)


def grant_user_group(
    db: Session, actor: Actor, ref: int | str, ug_ref: int | str, perm: str, apply: str
) -> GroupGrant:
    """``grant_user_group_permission_to_repo_group``: admin, or ``group.admin`` on the group
    and ``usergroup.read`` on the user group."""
    return _user_group_rows(db, actor, ref, ug_ref, perm, apply)


def revoke_user_group(
    db: Session, actor: Actor, ref: int | str, ug_ref: int | str, apply: str
) -> GroupGrant:
    """``revoke_user_group_permission_from_repo_group``: who as the grant."""
    return _user_group_rows(db, actor, ref, ug_ref, None, apply)


def _user_group_rows(
    db: Session, actor: Actor, ref: int | str, ug_ref: int | str, perm: str | None, apply: str
) -> GroupGrant:
    """Checks in ``methods.md`` §6's order: enum, group, permission (grant), user group, then
    hiding for non-admins (group admin, then user group read); then the rows."""
    check_apply(apply)
    group = lookup.repo_group(db, ref)
    level = None if perm is None else permissions.parse_object_permission(perm, "group")
    user_group = lookup.user_group(db, ug_ref)
    permissions.require(db, actor, Level.ADMIN, group, NotFound("repo_group_not_found", x=ref))
    permissions.require(
        db, actor, Level.READ, user_group, NotFound("user_group_not_found", x=ug_ref)
    )
    shown = ug_ref if perm is not None else user_group.group_name  # K's two texts
    failure = Failed("group_group_perm_failed", x=shown, group=_last(group))
    with atomic(db, failure):
        _apply(db, group, "user_group", user_group.users_group_id, level, apply, is_default=False)
    return GroupGrant(group, user_group.group_name)


def _last(group: RepoGroup) -> str:
    return names.last_component(group.group_name)

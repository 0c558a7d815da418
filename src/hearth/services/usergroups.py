# SPDX-License-Identifier: GPL-3.0-or-later
"""User groups: lookup with hiding, creation, update, deletion, membership, and the permission rows
other users and user groups hold on a user group (``methods.md`` §3, ``permissions.md`` §2, §5).

Every function takes the session and the acting user and raises :mod:`hearth.errors` exceptions in
the order ``methods.md`` lists them. Access is asked of ``services.permissions`` only; a group the
caller may not see at the level an operation needs is answered as a missing one.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from hearth.clock import now_utc
from hearth.db.models import (
    GroupUserGroupPerm,
    Repository,
    RepoUserGroupPerm,
    User,
    UserGroup,
    UserGroupGlobalPerm,
    UserGroupMember,
    UserGroupUserGroupPerm,
    UserGroupUserPerm,
)
from hearth.errors import Conflict, Failed, HearthError, Invalid, NotFound
from hearth.services import lookup, permissions, users
from hearth.services.lookup import is_digits
from hearth.services.permissions import Actor, Level
from hearth.services.repoperms import Member
from hearth.services.users import UserDetails

log = logging.getLogger("hearth.usergroups")
T = TypeVar("T")

NAME_MAX = 255
KIND = "usergroup"  # the permission family of rows on user groups


# --- names ------------------------------------------------------------------------------------


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a user group (README #10, #35), or None when it can."""
    if not name:
        return "empty name"
    if len(name) > NAME_MAX:
        return "name too long"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "control characters are not allowed"
    if "/" in name:
        return "character `/` is not allowed"
    if is_digits(name):
        return "a name of digits only would be read as an id"
    return None


def validate_name(name: str) -> None:
    reason = name_problem(name)
    if reason is not None:
        raise Invalid("invalid_user_group_name", x=name, reason=reason)


def _name_taken(db: Session, name: str, exclude: int | None = None) -> bool:
    query = select(UserGroup.users_group_id).where(UserGroup.group_name == name)
    if exclude is not None:
        query = query.where(UserGroup.users_group_id != exclude)
    return db.scalar(query) is not None


def name_taken(db: Session, name: str, exclude: int | None = None) -> bool:
    """Whether a user group other than ``exclude`` is called ``name``."""
    return _name_taken(db, name, exclude)


# --- lookup and hiding ------------------------------------------------------------------------


def find(db: Session, actor: Actor, ref: int | str, need: Level) -> UserGroup:
    """The user group ``ref`` names, if the actor holds at least ``need`` on it; else "does not
    exist", the same answer as for a missing group (``permissions.md`` §5)."""
    group = lookup.user_group(db, ref)
    permissions.require(db, actor, need, group, NotFound("user_group_not_found", x=ref))
    return group


def get(db: Session, actor: Actor, ref: int | str) -> UserGroup:
    """The group ``ref`` names, if the actor may read it (``get_user_group``)."""
    return find(db, actor, ref, Level.READ)


def list_visible(db: Session, actor: Actor) -> list[UserGroup]:
    """The groups the actor holds ``usergroup.read``+ on (admins: all), by ``users_group_id``."""
    query = select(UserGroup).order_by(UserGroup.users_group_id)
    if not actor.admin:
        levels = permissions.user_group_levels(db, actor)
        ids = [gid for gid, level in levels.items() if level >= Level.READ]
        if not ids:
            return []
        query = query.where(UserGroup.users_group_id.in_(ids))
    return list(db.scalars(query))


# --- what the API shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class UserGroupDetails:
    """A user group with its owner's username and its members (in membership order)."""

    group: UserGroup
    owner: str
    members: list[UserDetails]


def details(db: Session, groups: Sequence[UserGroup]) -> list[UserGroupDetails]:
    """Batch-load owners and members of ``groups`` (a fixed number of queries whatever their number)."""
    ids = [g.users_group_id for g in groups]
    if not ids:
        return []
    owner_ids = {g.owner_id for g in groups}
    owners = dict(
        db.execute(select(User.user_id, User.username).where(User.user_id.in_(owner_ids))).all()
    )
    rows = db.execute(
        select(UserGroupMember.users_group_id, User)
        .join(User, User.user_id == UserGroupMember.user_id)
        .where(UserGroupMember.users_group_id.in_(ids))
        .order_by(UserGroupMember.member_id)
    ).all()
    unique_users = list({user.user_id: user for _, user in rows}.values())
    by_user = {d.user.user_id: d for d in users.details(db, unique_users)}
    members: dict[int, list[UserDetails]] = {gid: [] for gid in ids}
    for gid, user in rows:
        members[gid].append(by_user[user.user_id])
    return [UserGroupDetails(g, owners[g.owner_id], members[g.users_group_id]) for g in groups]


def permission_rows(db: Session, actor: Actor, ref: int | str) -> tuple[UserGroup, list[Member]]:
    """The group (the actor must be its admin) and its explicit permission rows: users in creation
    order, then user groups in creation order (what the permission editor lists)."""
    group = find(db, actor, ref, Level.ADMIN)
    gid = group.users_group_id
    people = db.execute(
        select(User.username, UserGroupUserPerm.level)
        .join(User, User.user_id == UserGroupUserPerm.user_id)
        .where(UserGroupUserPerm.target_id == gid)
        .order_by(UserGroupUserPerm.row_id)
    ).all()
    sources = db.execute(
        select(UserGroup.group_name, UserGroupUserGroupPerm.level)
        .join(UserGroup, UserGroup.users_group_id == UserGroupUserGroupPerm.users_group_id)
        .where(UserGroupUserGroupPerm.target_id == gid)
        .order_by(UserGroupUserGroupPerm.row_id)
    ).all()
    return group, [
        Member(name, "user", permissions.permission_name(KIND, lv)) for name, lv in people
    ] + [Member(name, "user_group", permissions.permission_name(KIND, lv)) for name, lv in sources]


# --- writes -----------------------------------------------------------------------------------


@contextmanager
def _atomic(db: Session, failure: HearthError) -> Iterator[None]:
    """Run the block in a savepoint; a database failure rolls it back and answers ``failure``."""
    try:
        with db.begin_nested():
            yield
    except HearthError:
        raise
    except SQLAlchemyError as exc:
        log.warning("user group write failed: %s", failure.text, exc_info=True)
        raise failure from exc


def _set_user_row(db: Session, target_id: int, user_id: int, level: Level) -> None:
    """Create the user's row on the group, or change it in place (it keeps its position)."""
    row = db.scalar(
        select(UserGroupUserPerm).where(
            UserGroupUserPerm.target_id == target_id, UserGroupUserPerm.user_id == user_id
        )
    )
    if row is None:
        db.add(UserGroupUserPerm(target_id=target_id, user_id=user_id, level=int(level)))
    else:
        row.level = int(level)
    db.flush()


def _set_group_row(db: Session, target_id: int, source_id: int, level: Level) -> None:
    row = db.scalar(
        select(UserGroupUserGroupPerm).where(
            UserGroupUserGroupPerm.target_id == target_id,
            UserGroupUserGroupPerm.users_group_id == source_id,
        )
    )
    if row is None:
        db.add(
            UserGroupUserGroupPerm(target_id=target_id, users_group_id=source_id, level=int(level))
        )
    else:
        row.level = int(level)
    db.flush()


def create(
    db: Session,
    actor: Actor,
    *,
    name: str,
    description: str,
    owner: int | str | None,
    active: bool,
) -> UserGroup:
    """A new group with a ``default`` row (the default user's global ``usergroup.*``) and a
    ``usergroup.admin`` row for the owner (``owner`` None: the actor)."""
    validate_name(name)
    if _name_taken(db, name):
        raise Conflict("user_group_exists", x=name)
    owner_id = actor.user_id if owner is None else lookup.user(db, owner).user_id
    default_level = permissions.default_global_level(db, actor.default_user_id, KIND)
    group = UserGroup(
        group_name=name,
        description=description,
        active=active,
        owner_id=owner_id,
        created_on=now_utc(),
    )
    try:
        with _atomic(db, Failed("user_group_create_failed", x=name)):
            db.add(group)
            db.flush()
            _set_user_row(db, group.users_group_id, actor.default_user_id, default_level)
            _set_user_row(db, group.users_group_id, owner_id, Level.ADMIN)
    except Failed as exc:
        # a concurrent create won the race for the name
        if isinstance(exc.__cause__, IntegrityError) and _name_taken(db, name):
            raise Conflict("user_group_exists", x=name) from None
        raise
    return group


def update(
    db: Session,
    actor: Actor,
    ref: int | str,
    *,
    name: str | None,
    description: str | None,
    owner: int | str | None,
    active: bool | None,
) -> UserGroup:
    """Apply the non-null changes; needs ``usergroup.admin``. A taken name is a failure (K)."""
    group = find(db, actor, ref, Level.ADMIN)
    owner_id = None if owner is None else lookup.user(db, owner).user_id
    failure = Failed("user_group_update_failed", x=ref)
    if name is not None:
        validate_name(name)
        if _name_taken(db, name, exclude=group.users_group_id):
            raise failure
    with _atomic(db, failure):
        if name is not None:
            group.group_name = name
        if description is not None:
            group.description = description
        if owner_id is not None:
            group.owner_id = owner_id
        if active is not None:
            group.active = active
        db.flush()
    return group


def delete_group(db: Session, actor: Actor, ref: int | str) -> tuple[int, str]:
    """Delete the group and every row it holds or that is held on it; refused while it holds a row
    on a repository. Returns the id and name it had."""
    group = find(db, actor, ref, Level.ADMIN)
    gid, name = group.users_group_id, group.group_name
    assigned = db.scalars(
        select(Repository.repo_name)
        .join(RepoUserGroupPerm, RepoUserGroupPerm.repo_id == Repository.repo_id)
        .where(RepoUserGroupPerm.users_group_id == gid)
        .order_by(RepoUserGroupPerm.row_id)
    ).all()
    if assigned:
        raise Conflict("user_group_assigned", repos=", ".join(assigned))
    with _atomic(db, Failed("user_group_delete_failed", id=gid, name=name)):
        for statement in (
            delete(GroupUserGroupPerm).where(GroupUserGroupPerm.users_group_id == gid),
            delete(UserGroupUserGroupPerm).where(
                (UserGroupUserGroupPerm.users_group_id == gid)
                | (UserGroupUserGroupPerm.target_id == gid)
            ),
            delete(UserGroupUserPerm).where(UserGroupUserPerm.target_id == gid),
            delete(UserGroupGlobalPerm).where(UserGroupGlobalPerm.users_group_id == gid),
            delete(UserGroupMember).where(UserGroupMember.users_group_id == gid),
        ):
            db.execute(statement)
        db.delete(group)
        db.flush()
    return gid, name


# --- membership -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MembershipChange:
    user: User
    group: UserGroup
    changed: bool  # False: already a member (add) / was not a member (remove)


def membership_answer(change: MembershipChange, *, added: bool) -> dict[str, Any]:
    """What ``add_user_to_user_group`` / ``remove_user_from_user_group`` answer (Kallithea's
    texts), also printed by ``hearth user-group add|remove``."""
    user, group = change.user.username, change.group.group_name
    if added:
        if not change.changed:
            return {"success": False, "msg": "User is already in that group"}
        return {"success": True, "msg": f"added member `{user}` to user group `{group}`"}
    if not change.changed:
        return {"success": False, "msg": "User wasn't in group"}
    return {"success": True, "msg": f"removed member `{user}` from user group `{group}`"}


def _member_row(db: Session, group_id: int, user_id: int) -> UserGroupMember | None:
    return db.scalar(
        select(UserGroupMember).where(
            UserGroupMember.users_group_id == group_id, UserGroupMember.user_id == user_id
        )
    )


def add_member(db: Session, actor: Actor, ref: int | str, user_ref: int | str) -> MembershipChange:
    """Append the user to the group's members; needs ``usergroup.admin`` (user looked up first, K)."""
    user = lookup.user(db, user_ref)
    group = find(db, actor, ref, Level.ADMIN)
    if _member_row(db, group.users_group_id, user.user_id) is not None:
        return MembershipChange(user, group, False)
    with _atomic(db, Failed("member_add_failed", group=group.group_name)):
        db.add(UserGroupMember(users_group_id=group.users_group_id, user_id=user.user_id))
        db.flush()
    return MembershipChange(user, group, True)


def remove_member(
    db: Session, actor: Actor, ref: int | str, user_ref: int | str
) -> MembershipChange:
    user = lookup.user(db, user_ref)
    group = find(db, actor, ref, Level.ADMIN)
    row = _member_row(db, group.users_group_id, user.user_id)
    if row is None:
        return MembershipChange(user, group, False)
    with _atomic(db, Failed("member_remove_failed", group=group.group_name)):
        db.delete(row)
        db.flush()
    return MembershipChange(user, group, True)


# --- permission rows on a user group (RhodeCode's four methods) -------------------------------


@dataclass(frozen=True)
class UserGrant:
    group: UserGroup
    user: User
    permission: str  # the permission name as granted ("" for a revoke)


@dataclass(frozen=True)
class GroupGrant:
    group: UserGroup
    source: UserGroup
    permission: str


def grant_user(
    db: Session, actor: Actor, ref: int | str, user_ref: int | str, perm: str
) -> UserGrant:
    """Give the user ``perm`` on the group (row created, or changed in place)."""
    group = find(db, actor, ref, Level.ADMIN)
    user = lookup.user(db, user_ref)
    level = permissions.parse_object_permission(perm, KIND)
    failure = Failed("usergroup_user_perm_failed", x=user_ref, group=group.group_name)
    with _atomic(db, failure):
        _set_user_row(db, group.users_group_id, user.user_id, level)
    return UserGrant(group, user, perm)


def revoke_user(db: Session, actor: Actor, ref: int | str, user_ref: int | str) -> UserGrant:
    """Delete the user's row (no row is not an error); the ``default`` user's row becomes
    ``usergroup.none`` instead, so the group keeps its default row (README #12)."""
    group = find(db, actor, ref, Level.ADMIN)
    user = lookup.user(db, user_ref)
    failure = Failed("usergroup_user_perm_failed", x=user_ref, group=group.group_name)
    with _atomic(db, failure):
        if user.user_id == actor.default_user_id:
            _set_user_row(db, group.users_group_id, user.user_id, Level.NONE)
        else:
            db.execute(
                delete(UserGroupUserPerm).where(
                    UserGroupUserPerm.target_id == group.users_group_id,
                    UserGroupUserPerm.user_id == user.user_id,
                )
            )
    return UserGrant(group, user, "")


def _source_group(
    db: Session, actor: Actor, source_ref: int | str, perm: str | None
) -> tuple[UserGroup, Level]:
    """Look the source group up, check ``perm``, then the actor's read on the source (in that
    order, ``methods.md`` §3)."""
    source = lookup.user_group(db, source_ref)
    level = Level.NONE if perm is None else permissions.parse_object_permission(perm, KIND)
    refusal = NotFound("user_group_not_found", x=source_ref)
    permissions.require(db, actor, Level.READ, source, refusal)
    return source, level


def grant_group(
    db: Session, actor: Actor, ref: int | str, source_ref: int | str, perm: str
) -> GroupGrant:
    """Give the members of the source group ``perm`` on the target group. A group cannot be given a
    permission on itself (RhodeCode refuses it as a failure)."""
    group = find(db, actor, ref, Level.ADMIN)
    source, level = _source_group(db, actor, source_ref, perm)
    failure = Failed("usergroup_group_perm_failed", x=source_ref, group=group.group_name)
    if source.users_group_id == group.users_group_id:
        raise failure
    with _atomic(db, failure):
        _set_group_row(db, group.users_group_id, source.users_group_id, level)
    return GroupGrant(group, source, perm)


def revoke_group(db: Session, actor: Actor, ref: int | str, source_ref: int | str) -> GroupGrant:
    """Delete the source group's row on the target (no row is not an error)."""
    group = find(db, actor, ref, Level.ADMIN)
    source, _ = _source_group(db, actor, source_ref, None)
    failure = Failed("usergroup_group_perm_failed", x=source_ref, group=group.group_name)
    with _atomic(db, failure):
        db.execute(
            delete(UserGroupUserGroupPerm).where(
                UserGroupUserGroupPerm.target_id == group.users_group_id,
                UserGroupUserGroupPerm.users_group_id == source.users_group_id,
            )
        )
    return GroupGrant(group, source, "")

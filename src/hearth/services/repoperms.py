# SPDX-License-Identifier: GPL-3.0-or-later
"""Permission rows on repositories: writing them, granting, revoking, and listing members.

A grant to a holder that already has a row changes the row in place (it keeps its position in
``members``); a revoke deletes it, except the ``default`` user's row, which becomes
``repository.none`` so every repository keeps exactly one (README #12).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, literal, select, union_all
from sqlalchemy.orm import Session

from hearth.db.models import (
    GroupUserGroupPerm,
    GroupUserPerm,
    Repository,
    RepoUserGroupPerm,
    RepoUserPerm,
    User,
    UserGroup,
)
from hearth.db.session import core
from hearth.errors import NotFound
from hearth.services import lookup, permissions
from hearth.services.permissions import Actor, Level


def set_user_level(
    db: Session, repo_id: int, user_id: int, level: int, origin: int | None = None
) -> None:
    """The user's row on the repository, created or changed in place; ``origin`` is the
    repository group whose permissions it copies (``from_group_id``), None for a grant here."""
    row = db.scalar(
        select(RepoUserPerm).where(RepoUserPerm.repo_id == repo_id, RepoUserPerm.user_id == user_id)
    )
    if row is None:
        db.add(
            RepoUserPerm(repo_id=repo_id, user_id=user_id, level=int(level), from_group_id=origin)
        )
    else:
        row.level = int(level)
        row.from_group_id = origin
    db.flush()


def set_group_level(
    db: Session, repo_id: int, users_group_id: int, level: int, origin: int | None = None
) -> None:
    """The user group's row on the repository, as :func:`set_user_level`."""
    row = db.scalar(
        select(RepoUserGroupPerm).where(
            RepoUserGroupPerm.repo_id == repo_id, RepoUserGroupPerm.users_group_id == users_group_id
        )
    )
    if row is None:
        db.add(
            RepoUserGroupPerm(
                repo_id=repo_id,
                users_group_id=users_group_id,
                level=int(level),
                from_group_id=origin,
            )
        )
    else:
        row.level = int(level)
        row.from_group_id = origin
    db.flush()


def revoke_user(db: Session, repo_id: int, user_id: int, default_user_id: int) -> None:
    if user_id == default_user_id:
        set_user_level(db, repo_id, user_id, Level.NONE)
        return
    db.execute(
        delete(RepoUserPerm).where(RepoUserPerm.repo_id == repo_id, RepoUserPerm.user_id == user_id)
    )


def revoke_group(db: Session, repo_id: int, users_group_id: int) -> None:
    db.execute(
        delete(RepoUserGroupPerm).where(
            RepoUserGroupPerm.repo_id == repo_id, RepoUserGroupPerm.users_group_id == users_group_id
        )
    )


def write_default_rows(db: Session, actor: Actor, repo: Repository) -> None:
    """The normal ``default`` row: none when private, else the default user's global level."""
    level = (
        Level.NONE
        if repo.private
        else permissions.default_global_level(db, actor.default_user_id, "repository")
    )
    set_user_level(db, repo.repo_id, actor.default_user_id, level)


def copy_from_group(db: Session, actor: Actor, repo: Repository, group_id: int) -> None:
    """``create_repo copy_permissions``: the group's rows become repository rows, inherited from
    the group (or from the group the group's row was inherited from)."""
    rows = db.scalars(
        select(GroupUserPerm)
        .where(GroupUserPerm.group_id == group_id)
        .order_by(GroupUserPerm.row_id)
    ).all()
    if not any(row.user_id == actor.default_user_id for row in rows):
        write_default_rows(db, actor, repo)
    for row in rows:
        level = row.level
        if row.user_id == actor.default_user_id and repo.private:
            level = Level.NONE
        set_user_level(db, repo.repo_id, row.user_id, level, row.from_group_id or group_id)
    for grow in db.scalars(
        select(GroupUserGroupPerm)
        .where(GroupUserGroupPerm.group_id == group_id)
        .order_by(GroupUserGroupPerm.row_id)
    ):
        origin = grow.from_group_id or group_id
        set_group_level(db, repo.repo_id, grow.users_group_id, grow.level, origin)


def copy_from_repo(db: Session, source_id: int, target_id: int) -> None:
    """``fork_repo copy_permissions``: every row of the source, ``default`` included."""
    for row in db.scalars(
        select(RepoUserPerm).where(RepoUserPerm.repo_id == source_id).order_by(RepoUserPerm.row_id)
    ):
        set_user_level(db, target_id, row.user_id, row.level)
    for grow in db.scalars(
        select(RepoUserGroupPerm)
        .where(RepoUserGroupPerm.repo_id == source_id)
        .order_by(RepoUserGroupPerm.row_id)
    ):
        set_group_level(db, target_id, grow.users_group_id, grow.level)


@dataclass(frozen=True)
class Member:
    name: str
    type: str  # "user" | "user_group"
    permission: str


_MEMBERS = union_all(
    select(
        literal(0).label("part"),
        User.username.label("name"),
        RepoUserPerm.level.label("level"),
        RepoUserPerm.row_id.label("seq"),
    )
    .join(User, User.user_id == RepoUserPerm.user_id)
    .where(RepoUserPerm.repo_id == bindparam("rid")),
    select(
        literal(1).label("part"),
        UserGroup.group_name.label("name"),
        RepoUserGroupPerm.level.label("level"),
        RepoUserGroupPerm.row_id.label("seq"),
    )
    .join(UserGroup, UserGroup.users_group_id == RepoUserGroupPerm.users_group_id)
    .where(RepoUserGroupPerm.repo_id == bindparam("rid")),
).order_by("part", "seq")


def members(db: Session, repo_id: int) -> list[Member]:
    """Explicit rows: user rows in creation order, then user-group rows in creation order (one
    query: ``get_repo`` is frequent)."""
    return [
        Member(
            name, "user_group" if part else "user", permissions.permission_name("repository", lv)
        )
        for part, name, lv, _seq in core(db).execute(_MEMBERS, {"rid": repo_id})
    ]


# --- the grant/revoke operations of methods.md §5 ----------------------------------------------


def grant_user(
    db: Session, repo_ref: int | str, user_ref: int | str, perm: str
) -> tuple[Repository, User]:
    """``grant_user_permission`` (admin-gated): lookups, then the permission checks, then the row."""
    repo = lookup.repository(db, repo_ref)
    user = lookup.user(db, user_ref)
    level = permissions.parse_object_permission(perm, "repository")
    set_user_level(db, repo.repo_id, user.user_id, level)
    return repo, user


def revoke_user_ref(
    db: Session, repo_ref: int | str, user_ref: int | str, default_user_id: int
) -> tuple[Repository, User]:
    repo = lookup.repository(db, repo_ref)
    user = lookup.user(db, user_ref)
    revoke_user(db, repo.repo_id, user.user_id, default_user_id)
    return repo, user


def _repo_and_group(
    db: Session, actor: Actor, repo_ref: int | str, group_ref: int | str
) -> tuple[Repository, UserGroup]:
    """Lookups, then hiding for non-admins: repository admin, then user-group read."""
    repo = lookup.repository(db, repo_ref)
    group = lookup.user_group(db, group_ref)
    permissions.require(db, actor, Level.ADMIN, repo, NotFound("repo_not_found", x=repo_ref))
    permissions.require(db, actor, Level.READ, group, NotFound("user_group_not_found", x=group_ref))
    return repo, group


def grant_group(
    db: Session, actor: Actor, repo_ref: int | str, group_ref: int | str, perm: str
) -> tuple[Repository, UserGroup]:
    lookup.repository(db, repo_ref)
    level = permissions.parse_object_permission(perm, "repository")
    repo, group = _repo_and_group(db, actor, repo_ref, group_ref)
    set_group_level(db, repo.repo_id, group.users_group_id, level)
    return repo, group


def revoke_group_ref(
    db: Session, actor: Actor, repo_ref: int | str, group_ref: int | str
) -> tuple[Repository, UserGroup]:
    repo, group = _repo_and_group(db, actor, repo_ref, group_ref)
    revoke_group(db, repo.repo_id, group.users_group_id)
    return repo, group

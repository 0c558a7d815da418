# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository groups: nested directories under the repository root (``methods.md`` §6).

A group's ``group_name`` is its full path; its directory is ``<repos root>/<full path>``, and every
repository and group below it carries that path as its name prefix. Work on disk is paired with an
undo hook (``db/undo.py``): creating makes the directory, renaming or moving a group renames ONE
directory and re-paths every nested name in SQL, deleting removes the empty directory — and a
transaction that does not commit puts the disk back as it was.

Checks run in the order ``methods.md`` lists them; access is asked of ``services.permissions`` only
(``permissions.md`` §5: a group the caller may not administer is answered as a missing one). Here:
finding, showing, creating (with the new group's own permission rows), updating and deleting groups.
Beside it: ``services/groupperms.py`` (the grant and revoke methods, ``apply_to_children``) and
``services/placement.py`` (where a new repository goes, creating missing groups).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, delete, func, literal, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from hearth.clock import now_utc
from hearth.db import undo
from hearth.db.models import (
    GroupUserGroupPerm,
    GroupUserPerm,
    RepoGroup,
    Repository,
    User,
    UserGroup,
)
from hearth.errors import (
    Conflict,
    Failed,
    HearthError,
    Invalid,
    NotFound,
)
from hearth.services import lookup, names, permissions
from hearth.services.permissions import Actor, Level
from hearth.services.repoperms import Member

log = logging.getLogger("hearth.repogroups")


def find(db: Session, actor: Actor, ref: int | str, need: Level = Level.READ) -> RepoGroup:
    """The group ``ref`` names if the actor holds ``need`` on it; else "does not exist"."""
    group = lookup.repo_group(db, ref)
    permissions.require(db, actor, need, group, NotFound("repo_group_not_found", x=ref))
    return group


def by_path(db: Session, path: str) -> RepoGroup | None:
    return db.scalar(select(RepoGroup).where(RepoGroup.group_name == path))


def make_directory(db: Session, path: Path) -> None:
    """Create ``path`` (parents included) and remove what was created if the transaction fails."""
    created: list[Path] = []
    probe = path
    while not probe.exists():
        created.append(probe)
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True)
    for each in created:  # deepest first
        undo.on_rollback(db, partial(_rmdir_if_present, each))


def _rmdir_if_present(path: Path) -> None:
    if path.is_dir():
        path.rmdir()


def create(
    db: Session,
    actor: Actor,
    repos_root: Path,
    full_path: str,
    *,
    description: str,
    owner: User,
    copy_permissions: bool = False,
) -> RepoGroup:
    """Write the row, its permission rows and the directory of a group whose parent exists."""
    parent_path = names.parent_of(full_path)
    parent = by_path(db, parent_path) if parent_path else None
    group = RepoGroup(
        group_name=full_path,
        parent_id=parent.group_id if parent else None,
        description=description,
        owner_id=owner.user_id,
        created_on=now_utc(),
    )
    db.add(group)
    db.flush()
    if copy_permissions and parent is not None:
        _copy_rows(db, parent.group_id, group.group_id)
    if not _has_user_row(db, group.group_id, actor.default_user_id):
        # README #12: every group keeps a ``default`` row, copied or not
        level = permissions.default_global_level(db, actor.default_user_id, "group")
        db.add(GroupUserPerm(group_id=group.group_id, user_id=actor.default_user_id, level=level))
    if not owner.admin:
        set_user_level(db, group.group_id, owner.user_id, Level.ADMIN)
    db.flush()
    make_directory(db, repos_root / full_path)
    return group


def _copy_rows(db: Session, source: int, target: int) -> None:
    """``copy_permissions``: the parent's rows, inherited from it (or from the group the
    parent's row was inherited from: ``from_group_id``, which the explainer names)."""
    for row in db.scalars(
        select(GroupUserPerm).where(GroupUserPerm.group_id == source).order_by(GroupUserPerm.row_id)
    ):
        db.add(
            GroupUserPerm(
                group_id=target,
                user_id=row.user_id,
                level=row.level,
                from_group_id=row.from_group_id or source,
            )
        )
    for grow in db.scalars(
        select(GroupUserGroupPerm)
        .where(GroupUserGroupPerm.group_id == source)
        .order_by(GroupUserGroupPerm.row_id)
    ):
        db.add(
            GroupUserGroupPerm(
                group_id=target,
                users_group_id=grow.users_group_id,
                level=grow.level,
                from_group_id=grow.from_group_id or source,
            )
        )
    db.flush()


def _has_user_row(db: Session, group_id: int, user_id: int) -> bool:
    return (
        db.scalar(
            select(GroupUserPerm.row_id).where(
                GroupUserPerm.group_id == group_id, GroupUserPerm.user_id == user_id
            )
        )
        is not None
    )


def set_user_level(db: Session, group_id: int, user_id: int, level: int) -> None:
    """Create the user's row on the group, or change it in place (it keeps its position)."""
    row = db.scalar(
        select(GroupUserPerm).where(
            GroupUserPerm.group_id == group_id, GroupUserPerm.user_id == user_id
        )
    )
    if row is None:
        db.add(GroupUserPerm(group_id=group_id, user_id=user_id, level=int(level)))
    else:
        row.level = int(level)
        row.from_group_id = None
    db.flush()


def lookup_repo_at(db: Session, path: str) -> bool:
    return db.scalar(select(Repository.repo_id).where(Repository.repo_name == path)) is not None


# --- paths ------------------------------------------------------------------------------------

FULL_NAME_MAX = 255  # web-and-vcs.md §1


def below(column: Any, path: str) -> ColumnElement[bool]:
    """``column`` names something strictly below ``path``: an exact, case-sensitive prefix test
    (``LIKE`` ignores case on SQLite, and ``Demo`` and ``demo`` may coexist)."""
    prefix = path + "/"
    return func.substr(column, 1, len(prefix)) == prefix


def _join(parent_path: str, last: str) -> str:
    return f"{parent_path}/{last}" if parent_path else last


def _check_path(full_path: str, shown: str) -> None:
    """The name rules on the full path; the error shows the name as the caller passed it."""
    try:
        names.check_group_name(full_path)
    except Invalid as exc:
        raise Invalid("invalid_repo_group_name", x=shown, reason=exc.params["reason"]) from None


@contextmanager
def atomic(db: Session, failure: HearthError) -> Iterator[None]:
    """Run the block in a savepoint; a database failure rolls it back and answers ``failure``."""
    try:
        with db.begin_nested():
            yield
    except HearthError:
        raise
    except SQLAlchemyError as exc:
        log.warning("repository group write failed: %s", failure.text, exc_info=True)
        raise failure from exc


# --- what the API shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class RepoGroupView:
    """A group with what its shape shows: owner's username, parent path, direct repositories."""

    group: RepoGroup
    owner: str
    parent_group: str | None
    repositories: list[str]


def views(db: Session, groups: Sequence[RepoGroup], *, every: bool = False) -> list[RepoGroupView]:
    """Batch-load owners and direct repositories (two queries whatever the number of groups).
    ``every``: ``groups`` is the whole table, so no id filter is needed."""
    if not groups:
        return []
    ids = [g.group_id for g in groups]
    owner_query = select(User.user_id, User.username)
    repo_query = select(Repository.group_id, Repository.repo_name).where(
        Repository.group_id.is_not(None), Repository.state == "ready"
    )
    if not every:
        owner_query = owner_query.where(User.user_id.in_({g.owner_id for g in groups}))
        repo_query = repo_query.where(Repository.group_id.in_(ids))
    else:
        owner_query = owner_query.where(User.user_id.in_(select(RepoGroup.owner_id)))
    owners = dict(db.execute(owner_query).all())
    inside: dict[int | None, list[str]] = defaultdict(list)
    for group_id, repo_name in db.execute(repo_query.order_by(Repository.repo_id)):
        inside[group_id].append(repo_name)
    return [
        RepoGroupView(
            g, owners[g.owner_id], names.parent_of(g.group_name) or None, inside[g.group_id]
        )
        for g in groups
    ]


def view(db: Session, group: RepoGroup) -> RepoGroupView:
    return views(db, [group])[0]


def list_all(db: Session) -> list[RepoGroupView]:
    """``get_repo_groups``: every group, by ``group_id``."""
    groups = list(db.scalars(select(RepoGroup).order_by(RepoGroup.group_id)))
    return views(db, groups, every=True)


def members(db: Session, group_id: int) -> list[Member]:
    """Explicit rows: user rows in creation order, then user-group rows in creation order."""
    users = db.execute(
        select(User.username, GroupUserPerm.level)
        .join(User, User.user_id == GroupUserPerm.user_id)
        .where(GroupUserPerm.group_id == group_id)
        .order_by(GroupUserPerm.row_id)
    ).all()
    groups = db.execute(
        select(UserGroup.group_name, GroupUserGroupPerm.level)
        .join(UserGroup, UserGroup.users_group_id == GroupUserGroupPerm.users_group_id)
        .where(GroupUserGroupPerm.group_id == group_id)
        .order_by(GroupUserGroupPerm.row_id)
    ).all()
    return [Member(n, "user", permissions.permission_name("group", lv)) for n, lv in users] + [
        Member(n, "user_group", permissions.permission_name("group", lv)) for n, lv in groups
    ]


# --- create_repo_group ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewGroup:
    """What ``create_repo_group`` was asked for, after argument coercion."""

    group_name: str
    description: str
    owner: int | str | None
    parent: int | str | None
    copy_permissions: bool


def _placement(
    db: Session, group_name: str, parent_ref: int | str | None
) -> tuple[str | None, NotFound | None]:
    """The full path the new group gets (None when its parent cannot be found), and the parent
    lookup error to raise in its place in the order of checks. R's form ``a/b/new`` names the
    parent by its prefix; a ``parent`` that disagrees with that prefix does not exist."""
    prefix = names.parent_of(group_name)
    if parent_ref is None or parent_ref == "":
        if prefix and by_path(db, prefix) is None:
            return None, NotFound("repo_group_not_found", x=prefix)
        return group_name, None
    try:
        parent = lookup.repo_group(db, parent_ref)
    except NotFound as exc:
        return None, exc
    if prefix:
        if prefix != parent.group_name:
            return group_name, NotFound("repo_group_not_found", x=parent_ref)
        return group_name, None
    return _join(parent.group_name, group_name), None


def create_group(db: Session, actor: Actor, repos_root: Path, new: NewGroup) -> RepoGroup:
    """``create_repo_group``: checks in the order of ``methods.md`` §6, then row, rows, directory.
    Duplicates are full paths (README #37), of either kind (README #39)."""
    full_path, parent_error = _placement(db, new.group_name, new.parent)
    _check_path(full_path or new.group_name, new.group_name)
    if full_path is not None:
        if by_path(db, full_path) is not None:
            raise Conflict("repo_group_exists", x=full_path)
        if lookup_repo_at(db, full_path):
            raise Conflict("repo_exists", x=full_path)
    if parent_error is not None:
        raise parent_error
    assert full_path is not None
    owner = lookup.user(db, actor.user_id if new.owner is None else new.owner)
    failure = Failed("repo_group_create_failed", x=new.group_name)
    target = repos_root / full_path
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise failure  # something unregistered sits there; never touch it
    try:
        with db.begin_nested():
            group = create(
                db,
                actor,
                repos_root,
                full_path,
                description=new.description or names.last_component(full_path),
                owner=owner,
                copy_permissions=new.copy_permissions,
            )
    except IntegrityError:
        if by_path(db, full_path) is not None:  # a concurrent create committed first
            raise Conflict("repo_group_exists", x=full_path) from None
        raise failure from None
    except OSError as exc:
        raise failure from exc
    return group


PERSONAL_DESCRIPTION = "personal repo group of user `{username}`"


def create_personal(db: Session, actor: Actor, repos_root: Path, user: User) -> RepoGroup | None:
    """``create_user create_personal_repo_group``: top-level group ``<username>`` owned by the
    user, unless a group (or a repository) already holds that path."""
    path = user.username
    if by_path(db, path) is not None or lookup_repo_at(db, path):
        return None
    names.check_group_name(path)
    failure = Failed("repo_group_create_failed", x=path)
    target = repos_root / path
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise failure
    try:
        with db.begin_nested():
            return create(
                db,
                actor,
                repos_root,
                path,
                description=PERSONAL_DESCRIPTION.format(username=path),
                owner=user,
            )
    except (IntegrityError, OSError) as exc:
        raise failure from exc


# --- update_repo_group ------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupChanges:
    """What ``update_repo_group`` was asked to change; None = unchanged, ``parent ""`` = top level."""

    group_name: str | None
    description: str | None
    owner: int | str | None
    parent: int | str | None


def update_group(
    db: Session, actor: Actor, repos_root: Path, ref: int | str, changes: GroupChanges
) -> RepoGroup:
    """Apply the non-null changes. A new name or parent re-paths every nested group and
    repository and moves one directory, atomically (README #18: ``parent ""`` is top level)."""
    group = lookup.repo_group(db, ref)
    old_path = group.group_name
    parent_path = names.parent_of(old_path)
    new_parent: RepoGroup | None = None
    moving = changes.parent is not None
    if changes.parent is not None:
        new_parent = lookup.repo_group(db, changes.parent) if changes.parent != "" else None
        parent_path = new_parent.group_name if new_parent is not None else ""
    owner = lookup.user(db, changes.owner) if changes.owner is not None else None
    last = names.last_component(old_path)
    if changes.group_name is not None:
        if "/" in changes.group_name:
            raise Invalid(
                "invalid_repo_group_name",
                x=changes.group_name,
                reason="character `/` is not allowed",
            )
        last = changes.group_name
    new_path = _join(parent_path, last)
    if changes.group_name is not None or new_path != old_path:
        _check_path(new_path, changes.group_name if changes.group_name is not None else new_path)
    failure = Failed("repo_group_update_failed", x=ref)
    if new_path != old_path:
        if parent_path == old_path or parent_path.startswith(old_path + "/"):
            raise failure  # a group cannot move into itself
        if by_path(db, new_path) is not None or lookup_repo_at(db, new_path):
            raise failure
        if _longest_below(db, old_path) - len(old_path) + len(new_path) > FULL_NAME_MAX:
            raise failure  # a nested name would outgrow the limit
    with atomic(db, failure):
        if changes.description is not None:
            group.description = changes.description
        if owner is not None:
            group.owner_id = owner.user_id
        if new_path != old_path:
            _move_directory(db, repos_root / old_path, repos_root / new_path, failure)
            _repath(db, old_path, new_path)
            if moving:
                group.parent_id = new_parent.group_id if new_parent is not None else None
        db.flush()
    return group


def _longest_below(db: Session, path: str) -> int:
    """The longest full name of a group or repository below ``path`` (its own length if none)."""
    longest = len(path)
    for column in (RepoGroup.group_name, Repository.repo_name):
        found = db.scalar(select(func.max(func.length(column))).where(below(column, path)))
        longest = max(longest, int(found or 0))
    return longest


def _move_directory(db: Session, source: Path, target: Path, failure: Failed) -> None:
    """Rename the group's directory (one rename moves everything inside); undo renames it back."""
    if target.exists():
        raise failure  # something unregistered sits there; never touch it
    if not source.is_dir():
        make_directory(db, target)  # the directory was missing: the group gets a fresh one
        return
    make_directory(db, target.parent)
    try:
        os.rename(source, target)
    except OSError as exc:
        raise failure from exc
    undo.on_rollback(db, lambda: os.rename(target, source))


def _repath(db: Session, old: str, new: str) -> None:
    """Replace the prefix ``old`` by ``new`` in the group's and every nested name, in SQL."""
    start = literal(len(old) + 1, Integer)
    for model, column, own in (
        (RepoGroup, RepoGroup.group_name, True),
        (Repository, Repository.repo_name, False),
    ):
        where = below(column, old)
        if own:
            where = where | (column == old)
        db.execute(
            sql_update(model)
            .where(where)
            .values({column: literal(new, String).concat(func.substr(column, start))})
            .execution_options(synchronize_session="fetch")
        )


# --- delete_repo_group ------------------------------------------------------------------------


def delete_group(db: Session, actor: Actor, repos_root: Path, ref: int | str) -> tuple[int, str]:
    """Delete an empty group (README #7: refused while it has direct children): its directory
    (with undo) and its rows. Returns the id and full path it had."""
    group = lookup.repo_group(db, ref)
    gid, path = group.group_id, group.group_name
    repos = db.scalar(select(func.count()).where(Repository.group_id == gid)) or 0
    groups = db.scalar(select(func.count()).where(RepoGroup.parent_id == gid)) or 0
    if repos or groups:
        raise Conflict("repo_group_not_empty", x=path, repos=repos, groups=groups)
    failure = Failed("repo_group_delete_failed", id=gid, name=path)
    _remove_directory(db, repos_root / path, failure)
    with atomic(db, failure):
        db.execute(delete(GroupUserPerm).where(GroupUserPerm.group_id == gid))
        db.execute(delete(GroupUserGroupPerm).where(GroupUserGroupPerm.group_id == gid))
        db.delete(group)
        db.flush()
    return gid, path


def _remove_directory(db: Session, path: Path, failure: Failed) -> None:
    """Remove the group's empty directory; undo recreates it. A directory still holding
    something unregistered (``rm__`` leftovers of deleted repositories) is renamed aside to
    ``rm__<time>__<name>`` like a deleted repository, so nothing is lost; undo renames it back."""
    if not path.is_dir():
        return
    try:
        path.rmdir()
    except OSError:
        stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S_%f")
        aside = path.parent / f"rm__{stamp}__{path.name}"
        try:
            os.rename(path, aside)
        except OSError as exc:
            raise failure from exc
        undo.on_rollback(db, lambda: os.rename(aside, path))
        return
    undo.on_rollback(db, lambda: path.mkdir(exist_ok=True))

# SPDX-License-Identifier: GPL-3.0-or-later
"""Repositories: create, update (rename/move), fork, delete (``methods.md`` §4).

Every check runs before anything is written, in the order the specification gives. Work on disk is
paired with an undo hook (``db/undo.py``), so an operation that fails at any point — including
the final commit — leaves neither a row nor a directory. Deleting renames the directory aside first
(``rm__<time>__<name>``) and only then deletes rows, so a crash loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.clock import now_utc
from hearth.config import Settings
from hearth.db import undo
from hearth.db.models import Follower, RepoGroup, Repository, User
from hearth.errors import Conflict, Failed, Forbidden, Invalid, NotFound, enum_error
from hearth.services import (
    heads,
    journal,
    lookup,
    names,
    permissions,
    placement,
    repogroups,
    repoperms,
)
from hearth.services.permissions import Actor, Level

REPO_TYPES = ("hg", "git")
LANDING_TYPES = ("rev", "branch", "tag", "book")
_REMOTE_SCHEMES = {
    "git": ("http://", "https://", "git://", "ssh://"),
    "hg": ("http://", "https://", "ssh://"),
}


def path_of(settings: Settings, repo_name: str) -> Path:
    return settings.repos / repo_name


def find(db: Session, actor: Actor, ref: int | str, need: Level = Level.READ) -> Repository:
    """The repository ``ref`` names if the actor holds ``need``; else "does not exist" (hiding)."""
    repo = lookup.repository(db, ref)
    permissions.require(db, actor, need, repo, NotFound("repo_not_found", x=ref))
    return repo


def parse_landing_rev(value: str) -> str | None:
    """``tip`` -> ``rev:tip``; ``branch:default`` stays; a bad type -> None."""
    kind, sep, rev = value.partition(":")
    if not sep:
        kind, rev = "rev", value
    if kind not in LANDING_TYPES or not rev:
        return None
    return f"{kind}:{rev}"


def remote_allowed(repo_type: str, uri: str) -> bool:
    """Remotes Hearth may clone or pull from for users: network URLs only (no local paths)."""
    return uri.lower().startswith(_REMOTE_SCHEMES.get(repo_type, ()))


_PASSWORD_IN_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]*):([^/@]*)@")


def masked_clone_uri(uri: str | None, admin: bool) -> str | None:
    """README #36: a password in the URL is shown as ``*****`` except to admins."""
    if not uri:
        return None
    return uri if admin else _PASSWORD_IN_URL.sub(r"\1:*****@", uri)


# --- the cached last changeset ---------------------------------------------------------------


def changeset_record(changeset: vcs.Changeset) -> dict[str, Any]:
    return {
        "short_id": changeset.short_id,
        "raw_id": changeset.raw_id,
        "revision": changeset.revision,
        "message": changeset.message,
        "date": changeset.date,
        "author": changeset.author,
    }


def refresh_cache(settings: Settings, repo: Repository) -> None:
    """Recompute ``last_changeset`` from disk (after push, pull, fork, invalidate_cache)."""
    try:
        with vcs.open_repo(str(path_of(settings, repo.repo_name)), repo.repo_type) as handle:
            repo.changeset_cache = changeset_record(handle.last_changeset())
    except vcs.RepositoryNotFound:
        repo.changeset_cache = None
    repo.updated_on = now_utc()


def revision_names(settings: Settings, repo: Repository) -> vcs.Refs:
    """Branches, tags and bookmarks (``get_repo with_revision_names``)."""
    try:
        with vcs.open_repo(str(path_of(settings, repo.repo_name)), repo.repo_type) as handle:
            return handle.refs()
    except vcs.VcsError:
        return vcs.Refs({}, {}, {}, {})


def invalidate(db: Session, actor: Actor, settings: Settings, ref: int | str) -> Repository:
    """``invalidate_cache``: needs write; drops cached data and recomputes ``last_changeset``."""
    repo = find(db, actor, ref, Level.WRITE)
    try:
        refresh_cache(settings, repo)
    except (vcs.VcsError, OSError) as exc:
        raise Failed("failed", text="Error occurred during cache invalidation action") from exc
    return repo


# --- create ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRepo:
    """What ``create_repo`` was asked for, after argument coercion."""

    repo_name: str
    owner: int | str | None
    repo_type: str | None
    description: str
    private: bool | None
    clone_uri: str | None
    landing_rev: str
    enable_statistics: bool | None
    enable_downloads: bool | None
    copy_permissions: bool
    enable_locking: bool | None


def _owner(db: Session, actor: Actor, owner_ref: int | str | None) -> User:
    if owner_ref is not None and not actor.admin:
        raise Forbidden("only_admin_owner")
    return lookup.user(db, actor.user_id if owner_ref is None else owner_ref)


def _name_free(db: Session, name: str) -> None:
    existing = db.scalar(select(Repository).where(Repository.repo_name == name))
    if existing is not None:
        raise Conflict("repo_exists", x=name)
    if repogroups.by_path(db, name) is not None:
        raise Conflict("repo_group_exists", x=name)


def _insert(db: Session, repo: Repository) -> None:
    """Insert the row; a concurrent creator that committed first makes this "already exist"."""
    try:
        with db.begin_nested():
            db.add(repo)
            db.flush()
    except IntegrityError:
        raise Conflict("repo_exists", x=repo.repo_name) from None


def _make_on_disk(db: Session, target: Path, make: Any, failure: Failed) -> None:
    """Run ``make()`` to create ``target``; remove it again if the transaction does not commit."""
    if target.exists():
        raise failure  # something unregistered sits there; never touch it
    repogroups.make_directory(db, target.parent)
    try:
        make()
    except (vcs.VcsError, OSError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise failure from exc
    undo.on_rollback(db, lambda: shutil.rmtree(target, ignore_errors=True))


def follow(db: Session, repo_id: int, user_id: int) -> None:
    db.add(Follower(repo_id=repo_id, user_id=user_id, follows_from=now_utc()))


# --- registering a repository: create, fork, rescan ----------------------------------------------


@dataclass(frozen=True)
class NewRow:
    """The columns a new repository row gets; the rest (dates, cache) :func:`register` sets."""

    name: str
    repo_type: str
    owner_id: int
    group: RepoGroup | None
    private: bool
    description: str
    landing_rev: str
    enable_statistics: bool
    enable_downloads: bool
    enable_locking: bool
    clone_uri: str | None = None
    fork_id: int | None = None
    # reserved for a background worker: the rows only, state ``pending``, nothing on disk
    pending: bool = False


@dataclass(frozen=True)
class JournalLine:
    """The journal entry a registration writes: ``about`` the new repository unless named."""

    actor: Actor
    action: str
    client_ip: str
    about: Repository | None = None
    detail: str = ""


def register(
    db: Session,
    settings: Settings,
    row: NewRow,
    *,
    grant: Callable[[Repository], None],
    follower_id: int,
    make: Callable[[Path], None] | None = None,
    failure: Failed | None = None,
    record: JournalLine | None = None,
    on_unreadable: Callable[[vcs.VcsError], None] | None = None,
) -> Repository:
    """The one way a repository comes to exist: insert the row, ``grant`` its permission rows,
    ``follower_id`` follows it, ``make(path)`` creates it on disk (None: it is there already,
    the rescan), the cache is read, ``record`` is journaled. ``failure`` is raised when making it
    on disk fails; ``on_unreadable`` takes a repository whose last changeset cannot be read
    (without it, that is an error). A transaction that does not commit leaves no directory."""
    now = now_utc()
    repo = Repository(
        repo_name=row.name,
        state="pending" if row.pending else "ready",
        repo_type=row.repo_type,
        clone_uri=row.clone_uri,
        private=row.private,
        description=row.description,
        created_on=now,
        updated_on=now,
        owner_id=row.owner_id,
        fork_id=row.fork_id,
        group_id=row.group.group_id if row.group else None,
        landing_rev=row.landing_rev,
        enable_statistics=row.enable_statistics,
        enable_downloads=row.enable_downloads,
        enable_locking=row.enable_locking,
    )
    _insert(db, repo)
    grant(repo)
    follow(db, repo.repo_id, follower_id)
    if row.pending:  # a worker makes it on disk and finishes it (``services/reserved.py``)
        db.flush()
        return repo
    if make is not None:
        target = path_of(settings, row.name)
        _make_on_disk(
            db, target, lambda: make(target), failure or Failed("repo_create_failed", x=row.name)
        )
    # a clone, a fork or a rescanned directory may name a branch HEAD that does not exist
    heads.repair(path_of(settings, row.name), row.repo_type, settings.default_branch)
    try:
        refresh_cache(settings, repo)
    except vcs.VcsError as exc:
        if on_unreadable is None:
            raise
        on_unreadable(exc)
    if record is not None:
        about = record.about or repo
        journal.record(
            db,
            user_id=record.actor.user_id,
            username=record.actor.username,
            action=record.action,
            repo_id=about.repo_id,
            repo_name=about.repo_name,
            detail=record.detail,
            ip_addr=record.client_ip,
        )
    db.flush()
    return repo


def create(
    db: Session,
    actor: Actor,
    settings: Settings,
    new: NewRepo,
    *,
    client_ip: str = "",
    reserve: list[str] | None = None,
) -> Repository:
    """Create the repository now; or, with ``reserve`` (a list), only reserve it: every check, the
    groups and the rows, in state ``pending`` with nothing on disk (a worker makes it,
    ``services/reserved.py``); the paths of the groups auto-created are appended to ``reserve``."""
    name = new.repo_name
    names.check_repo_name(name)
    parent_path = names.parent_of(name)
    plan = placement.check_create_in(
        db, actor, parent_path, auto_create=settings.repo_group_auto_create
    )
    owner = _owner(db, actor, new.owner)
    _name_free(db, name)
    failure = Failed("repo_create_failed", x=name)
    repo_type = new.repo_type or settings.default_repo_type
    landing = parse_landing_rev(new.landing_rev)
    if repo_type not in REPO_TYPES or landing is None:
        raise failure
    if new.clone_uri and not remote_allowed(repo_type, new.clone_uri):
        raise failure
    creator = lookup.user(db, actor.user_id)
    if reserve is not None:
        if path_of(settings, name).exists():
            raise failure  # something unregistered sits there; never touch it
        reserve.extend(plan.missing)
    group = placement.create_missing(db, actor, settings.repos, plan, creator)
    private = settings.default_repo_private if new.private is None else new.private
    row = NewRow(
        name=name,
        pending=reserve is not None,
        repo_type=repo_type,
        owner_id=owner.user_id,
        group=group,
        private=private,
        description=new.description or names.last_component(name),
        landing_rev=landing,
        enable_statistics=_default(new.enable_statistics, settings.default_repo_enable_statistics),
        enable_downloads=_default(new.enable_downloads, settings.default_repo_enable_downloads),
        enable_locking=_default(new.enable_locking, settings.default_repo_enable_locking),
        clone_uri=new.clone_uri or None,
    )

    def grant(repo: Repository) -> None:
        if new.copy_permissions and group is not None:
            repoperms.copy_from_group(db, actor, repo, group.group_id)
        else:
            repoperms.write_default_rows(db, actor, repo)

    def make(target: Path) -> None:
        if new.clone_uri:
            vcs.clone(new.clone_uri, str(target), repo_type)
        else:
            vcs.create(str(target), repo_type, settings.default_branch)

    return register(
        db,
        settings,
        row,
        grant=grant,
        follower_id=owner.user_id,
        make=make,
        failure=failure,
        record=JournalLine(actor, "user_created_repo", client_ip),
    )


def _default(value: bool | None, setting: bool) -> bool:
    return setting if value is None else value


# --- fork --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewFork:
    fork_name: str
    owner: int | str | None
    description: str
    copy_permissions: bool
    private: bool
    landing_rev: str


def fork(
    db: Session,
    actor: Actor,
    settings: Settings,
    source_ref: int | str,
    new: NewFork,
    *,
    client_ip: str = "",
    reserve: list[str] | None = None,
) -> tuple[Repository, Repository]:
    """Fork now; or, with ``reserve``, only reserve the fork (as :func:`create` does)."""
    source = lookup.repository(db, source_ref)
    name = new.fork_name
    taken = db.scalar(select(Repository).where(Repository.repo_name == name))
    if taken is not None:
        raise Conflict("fork_exists" if taken.fork_id else "repo_exists", x=name)
    names.check_repo_name(name)
    plan = placement.check_create_in(
        db, actor, names.parent_of(name), auto_create=settings.repo_group_auto_create
    )
    permissions.require(db, actor, Level.READ, source, NotFound("repo_not_found", x=source_ref))
    owner = _owner(db, actor, new.owner)
    failure = Failed("repo_fork_failed", x=source.repo_name, fork=name)
    if repogroups.by_path(db, name) is not None:
        raise Conflict("repo_group_exists", x=name)
    landing = parse_landing_rev(new.landing_rev)
    if landing is None:
        raise failure
    creator = lookup.user(db, actor.user_id)
    if reserve is not None:
        if path_of(settings, name).exists():
            raise failure  # something unregistered sits there; never touch it
        reserve.extend(plan.missing)
    group = placement.create_missing(db, actor, settings.repos, plan, creator)
    row = NewRow(
        name=name,
        pending=reserve is not None,
        repo_type=source.repo_type,
        owner_id=owner.user_id,
        group=group,
        private=new.private,
        description=new.description or names.last_component(name),
        landing_rev=landing,
        enable_statistics=False,
        enable_downloads=False,
        enable_locking=source.enable_locking,
        fork_id=source.repo_id,
    )

    def grant(repo: Repository) -> None:
        if new.copy_permissions:
            repoperms.copy_from_repo(db, source.repo_id, repo.repo_id)
        else:
            repoperms.write_default_rows(db, actor, repo)

    origin = path_of(settings, source.repo_name)

    repo = register(
        db,
        settings,
        row,
        grant=grant,
        follower_id=owner.user_id,
        make=lambda target: vcs.clone(str(origin), str(target), source.repo_type),
        failure=failure,
        record=JournalLine(actor, "user_forked_repo", client_ip, about=source, detail=name),
    )
    return source, repo


# --- update ------------------------------------------------------------------------------------

_UNCHANGED = object()


def update(
    db: Session,
    actor: Actor,
    settings: Settings,
    ref: int | str,
    changes: dict[str, Any],
) -> Repository:
    """Apply non-null ``changes`` (``update_repo``), renaming/moving atomically on disk and in rows."""
    repo = find(db, actor, ref, Level.ADMIN)
    new_last = changes.get("name")
    group_ref = changes.get("group")
    current_parent = names.parent_of(repo.repo_name)
    moving_to_top = group_ref == ""
    renaming = new_last is not None and new_last != names.last_component(repo.repo_name)
    if (
        not actor.admin
        and (
            (moving_to_top and current_parent)
            or (renaming and not current_parent and group_ref is None)
        )
        and not permissions.has_global(db, actor, "hg.create.repository")
    ):
        raise Forbidden("no_move_top_level")
    if changes.get("owner") is not None and not actor.admin:
        raise Forbidden("only_admin_owner")
    target_group: RepoGroup | object | None = _UNCHANGED
    if group_ref is not None:
        target_group = None if group_ref == "" else lookup.repo_group(db, group_ref)
    owner = lookup.user(db, changes["owner"]) if changes.get("owner") is not None else None
    if isinstance(target_group, RepoGroup):
        refusal = Forbidden("no_move_in_group", x=target_group.group_name)
        permissions.require(db, actor, Level.WRITE, target_group, refusal)
    if new_last is not None:
        if "/" in new_last:
            raise Invalid("invalid_repo_name", x=new_last, reason="empty path component")
        names.check_repo_name(new_last)
    failure = Failed("repo_update_failed", x=ref)
    if target_group is _UNCHANGED:
        parent = current_parent
    else:
        parent = target_group.group_name if isinstance(target_group, RepoGroup) else ""
    last = new_last if new_last is not None else names.last_component(repo.repo_name)
    new_name = f"{parent}/{last}" if parent else last
    if new_name != repo.repo_name:
        names.check_repo_name(new_name)
        if (
            db.scalar(select(Repository.repo_id).where(Repository.repo_name == new_name))
            or repogroups.by_path(db, new_name) is not None
        ):
            raise failure
    if changes.get("clone_uri") and not remote_allowed(repo.repo_type, changes["clone_uri"]):
        raise failure
    head_to: str | None = None
    if changes.get("landing_rev") is not None:
        landing = parse_landing_rev(changes["landing_rev"])
        if landing is None:
            raise failure
        head_to = heads.landing_branch(repo.repo_type, landing)
        if head_to is not None and head_to not in revision_names(settings, repo).branches:
            raise Failed("repo_update_no_branch", x=ref, branch=head_to)
        repo.landing_rev = landing
    for field in ("description", "enable_statistics", "enable_downloads", "enable_locking"):
        if changes.get(field) is not None:
            setattr(repo, field, changes[field])
    if changes.get("clone_uri") is not None:
        repo.clone_uri = changes["clone_uri"] or None
    if changes.get("private") is not None:
        repo.private = changes["private"]
        if repo.private:
            repoperms.set_user_level(db, repo.repo_id, actor.default_user_id, Level.NONE)
    if owner is not None:
        repo.owner_id = owner.user_id
    if target_group is not _UNCHANGED:
        repo.group_id = target_group.group_id if isinstance(target_group, RepoGroup) else None
    if new_name != repo.repo_name:
        _move(db, settings, repo.repo_name, new_name, failure)
        repo.repo_name = new_name
    if head_to is not None:
        _point_head(db, settings, repo, head_to, failure)
    repo.updated_on = now_utc()
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise failure from None
    return repo


def _point_head(
    db: Session, settings: Settings, repo: Repository, branch: str, failure: Failed
) -> None:
    """HEAD to ``branch`` (last on disk, after any move); put back if the update rolls back."""
    path = path_of(settings, repo.repo_name)
    before = vcs.head_branch(str(path))
    try:
        heads.point_at(path, branch)
    except (vcs.VcsError, OSError) as exc:  # checked before; gone meanwhile, or unwritable
        raise failure from exc
    if before is not None and before != branch:
        undo.on_rollback(db, lambda: _restore_head(path, before))


def _restore_head(path: Path, branch: str) -> None:
    """Undo: HEAD back to what it named, unless that branch is gone (then it stays valid)."""
    with contextlib.suppress(vcs.VcsError):
        heads.point_at(path, branch)


def set_default_branch(
    db: Session, actor: Actor, settings: Settings, ref: int | str, branch: str
) -> Repository:
    """``hearth repo set-default-branch``: ``update`` with ``landing_rev`` ``branch:<branch>``,
    refused for hg (no HEAD) and, by ``update``, for a branch that does not exist."""
    repo = find(db, actor, ref, Level.ADMIN)
    if repo.repo_type != "git":
        raise Invalid("repo_no_head", x=repo.repo_name)
    return update(db, actor, settings, ref, {"landing_rev": f"branch:{branch}"})


def update_message(repo: Repository, changes: dict[str, Any]) -> str:
    """``update_repo``'s ``msg``: Kallithea's text first (scripts matching it keep working),
    then, when the update pointed HEAD at a branch, a sentence saying so."""
    msg = f"updated repo ID:{repo.repo_id} {repo.repo_name}"
    landing = changes.get("landing_rev")
    head = heads.landing_branch(repo.repo_type, parse_landing_rev(landing) if landing else None)
    if head is not None:
        msg += f"; HEAD now points to branch `{head}` (what git clone checks out)"
    return msg


def _move(db: Session, settings: Settings, old: str, new: str, failure: Failed) -> None:
    source, target = path_of(settings, old), path_of(settings, new)
    if target.exists():
        raise failure
    repogroups.make_directory(db, target.parent)
    try:
        os.rename(source, target)
    except OSError as exc:
        raise failure from exc
    undo.on_rollback(db, lambda: os.rename(target, source))


# --- delete ------------------------------------------------------------------------------------

FORKS_CHOICES = ("", "detach", "delete")


def delete(
    db: Session,
    actor: Actor,
    settings: Settings,
    ref: int | str,
    forks: str,
    *,
    client_ip: str = "",
) -> tuple[str, int]:
    """Delete a repository; returns its name and how many forks were detached or deleted."""
    repo = find(db, actor, ref, Level.ADMIN)
    if forks not in FORKS_CHOICES:
        raise enum_error("forks", ("delete", "detach"))
    children = list(db.scalars(select(Repository).where(Repository.fork_id == repo.repo_id)))
    if children and not forks:
        raise Conflict("repo_has_forks", x=repo.repo_name)
    name = repo.repo_name
    count = 0
    if forks == "detach":
        db.execute(
            sql_update(Repository).where(Repository.fork_id == repo.repo_id).values(fork_id=None)
        )
        count = len(children)
    elif forks == "delete":
        count = sum(1 + _delete_tree(db, settings, child) for child in children)
    _delete_one(db, settings, repo)
    journal.record(
        db,
        user_id=actor.user_id,
        username=actor.username,
        action="user_deleted_repo",
        repo_name=name,
        ip_addr=client_ip,
    )
    return name, count


def _delete_tree(db: Session, settings: Settings, repo: Repository) -> int:
    """Delete ``repo``'s forks recursively, then ``repo``; returns how many forks went."""
    children = list(db.scalars(select(Repository).where(Repository.fork_id == repo.repo_id)))
    count = sum(1 + _delete_tree(db, settings, child) for child in children)
    _delete_one(db, settings, repo)
    return count


def _delete_one(db: Session, settings: Settings, repo: Repository) -> None:
    source = path_of(settings, repo.repo_name)
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S_%f")
    aside = source.parent / f"rm__{stamp}__{names.last_component(repo.repo_name)}"
    if source.exists():
        try:
            os.rename(source, aside)
        except OSError as exc:
            raise Failed("repo_delete_failed", x=repo.repo_name) from exc
        undo.on_rollback(db, lambda: os.rename(aside, source))
    db.delete(repo)
    db.flush()

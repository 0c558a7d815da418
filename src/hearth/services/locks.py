# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository locks: pull-to-lock, push-to-unlock (``web-and-vcs.md`` §6, ``methods.md`` §10).

A lock is three columns of the repository row: the holder's user id, the epoch time (float) and the
reason, ``lock_api`` (set by the API method ``lock``) or ``lock_auto`` (taken by a pull). The API and
the VCS handlers read and change the same state through this module:

* ``set_lock`` / ``release`` / ``state`` — the API method ``lock``;
* ``check_pull`` / ``check_push`` — asked by the git and hg handlers before serving a request; the
  answer (:class:`LockDecision`) carries the status and text the handler sends when it refuses;
* ``after_pull`` / ``after_push`` — called by the handlers after a successful request: a pull by a
  user with write access takes the lock when ``enable_locking`` is on (README #32, #33: with a real
  time), a push by the holder releases it.

Locking applies only to authenticated users: pass ``None`` (or the anonymous actor) for anonymous
requests and every check allows, every ``after_*`` does nothing. The caller owns the transaction;
nothing here commits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hearth.db.models import Repository, User
from hearth.errors import TEXTS, Failed
from hearth.services import permissions, repolisting
from hearth.services.lookup import RepoRef
from hearth.services.permissions import Actor, Level

LOCK_API = "lock_api"
LOCK_AUTO = "lock_auto"
DEFAULT_RET_CODE = 423


@dataclass(frozen=True)
class Lock:
    """The lock on a repository as stored."""

    user_id: int
    since: float
    reason: str | None


@dataclass(frozen=True)
class LockDecision:
    """What a VCS handler does about locking for one request.

    ``locked``: the lock stands in the way of this request (held by someone else, or — for a pull —
    by anyone, the holder included). ``status`` is the HTTP status to answer then (setting
    ``lock_ret_code``, default 423) and ``message`` the plain-text body / reason phrase
    ``Repository `<repo>` locked by user `<username>```. A status in the 2xx range does not refuse:
    ``refused`` is false and the handler shows ``message`` to the client and serves the request.
    """

    locked: bool
    status: int = 200
    message: str | None = None
    holder: str | None = None

    @property
    def refused(self) -> bool:
        return self.locked and not 200 <= self.status < 300


ALLOWED = LockDecision(False)


def current(repo: Repository | RepoRef) -> Lock | None:
    if repo.locked_by is None:
        return None
    return Lock(repo.locked_by, repo.locked_date or 0.0, repo.lock_reason)


def _holder_name(db: Session, user_id: int) -> str:
    user = db.get(User, user_id)
    return user.username if user is not None else str(user_id)


def _refusal(db: Session, repo: Repository | RepoRef, lock: Lock, ret_code: int) -> LockDecision:
    holder = _holder_name(db, lock.user_id)
    text = TEXTS["repo_locked"].format(x=repo.repo_name, user=holder)
    return LockDecision(True, ret_code, text, holder)


def check_pull(
    db: Session,
    repo: Repository | RepoRef,
    actor: Actor | None,
    *,
    ret_code: int = DEFAULT_RET_CODE,
) -> LockDecision:
    """Before a clone/pull: refused while the repository is locked, even for the holder (K's rule)."""
    lock = current(repo)
    if lock is None or actor is None or actor.is_anonymous:
        return ALLOWED
    return _refusal(db, repo, lock, ret_code)


def check_push(
    db: Session,
    repo: Repository | RepoRef,
    actor: Actor | None,
    *,
    ret_code: int = DEFAULT_RET_CODE,
) -> LockDecision:
    """Before a push: refused while another user holds the lock."""
    lock = current(repo)
    if lock is None or actor is None or actor.is_anonymous or lock.user_id == actor.user_id:
        return ALLOWED
    return _refusal(db, repo, lock, ret_code)


def may_lock_on_pull(repo: Repository | RepoRef, actor: Actor | None) -> bool:
    """Whether a pull could take the lock at all, from the row or the edge's :class:`RepoRef`
    alone (the edge asks before it opens a write transaction, one saved per clone); ``after_pull`` adds the access check."""
    return (
        actor is not None
        and not actor.is_anonymous
        and bool(repo.enable_locking)
        and repo.locked_by is None
    )


def after_pull(db: Session, repo: Repository, actor: Actor | None) -> bool:
    """After a successful clone/pull: lock the repository for the puller (``lock_auto``) if
    ``enable_locking`` is on, it is unlocked, and the puller has write access. Returns whether the
    lock was taken. A concurrent locker wins: the row is only changed while it is unlocked."""
    if actor is None or not may_lock_on_pull(repo, actor):
        return False
    if not permissions.allows(db, actor, Level.WRITE, repo):
        return False
    now = time.time()
    taken = db.execute(
        update(Repository)
        .where(Repository.repo_id == repo.repo_id, Repository.locked_by.is_(None))
        .values(locked_by=actor.user_id, locked_date=now, lock_reason=LOCK_AUTO)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if taken:
        repo.locked_by, repo.locked_date, repo.lock_reason = actor.user_id, now, LOCK_AUTO
    return bool(taken)


def after_push(db: Session, repo: Repository, actor: Actor | None) -> str | None:
    """After a successful push: release the lock if the pusher holds it. Returns the message the
    client sees (``Released lock on repo `<repo>```), or None when nothing was released."""
    if actor is None or actor.is_anonymous or repo.locked_by is None:
        return None
    released = db.execute(
        update(Repository)
        .where(Repository.repo_id == repo.repo_id, Repository.locked_by == actor.user_id)
        .values(locked_by=None, locked_date=None, lock_reason=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not released:
        return None
    repo.locked_by, repo.locked_date, repo.lock_reason = None, None, None
    return TEXTS["lock_released"].format(x=repo.repo_name)


def set_lock(db: Session, repo: Repository, user_id: int, reason: str = LOCK_API) -> float:
    """Lock ``repo`` for ``user_id`` now (replacing any lock); returns the lock time."""
    now = time.time()
    repo.locked_by, repo.locked_date, repo.lock_reason = user_id, now, reason
    db.flush()
    return now


def release(db: Session, repo: Repository) -> None:
    """Unlock ``repo`` whoever holds it (the API's ``lock locked=false``)."""
    repo.locked_by, repo.locked_date, repo.lock_reason = None, None, None
    db.flush()


@dataclass(frozen=True)
class LockState:
    """A lock as the API method ``lock`` reports it: since when, by whom (a name), why."""

    since: float
    holder: str
    reason: str | None


def state(db: Session, repo: Repository) -> LockState | None:
    """The lock on ``repo``, its holder by name (a deleted holder by id), or None."""
    held = current(repo)
    if held is None:
        return None
    return LockState(held.since, _holder_name(db, held.user_id), held.reason)


def change(db: Session, repo: Repository, user_id: int, locked: bool) -> float | None:
    """Lock ``repo`` for ``user_id`` (returns the lock time) or unlock it, in a savepoint: a
    database failure leaves the row as it was and is ``Failed(lock_failed)``."""
    try:
        with db.begin_nested():
            if locked:
                return set_lock(db, repo, user_id)
            release(db, repo)
            return None
    except SQLAlchemyError as exc:
        raise Failed("lock_failed", x=repo.repo_name) from exc


def visible_locks(db: Session, actor: Actor, user_id: int | None) -> list[repolisting.RepoView]:
    """The locked repositories (all, or those ``user_id`` holds) that ``actor`` may read: a
    lock on a repository one can no longer read stays hidden."""
    views = repolisting.locked(db, user_id)
    if actor.admin:
        return views
    levels = permissions.repo_levels(db, actor, [v.repo["repo_id"] for v in views])
    return [v for v in views if levels.get(v.repo["repo_id"], 0) >= Level.READ]

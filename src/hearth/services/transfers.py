# SPDX-License-Identifier: GPL-3.0-or-later
"""What happens after a clone or push over HTTP, for git and hg alike (``web-and-vcs.md`` §6-§7).

The HTTP handlers (``smarthttp/git.py``, ``smarthttp/hg.py``) find out what a request did — the
refs a git push updated (from Hearth's ``post-receive`` hook), the changesets an hg push added
(from Hearth's ``changegroup`` hook) — and hand it here as a :class:`Push`, after the client has
its answer, in a worker thread. One push then means, in one transaction:

* a journal entry ``push`` with the user, the client address and the pushed revisions (raw ids,
  comma-separated, oldest first) in ``detail``;
* the repository's cached last changeset recomputed from disk;
* the lock released if the pusher held it (``locks.after_push``);
* the open pull requests from or into the repository recomputed (``pullrequests.after_push``).

:func:`repair_head` runs earlier, before a git push's answer ends, so that a clone right after the
push checks out a branch (``services/heads.py``).

:func:`after_pull` takes the lock after a successful clone/pull when ``enable_locking`` is on.
Pulls are not journaled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hearth import vcs
from hearth.config import Settings
from hearth.db.models import Repository
from hearth.errors import TEXTS
from hearth.services import heads, journal, locks, pullrequests, repos
from hearth.services.lookup import RepoRef
from hearth.services.permissions import Actor
from hearth.vcs import git as git_backend

if TYPE_CHECKING:
    from hearth.services.vcsauth import Decision

log = logging.getLogger(__name__)

PUSH_ACTION = "push"


@dataclass(frozen=True)
class Push:
    """One push that changed the repository."""

    repo_id: int
    actor: Actor
    address: str
    revisions: tuple[str, ...]
    """Raw ids of the changesets the push brought, oldest first (empty when it only moved or
    deleted refs)."""
    release_lock: bool = False
    """The pusher held the lock when the push was authorised. Decided then, not now: a lock
    taken between the push's answer and this bookkeeping belongs to a later push."""


def after_push(db: Session, settings: Settings, push: Push) -> str | None:
    """Journal, refresh ``last_changeset``, release the pusher's lock.

    Returns the lock-release message (``Released lock on repo `<repo>```) or None. A repository
    deleted meanwhile is skipped.
    """
    repo = db.get(Repository, push.repo_id)
    if repo is None:
        return None
    journal.record(
        db,
        user_id=push.actor.user_id,
        username=push.actor.username,
        action=PUSH_ACTION,
        repo_id=repo.repo_id,
        repo_name=repo.repo_name,
        detail=",".join(push.revisions),
        ip_addr=push.address,
    )
    try:
        repos.refresh_cache(settings, repo)
    except vcs.VcsError as exc:
        log.warning("push into %s: cannot refresh the cache: %s", repo.repo_name, exc)
    released = locks.after_push(db, repo, push.actor) if push.release_lock else None
    pullrequests.after_push(db, settings, repo.repo_id)
    db.flush()
    return released


def repair_head(
    settings: Settings, repo: Repository | RepoRef, updates: Sequence[tuple[str, str, str]]
) -> str | None:
    """After a git push (HTTP or SSH), before the client has its last byte: if HEAD names a
    branch that does not exist, move it (``services/heads.py``) so the next clone checks one
    out. ``updates`` are git's ``(old, new, ref)`` lines in the push's order. Returns the
    branch HEAD moved to, or None; never raises."""
    pushed = heads.pushed_branches(updates)
    if not pushed:
        return None
    return heads.repair(
        repos.path_of(settings, repo.repo_name), repo.repo_type, settings.default_branch, pushed
    )


def after_pull(db: Session, repo_id: int, actor: Actor) -> bool:
    """Take the lock for ``actor`` after a successful pull, per ``enable_locking``."""
    repo = db.get(Repository, repo_id)
    if repo is None:
        return False
    return locks.after_pull(db, repo, actor)


def pushed_revisions(
    settings: Settings, repo_name: str, updates: Sequence[tuple[str, str, str]]
) -> list[str]:
    """The changesets a git push brought (``vcs``), from the hook's ``(old, new, ref)`` lines."""
    return git_backend.pushed_revisions(str(repos.path_of(settings, repo_name)), updates)


def push_messages(repo_name: str, decision: Decision) -> str:
    """What a successful push shows the client (HTTP and SSH alike): a 2xx lock warning, and
    the holder's lock release."""
    lines = []
    if decision.lock.locked and decision.lock.message:
        lines.append(decision.lock.message)
    if decision.holds_lock:
        lines.append(release_message(repo_name))
    return "\n".join(lines)


def release_message(repo_name: str) -> str:
    """What the lock holder's push shows the client (before the lock is released afterwards)."""
    return TEXTS["lock_released"].format(x=repo_name)

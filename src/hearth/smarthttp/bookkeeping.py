# SPDX-License-Identifier: GPL-3.0-or-later
"""Post-transfer bookkeeping for the git and hg handlers: one code path (``web-and-vcs.md`` §7).

Both handlers call :func:`pushed` after a push changed the repository and :func:`pulled` after a
successful clone/pull, once the client has its whole answer (git: ``serve_git``'s
``on_complete``; hg: after hgweb returned). The work — ``services/transfers.py`` in one write
transaction, then dropping the cached hgweb of the repository — runs in a worker thread, so the
event loop keeps streaming other transfers. Failures are logged, never raised: the push itself
has succeeded and been answered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from hearth.services import locks, repos, transfers
from hearth.services.lookup import RepoRef
from hearth.services.permissions import Actor
from hearth.smarthttp import hgproto

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger(__name__)


async def pushed(
    runtime: Runtime,
    repo: RepoRef,
    actor: Actor,
    address: str,
    revisions: Sequence[str],
    *,
    release_lock: bool,
) -> str | None:
    """Journal, ``last_changeset``, caches, lock release (when the pusher held the lock as
    the push was authorised); returns the release message if any."""
    push = transfers.Push(repo.repo_id, actor, address, tuple(revisions), release_lock)

    def work() -> str | None:
        with runtime.database.session() as db:
            return transfers.after_push(db, runtime.settings, push)

    try:
        released = await run_in_threadpool(work)
    except Exception:
        log.exception("bookkeeping after a push into %s failed", repo.repo_name)
        released = None
    if repo.repo_type == "hg":
        hgproto.default_host().invalidate(repos.path_of(runtime.settings, repo.repo_name))
    return released


async def pulled(runtime: Runtime, repo: RepoRef, actor: Actor) -> None:
    """After a successful clone/pull: take the lock when ``enable_locking`` says so."""
    if not locks.may_lock_on_pull(repo, actor):
        return

    def work() -> bool:
        with runtime.database.session() as db:
            return transfers.after_pull(db, repo.repo_id, actor)

    try:
        await run_in_threadpool(work)
    except Exception:
        log.exception("taking the lock after a pull from %s failed", repo.repo_name)

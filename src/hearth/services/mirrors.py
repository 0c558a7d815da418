# SPDX-License-Identifier: GPL-3.0-or-later
"""Mirrors: a repository with a ``clone_uri`` pulled every ``pull_interval`` seconds.

The schedule lives in the database (``repositories.mirror_next_on``), so any number of workers
may run the scheduler (``hearth.tasks.mirrorloop``) and a mirror is still pulled once per interval:
:func:`claim` moves a due mirror's next time forward by a *lease* (``pull_timeout`` plus a
minute) with a conditional update, and only the worker whose update took it pulls. When the pull
ends, :func:`finish` sets the next time to one interval later; a worker that died mid-pull
leaves the lease, after which another worker pulls.

A pull is ``remote.fetch`` with the ``pull_timeout`` time limit: git's ``fetch --atomic``
downloads into a temporary pack and moves every ref in one transaction, hg pulls in one
transaction (rolled back on failure); so a pull that fails, hangs or receives garbage leaves the
repository as it was. Each outcome is recorded: last success, last error (masked text) and its
time, the duration. A journal entry (``push_remote``) is written only when the pull changed the
last changeset, so a quiet mirror does not fill the journal.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.clock import now_utc
from hearth.config import Settings
from hearth.db.models import Repository
from hearth.errors import Failed, Invalid
from hearth.render import local_iso
from hearth.services import bootstrap, journal, remote, repos
from hearth.services.permissions import Actor, Level

log = logging.getLogger("hearth.mirrors")

INTERVAL_MIN, INTERVAL_MAX = 1, 366 * 86400


def set_interval(db: Session, actor: Actor, ref: int | str, interval: int) -> Repository:
    """Schedule (``interval`` seconds) or stop (0) the mirror; admin on the repository."""
    repo = repos.find(db, actor, ref, Level.ADMIN)
    if interval == 0:
        repo.pull_interval = None
        repo.mirror_next_on = None
        return repo
    if not INTERVAL_MIN <= interval <= INTERVAL_MAX:
        raise Invalid(
            "failed", text=f"pull_interval must be 0 or from {INTERVAL_MIN} to {INTERVAL_MAX}"
        )
    if not repo.clone_uri:
        raise Invalid("failed", text=f"repository `{repo.repo_name}` has no clone_uri to mirror")
    repo.pull_interval = interval
    repo.mirror_next_on = now_utc()  # first pull at once
    return repo


def describe(repo: Repository) -> dict[str, Any]:
    """The extra keys of ``get_repo`` and ``hearth repo mirror``."""
    return {
        "pull_interval": repo.pull_interval,
        "mirror": None
        if repo.pull_interval is None
        else {
            "last_success": local_iso(repo.mirror_success_on),
            "last_error": repo.mirror_error,
            "last_error_on": local_iso(repo.mirror_error_on),
            "duration": repo.mirror_duration,
            "next_pull": local_iso(repo.mirror_next_on),
        },
    }


def due(db: Session, limit: int = 32) -> list[int]:
    now = now_utc()
    return list(
        db.scalars(
            select(Repository.repo_id)
            .where(
                Repository.pull_interval.is_not(None),
                Repository.state == "ready",
                Repository.mirror_next_on <= now,
            )
            .order_by(Repository.mirror_next_on)
            .limit(limit)
        )
    )


def claim(db: Session, settings: Settings, repo_id: int) -> bool:
    """Take the lease on a due mirror; False if another worker took it first."""
    now = now_utc()
    lease = now + timedelta(seconds=settings.pull_timeout + 60)
    taken = db.execute(
        update(Repository)
        .where(Repository.repo_id == repo_id, Repository.mirror_next_on <= now)
        .values(mirror_next_on=lease)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(taken)


def _system_actor(db: Session) -> Actor:
    admin = bootstrap.first_admin(db)
    default_id = bootstrap.default_user_id(db)
    if admin is None or default_id is None:
        raise Failed("failed", text="the instance has no admin user")
    return Actor(admin.user_id, admin.username, True, default_id)


def pull(database: Any, settings: Settings, repo_id: int) -> str | None:
    """Pull one claimed mirror and record the outcome; returns the error text or None."""
    started = time.monotonic()
    error: str | None = None
    with database.session() as db:
        actor = _system_actor(db)
        try:
            plan = remote.prepare(db, actor, settings, repo_id)
        except Failed as exc:
            plan, error = None, exc.text
        before = _last(db, repo_id)
    if plan is not None:
        try:
            remote.fetch(plan, timeout=settings.pull_timeout)
        except Failed as exc:  # the cause says more than "Unable to pull…"; passwords masked
            cause = exc.__cause__
            error = vcs.mask_url(str(cause))[:2000] if cause is not None else exc.text
    duration = time.monotonic() - started
    with database.session() as db:
        finish(db, settings, actor, repo_id, error, duration, before)
    return error


def _last(db: Session, repo_id: int) -> str | None:
    repo = db.get(Repository, repo_id)
    cache = repo.changeset_cache if repo is not None else None
    return cache.get("raw_id") if isinstance(cache, dict) else None


def finish(
    db: Session,
    settings: Settings,
    actor: Actor,
    repo_id: int,
    error: str | None,
    duration: float,
    before: str | None,
) -> None:
    repo = db.get(Repository, repo_id)
    if repo is None or repo.pull_interval is None:
        return  # deleted, or the mirror was stopped while it pulled
    now = now_utc()
    repo.mirror_duration = round(duration, 3)
    repo.mirror_next_on = now + timedelta(seconds=repo.pull_interval)
    if error is not None:
        repo.mirror_error = error
        repo.mirror_error_on = now
        return
    repo.mirror_success_on = now
    repo.mirror_error = None
    repo.mirror_error_on = None
    try:
        repos.refresh_cache(settings, repo)
    except vcs.VcsError as exc:
        log.warning("mirror %s: cannot refresh the cache: %s", repo.repo_name, exc)
    after = repo.changeset_cache.get("raw_id") if isinstance(repo.changeset_cache, dict) else None
    if after != before:
        journal.record(
            db,
            user_id=actor.user_id,
            username=actor.username,
            action="push_remote",
            repo_id=repo.repo_id,
            repo_name=repo.repo_name,
        )

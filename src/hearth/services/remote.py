# SPDX-License-Identifier: GPL-3.0-or-later
"""Pulling into a repository from its remote (``methods.md`` §1 ``pull``, ``web-and-vcs.md`` §7).

The source is the first that exists of: the ``clone_uri`` given for this pull, the repository's
stored ``clone_uri``, and — for a fork — the parent repository's directory. A local path (or
``file:`` URL) is accepted only when an admin gives it for this pull; stored remotes are network
URLs. git fetches every branch head forced and the tags, hg pulls everything, each atomically: a
failed pull leaves the repository as it was. Every failure answers the one text
``Unable to pull changes from `<repo>```; the cause is logged with any password masked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hearth import vcs
from hearth.config import Settings
from hearth.db.models import Repository
from hearth.errors import Failed
from hearth.services import heads, journal, repos
from hearth.services.permissions import Actor, Level

log = logging.getLogger("hearth.remote")

#: how long a remote may stay silent before the pull is abandoned (seconds)
PULL_TIMEOUT = 900.0


def source_of(
    db: Session, settings: Settings, actor: Actor, repo: Repository, clone_uri: str | None
) -> str | None:
    """Where ``pull`` fetches from, or None when there is no usable source."""
    if clone_uri and clone_uri.startswith("-"):
        return None  # would be read as an option by git
    if clone_uri:
        if repos.remote_allowed(repo.repo_type, clone_uri) or actor.admin:
            return clone_uri
        return None
    if repo.clone_uri:
        return repo.clone_uri if repos.remote_allowed(repo.repo_type, repo.clone_uri) else None
    if repo.fork_id is not None:
        parent = db.get(Repository, repo.fork_id)
        if parent is not None and parent.repo_type == repo.repo_type:
            return str(repos.path_of(settings, parent.repo_name))
    return None


@dataclass(frozen=True)
class PullPlan:
    """Everything the fetch needs, decided before it runs (no database work during the fetch)."""

    repo_id: int
    repo_name: str
    repo_type: str
    path: str
    source: str


def prepare(
    db: Session, actor: Actor, settings: Settings, ref: int | str, clone_uri: str | None = None
) -> PullPlan:
    """Find the repository (admin on it) and its source; ``Unable to pull…`` when there is none."""
    repo = repos.find(db, actor, ref, Level.ADMIN)
    source = source_of(db, settings, actor, repo, clone_uri)
    if source is None:
        log.info("pull into %s: no source", repo.repo_name)
        raise Failed("pull_failed", x=repo.repo_name)
    path = str(repos.path_of(settings, repo.repo_name))
    return PullPlan(repo.repo_id, repo.repo_name, repo.repo_type, path, source)


def fetch(plan: PullPlan, timeout: float = PULL_TIMEOUT) -> None:
    """Run the fetch; the repository is unchanged when it fails."""
    try:
        with vcs.open_repo(plan.path, plan.repo_type) as handle:
            handle.fetch(plan.source, timeout=timeout)
    except (vcs.VcsError, OSError, ValueError) as exc:  # ValueError: hg on a malformed URL
        log.warning("pull into %s failed: %s", plan.repo_name, vcs.mask_url(str(exc)))
        raise Failed("pull_failed", x=plan.repo_name) from exc


def record(
    db: Session, actor: Actor, settings: Settings, plan: PullPlan, *, client_ip: str = ""
) -> Repository:
    """After a fetch: journal ``push_remote`` and refresh the cached last changeset."""
    repo = db.get(Repository, plan.repo_id)
    if repo is None:  # deleted while the fetch ran
        raise Failed("pull_failed", x=plan.repo_name)
    journal.record(
        db,
        user_id=actor.user_id,
        username=actor.username,
        action="push_remote",
        repo_id=repo.repo_id,
        repo_name=repo.repo_name,
        ip_addr=client_ip,
    )
    heads.repair(plan.path, plan.repo_type, settings.default_branch)
    try:
        repos.refresh_cache(settings, repo)
    except vcs.VcsError as exc:
        log.warning("pull into %s: cannot refresh the cache: %s", repo.repo_name, exc)
    db.flush()
    return repo


def pull(
    db: Session,
    actor: Actor,
    settings: Settings,
    ref: int | str,
    clone_uri: str | None = None,
    *,
    client_ip: str = "",
) -> Repository:
    """``prepare``, ``fetch`` and ``record`` in one transaction (the API's synchronous mode)."""
    plan = prepare(db, actor, settings, ref, clone_uri)
    fetch(plan)
    return record(db, actor, settings, plan, client_ip=client_ip)

# SPDX-License-Identifier: GPL-3.0-or-later
"""Repositories made in the background: a queued ``create_repo`` (with a ``clone_uri``) or
``fork_repo`` (``methods.md`` "Background work").

The request reserves the repository (``repos.create``/``repos.fork`` with ``reserve``): every check,
the rows, state ``pending``, nothing on disk; a pending repository is invisible to every lookup and
its name is taken (the unique name column decides a race between servers). The worker then

1. clones into a scratch directory of the same store (``<repos>/.hearth-scratch/<task id>``,
   skipped by ``rescan``), with no transaction open and a timeout (``pull_timeout``);
2. in one transaction: checks that the task is still its own (not declared lost), renames the
   scratch clone to the repository's path (one ``rename`` on one filesystem: the repository
   appears whole or not at all), marks it ``ready`` and writes the journal entry.

Whatever goes wrong — the clone fails, the worker dies and the task is declared lost — ends in
:func:`abandon`: the pending row (its permission and follower rows go with it), the scratch
directory and the groups auto-created for it (when still empty) are removed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.config import Settings
from hearth.db import undo
from hearth.db.models import RepoGroup, Repository
from hearth.errors import HearthError
from hearth.services import journal, repogroups, repos, taskrecords
from hearth.services.permissions import Actor

SCRATCH = ".hearth-scratch"
#: who removes the groups of an abandoned task (``delete_group`` checks no permission itself)
_SYSTEM = Actor(user_id=0, username="", admin=True, default_user_id=0)


def scratch_of(settings: Settings, task_id: str) -> Path:
    return settings.repos / SCRATCH / task_id


@dataclass(frozen=True)
class Build:
    """What the worker clones, read in a short transaction before the long clone."""

    repo_id: int
    repo_type: str
    source: str | None  # a remote URL, a local repository path (a fork), or None (empty)
    scratch: Path

    @property
    def clone(self) -> Path:
        return self.scratch / "repo"


def plan(
    db: Session,
    settings: Settings,
    task_id: str,
    repo_id: int,
    *,
    clone_uri: str | None = None,
    source_id: int | None = None,
    failure: HearthError,
) -> Build:
    repo = db.get(Repository, repo_id)
    if repo is None or repo.state != "pending":
        raise failure
    source: str | None = clone_uri
    if source_id is not None:
        origin = db.get(Repository, source_id)
        if origin is None or origin.state != "ready":
            raise failure  # the source was deleted while the fork waited
        source = str(repos.path_of(settings, origin.repo_name))
    return Build(repo.repo_id, repo.repo_type, source, scratch_of(settings, task_id))


def build(settings: Settings, work: Build, failure: HearthError) -> None:
    """Make the repository in the scratch area (no database involved)."""
    shutil.rmtree(work.scratch, ignore_errors=True)
    work.scratch.mkdir(parents=True)
    try:
        if work.source is None:
            vcs.create(str(work.clone), work.repo_type)
        else:
            vcs.clone(work.source, str(work.clone), work.repo_type, timeout=settings.pull_timeout)
    except (vcs.VcsError, OSError) as exc:
        shutil.rmtree(work.scratch, ignore_errors=True)
        raise failure from exc


def complete(
    db: Session,
    settings: Settings,
    actor: Actor,
    task_id: str,
    work: Build,
    *,
    source_id: int | None,
    client_ip: str,
    failure: HearthError,
) -> Repository:
    """Move the scratch clone into place and make the repository visible (see the docstring)."""
    repo = db.get(Repository, work.repo_id)
    if repo is None or repo.state != "pending" or not taskrecords.beat(db, task_id):
        raise failure
    target = repos.path_of(settings, repo.repo_name)
    if target.exists():
        raise failure
    repogroups.make_directory(db, target.parent)
    try:
        os.rename(work.clone, target)
    except OSError as exc:
        raise failure from exc
    undo.on_rollback(db, lambda: os.rename(target, work.clone))
    repo.state = "ready"
    repos.refresh_cache(settings, repo)
    if source_id is None:
        journal.record(
            db,
            user_id=actor.user_id,
            username=actor.username,
            action="user_created_repo",
            repo_id=repo.repo_id,
            repo_name=repo.repo_name,
            ip_addr=client_ip,
        )
    else:
        origin = db.get(Repository, source_id)
        journal.record(
            db,
            user_id=actor.user_id,
            username=actor.username,
            action="user_forked_repo",
            repo_id=source_id,
            repo_name=origin.repo_name if origin is not None else "",
            detail=repo.repo_name,
            ip_addr=client_ip,
        )
    db.flush()
    return repo


def tidy(settings: Settings, task_id: str) -> None:
    """Remove the (now empty) scratch directory after a successful commit."""
    shutil.rmtree(scratch_of(settings, task_id), ignore_errors=True)


def abandon(db: Session, settings: Settings, task_id: str, repo_id: int, groups: list[str]) -> None:
    """Remove everything a failed or lost create/fork made (see the module docstring)."""
    repo = db.get(Repository, repo_id)
    if repo is not None and repo.state == "pending":
        db.delete(repo)
        db.flush()
    shutil.rmtree(scratch_of(settings, task_id), ignore_errors=True)
    for path in reversed(groups):  # deepest first
        group = repogroups.by_path(db, path)
        if group is None or _in_use(db, group.group_id):
            break
        try:
            repogroups.delete_group(db, _SYSTEM, settings.repos, group.group_id)
        except HearthError:
            break


def _in_use(db: Session, group_id: int) -> bool:
    repos_in = db.scalar(select(func.count()).where(Repository.group_id == group_id)) or 0
    groups_in = db.scalar(select(func.count()).where(RepoGroup.parent_id == group_id)) or 0
    return bool(repos_in or groups_in)

# SPDX-License-Identifier: GPL-3.0-or-later
"""Rescan: register repositories found on disk, drop rows whose directory is gone.

Rules of ``web-and-vcs.md`` §7 (used by ``rescan_repos`` and ``hearth admin repo rescan``):

* the repository root is walked recursively; directories whose name starts with ``.`` (gists,
  Hearth's scratch space) or ``rm__`` (deleted repositories) are skipped, and so are symbolic links;
* a directory with ``.hg/`` is an hg repository, one with ``objects/``, ``refs/`` (or
  ``packed-refs``) and ``HEAD`` a bare git repository (``vcs.detect_type``); a non-bare git checkout
  (a ``.git`` directory inside) is skipped; found repositories are not descended into;
* a repository missing from the database is registered: owner = the first admin, description = the
  repository's own or ``"<name> repository"``, private/statistics/downloads/locking from the
  defaults, the ``default`` user's row, the owner following it; missing parent groups are created
  (owner = the first admin, description ``"<path> group"``);
* with ``remove_obsolete``, database repositories whose directory is gone are deleted from the
  database (their forks detached); the disk is never touched. Without it they are only reported.
  A root that is not a directory, or a directory that cannot be listed, fails the whole rescan:
  an unmounted disk must not read as "every repository is gone".

Each registration runs in a savepoint: a name that cannot be registered (invalid as a name, held by
a group, taken concurrently) is reported as skipped and the rest goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.clock import now_utc
from hearth.config import Settings
from hearth.db.models import Repository, User
from hearth.errors import Failed, HearthError
from hearth.services import bootstrap, heads, names, repogroups, repoperms, repos
from hearth.services.permissions import Actor

log = logging.getLogger("hearth.rescan")

#: progress(event, name): event is "added", "removed", "obsolete" or "skipped"
Progress = Callable[[str, str], None]


@dataclass
class RescanResult:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    obsolete: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _skipped_dir(name: str) -> bool:
    return name.startswith(".") or name.startswith("rm__")


def scan(root: Path) -> dict[str, str]:
    """Every repository below ``root``: full name -> ``git`` | ``hg``, in walk order."""
    found: dict[str, str] = {}

    def walk(directory: Path, prefix: str) -> None:
        # an unreadable directory fails the scan (OSError): its repositories must not look gone
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
        for entry in entries:
            if _skipped_dir(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            name = f"{prefix}{entry.name}"
            kind = vcs.detect_type(entry.path)
            if kind is not None:
                found[name] = kind
            elif not os.path.exists(os.path.join(entry.path, ".git")):
                walk(Path(entry.path), name + "/")

    walk(root, "")
    return found


def rescan(
    db: Session,
    settings: Settings,
    *,
    remove_obsolete: bool = False,
    progress: Progress | None = None,
) -> RescanResult:
    """Bring the database in line with the repository root (see the module docstring)."""
    notify = progress or (lambda event, name: None)
    result = RescanResult()
    if not settings.repos.is_dir():
        # an unmounted or misconfigured root must not read as "every repository is gone"
        log.error("rescan: the repository root %s is not a directory", settings.repos)
        raise Failed("rescan_failed")
    try:
        found = scan(settings.repos)
        admin = bootstrap.first_admin(db)
        default_id = bootstrap.default_user_id(db)
        if admin is None or default_id is None:
            raise Failed("rescan_failed")
        actor = Actor(admin.user_id, admin.username, True, default_id)
        known = {
            name: (repo_id, state)
            for repo_id, name, state in db.execute(
                select(Repository.repo_id, Repository.repo_name, Repository.state)
            ).all()
        }
        for name in sorted(found):
            if name in known:
                continue
            if _register(db, settings, actor, admin, name, found[name]):
                result.added.append(name)
                notify("added", name)
            else:
                result.skipped.append(name)
                notify("skipped", name)
        gone = sorted(
            name for name, (_id, state) in known.items() if state == "ready" and name not in found
        )
        for name in gone:
            if remove_obsolete:
                _remove(db, known[name][0])
                result.removed.append(name)
                notify("removed", name)
            else:
                result.obsolete.append(name)
                notify("obsolete", name)
        db.flush()
    except HearthError:
        raise
    except (OSError, vcs.VcsError) as exc:
        log.exception("rescan failed")
        raise Failed("rescan_failed") from exc
    return result


def _register(
    db: Session, settings: Settings, actor: Actor, owner: User, name: str, repo_type: str
) -> bool:
    """Register one repository found on disk; False (nothing written) if it cannot be."""
    try:
        names.check_repo_name(name)
    except HearthError as exc:
        log.warning("rescan: skipping %s: %s", name, exc.text)
        return False
    path = repos.path_of(settings, name)
    try:
        with db.begin_nested():
            if repogroups.by_path(db, name) is not None:
                log.warning("rescan: skipping %s: a repository group has that name", name)
                return False
            plan = repogroups.plan_parent(db, names.parent_of(name))
            group = repogroups.create_missing(db, actor, settings.repos, plan, owner)
            now = now_utc()
            repo = Repository(
                repo_name=name,
                repo_type=repo_type,
                clone_uri=None,
                private=settings.default_repo_private,
                description=vcs.description(str(path), repo_type) or f"{name} repository",
                created_on=now,
                updated_on=now,
                owner_id=actor.user_id,
                group_id=group.group_id if group else None,
                landing_rev="rev:tip",
                enable_statistics=settings.default_repo_enable_statistics,
                enable_downloads=settings.default_repo_enable_downloads,
                enable_locking=settings.default_repo_enable_locking,
            )
            db.add(repo)
            db.flush()
            repoperms.write_default_rows(db, actor, repo)
            repos.follow(db, repo.repo_id, actor.user_id)
            heads.repair(path, repo_type, settings.default_branch)
            try:
                repos.refresh_cache(settings, repo)
            except vcs.VcsError as exc:  # a damaged repository is still registered
                log.warning("rescan: cannot read the last changeset of %s: %s", name, exc)
            db.flush()
    except (HearthError, IntegrityError) as exc:
        log.warning("rescan: skipping %s: %s", name, exc)
        return False
    return True


def _remove(db: Session, repo_id: int) -> None:
    """Delete the row of a repository whose directory is gone; its forks are detached."""
    db.execute(
        sql_update(Repository)
        .where(Repository.fork_id == repo_id)
        .values(fork_id=None)
        .execution_options(synchronize_session=False)
    )
    repo = db.get(Repository, repo_id)
    if repo is not None:
        db.delete(repo)
        db.flush()

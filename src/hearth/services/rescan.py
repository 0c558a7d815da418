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
a group, taken concurrently) is reported as skipped and the rest goes on. A repository is
declared gone only if its directory is still no repository when its turn comes (one created
while the rescan ran is not removed).

With ``invalidate_caches`` (the admin page's "Invalidate caches", Kallithea's ``invalidate``),
every repository that was already registered and is still on disk has its cache recomputed, as
``invalidate_cache`` does for one.

Progress is real counts (:class:`Counts`): directories examined while walking (how many there
are is known only at the end of the walk), then each repository handled of the ones to register,
to remove or report, and to refresh. :class:`Run` does the work in steps — the walk (disk only),
the plan (one read), then stretches of work — so a worker can commit each stretch together with
its counts (``hearth.tasks``); :func:`rescan` runs it all in the caller's transaction.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.config import Settings
from hearth.db.models import Repository, User
from hearth.errors import Failed, HearthError
from hearth.services import bootstrap, names, placement, repogroups, repoperms, repos
from hearth.services.permissions import Actor

log = logging.getLogger("hearth.rescan")

PHASES = ("scanning", "registering", "missing", "refreshing", "finished")


@dataclass
class Counts:
    """How far a rescan has got: real numbers only, each phase's total known when it starts."""

    phase: str = "scanning"  # one of PHASES
    examined: int = 0  # directories looked at on disk
    found: int = 0  # repositories among them (known when the walk ends)
    to_register: int = 0  # found on disk, missing from the database
    registered: int = 0  # of those, handled so far (added or skipped)
    gone: int = 0  # in the database, no directory on disk
    handled_gone: int = 0  # of those, handled so far (removed, reported, or found back)
    to_refresh: int = 0  # with invalidate_caches: registered repositories still on disk
    refreshed: int = 0  # of those, handled so far
    invalidated: int = 0  # of those, whose cache was recomputed (the others could not be read)
    skipped: list[str] = field(default_factory=list)  # names that could not be registered
    cause: str = ""  # why it failed (``cause_of``), when it did

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> Counts:
        """Counts as a task row keeps them (``as_dict``); unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in known})

    @property
    def stage(self) -> tuple[int, int | None]:
        """(done, total) of the current phase; the walk's total is unknown (None) until it ends."""
        return {
            "scanning": (self.examined, None),
            "registering": (self.registered, self.to_register),
            "missing": (self.handled_gone, self.gone),
            "refreshing": (self.refreshed, self.to_refresh),
        }.get(self.phase, (1, 1))


#: progress(event, name, counts): event is "examined" (a directory, while walking), "added",
#: "skipped", "removed", "obsolete" or "refreshed"; counts are the totals after it
Progress = Callable[[str, str, Counts], None]


@dataclass
class RescanResult:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    obsolete: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    invalidated: int = 0  # repositories whose cache was recomputed (invalidate_caches)


def _skipped_dir(name: str) -> bool:
    return name.startswith(".") or name.startswith("rm__")


def scan(root: Path, examined: Callable[[str], None] | None = None) -> dict[str, str]:
    """Every repository below ``root``: full name -> ``git`` | ``hg``, in walk order;
    ``examined(name)`` is called for each directory looked at."""
    found: dict[str, str] = {}
    seen = examined or (lambda name: None)

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
            seen(name)
            if kind is None and not os.path.exists(os.path.join(entry.path, ".git")):
                walk(Path(entry.path), name + "/")

    walk(root, "")
    return found


class Run:
    """One rescan, in steps (see the module docstring): :meth:`walk` reads the disk only,
    :meth:`plan` the database; :meth:`work` registers, removes and refreshes until it is done or
    its deadline passes. ``result`` and ``counts`` grow as it goes."""

    def __init__(
        self,
        settings: Settings,
        *,
        remove_obsolete: bool = False,
        invalidate_caches: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.remove_obsolete = remove_obsolete
        self.invalidate_caches = invalidate_caches
        self.notify: Progress = progress or (lambda event, name, counts: None)
        self.counts = Counts()
        self.result = RescanResult()
        self.found: dict[str, str] = {}
        self._steps: deque[tuple[str, str, int]] = deque()  # (phase, name, repo id or 0)
        self._owner_id = 0
        self._default_id = 0

    def walk(self) -> None:
        """Find the repositories on disk; a root that is missing or unreadable fails."""
        root = self.settings.repos
        if not root.is_dir():
            # an unmounted or misconfigured root must not read as "every repository is gone"
            raise _failure(f"the repository directory {root} is missing or not a directory")

        def examined(name: str) -> None:
            self.counts.examined += 1
            self.notify("examined", name, self.counts)

        try:
            self.found = scan(root, examined)
        except OSError as exc:
            raise _failure(f"cannot read {exc.filename or root}: {exc.strerror or exc}") from exc
        self.counts.found = len(self.found)

    def plan(self, db: Session) -> None:
        """What is to be done: the repositories to register, the rows whose directory is gone,
        and (``invalidate_caches``) the registered ones to refresh."""
        admin = bootstrap.first_admin(db)
        default_id = bootstrap.default_user_id(db)
        if admin is None or default_id is None:
            raise _failure("the database has no administrator to own what is found (hearth init)")
        self._owner_id, self._default_id = admin.user_id, default_id
        known = {
            name: (repo_id, state)
            for repo_id, name, state in db.execute(
                select(Repository.repo_id, Repository.repo_name, Repository.state)
            ).all()
        }
        new = sorted(name for name in self.found if name not in known)
        ready = sorted(name for name, (_id, state) in known.items() if state == "ready")
        gone = [name for name in ready if name not in self.found]
        stale = [name for name in ready if name in self.found] if self.invalidate_caches else []
        self._steps.extend(("registering", name, 0) for name in new)
        self._steps.extend(("missing", name, known[name][0]) for name in gone)
        self._steps.extend(("refreshing", name, known[name][0]) for name in stale)
        self.counts.to_register, self.counts.gone, self.counts.to_refresh = (
            len(new),
            len(gone),
            len(stale),
        )
        self.counts.phase = self._steps[0][0] if self._steps else "finished"

    def work(self, db: Session, deadline: float | None = None) -> bool:
        """Handle the planned repositories in order until all are done (True) or ``deadline``
        (``time.monotonic``) has passed (False: call again, in the same or a new transaction)."""
        owner = db.get(User, self._owner_id)
        if owner is None:
            raise _failure("the administrator who owns what is found was deleted")
        actor = Actor(owner.user_id, owner.username, True, self._default_id)
        try:
            while self._steps:
                if deadline is not None and time.monotonic() >= deadline:
                    db.flush()
                    return False
                phase, name, repo_id = self._steps[0]
                self.counts.phase = phase
                if phase == "registering":
                    self._register_one(db, actor, owner, name)
                elif phase == "missing":
                    self._gone_one(db, name, repo_id)
                else:
                    self._refresh_one(db, name, repo_id)
                self._steps.popleft()
            db.flush()
        except HearthError:
            raise
        except (OSError, vcs.VcsError) as exc:
            raise _failure(f"{self._steps[0][1]}: {exc}") from exc
        self.counts.phase = "finished"
        return True

    def _register_one(self, db: Session, actor: Actor, owner: User, name: str) -> None:
        added = _register(db, self.settings, actor, owner, name, self.found[name])
        self.counts.registered += 1
        if added:
            self.result.added.append(name)
        else:
            self.result.skipped.append(name)
            self.counts.skipped.append(name)
        self.notify("added" if added else "skipped", name, self.counts)

    def _gone_one(self, db: Session, name: str, repo_id: int) -> None:
        self.counts.handled_gone += 1
        repo = db.get(Repository, repo_id)
        if repo is None or repo.state != "ready":
            return  # deleted while the rescan ran
        if vcs.detect_type(str(repos.path_of(self.settings, name))) is not None:
            return  # made while the rescan ran: not gone
        if self.remove_obsolete:
            _remove(db, repo_id)
            self.result.removed.append(name)
            self.notify("removed", name, self.counts)
        else:
            self.result.obsolete.append(name)
            self.notify("obsolete", name, self.counts)

    def _refresh_one(self, db: Session, name: str, repo_id: int) -> None:
        self.counts.refreshed += 1
        repo = db.get(Repository, repo_id)
        if repo is None or repo.state != "ready":
            return  # deleted while the rescan ran
        try:
            repos.refresh_cache(self.settings, repo)
        except vcs.VcsError as exc:  # a damaged repository keeps its old cache; the rest goes on
            log.warning("rescan: cannot refresh the cache of %s: %s", name, exc)
            return
        self.result.invalidated += 1
        self.counts.invalidated += 1
        self.notify("refreshed", name, self.counts)


def _failure(cause: str) -> Failed:
    """``rescan_failed`` (the API's text, Kallithea's) carrying what went wrong (``cause_of``)."""
    log.error("rescan failed: %s", cause)
    return Failed("rescan_failed", cause=cause)


def cause_of(exc: HearthError) -> str:
    """What made a rescan fail, for administrators (the API answers only the text)."""
    return str(exc.params.get("cause", ""))


def rescan(
    db: Session,
    settings: Settings,
    *,
    remove_obsolete: bool = False,
    invalidate_caches: bool = False,
    progress: Progress | None = None,
) -> RescanResult:
    """Bring the database in line with the repository root, in the caller's transaction (see the
    module docstring)."""
    run = Run(
        settings,
        remove_obsolete=remove_obsolete,
        invalidate_caches=invalidate_caches,
        progress=progress,
    )
    run.walk()
    run.plan(db)
    run.work(db)
    return run.result


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
            plan = placement.plan_parent(db, names.parent_of(name))
            group = placement.create_missing(db, actor, settings.repos, plan, owner)
            row = repos.NewRow(
                name=name,
                repo_type=repo_type,
                owner_id=actor.user_id,
                group=group,
                private=settings.default_repo_private,
                description=vcs.description(str(path), repo_type) or f"{name} repository",
                landing_rev="rev:tip",
                enable_statistics=settings.default_repo_enable_statistics,
                enable_downloads=settings.default_repo_enable_downloads,
                enable_locking=settings.default_repo_enable_locking,
            )

            def unreadable(exc: vcs.VcsError) -> None:  # a damaged repository is still registered
                log.warning("rescan: cannot read the last changeset of %s: %s", name, exc)

            repos.register(
                db,
                settings,
                row,
                grant=lambda repo: repoperms.write_default_rows(db, actor, repo),
                follower_id=actor.user_id,
                on_unreadable=unreadable,
            )
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

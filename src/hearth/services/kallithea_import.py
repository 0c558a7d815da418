# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth admin import-kallithea``: a whole Kallithea instance into Hearth, all or nothing.

The steps, in an order that keeps every failure (and a SIGKILL at any point) harmless:

1. read the Kallithea database read-only (``kallithea_source``) and plan against the target
   (``kallithea_map``); ``--dry-run`` stops here and reports;
2. copy (never move, yet) every repository and gist into a scratch directory inside the target's
   repository root (``.kallithea-import``: dot names are skipped by rescans), replace Kallithea's
   hooks, ``git fsck`` / ``hg verify`` each copy and compute its cached last changeset — any
   failure here aborts the import before the database is touched;
3. in ONE transaction: insert every row, then rename each copy into place (the list of renamed
   paths is written to the scratch directory *before* each rename, and every rename has an undo
   hook), then record the run in ``import_runs`` and commit;
4. remove the scratch directory; with ``--move``, remove the source directories.

A run killed before the commit left no row; a rerun first removes what the list says was renamed
into place (only paths no row refers to) and the scratch directory, then imports from the start.
A rerun after a commit finds its ``import_runs`` row (same source fingerprint) and changes
nothing. The target is expected to be stopped (no server running), as for any restore.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.clock import now_utc
from hearth.config import Settings
from hearth.db import undo
from hearth.db.models import Gist, ImportRun, Repository
from hearth.db.session import Database
from hearth.errors import failed
from hearth.services import gists, kallithea_map, kallithea_source, repogroups, repos
from hearth.services.kallithea_map import Plan

log = logging.getLogger("hearth.import")

SCRATCH = ".kallithea-import"
PLACED = "placed.jsonl"
KIND = "kallithea"

#: progress(phase, name): phases "read", "plan" (name: how many directories will be staged and
#: placed), "copy", "verify" (one per staged directory), "rows", "place" (one per placed
#: directory), "done"
Progress = Callable[[str, str], None]


def _quiet(_phase: str, _name: str) -> None:
    return None


@dataclass
class Report:
    """What an import did (or, dry, would do)."""

    source: str
    dry_run: bool
    counts: dict[str, int]
    skips: list[kallithea_map.Skip]
    left_behind: dict[str, int]
    merged_admin: str | None
    already_imported: bool = False
    seconds: float = 0.0
    recovered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.skips

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "already_imported": self.already_imported,
            "merged_admin": self.merged_admin,
            "counts": self.counts,
            "skipped": [s.as_json() for s in self.skips],
            "left_behind": self.left_behind,
            "recovered": self.recovered,
            "seconds": round(self.seconds, 3),
        }


def _report(plan: Plan, source: str, dry_run: bool) -> Report:
    return Report(
        source=source,
        dry_run=dry_run,
        counts=plan.counts(),
        skips=list(plan.skips),
        left_behind=dict(plan.left_behind),
        merged_admin=plan.merged_admin,
    )


def _previous(db: Session, fingerprint: str) -> ImportRun | None:
    return db.scalar(
        select(ImportRun).where(ImportRun.kind == KIND, ImportRun.fingerprint == fingerprint)
    )


def run(
    database: Database,
    settings: Settings,
    *,
    db_url: str,
    repos_dir: Path,
    move: bool = False,
    dry_run: bool = False,
    progress: Progress = _quiet,
) -> Report:
    """Import the Kallithea instance at ``db_url`` / ``repos_dir`` into the target."""
    started = time.monotonic()
    if not repos_dir.is_dir():
        raise failed(f"cannot import: --repos {repos_dir} is not a directory")
    progress("read", db_url)
    source = kallithea_source.read(db_url)
    root = settings.repos
    scratch = root / SCRATCH
    with database.sessions() as db:
        recovered = [] if dry_run else _recover(db, scratch)
        previous = _previous(db, source.fingerprint())
        if previous is not None:
            report = _already(previous, source.url, dry_run)
            report.recovered = recovered
            report.seconds = time.monotonic() - started
            return report
        plan = kallithea_map.build(db, source, repos_dir.resolve(), root)
    report = _report(plan, source.url, dry_run)
    report.recovered = recovered
    if dry_run:
        report.seconds = time.monotonic() - started
        return report
    progress("plan", str(len(plan.repo_copies) + len(plan.gist_copies)))
    caches = _stage(plan, scratch, progress)
    try:
        with database.transaction(write=True) as db:
            _write(db, plan, caches, progress)
            _place(db, plan, scratch, root, progress)
            db.add(
                ImportRun(
                    kind=KIND,
                    fingerprint=plan.fingerprint,
                    source=source.url,
                    report=report.as_json(),
                    finished_on=now_utc(),
                )
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if move:
        for copy in plan.repo_copies:
            shutil.rmtree(copy.source, ignore_errors=True)
        for gist in plan.gist_copies:
            shutil.rmtree(gist.source, ignore_errors=True)
    progress("done", "")
    report.seconds = time.monotonic() - started
    return report


def _already(previous: ImportRun, source: str, dry_run: bool) -> Report:
    stored = previous.report or {}
    return Report(
        source=source,
        dry_run=dry_run,
        counts=dict(stored.get("counts", {})),
        skips=[kallithea_map.Skip(**s) for s in stored.get("skipped", [])],
        left_behind=dict(stored.get("left_behind", {})),
        merged_admin=stored.get("merged_admin"),
        already_imported=True,
    )


# -- recovery after a killed run ------------------------------------------------------------------


def _recover(db: Session, scratch: Path) -> list[str]:
    """Undo what a killed run left: paths it renamed into place that no row refers to, and its
    scratch directory. Returns the paths removed."""
    if not scratch.exists():
        return []
    removed: list[str] = []
    placed = []
    try:
        lines = (scratch / PLACED).read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            placed.append(json.loads(line))
        except ValueError:
            continue  # a line cut by the kill: its rename never happened
    for entry in reversed(placed):
        final = Path(entry["path"])
        if not final.exists():
            continue
        if entry["kind"] == "repo":
            known = db.scalar(
                select(Repository.repo_id).where(Repository.repo_name == entry["name"])
            )
        elif entry["kind"] == "gist":
            known = db.scalar(select(Gist.gist_id).where(Gist.access_id == entry["name"]))
        else:  # a group directory made by the run: only when empty
            known = None
            try:
                final.rmdir()
                removed.append(str(final))
            except OSError:
                pass
            continue
        if known is None:
            shutil.rmtree(final, ignore_errors=True)
            removed.append(str(final))
    shutil.rmtree(scratch, ignore_errors=True)
    return removed


# -- staging on disk ------------------------------------------------------------------------------


#: directories staged at once: ``git fsck`` runs as a child and copying waits on the disk, so a few
#: in flight keep the CPUs busy (hg verify runs in process, under the GIL)
WORKERS = max(2, min(8, 2 * (os.cpu_count() or 1)))


def _stage(plan: Plan, scratch: Path, progress: Progress) -> dict[int, dict[str, Any] | None]:
    """Copy, clean and check every repository and gist; their cached last changesets by repo id.

    The first failure stops the rest (queued ones are cancelled, running ones finish) and removes
    the scratch directory."""
    scratch.mkdir(parents=True)
    (scratch / PLACED).write_text("")
    jobs: list[tuple[int | None, Path, Path, str, str]] = [
        (c.repo_id, c.source, scratch / "repos" / c.name, c.repo_type, c.name)
        for c in plan.repo_copies
    ] + [
        (None, g.source, scratch / "gists" / g.access_id, "hg", f"gist {g.access_id}")
        for g in plan.gist_copies
    ]

    def stage(job: tuple[int | None, Path, Path, str, str]) -> dict[str, Any] | None:
        _repo_id, source, staged, repo_type, label = job
        progress("copy", label)
        _copy(source, staged)
        _replace_hooks(staged, repo_type)
        progress("verify", label)
        what = label if label.startswith("gist ") else f"repository {label}"
        return _check(staged, repo_type, what)

    caches: dict[int, dict[str, Any] | None] = {}
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="import")
    try:
        futures = [(job[0], pool.submit(stage, job)) for job in jobs]
        for repo_id, future in futures:
            cache = future.result()
            if repo_id is not None:
                caches[repo_id] = cache
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    pool.shutdown(wait=True)
    return caches


def _copy(source: Path, staged: Path) -> None:
    staged.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(source, staged, symlinks=True)
    except (OSError, shutil.Error) as exc:
        raise failed(f"cannot import: copying {source} failed: {exc}") from exc


def _replace_hooks(path: Path, repo_type: str) -> None:
    """Hearth runs no hooks in repositories (post-push work happens in the server): Kallithea's
    ``post-receive`` (a script for the old machine's interpreter) and git's samples go; hg hooks
    naming Kallithea are dropped from ``.hg/hgrc``."""
    if repo_type == "git":
        hooks = path / "hooks"
        if hooks.is_dir():
            for hook in hooks.iterdir():
                if hook.name.endswith(".sample") or _is_kallithea_hook(hook):
                    hook.unlink()
        return
    hgrc = path / ".hg" / "hgrc"
    if not hgrc.is_file():
        return
    lines = hgrc.read_text(encoding="utf-8", errors="surrogateescape").splitlines(keepends=True)
    kept, section = [], ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
        elif section == "hooks" and "kallithea" in stripped.lower():
            continue
        kept.append(line)
    if kept != lines:
        hgrc.write_text("".join(kept), encoding="utf-8", errors="surrogateescape")


def _is_kallithea_hook(hook: Path) -> bool:
    try:
        return hook.is_file() and b"kallithea" in hook.read_bytes()[:4096].lower()
    except OSError:
        return False


def _check(path: Path, repo_type: str, what: str) -> dict[str, Any] | None:
    try:
        vcs.verify(str(path), repo_type)
        with vcs.open_repo(str(path), repo_type) as handle:
            if handle.is_empty():
                return None
            return repos.changeset_record(handle.last_changeset())
    except vcs.VcsError as exc:
        raise failed(f"cannot import: {what} is damaged: {exc}") from exc


# -- the transaction ------------------------------------------------------------------------------

#: insertion order: every foreign key points at a table written before
_ORDER = (
    "User",
    "UserEmail",
    "UserIpRule",
    "ApiKey",
    "UserGroup",
    "UserGroupMember",
    "RepoGroup",
    "Repository",
    "RepoUserPerm",
    "RepoUserGroupPerm",
    "GroupUserPerm",
    "GroupUserGroupPerm",
    "UserGroupUserPerm",
    "UserGroupUserGroupPerm",
    "UserGlobalPerm",
    "UserGroupGlobalPerm",
    "Follower",
    "Gist",
    "JournalEntry",
)


def _write(
    db: Session, plan: Plan, caches: dict[int, dict[str, Any] | None], progress: Progress
) -> None:
    for model, key, changes in plan.updates:
        pk = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
        db.execute(update(model).where(pk == key).values(**changes))
    for model, column, holder in plan.replace_globals:
        db.execute(delete(model).where(getattr(model, column) == holder))
    by_name = {model.__name__: model for model in plan.rows}
    for name in _ORDER:
        found = by_name.get(name)
        if found is None:
            continue
        model = found
        rows = plan.rows[model]
        if name == "Repository":
            rows = [{**row, "changeset_cache": caches.get(row["repo_id"])} for row in rows]
        progress("rows", f"{len(rows)} {model.__tablename__}")  # type: ignore[attr-defined]
        for start in range(0, len(rows), 500):
            db.execute(insert(model), rows[start : start + 500])
    db.flush()
    if db.get_bind().dialect.name == "postgresql":
        _advance_sequences(db, plan)


def _advance_sequences(db: Session, plan: Plan) -> None:
    """Explicit ids do not move PostgreSQL's sequences; set each past the largest id."""
    for model in plan.rows:
        table = model.__table__  # type: ignore[attr-defined]
        pk = next(iter(table.primary_key.columns))
        db.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk.name}'), "
                f"COALESCE((SELECT MAX({pk.name}) FROM {table.name}), 0) + 1, false)"
            )
        )


def _note(scratch: Path, entry: dict[str, str]) -> None:
    """Write-ahead: record a path before it is renamed into place (see the module docstring).

    One appended line per path; the write is complete before the rename starts, so a kill leaves
    at worst a listed path that was never renamed (the rerun finds nothing there)."""
    with (scratch / PLACED).open("a", encoding="utf-8") as listing:
        listing.write(json.dumps(entry) + "\n")


def _place(db: Session, plan: Plan, scratch: Path, root: Path, progress: Progress) -> None:
    for path in plan.group_paths:
        final = root / path
        if not final.exists():
            _note(scratch, {"kind": "group", "name": path, "path": str(final)})
        repogroups.make_directory(db, final)
    for copy in plan.repo_copies:
        progress("place", copy.name)
        final = root / copy.name
        repogroups.make_directory(db, final.parent)
        _note(scratch, {"kind": "repo", "name": copy.name, "path": str(final)})
        _rename(db, scratch / "repos" / copy.name, final)
    for gist in plan.gist_copies:
        progress("place", f"gist {gist.access_id}")
        final = gists.path_of(root, gist.access_id)
        repogroups.make_directory(db, final.parent)
        _note(scratch, {"kind": "gist", "name": gist.access_id, "path": str(final)})
        _rename(db, scratch / "gists" / gist.access_id, final)


def _rename(db: Session, staged: Path, final: Path) -> None:
    if final.exists():
        raise failed(f"cannot import: {final} appeared while importing")
    os.rename(staged, final)
    undo.on_rollback(db, lambda: shutil.rmtree(final, ignore_errors=True))

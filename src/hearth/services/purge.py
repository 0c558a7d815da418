# SPDX-License-Identifier: GPL-3.0-or-later
"""Purge: remove deleted repositories for good (``hearth admin purge-deleted``, ``web-and-vcs.md`` §7).

Deleting a repository renames its directory to ``rm__<YYYYmmdd_HHMMSS_ffffff>__<last component>``
in the same parent directory (§1; the time is UTC, see ``services/repos.py``). This module finds
those directories and removes the ones older than a given age. The rules:

* only a real directory (not a symbolic link) whose whole name matches that pattern with a valid
  time is a candidate; its age is read from the name, never from the file system;
* the root is walked like ``rescan`` walks it: directories starting with ``.`` (gists, Hearth's
  scratch space) are not entered, nor are repositories (a file tree inside a repository is the
  repository's own business), ``rm__`` directories or symbolic links;
* a candidate is removed only when its time lies strictly more than ``older_than`` in the past, so
  ``0d`` removes every deleted repository but one stamped in the future (a clock set back).

Nothing here touches the database: deleted repositories have no rows left.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hearth import vcs
from hearth.errors import Failed, Invalid

_DELETED = re.compile(r"rm__(\d{8}_\d{6}_\d{6})__(.+)")
_AGE = re.compile(r"(\d+)([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


@dataclass(frozen=True)
class Deleted:
    """A deleted repository's directory: its path below the root and what it was."""

    path: str  # below the repository root, ``/``-separated: ``grp/rm__…__demo``
    repo_name: str  # the name it had: ``grp/demo``
    deleted_on: datetime  # UTC, from the directory's name


@dataclass
class PurgeResult:
    removed: list[Deleted] = field(default_factory=list)  # or, on a dry run, to be removed
    kept: list[Deleted] = field(default_factory=list)  # not old enough
    failed: list[tuple[Deleted, str]] = field(default_factory=list)


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` (also ``0d``) -> a timedelta."""
    match = _AGE.fullmatch(text.strip())
    if match is None:
        raise Invalid("invalid_age", x=text)
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def deleted_on(name: str) -> datetime | None:
    """The UTC time in a deleted repository's directory name, or None if it is not one."""
    match = _DELETED.fullmatch(name)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d_%H%M%S_%f").replace(tzinfo=UTC)
    except ValueError:  # e.g. month 13: not a name Hearth wrote
        return None


def find_deleted(root: Path) -> list[Deleted]:
    """Every deleted repository's directory below ``root``, by path."""
    if not root.is_dir():
        raise Failed("purge_no_root", x=root)
    found: list[Deleted] = []

    def walk(directory: str, prefix: str) -> None:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            when = deleted_on(entry.name)
            if when is not None:
                last = entry.name.split("__", 2)[2]
                found.append(Deleted(f"{prefix}{entry.name}", f"{prefix}{last}", when))
            elif entry.name.startswith("rm__"):
                continue  # reserved prefix, but not a name Hearth wrote: leave it alone
            elif vcs.detect_type(entry.path) is None and not os.path.exists(
                os.path.join(entry.path, ".git")
            ):
                walk(entry.path, f"{prefix}{entry.name}/")

    try:
        walk(str(root), "")
    except OSError as exc:
        raise Failed("purge_failed", x=root, reason=exc.strerror or exc) from exc
    return found


def purge(
    root: Path, older_than: timedelta, *, dry_run: bool = False, now: datetime | None = None
) -> PurgeResult:
    """Remove the deleted repositories below ``root`` older than ``older_than`` (see above)."""
    cutoff = (now or datetime.now(UTC)) - older_than
    result = PurgeResult()
    for item in find_deleted(root):
        if item.deleted_on >= cutoff:
            result.kept.append(item)
            continue
        if not dry_run:
            target = root / item.path
            if target.is_symlink() or not target.is_dir():  # changed since the walk
                continue
            try:
                shutil.rmtree(target)
            except OSError as exc:
                result.failed.append((item, str(exc.strerror or exc)))
                continue
        result.removed.append(item)
    return result

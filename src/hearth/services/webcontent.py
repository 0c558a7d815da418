# SPDX-License-Identifier: GPL-3.0-or-later
"""What the API-key web views read and who may read it (``spec/web-and-vcs.md`` §8).

Two halves, both free of HTTP:

* **Who** — :func:`viewer` turns "a key that ``web/access.py`` decided may be used, or none" into the
  acting user: the key's owner when the key is valid (``jsonrpc.md`` §5: known, unexpired, role, active,
  not ``default``, IP rules of §6), else the anonymous ``default`` user when it is active and its IP rules
  admit the client, else nobody. :func:`can_read` asks ``services/permissions.py`` — the one place access
  is decided — whether that actor may read a repository.
* **What** — raw files, raw diffs (single changesets and ``<rev1>...<rev2>`` ranges), patches, one file's
  diff between two revisions, archive plans, and the items of the repository and journal feeds. They open
  the repository through ``hearth.vcs`` and turn its exceptions into the texts of ``hearth/errors.py``.

Everything here blocks (database, disk): callers run it in a worker thread.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.config import Settings
from hearth.db.models import Follower, JournalEntry, Repository, User, UserIpRule
from hearth.errors import Forbidden, Invalid, NotFound
from hearth.services import ipaccess, keys, permissions, repos, sessions
from hearth.services.lookup import RepoRef
from hearth.services.permissions import Actor, Level

# --- who ---------------------------------------------------------------------------------------

_DEFAULT_STATE = select(
    User.active,
    select(func.count(UserIpRule.ip_id))
    .where(UserIpRule.user_id == bindparam("did"))
    .scalar_subquery()
    .label("ip_rules"),
).where(User.user_id == bindparam("did"))


def key_actor(db: Session, key: str, use: str, ip: str, default_user_id: int) -> Actor | None:
    """The owner of ``key`` when the key is valid for ``use`` (``http`` or ``feed``), else None."""
    owner = keys.authenticate(db, key, use, default_user_id)
    if owner is None or not owner.active or owner.user_id == default_user_id:
        return None
    if owner.has_ip_rules and not ipaccess.ip_allowed(db, owner.user_id, default_user_id, ip):
        return None
    return Actor(owner.user_id, owner.username, owner.admin, default_user_id)


def anonymous_actor(db: Session, ip: str, default_user_id: int) -> Actor | None:
    """The ``default`` user, when it is active and its IP rules admit ``ip``; else None."""
    row = db.execute(_DEFAULT_STATE, {"did": default_user_id}).first()
    if row is None or not row.active:
        return None
    if row.ip_rules and not ipaccess.ip_allowed(db, default_user_id, default_user_id, ip):
        return None
    return Actor(default_user_id, permissions.DEFAULT_USERNAME, False, default_user_id)


def viewer(
    db: Session,
    key: str | None,
    use: str,
    ip: str,
    default_user_id: int,
    session: sessions.Claim | None = None,
) -> Actor | None:
    """Who a request acts as: a usable key's owner, else the signed-in user of a still valid
    browser session, else anonymous, else nobody.

    A key or a session that fails any check is ignored, exactly as if none had been sent (README #40).
    """
    if key:
        actor = key_actor(db, key, use, ip, default_user_id)
        if actor is not None:
            return actor
    if session is not None:
        actor = sessions.actor(db, session, ip, default_user_id)
        if actor is not None:
            return actor
    return anonymous_actor(db, ip, default_user_id)


def can_read(db: Session, actor: Actor | None, repo_id: int) -> bool:
    if actor is None:
        return False
    return actor.admin or permissions.repo_level(db, actor, repo_id) >= Level.READ


# --- opening repositories -----------------------------------------------------------------------


@contextmanager
def opened(settings: Settings, repo: RepoRef) -> Iterator[vcs.Repo]:
    """The repository on disk; a directory that is gone answers like a missing repository."""
    try:
        handle = vcs.open_repo(str(repos.path_of(settings, repo.repo_name)), repo.repo_type)
    except vcs.RepositoryNotFound as exc:
        raise NotFound("web_repo_not_found") from exc
    with handle:
        yield handle


def resolve(handle: vcs.Repo, rev: str) -> vcs.Changeset:
    """``rev`` (empty = ``tip``) as a changeset, with the views' texts for the two failures."""
    spec = rev or "tip"
    try:
        return handle.changeset(spec)
    except vcs.EmptyRepository as exc:
        raise NotFound("web_empty_repository") from exc
    except vcs.ChangesetNotFound as exc:
        raise NotFound("web_unknown_revision", rev=spec) from exc


# --- files, diffs, patches ------------------------------------------------------------------------


def raw_stream(settings: Settings, repo: RepoRef, rev: str, path: str) -> vcs.FileStream:
    """A file for the raw and download views: big files are streamed, never read whole. The
    caller closes the stream."""
    with opened(settings, repo) as handle:
        changeset = resolve(handle, rev)
        try:
            return handle.open_file(changeset.raw_id, path)
        except vcs.NodeNotFound as exc:
            raise NotFound("web_file_not_found", path=path, rev=rev or "tip") from exc


def split_range(rev: str) -> tuple[str, str] | None:
    """``a...b`` → (a, b); a single revision → None."""
    start, sep, end = rev.partition("...")
    return (start, end) if sep else None


def raw_diff(
    settings: Settings, repo: RepoRef, rev: str, context: int = 3, ignore_ws: bool = False
) -> bytes:
    """The diff of ``rev`` against its first parent; for ``a...b`` the diffs of every changeset from
    ``a`` to ``b`` (both included, revision order) concatenated."""
    with opened(settings, repo) as handle:
        bounds = split_range(rev)
        if bounds is None:
            changeset = resolve(handle, rev)
            return handle.diff(changeset.raw_id, context=context, ignore_ws=ignore_ws)
        first, last = resolve(handle, bounds[0]), resolve(handle, bounds[1])
        if first.revision > last.revision:
            raise Invalid("web_bad_range", start=bounds[0], end=bounds[1])
        parts = []
        for number in range(first.revision, last.revision + 1):
            try:
                changeset = handle.changeset(str(number))
            except vcs.ChangesetNotFound:  # hg: a hidden (obsolete) revision number
                continue
            if changeset.revision != number:
                continue
            parts.append(handle.diff(changeset.raw_id, context=context, ignore_ws=ignore_ws))
        return b"".join(parts)


def patch(settings: Settings, repo: RepoRef, rev: str) -> bytes:
    with opened(settings, repo) as handle:
        return handle.patch(resolve(handle, rev).raw_id)


_NO_REVISION = ("", "None", "0" * 12, "0" * 40)


def file_diff(
    settings: Settings,
    repo: RepoRef,
    path: str,
    diff1: str,
    diff2: str,
    context: int = 3,
    ignore_ws: bool = False,
) -> bytes:
    """One path's diff from ``diff1`` to ``diff2``. As in Kallithea, an empty (or null) side means
    "no file": the diff then adds or removes the whole file."""
    with opened(settings, repo) as handle:
        old = None if diff1 in _NO_REVISION else resolve(handle, diff1)
        new = None if diff2 in _NO_REVISION else resolve(handle, diff2)
        if old is not None and new is not None:
            return handle.diff_between(
                old.raw_id, new.raw_id, path, context=context, ignore_ws=ignore_ws
            )
        before = _content_or_none(handle, old, path)
        after = _content_or_none(handle, new, path)
        return _whole_file_diff(path, before, after, context)


def _content_or_none(handle: vcs.Repo, changeset: vcs.Changeset | None, path: str) -> bytes | None:
    if changeset is None:
        return None
    try:
        return handle.file(changeset.raw_id, path)
    except vcs.NodeNotFound:
        return None


def _whole_file_diff(path: str, before: bytes | None, after: bytes | None, context: int) -> bytes:
    """A git-style diff adding (``before`` None) or removing (``after`` None) one whole file."""
    if before is None and after is None:
        return b""
    name = path.encode("utf-8", "surrogateescape")
    head = [b"diff --git a/" + name + b" b/" + name]
    if before is None:
        head += [b"new file mode 100644", b"--- /dev/null", b"+++ b/" + name]
    else:
        head += [b"deleted file mode 100644", b"--- a/" + name, b"+++ /dev/null"]
    data = before if after is None else after
    assert data is not None
    if vcs.is_binary(data):
        old_name = b"/dev/null" if before is None else b"a/" + name
        new_name = b"/dev/null" if after is None else b"b/" + name
        return b"\n".join(
            [*head[:2], b"Binary files " + old_name + b" and " + new_name + b" differ", b""]
        )
    lines = difflib.diff_bytes(
        difflib.unified_diff,
        (before or b"").splitlines(keepends=True),
        (after or b"").splitlines(keepends=True),
        n=context,
        lineterm=b"\n",
    )
    body = []
    for number, line in enumerate(lines):
        if number < 2:  # difflib's own ---/+++ lines; git's are in ``head``
            continue
        body.append(line)
        if not line.endswith(b"\n"):
            body.append(b"\n\\ No newline at end of file\n")
    return b"\n".join(head) + b"\n" + b"".join(body)


# --- archives -------------------------------------------------------------------------------------

# URL extension → (vcs archive kind, canonical extension, content type)
ARCHIVE_TYPES: dict[str, tuple[vcs.ArchiveKind, str, str]] = {
    ".zip": ("zip", ".zip", "application/zip"),
    ".tar.gz": ("tgz", ".tar.gz", "application/x-gzip"),
    ".tgz": ("tgz", ".tar.gz", "application/x-gzip"),
    ".tar.bz2": ("tbz2", ".tar.bz2", "application/x-bzip2"),
    ".tbz2": ("tbz2", ".tar.bz2", "application/x-bzip2"),
}


def split_archive_name(fname: str) -> tuple[str, str] | None:
    """``<rev><ext>`` → (rev, ext) for a known extension (the longest that fits), else None."""
    for ext in sorted(ARCHIVE_TYPES, key=len, reverse=True):
        if fname.endswith(ext):
            return fname[: -len(ext)], ext
    return None


@dataclass(frozen=True)
class ArchivePlan:
    """An archive to serve: which tree, how to pack it and how to name it."""

    repo_id: int
    raw_id: str
    kind: vcs.ArchiveKind
    canonical_ext: str
    content_type: str
    #: ``<repo name, / as _>-<short id>``: the top directory and the file name without extension
    stem: str
    #: the extension as requested (``.tgz`` stays ``.tgz`` in the file name and the ETag)
    ext: str

    @property
    def filename(self) -> str:
        return self.stem + self.ext

    @property
    def etag(self) -> str:
        return f'"{self.raw_id}{self.ext}"'

    @property
    def cache_name(self) -> str:
        """Unique per (raw id, format, top directory): a renamed repository gets new archives."""
        digest = hashlib.sha256(self.stem.encode("utf-8")).hexdigest()[:16]
        return f"{self.raw_id}-{digest}{self.canonical_ext}"


def archive_plan(settings: Settings, repo: RepoRef, fname: str) -> ArchivePlan:
    """Kallithea's checks in its order: downloads enabled, a known type, a changeset to archive."""
    if not repo.enable_downloads:
        raise Forbidden("web_downloads_disabled")
    split = split_archive_name(fname)
    if split is None:
        raise NotFound("web_unknown_archive_type")
    rev, ext = split
    kind, canonical, content_type = ARCHIVE_TYPES[ext]
    with opened(settings, repo) as handle:
        changeset = resolve(handle, rev)
    stem = f"{repo.repo_name.replace('/', '_')}-{changeset.short_id}"
    return ArchivePlan(repo.repo_id, changeset.raw_id, kind, canonical, content_type, stem, ext)


def write_archive(settings: Settings, repo: RepoRef, plan: ArchivePlan, out: BinaryIO) -> None:
    with opened(settings, repo) as handle:
        handle.archive(plan.raw_id, plan.kind, plan.stem, out)


# --- feeds ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeItem:
    """A changeset of the repository feed with the paths it touched."""

    changeset: vcs.Changeset
    changes: vcs.FileChanges


def latest_changes(settings: Settings, repo: RepoRef, limit: int) -> list[ChangeItem]:
    """The last ``limit`` changesets in revision order, newest first (an empty repository: none)."""
    items: list[ChangeItem] = []
    with opened(settings, repo) as handle:
        number = handle.last_changeset().revision
        while number >= 0 and len(items) < limit:
            try:
                changeset = handle.changeset(str(number))
            except vcs.ChangesetNotFound:  # hg: hidden revision numbers
                changeset = None
            if changeset is not None and changeset.revision == number:
                items.append(ChangeItem(changeset, handle.file_changes(changeset.raw_id)))
            number -= 1
    return items


@dataclass(frozen=True)
class JournalItem:
    entry_id: int
    username: str
    action: str
    repo_name: str
    detail: str
    date: datetime  # naive UTC


def journal(
    db: Session, actor: Actor, limit: int, *, following: bool, offset: int = 0
) -> list[JournalItem]:
    """Newest first, at most ``limit`` after skipping ``offset``: entries of the repositories
    ``actor`` follows (``following``) or of the public (non-private) repositories, in both cases
    only those ``actor`` may read."""
    query = select(
        JournalEntry.entry_id,
        JournalEntry.username,
        JournalEntry.action,
        JournalEntry.repo_name,
        Repository.repo_name.label("current_name"),
        JournalEntry.detail,
        JournalEntry.action_date,
    ).join(Repository, Repository.repo_id == JournalEntry.repo_id)
    # readability as EXISTS tests on the joined repository: the newest entries are found without
    # computing the level of every repository first
    query = query.where(permissions.repo_readable(actor.admin, actor.is_anonymous))
    if following:
        followed = select(Follower.repo_id).where(Follower.user_id == bindparam("follower"))
        query = query.where(JournalEntry.repo_id.in_(followed))
    else:
        query = query.where(Repository.private.is_(False))
    query = query.where(Repository.state == "ready")
    query = (
        query.order_by(JournalEntry.action_date.desc(), JournalEntry.entry_id.desc())
        .limit(limit)
        .offset(offset)
    )
    params: dict[str, int] = {} if actor.admin else permissions.level_params(actor)
    if following:
        params["follower"] = actor.user_id
    return [
        JournalItem(
            row.entry_id,
            row.username,
            row.action,
            row.current_name or row.repo_name or "",
            row.detail or "",
            row.action_date,
        )
        for row in db.execute(query, params)
    ]

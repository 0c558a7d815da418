# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading repositories through the API: nodes, refs, files and changesets.

Implements ``spec/methods.md`` §4 (``get_repo_nodes``, ``get_repo_refs``, ``get_repo_file``) and §8
(``get_changesets``, ``get_changeset``, ``get_repo_changeset``, ``get_repo_changesets``); shapes and
revision numbers are ``spec/jsonrpc.md`` §10. Every function checks access first — the hiding text
(``repos.find``) everywhere except Kallithea's two changeset methods, which answer
``Access denied to repo <name>`` for an existing repository (``permissions.md`` §5) — then the
enum argument, then reads the repository through ``hearth.vcs`` and maps its exceptions to the
texts the specification gives. Nothing here renders JSON (``shapes.py`` does).
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.orm import Session

from hearth import vcs
from hearth.config import Settings
from hearth.db.models import Repository
from hearth.errors import Conflict, Failed, Forbidden, HearthError, Invalid, NotFound
from hearth.services import filetypes, lookup, permissions, pullrequests, repos
from hearth.services.permissions import Actor, Level
from hearth.services.pullrequests import StatusView
from hearth.vcs.base import normalize_path

NODE_TYPES = ("all", "dirs", "files")
FILE_DETAILS = ("minimal", "minimal+search", "basic", "full")
CHANGESET_DETAILS = ("basic", "extended", "full")


def _enum(arg: str, values: tuple[str, ...]) -> Invalid:
    """``<arg> must be one of …`` with the values in the order the specification prints them
    (``errors.enum_error`` sorts, which would reorder ``minimal,minimal+search,basic,full``)."""
    return Invalid("enum", arg=arg, values=",".join(values))


@contextmanager
def _opened(settings: Settings, repo: Repository, failure: HearthError) -> Iterator[vcs.Repo]:
    """The repository on disk; ``failure`` if its directory is gone or holds no repository."""
    try:
        handle = vcs.open_repo(str(repos.path_of(settings, repo.repo_name)), repo.repo_type)
    except vcs.RepositoryNotFound as exc:
        raise failure from exc
    with handle:
        yield handle


def _readable(db: Session, actor: Actor, ref: int | str) -> Repository:
    """Kallithea's check for ``get_changesets``/``get_changeset``: a missing repository is
    "does not exist", an existing one the caller may not read names itself (K reveals it)."""
    repo = lookup.repository(db, ref)
    permissions.require(
        db, actor, Level.READ, repo, Forbidden("access_denied_repo", x=repo.repo_name)
    )
    return repo


# --- §4 nodes, refs, files ----------------------------------------------------------------------


def nodes(
    db: Session,
    actor: Actor,
    settings: Settings,
    ref: int | str,
    revision: str,
    root_path: str,
    ret_type: str,
) -> list[vcs.Node]:
    """``get_repo_nodes``: everything below ``root_path``, directories then files (walk order)."""
    repo = repos.find(db, actor, ref, Level.READ)
    if ret_type not in NODE_TYPES:
        raise _enum("ret_type", NODE_TYPES)
    failure = Failed("repo_nodes_failed", x=repo.repo_name)
    with _opened(settings, repo, failure) as handle:
        try:
            dirs, files = handle.nodes(revision, root_path)
        except (vcs.EmptyRepository, vcs.ChangesetNotFound, vcs.NodeNotFound) as exc:
            raise failure from exc
    return {"all": dirs + files, "dirs": dirs, "files": files}[ret_type]


def refs(db: Session, actor: Actor, settings: Settings, ref: int | str) -> vcs.Refs:
    """``get_repo_refs``: branches, closed branches, tags and bookmarks, name → raw id."""
    repo = repos.find(db, actor, ref, Level.READ)
    with _opened(settings, repo, Failed("repo_refs_failed", x=repo.repo_name)) as handle:
        return handle.refs()


@dataclass(frozen=True)
class FileView:
    """What ``get_repo_file`` reports; fields beyond ``path`` are None when not asked for."""

    path: str
    details: str
    extension: str | None = None
    mimetype: str | None = None
    md5: str | None = None
    binary: bool | None = None
    size: int | None = None
    content: str | None = None
    lines: int | None = None


def count_lines(text: str) -> int:
    """RhodeCode's count: newlines, or 1 for non-empty text without one."""
    count = text.count("\n")
    return 1 if count == 0 and text else count


def file(
    db: Session,
    actor: Actor,
    settings: Settings,
    ref: int | str,
    commit_id: str,
    file_path: str,
    max_file_bytes: int | None,
    details: str,
) -> FileView | None:
    """``get_repo_file``; None for an empty repository."""
    repo = repos.find(db, actor, ref, Level.READ)
    if details not in FILE_DETAILS:
        raise _enum("ret_type", FILE_DETAILS)
    failure = Failed("repo_file_failed", x=repo.repo_name, path=file_path)
    with _opened(settings, repo, failure) as handle:
        if handle.is_empty():
            return None
        try:
            raw_id = handle.changeset(commit_id).raw_id
        except vcs.ChangesetNotFound as exc:
            raise failure from exc
        kind = handle.path_kind(raw_id, file_path)
        if kind is None:
            raise NotFound("repo_file_missing", x=repo.repo_name, path=file_path, commit=commit_id)
        if kind == "dir":
            raise failure
        path = normalize_path(file_path)
        if details in ("minimal", "minimal+search"):
            return FileView(path, details)
        data = handle.file(raw_id, path)
    binary = vcs.is_binary(data)
    name = path.rsplit("/", 1)[-1]
    view = FileView(
        path,
        details,
        extension=name.split(".")[-1],
        mimetype=filetypes.mimetype(name, binary),
        md5=hashlib.md5(data).hexdigest(),
        binary=binary,
        size=len(data),
    )
    if details != "full":
        return view
    content = None
    if not binary and (max_file_bytes is None or len(data) <= max_file_bytes):
        content = data.decode("utf-8", "replace")
    return replace(view, content=content, lines=count_lines(content or ""))


# --- §8 Kallithea's changeset methods -------------------------------------------------------------


@dataclass(frozen=True)
class ChangesetQuery:
    """The filters of ``get_changesets``, after argument coercion."""

    start: str | None = None
    end: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    branch_name: str | None = None
    reverse: bool = False
    with_file_list: bool = False
    max_revisions: int | None = None


@dataclass(frozen=True)
class Listed:
    """A changeset of a list, with its file lists when they were asked for."""

    changeset: vcs.Changeset
    changes: vcs.FileChanges | None = None


def _epoch(moment: datetime | None) -> float | None:
    # A date argument is naive server-local time, as commit dates are rendered (jsonrpc.md §11).
    return None if moment is None else moment.timestamp()


def _position(handle: vcs.Repo, listed: list[vcs.Changeset], spec: str | None) -> int | None:
    """Index of the changeset ``spec`` names within ``listed``; None when not given or not in it."""
    if spec is None:
        return None
    try:
        raw_id = handle.changeset(spec).raw_id
    except (vcs.ChangesetNotFound, vcs.EmptyRepository) as exc:
        raise NotFound("changeset_not_found", x=spec) from exc
    for index, changeset in enumerate(listed):
        if changeset.raw_id == raw_id:
            return index
    return None


def changesets(
    db: Session, actor: Actor, settings: Settings, ref: int | str, query: ChangesetQuery
) -> list[Listed]:
    """``get_changesets``: steps 1-5 of ``methods.md`` §8, in that order."""
    repo = _readable(db, actor, ref)
    with _opened(settings, repo, Failed("repo_unreadable", x=repo.repo_name)) as handle:
        # 1. nothing to list, or a branch that is not there
        if handle.is_empty():
            raise Conflict("repo_empty")
        # 2. revision order, branch and date filters
        try:
            listed = handle.changesets(
                branch=query.branch_name,
                start_date=_epoch(query.start_date),
                end_date=_epoch(query.end_date),
            )
        except vcs.BranchNotFound as exc:
            raise NotFound("branch_not_found", x=query.branch_name) from exc
        # 3. git keeps the newest N, hg the oldest N (0 or less: no limit, as K's `if max_revisions`)
        limit = query.max_revisions
        if limit is not None and limit > 0:
            listed = listed[-limit:] if repo.repo_type == "git" else listed[:limit]
        # 4. start/end: unknown → error; resolvable but filtered out → ignored
        first = _position(handle, listed, query.start)
        last = _position(handle, listed, query.end)
        if first is not None and last is not None and first > last:
            raise Invalid("start_after_end")
        listed = listed[first : None if last is None else last + 1]
        # 5. newest first on request
        if query.reverse:
            listed.reverse()
        return [
            Listed(cs, handle.file_changes(cs.raw_id) if query.with_file_list else None)
            for cs in listed
        ]


@dataclass(frozen=True)
class ChangesetDetail:
    """``get_changeset``: the changeset, its file lists, and its review data. The reviews are
    the pull-request statuses given on it; Hearth has no comments on a changeset outside a pull
    request, so those lists are truthfully empty."""

    changeset: vcs.Changeset
    changes: vcs.FileChanges
    reviews: list[StatusView] = field(default_factory=list)
    comments: list[dict[str, object]] = field(default_factory=list)
    inline_comments: list[list[object]] = field(default_factory=list)


def changeset(
    db: Session, actor: Actor, settings: Settings, ref: int | str, raw_id: str
) -> ChangesetDetail:
    """``get_changeset``: any revision spec; an empty repository has no changeset to name."""
    repo = _readable(db, actor, ref)
    with _opened(settings, repo, Failed("repo_unreadable", x=repo.repo_name)) as handle:
        try:
            found = handle.changeset(raw_id)
        except (vcs.ChangesetNotFound, vcs.EmptyRepository) as exc:
            raise NotFound("changeset_not_found", x=raw_id) from exc
        reviews = pullrequests.changeset_reviews(db, repo.repo_id, found.raw_id)
        return ChangesetDetail(found, handle.file_changes(found.raw_id), reviews)


# --- §8 RhodeCode's changeset methods ------------------------------------------------------------


@dataclass(frozen=True)
class FileDiff:
    """One file of a changeset's ``diff``. ``extended`` fills ``filename`` and ``op`` only."""

    filename: str
    op: str  # A, M or D
    old_revision: str | None = None
    new_revision: str | None = None
    raw_diff: str | None = None
    added: int | None = None
    deleted: int | None = None
    binary: bool | None = None


@dataclass(frozen=True)
class CommitRefs:
    """Names pointing at one changeset (``refs`` of ``details: full``)."""

    branches: list[str]
    bookmarks: list[str]
    tags: list[str]


@dataclass(frozen=True)
class CommitView:
    """A changeset in RhodeCode's shape: ``branch`` (hg: the named branch; git: the first branch,
    by name, whose head it is), ``diff`` per ``details``, ``refs`` only for ``full``."""

    changeset: vcs.Changeset
    branch: str | None
    diff: list[FileDiff]
    refs: CommitRefs | None


def repo_changeset(
    db: Session, actor: Actor, settings: Settings, ref: int | str, revision: str, details: str
) -> CommitView:
    """``get_repo_changeset``."""
    repo = repos.find(db, actor, ref, Level.READ)
    if details not in CHANGESET_DETAILS:
        raise _enum("ret_type", CHANGESET_DETAILS)
    with _opened(settings, repo, Failed("repo_unreadable", x=repo.repo_name)) as handle:
        try:
            found = handle.changeset(revision)
        except (vcs.ChangesetNotFound, vcs.EmptyRepository) as exc:
            raise NotFound("changeset_not_found", x=revision) from exc
        return _commit_view(handle, handle.refs(), found, details)


def repo_changesets(
    db: Session,
    actor: Actor,
    settings: Settings,
    ref: int | str,
    start_rev: str,
    limit: int,
    details: str,
) -> list[CommitView]:
    """``get_repo_changesets``: from ``start_rev`` onwards in revision order, at most ``limit``
    (``-1``: all; as in RhodeCode, any other negative or 0 gives none)."""
    repo = repos.find(db, actor, ref, Level.READ)
    if details not in CHANGESET_DETAILS:
        raise _enum("ret_type", CHANGESET_DETAILS)
    with _opened(settings, repo, Failed("repo_unreadable", x=repo.repo_name)) as handle:
        try:
            start = handle.changeset(start_rev)
        except (vcs.ChangesetNotFound, vcs.EmptyRepository) as exc:
            raise NotFound("changeset_not_found", x=start_rev) from exc
        if limit != -1 and limit <= 0:
            return []
        listed = [cs for cs in handle.changesets() if cs.revision >= start.revision]
        if limit != -1:
            listed = listed[:limit]
        names = handle.refs()
        return [_commit_view(handle, names, cs, details) for cs in listed]


def _commit_view(
    handle: vcs.Repo, names: vcs.Refs, found: vcs.Changeset, details: str
) -> CommitView:
    raw_id = found.raw_id
    branch = found.branch
    if handle.repo_type == "git":
        branch = next((name for name, head in names.branches.items() if head == raw_id), None)
    diff: list[FileDiff] = []
    if details == "extended":
        changes = handle.file_changes(raw_id)
        diff = [
            *(FileDiff(path, "A") for path in changes.added),
            *(FileDiff(path, "M") for path in changes.changed),
            *(FileDiff(path, "D") for path in changes.removed),
        ]
    elif details == "full":
        diff = parse_diff(handle.diff(raw_id))
    refs = None
    if details == "full":
        refs = CommitRefs(
            branches=[branch] if branch else [],
            bookmarks=[name for name, target in names.bookmarks.items() if target == raw_id],
            tags=[name for name, target in names.tags.items() if target == raw_id],
        )
    return CommitView(found, branch, diff, refs)


# --- git-style diffs, one entry per file ----------------------------------------------------------

_FILE_START = re.compile(rb"^(?=diff --git )", re.MULTILINE)


def _path(text: str, prefix: str) -> str | None:
    """A path of a diff header line: unquoted (git's C-style quoting), prefix removed; None for
    ``/dev/null``."""
    text = text.rstrip("\t")  # git ends ---/+++ names that hold a space with a tab
    if len(text) >= 2 and text[0] == text[-1] == '"':
        raw = codecs.escape_decode(text[1:-1].encode("utf-8"))[0]
        text = raw.decode("utf-8", "replace")
    if text == "/dev/null":
        return None
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def _header_paths(first_line: str) -> tuple[str | None, str | None]:
    """Both paths of ``diff --git a/P b/P`` when they are equal (the only unambiguous case)."""
    rest = first_line[len("diff --git ") :]
    size = (len(rest) - 5) // 2
    path = rest[2 : 2 + size]
    if size > 0 and rest == f"a/{path} b/{path}":
        return path, path
    return None, None


def parse_diff(raw: bytes) -> list[FileDiff]:
    """Split a git-style diff (``vcs.Repo.diff``) into files, as RhodeCode's ``details: full``:
    ``op`` A/D from the new/deleted file mode, else M (renames and copies included), the blob
    ids of the ``index`` line when the diff has one, the file's diff text, and its line counts
    (a binary file counts 0/0)."""
    result = []
    for section in _FILE_START.split(raw):
        if not section.startswith(b"diff --git "):
            continue
        text = section.decode("utf-8", "replace")
        lines = text.split("\n")
        old_path, new_path = _header_paths(lines[0])
        op = "M"
        old_rev = new_rev = None
        added = deleted = 0
        binary = False
        in_hunks = False
        for line in lines[1:]:
            if in_hunks:
                if line.startswith("+"):
                    added += 1
                elif line.startswith("-"):
                    deleted += 1
                continue
            if line.startswith("@@"):
                in_hunks = True
            elif line.startswith("new file mode"):
                op = "A"
            elif line.startswith("deleted file mode"):
                op = "D"
            elif line.startswith("index "):
                ids = line[len("index ") :].split(" ")[0]
                if ".." in ids:
                    old_rev, new_rev = ids.split("..", 1)
            elif line.startswith("--- "):
                old_path = _path(line[4:], "a/") or old_path
            elif line.startswith("+++ "):
                new_path = _path(line[4:], "b/") or new_path
            elif line.startswith(("rename from ", "copy from ")):
                old_path = _path(line.split(" from ", 1)[1], "")
            elif line.startswith(("rename to ", "copy to ")):
                new_path = _path(line.split(" to ", 1)[1], "")
            elif line.startswith(("GIT binary patch", "Binary files ")):
                binary = True
                break
        filename = (old_path if op == "D" else new_path) or old_path or new_path or ""
        result.append(
            FileDiff(filename, op, old_rev, new_rev, text, added, deleted, binary),
        )
    return result

# SPDX-License-Identifier: GPL-3.0-or-later
"""What the code pages show: trees, files, blame, history, changesets and comparisons.

Every function first asks ``services/permissions.py`` (through ``webcontent.can_read``) whether the
actor may read the repository; one that may not gets exactly the answer of a missing repository
(``web_repo_not_found``), so a hidden repository cannot be told from a missing one. Then it opens
the repository through ``hearth.vcs`` and returns plain dataclasses; bad revisions and paths become
``NotFound`` with a text the page shows. Nothing here renders HTML (``web/`` does).

Parsed diffs are cached by changeset id (and options): a changeset never changes, and parsing a
large diff costs more than the rest of the page together.
"""

from __future__ import annotations

import mimetypes
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Generic, Literal, TypeVar

from sqlalchemy.orm import Session

from hearth import vcs
from hearth.config import Settings
from hearth.errors import Invalid, NotFound
from hearth.services import lookup, repos, webcontent
from hearth.services.lookup import RepoRef
from hearth.services.permissions import Actor
from hearth.services.webcontent import opened, resolve
from hearth.vcs import diffparse
from hearth.vcs.base import normalize_path

RENDER_LIMIT = 1 << 20
"""Files above this many bytes are not shown in the page (raw and download links instead)."""
DIFF_LINE_LIMIT = 6000
"""A changeset's diff shows at most this many lines unless the full diff is asked for."""
FILE_LINE_LIMIT = 3000
"""One file of a diff above this many lines is cut unless the full diff is asked for."""
LOG_PAGE = 20
COMPARE_LIMIT = 500

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A small thread-safe LRU map for immutable values (keys name content, never a user).

    At most ``size`` entries, and with ``weigh`` at most ``budget`` in their total weight (bytes
    of rendered HTML, say): a value heavier than the whole budget is returned but not kept."""

    def __init__(
        self, size: int, *, weigh: Callable[[V], int] | None = None, budget: int = 0
    ) -> None:
        self.size = size
        self._weigh = weigh
        self._budget = budget
        self._weight = 0
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> V:
        weight = self._weigh(value) if self._weigh is not None else 0
        if self._weigh is not None and weight > self._budget:
            return value
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            self._items[key] = (value, weight)
            self._weight += weight
            while len(self._items) > self.size or (
                self._weigh is not None and self._weight > self._budget
            ):
                _key, (_value, dropped) = self._items.popitem(last=False)
                self._weight -= dropped
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        found = self.get(key)
        return found if found is not None else self.put(key, make())


def weigh_diff(files: tuple[diffparse.DiffFile, ...]) -> int:
    """About the bytes a parsed diff holds: its lines' text plus a fixed cost per line."""
    return sum(len(ln.text) + 64 for f in files for h in f.hunks for ln in h.lines)


# --- values the pages get -------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    kind: Literal["branch", "tag", "bookmark"]
    name: str


@dataclass(frozen=True)
class Names:
    """Branches, tags and bookmarks (name → raw id), and the labels of any changeset."""

    branches: dict[str, str]
    tags: dict[str, str]
    bookmarks: dict[str, str]
    by_id: dict[str, list[Label]] = field(default_factory=dict)

    @classmethod
    def of(cls, refs: vcs.Refs, repo_type: str) -> Names:
        tags = {n: i for n, i in refs.tags.items() if not (repo_type == "hg" and n == "tip")}
        by_id: dict[str, list[Label]] = {}
        for kind, table in (("branch", refs.branches), ("tag", tags), ("bookmark", refs.bookmarks)):
            for name, raw_id in table.items():
                by_id.setdefault(raw_id, []).append(Label(kind, name))  # type: ignore[arg-type]
        return cls(dict(refs.branches), tags, dict(refs.bookmarks), by_id)

    def labels(self, raw_id: str) -> list[Label]:
        return self.by_id.get(raw_id, [])


@dataclass(frozen=True)
class Where:
    """The revision a page is at: ``rev`` as the visitor named it (a branch stays a branch in the
    links), ``changeset`` what it resolved to, and the repository's names."""

    repo: RepoRef
    rev: str
    changeset: vcs.Changeset
    names: Names


@dataclass(frozen=True)
class TreePage:
    where: Where
    path: str
    entries: list[vcs.TreeEntry]


@dataclass(frozen=True)
class FilePage:
    """A file. ``blob.data`` is None when the file is too large to show; ``shown`` says whether
    the page renders it (text within the limit), ``image`` whether it is an image to embed."""

    where: Where
    path: str
    blob: vcs.Blob
    mimetype: str
    image: bool
    shown: bool
    last: vcs.Changeset | None = None


@dataclass(frozen=True)
class BlamePage:
    where: Where
    path: str
    blob: vcs.Blob
    hunks: list[vcs.BlameHunk]
    shown: bool


@dataclass(frozen=True)
class HistoryPage:
    where: Where
    path: str
    page: int
    changesets: list[vcs.Changeset]
    more: bool
    branch: str | None


@dataclass(frozen=True)
class Diff:
    """A parsed diff. ``cut`` lists the paths whose lines were left out (too large), ``full``
    whether it was asked whole; ``added``/``removed`` count every file, cut ones included."""

    files: list[diffparse.DiffFile]
    cut: list[str]
    full: bool
    ignore_ws: bool

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def removed(self) -> int:
        return sum(f.removed for f in self.files)


@dataclass(frozen=True)
class ChangesetPage:
    where: Where
    parents: list[vcs.Changeset]
    children: list[vcs.Changeset]
    diff: Diff


@dataclass(frozen=True)
class ComparePage:
    repo: RepoRef
    other: RepoRef
    base_rev: str
    head_rev: str
    base: vcs.Changeset
    head: vcs.Changeset
    changesets: list[vcs.Changeset]
    ancestor: str | None
    merge: bool
    diff: Diff
    names: Names


# --- the rules --------------------------------------------------------------------------------


def require_read(db: Session, actor: Actor | None, repo: RepoRef) -> None:
    if not webcontent.can_read(db, actor, repo.repo_id):
        raise NotFound("web_repo_not_found")


def _where(handle: vcs.Repo, repo: RepoRef, rev: str) -> Where:
    changeset = resolve(handle, rev)
    return Where(repo, rev or "tip", changeset, Names.of(handle.refs(), repo.repo_type))


def _empty(handle: vcs.Repo, repo: RepoRef, rev: str, path: str) -> Where | None:
    """An empty repository's root (and its whole history) is an empty page, not an error."""
    if path or rev not in ("", "tip") or not handle.is_empty():
        return None
    return Where(repo, "tip", vcs.EMPTY_CHANGESET, Names({}, {}, {}))


def _located(handle: vcs.Repo, repo: RepoRef, rev: str, path: str) -> tuple[Where, str]:
    """``<rev>/<path>`` of a URL, where a branch or tag name may hold ``/`` (``feature/x``): the
    first component when it names a revision, else the shortest longer prefix that does."""
    try:
        return _where(handle, repo, rev), path
    except NotFound as first_failure:
        parts = path.split("/") if path else []
        for n in range(1, len(parts) + 1):
            spec = "/".join([rev, *parts[:n]])
            try:
                changeset = handle.changeset(spec)
            except (vcs.ChangesetNotFound, vcs.EmptyRepository):
                continue
            names = Names.of(handle.refs(), repo.repo_type)
            return Where(repo, spec, changeset, names), "/".join(parts[n:])
        raise first_failure


def mimetype_of(path: str, binary: bool) -> str:
    guessed, _ = mimetypes.guess_type(path.rsplit("/", 1)[-1], strict=False)
    return guessed or ("application/octet-stream" if binary else "text/plain")


_LAST: Lru[tuple[str, str, str], tuple[vcs.Changeset, ...]] = Lru(1024)
"""The last change of a path at a changeset (immutable: keyed by changeset id and path)."""
_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})


def browse(
    db: Session, actor: Actor | None, settings: Settings, repo: RepoRef, rev: str, path: str
) -> TreePage | FilePage:
    """``/<repo>/files/<rev>/<path>``: a directory's listing, or a file."""
    require_read(db, actor, repo)
    with opened(settings, repo) as handle:
        empty = _empty(handle, repo, rev, normalize_path(path))
        if empty is not None:
            return TreePage(empty, "", [])
        where, path = _located(handle, repo, rev, normalize_path(path))
        raw_id = where.changeset.raw_id
        kind = handle.path_kind(raw_id, path)
        if kind is None:
            raise NotFound("web_file_not_found", path=path, rev=where.rev)
        if kind == "dir":
            return TreePage(where, path, handle.listdir(raw_id, path))
        blob = handle.blob(raw_id, path, RENDER_LIMIT)
        last = _LAST.get_or_make(
            (repo.repo_type, raw_id, path),
            lambda: tuple(handle.log(raw_id, path, limit=1).changesets),
        )
    mime = mimetype_of(path, blob.binary)
    image = mime in _IMAGES and blob.size <= RENDER_LIMIT
    shown = not blob.binary and blob.data is not None
    return FilePage(where, path, blob, mime, image, shown, last[0] if last else None)


def blame(
    db: Session, actor: Actor | None, settings: Settings, repo: RepoRef, rev: str, path: str
) -> BlamePage:
    """``/<repo>/annotate/<rev>/<path>``: a text file with the changeset of each line."""
    require_read(db, actor, repo)
    with opened(settings, repo) as handle:
        where, path = _located(handle, repo, rev, normalize_path(path))
        raw_id = where.changeset.raw_id
        if handle.path_kind(raw_id, path) != "file":
            raise NotFound("web_file_not_found", path=path, rev=where.rev)
        blob = handle.blob(raw_id, path, RENDER_LIMIT)
        shown = not blob.binary and blob.data is not None
        hunks = (
            list(
                _BLAME.get_or_make(
                    (repo.repo_type, raw_id, path), lambda: tuple(handle.blame(raw_id, path))
                )
            )
            if shown
            else []
        )
    return BlamePage(where, path, blob, hunks, shown)


_BLAME: Lru[tuple[str, str, str], tuple[vcs.BlameHunk, ...]] = Lru(256)
"""Blame of a path at a changeset: immutable, and the slowest thing a page asks of a backend."""


def history(
    db: Session,
    actor: Actor | None,
    settings: Settings,
    repo: RepoRef,
    rev: str,
    path: str,
    page: int,
    branch: str | None = None,
) -> HistoryPage:
    """``/<repo>/changelog[/<rev>/<path>]``: newest first, ``LOG_PAGE`` a page (1-based);
    ``branch`` (``?branch=``) starts at that branch's head."""
    require_read(db, actor, repo)
    path = normalize_path(path)
    page = max(1, page)
    with opened(settings, repo) as handle:
        if branch:
            names = handle.refs()
            if branch not in names.branches and branch not in names.branches_closed:
                raise NotFound("web_unknown_branch", branch=branch)
            where = _where(handle, repo, branch)
        else:
            empty = _empty(handle, repo, rev, path)
            if empty is not None:
                return HistoryPage(empty, "", 1, [], False, None)
            where, path = _located(handle, repo, rev, path)
        raw_id = where.changeset.raw_id
        if path and handle.path_kind(raw_id, path) is None:
            raise NotFound("web_file_not_found", path=path, rev=where.rev)
        found = handle.log(raw_id, path, skip=(page - 1) * LOG_PAGE, limit=LOG_PAGE)
    if page > 1 and not found.changesets:
        raise NotFound("web_no_such_page", page=page)
    return HistoryPage(where, path, page, found.changesets, found.more, branch)


_DIFFS: Lru[tuple[str, str, str, bool, bool], tuple[diffparse.DiffFile, ...]] = Lru(
    64, weigh=weigh_diff, budget=64 << 20
)


def _trimmed(files: list[diffparse.DiffFile], full: bool, ignore_ws: bool) -> Diff:
    """Leave out the lines of files past the limits (their counts and names stay)."""
    if full:
        return Diff(files, [], True, ignore_ws)
    shown: list[diffparse.DiffFile] = []
    cut: list[str] = []
    budget = DIFF_LINE_LIMIT
    for one in files:
        size = one.line_count
        if size > FILE_LINE_LIMIT or size > budget:
            shown.append(replace(one, hunks=[]))
            cut.append(one.path)
            continue
        budget -= size
        shown.append(one)
    return Diff(shown, cut, False, ignore_ws)


def _parsed(
    key: tuple[str, str, str, bool, bool], make: Callable[[], bytes]
) -> list[diffparse.DiffFile]:
    return list(_DIFFS.get_or_make(key, lambda: tuple(diffparse.parse(make()))))


def changeset(
    db: Session,
    actor: Actor | None,
    settings: Settings,
    repo: RepoRef,
    rev: str,
    *,
    ignore_ws: bool = False,
    full: bool = False,
) -> ChangesetPage:
    """``/<repo>/changeset/<rev>``: the changeset, its parents and children, and its diff."""
    require_read(db, actor, repo)
    with opened(settings, repo) as handle:
        where = _where(handle, repo, rev)
        raw_id = where.changeset.raw_id
        parents = [handle.changeset(p) for p in where.changeset.parents]
        children = handle.children(raw_id)
        files = _parsed(
            (repo.repo_type, raw_id, "", ignore_ws, False),
            lambda: handle.diff(raw_id, ignore_ws=ignore_ws, renames=True),
        )
    return ChangesetPage(where, parents, children, _trimmed(files, full, ignore_ws))


_REF_TYPES = ("branch", "tag", "book", "rev")


def ref_name(spec: str) -> str:
    """Kallithea's ``<type>@<name>`` (branch, tag, book, rev) → the name; other specs unchanged."""
    kind, sep, name = spec.partition("@")
    return name if sep and kind in _REF_TYPES and name else spec


def compare(
    db: Session,
    actor: Actor | None,
    settings: Settings,
    repo: RepoRef,
    base_rev: str,
    head_rev: str,
    *,
    other_name: str | None = None,
    merge: bool = False,
    ignore_ws: bool = False,
    full: bool = False,
) -> ComparePage:
    """``/<repo>/compare/<base>...<head>[?other_repo=<name>]``: the changesets the head has and
    the base has not, and the diff between them. The head may live in another repository the
    actor can read (a fork or its parent); one it cannot read answers like a missing one."""
    require_read(db, actor, repo)
    other = repo
    if other_name and other_name != repo.repo_name:
        try:
            other = RepoRef.of(lookup.repository(db, other_name))
        except NotFound as exc:
            raise NotFound("web_repo_not_found") from exc
        require_read(db, actor, other)
        if other.repo_type != repo.repo_type:
            raise Invalid("web_compare_types", a=repo.repo_type, b=other.repo_type)
    base_spec, head_spec = ref_name(base_rev), ref_name(head_rev)
    with opened(settings, repo) as handle:
        base = resolve(handle, base_spec)
        names = Names.of(handle.refs(), repo.repo_type)
        if other is repo:
            head = resolve(handle, head_spec)
            other_path = None
        else:
            with opened(settings, other) as other_handle:
                head = resolve(other_handle, head_spec)
            other_path = str(repos.path_of(settings, other.repo_name))
        result = handle.between(
            base.raw_id,
            head.raw_id,
            other_path,
            merge=merge,
            ignore_ws=ignore_ws,
            limit=COMPARE_LIMIT,
        )
    files = diffparse.parse(result.diff)
    return ComparePage(
        repo,
        other,
        base_spec,
        head_spec,
        base,
        head,
        result.changesets,
        result.ancestor,
        merge,
        _trimmed(files, full, ignore_ws),
        names,
    )

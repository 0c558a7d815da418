# SPDX-License-Identifier: GPL-3.0-or-later
"""The one interface Hearth has to repositories on disk, and the values that cross it.

    VcsError                    anything a repository operation can fail with
     ├── RepositoryNotFound     the path is not a repository of the asked type
     ├── EmptyRepository        the repository has no changeset (where one is needed)
     ├── ChangesetNotFound      a revision spec names nothing (``.spec``)
     ├── BranchNotFound         a branch filter names no branch (``.name``)
     ├── NodeNotFound           a path is missing at a changeset, or has the wrong kind (``.path``)
     └── RemoteError            clone/fetch from a remote failed; the text has passwords masked

Services catch these and map them to Kallithea's texts (``hearth/errors.py``); nothing above ``vcs/``
sees a pygit2 or Mercurial object. Shapes and rules come from ``spec/jsonrpc.md`` §10 (changesets,
revision numbers), ``spec/methods.md`` §4 and §8 (nodes walk, refs, changeset lists) and
``spec/web-and-vcs.md`` §7–§8 (forks, pulls, patches, archives, raw diffs).

Every method that takes ``rev`` accepts any revision spec: ``tip`` (the last changeset in revision
order), a branch, tag or bookmark name, a full or abbreviated hash, or a revision number as text.
Passing a full raw id is the cheap path.
"""

from __future__ import annotations

import abc
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Literal
from urllib.parse import unquote, urlsplit

RepoType = Literal["git", "hg"]
ArchiveKind = Literal["zip", "tgz", "tbz2"]
REPO_TYPES: tuple[RepoType, ...] = ("git", "hg")
ARCHIVE_KINDS: tuple[ArchiveKind, ...] = ("zip", "tgz", "tbz2")
NULL_ID = "0" * 40

# How much of a file decides whether it is binary: git's own heuristic (a NUL byte in the first
# 8000 bytes), used for both backends so that `binary` means the same thing everywhere.
BINARY_PROBE = 8000


class VcsError(Exception):
    """Base of every failure of a repository operation."""


class RepositoryNotFound(VcsError):
    """The path does not hold a repository of the requested type."""

    def __init__(self, path: str) -> None:
        super().__init__(f"no repository at {path}")
        self.path = path


class EmptyRepository(VcsError):
    """The repository has no changeset, and the operation needs one."""

    def __init__(self) -> None:
        super().__init__("repository is empty")


class ChangesetNotFound(VcsError):
    """The revision spec resolves to no (reachable, visible) changeset."""

    def __init__(self, spec: str) -> None:
        super().__init__(f"changeset {spec} does not exist")
        self.spec = spec


class BranchNotFound(VcsError):
    """A branch filter names a branch the repository does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(f"branch {name} does not exist")
        self.name = name


class NodeNotFound(VcsError):
    """A path is missing at a changeset, or is a file where a directory was needed (or back)."""

    def __init__(self, path: str, reason: str = "does not exist") -> None:
        super().__init__(f"path {path!r} {reason}")
        self.path = path
        self.reason = reason


class RemoteError(VcsError):
    """Cloning or fetching from a remote failed. The message never holds a URL's password."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Changeset:
    """One commit as the API shows it (``jsonrpc.md`` §10, brief changeset plus parents/branch).

    ``date`` is epoch seconds (git: committer time, hg: changeset time); rendering it in local time
    is the protocol layer's job. ``message`` is unmodified (git keeps its trailing newline).
    ``parents`` are raw ids, the null parent left out. ``branch`` is hg's named branch, None for git.
    """

    raw_id: str
    short_id: str
    revision: int
    message: str
    date: float
    author: str
    parents: tuple[str, ...] = ()
    branch: str | None = None


EMPTY_CHANGESET = Changeset(
    raw_id=NULL_ID, short_id=NULL_ID[:12], revision=-1, message="", date=0.0, author=""
)


@dataclass(frozen=True, slots=True)
class FileChanges:
    """Paths touched by a changeset against its first parent, each list in code-point order."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Node:
    """An entry of a tree listing: ``path`` from the repository root, ``kind`` 'dir' or 'file'."""

    path: str
    kind: Literal["dir", "file"]


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What ``get_repo_file`` needs before deciding whether to send content."""

    path: str
    size: int
    binary: bool


@dataclass(frozen=True, slots=True)
class Refs:
    """Names → raw ids. git: no bookmarks, no closed branches; hg: ``tags`` includes ``tip``."""

    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    bookmarks: dict[str, str] = field(default_factory=dict)
    branches_closed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One entry of a directory listing (one level): ``kind`` 'dir', 'file', 'link' (a symlink,
    shown as a file) or 'submodule' (git gitlink / hg subrepo, not browsable). ``size`` is the
    file's size in bytes, None for directories and submodules."""

    name: str
    path: str
    kind: Literal["dir", "file", "link", "submodule"]
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Blob:
    """A file at a changeset for the file view. ``blob_id`` names the content: git's blob id, hg's
    file node — equal ids mean equal bytes, so a rendering may be cached under it. ``data`` is None
    when the file is larger than the limit the caller gave (it is not read whole then)."""

    path: str
    blob_id: str
    size: int
    binary: bool
    data: bytes | None


@dataclass(frozen=True, slots=True)
class BlameHunk:
    """Lines ``start`` .. ``start + count - 1`` (1-based, of the file at the blamed changeset)
    were last changed by ``changeset``."""

    start: int
    count: int
    changeset: Changeset


@dataclass(frozen=True, slots=True)
class LogPage:
    """A page of history, newest first; ``more`` when older changesets follow."""

    changesets: list[Changeset]
    more: bool


@dataclass(frozen=True, slots=True)
class Comparison:
    """``between``: the changesets reachable from the head but not from the base (newest first),
    the common ancestor (None when the histories share nothing) and the git-style diff."""

    changesets: list[Changeset]
    ancestor: str | None
    diff: bytes


class FileStream:
    """A file's bytes for sending: the first bytes at hand (enough to tell binary from text,
    or the whole file), the rest read on demand. Files above a backend's threshold are never
    held in memory whole, whatever their size. ``close`` releases what reading holds."""

    def __init__(
        self,
        size: int,
        head: bytes,
        rest: Iterator[bytes] | None = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.size = size
        self.head = head
        self._rest = rest if rest is not None else iter(())
        self._close = close

    @property
    def whole(self) -> bool:
        return len(self.head) == self.size

    @property
    def binary(self) -> bool:
        return is_binary(self.head)

    def rest(self) -> Iterator[bytes]:
        """What follows ``head``, in chunks; raises ``VcsError`` if reading fails."""
        return self._rest

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


class Repo(abc.ABC):
    """An open repository. Cheap to open, meant to live for one request or task; ``close()`` it
    (or use it as a context manager). Not safe to share between threads."""

    repo_type: RepoType
    path: str

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release backend resources; the object must not be used afterwards."""

    # -- changesets -------------------------------------------------------------------------

    @abc.abstractmethod
    def is_empty(self) -> bool:
        """True when the repository has no changeset at all."""

    @abc.abstractmethod
    def last_changeset(self) -> Changeset:
        """The last changeset in revision order, or ``EMPTY_CHANGESET``."""

    @abc.abstractmethod
    def changeset(self, rev: str) -> Changeset:
        """Resolve any revision spec. Raises ``EmptyRepository`` or ``ChangesetNotFound``."""

    @abc.abstractmethod
    def changesets(
        self,
        branch: str | None = None,
        start_date: float | None = None,
        end_date: float | None = None,
    ) -> list[Changeset]:
        """All changesets in revision order (oldest first), filtered.

        ``branch``: git keeps commits reachable from that branch, hg those on that named branch
        (``BranchNotFound`` if unknown). Dates are epoch seconds, both bounds inclusive.
        """

    @abc.abstractmethod
    def file_changes(self, rev: str) -> FileChanges:
        """Added/changed/removed paths against the first parent (root commit: all added)."""

    # -- trees and files --------------------------------------------------------------------

    @abc.abstractmethod
    def path_kind(self, rev: str, path: str) -> Literal["dir", "file"] | None:
        """'dir', 'file' or None (missing, or a submodule) for ``path`` at ``rev``; '' is the root."""

    @abc.abstractmethod
    def nodes(self, rev: str, root_path: str = "") -> tuple[list[Node], list[Node]]:
        """Everything below ``root_path`` as (dirs, files), in the walk order of ``get_repo_nodes``.

        Depth-first; a directory's subdirectories and files are noted (each sorted by name) when it
        is visited, before any subdirectory is visited. Submodules/subrepos are not listed.
        Raises ``NodeNotFound`` if ``root_path`` is missing or not a directory.
        """

    @abc.abstractmethod
    def file(self, rev: str, path: str) -> bytes:
        """The bytes of a file (a symlink's target). ``NodeNotFound`` if missing or a directory."""

    def open_file(self, rev: str, path: str) -> FileStream:
        """The file as a :class:`FileStream` (the default reads it whole)."""
        data = self.file(rev, path)
        return FileStream(len(data), data)

    @abc.abstractmethod
    def file_info(self, rev: str, path: str) -> FileInfo:
        """Size and binary-ness of a file, reading at most what the backend must."""

    @abc.abstractmethod
    def refs(self) -> Refs:
        """Branches, tags, bookmarks and closed branches, each sorted by name."""

    # -- browsing (the web pages) ------------------------------------------------------------

    @abc.abstractmethod
    def listdir(self, rev: str, path: str = "") -> list[TreeEntry]:
        """One level of the tree at ``path``: directories first, then the rest, each by name.
        ``NodeNotFound`` if ``path`` is missing or a file."""

    @abc.abstractmethod
    def blob(self, rev: str, path: str, limit: int) -> Blob:
        """The file at ``path``; its bytes only when it holds at most ``limit`` bytes (binary-ness
        is decided from its first bytes either way). ``NodeNotFound`` if missing or a directory."""

    @abc.abstractmethod
    def blame(self, rev: str, path: str) -> list[BlameHunk]:
        """Who last changed each line of the file at ``rev``, hunk by hunk in line order."""

    @abc.abstractmethod
    def log(self, rev: str, path: str = "", skip: int = 0, limit: int = 20) -> LogPage:
        """The ancestors of ``rev`` (itself included) newest first, ``skip`` of them left out;
        with ``path``, only changesets that touched it (a file or everything below a directory)."""

    @abc.abstractmethod
    def children(self, rev: str) -> list[Changeset]:
        """The changesets whose parent ``rev`` is."""

    @abc.abstractmethod
    def between(
        self,
        base_rev: str,
        head_rev: str,
        head_path: str | None = None,
        *,
        merge: bool = False,
        context: int = 3,
        ignore_ws: bool = False,
        limit: int = 1000,
    ) -> Comparison:
        """Compare ``head_rev`` with ``base_rev`` (this repository). With ``head_path`` the head
        lives in another repository of the same type (a fork or its parent) and is resolved
        there; nothing is written to either repository. The diff goes from ``base_rev`` to the
        head, or from their common ancestor with ``merge`` (what a pull request would bring).
        At most ``limit`` changesets are listed."""

    # -- diffs, patches, archives -------------------------------------------------------------

    @abc.abstractmethod
    def diff(
        self, rev: str, context: int = 3, ignore_ws: bool = False, renames: bool = False
    ) -> bytes:
        """Unified git-style diff of ``rev`` against its first parent (root: against nothing).

        Binary files are included as git binary patches so that the result applies. ``renames``:
        git looks for renamed files (hg records them, and always shows them).
        """

    @abc.abstractmethod
    def diff_between(
        self,
        rev1: str,
        rev2: str,
        path: str | None = None,
        context: int = 3,
        ignore_ws: bool = False,
    ) -> bytes:
        """Unified git-style diff from ``rev1`` to ``rev2``, optionally of one path only."""

    @abc.abstractmethod
    def patch(self, rev: str) -> bytes:
        """Header (``web-and-vcs.md`` §8, per backend) + ``diff(rev)``; applies with git/hg."""

    @abc.abstractmethod
    def archive(self, rev: str, kind: ArchiveKind, prefix: str, out: BinaryIO) -> None:
        """Write the tree at ``rev`` as a zip/tar.gz/tar.bz2 to ``out``, entries under ``prefix/``."""

    # -- remotes --------------------------------------------------------------------------------

    @abc.abstractmethod
    def fetch(self, source: str, timeout: float | None = None) -> None:
        """Pull everything from a URL or local path (git: branches forced, and tags).

        On failure the refs are untouched and ``RemoteError`` (password masked) is raised.
        ``timeout`` (seconds) bounds a remote that stops answering.
        """


# -- helpers shared by both backends -----------------------------------------------------------

_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@:\s]*):[^/@\s]*@"
)


def mask_url(text: str) -> str:
    """Replace the password of every ``scheme://user:pass@`` in ``text`` by ``*****``."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:*****@", text)


def mask_secret(text: str, url: str) -> str:
    """Mask URL credentials in ``text`` and also any bare occurrence of ``url``'s password.

    Tools sometimes print the password alone (or percent-decoded) rather than the whole URL.
    """
    masked = mask_url(text)
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        for secret in {password, unquote(password)}:
            if secret:
                masked = masked.replace(secret, "*****")
    return masked


def is_binary(data: bytes) -> bool:
    """git's heuristic: a NUL byte within the first ``BINARY_PROBE`` bytes."""
    return b"\0" in data[:BINARY_PROBE]


def split_author(author: str) -> tuple[str, str]:
    """``Name <email>`` → (name, email); missing parts are ``""`` (detailed changeset shape)."""
    match = re.match(r"^\s*(.*?)\s*<([^>]*)>\s*$", author)
    if match:
        return match[1], match[2]
    if "@" in author and " " not in author.strip():
        return "", author.strip()
    return author.strip(), ""


def local_date(epoch: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in the server's local time, the date form used in patch headers."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(epoch)))


def normalize_path(path: str) -> str:
    """Strip leading/trailing ``/`` (the API ignores them); '' is the root."""
    return path.strip("/")


def check_commit_path(path: str) -> None:
    """Refuse a path no commit may hold: empty components, ``.``/``..``, a ``.hg`` or ``.git``
    component (any case: it would land in the metadata directory of a checkout), or a NUL, CR or
    LF (Mercurial's manifest and git's index cannot store them). Raises ``VcsError``."""
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise VcsError(f"invalid path {path!r}: empty, '.' or '..' component")
    if any(part.lower() in (".hg", ".git") for part in parts):
        raise VcsError(f"invalid path {path!r}: reserved component")
    if any(ch in path for ch in "\0\r\n"):
        raise VcsError(f"invalid path {path!r}: NUL, CR or LF")

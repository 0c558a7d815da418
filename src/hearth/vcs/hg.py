# SPDX-License-Identifier: GPL-3.0-or-later
"""Mercurial backend, in-process through Mercurial's Python API (no ``hg`` child processes).

Mercurial speaks bytes; this module is where they become ``str`` (UTF-8, undecodable bytes
replaced), so nothing above ``vcs/`` sees a Mercurial object. Revision numbers are the local
revision numbers; ``tip`` is the highest visible one (``spec/jsonrpc.md`` §10). Hidden (obsolete)
changesets do not exist for Hearth. Rules for patches and archives: ``spec/web-and-vcs.md`` §8.

Every repository is opened with a fresh ``ui`` that loads no user or system hgrc (only the
repository's own), never prompts and writes nothing to the server's stdout/stderr.
"""

from __future__ import annotations

import http.client
import io
import os
import shutil
import tarfile
import zipfile
from typing import BinaryIO, Literal

from mercurial import encoding

# Process-wide, as hgweb deployments do: metadata is stored as UTF-8 and must come back as such
# (the default follows the locale, and a C locale would turn every non-ASCII letter into "?").
encoding.encoding = b"utf-8"

from mercurial import (  # noqa: E402 - after the encoding is fixed
    archival,
    context,
    error,
    exchange,
    initialization,
    mdiff,
    scmutil,
    unionrepo,
)
from mercurial import bookmarks as hgbookmarks  # noqa: E402
from mercurial import match as matchmod  # noqa: E402
from mercurial import patch as hgpatch  # noqa: E402
from mercurial import ui as uimod  # noqa: E402
from mercurial.cmd_impls import clone as clone_impl  # noqa: E402
from mercurial.node import hex, nullrev, wdirrev  # noqa: E402
from mercurial.repo import factory  # noqa: E402
from mercurial.utils import stringutil  # noqa: E402

# Mercurial registers bundle2 part handlers, revset predicates, template keywords… from modules
# that only its command-line entry point imports; without this, pulls fail with "missing support
# for changegroup".
initialization.init()

from hearth.vcs.base import (  # noqa: E402
    BINARY_PROBE,
    EMPTY_CHANGESET,
    ArchiveKind,
    BlameHunk,
    Blob,
    BranchNotFound,
    Changeset,
    ChangesetNotFound,
    Comparison,
    EmptyRepository,
    FileChanges,
    FileInfo,
    LogPage,
    Node,
    NodeNotFound,
    Refs,
    RemoteError,
    Repo,
    RepositoryNotFound,
    TreeEntry,
    VcsError,
    check_commit_path,
    is_binary,
    local_date,
    mask_secret,
    normalize_path,
)

# What a remote operation may fail with: Mercurial's own errors, and the network's.
_REMOTE_ERRORS = (
    error.Abort,
    error.RepoError,
    error.ResponseError,
    OSError,
    http.client.HTTPException,
)


def make_ui() -> uimod.ui:
    """A quiet, non-interactive ui that reads no hgrc (``ui.load()`` is deliberately not called)."""
    ui = uimod.ui()
    for section, name, value in (
        (b"ui", b"quiet", b"true"),
        (b"ui", b"interactive", b"false"),
        (b"ui", b"paginate", b"false"),
        (b"ui", b"archivemeta", b"false"),  # archives hold the tree only, like git's
        (b"ui", b"report_untrusted", b"false"),
        (b"progress", b"disable", b"true"),
    ):
        ui.setconfig(section, name, value, b"hearth")
    ui.fin = io.BytesIO()
    ui.fout = io.BytesIO()
    ui.ferr = io.BytesIO()
    return ui


def _s(raw: bytes) -> str:
    return bytes(raw).decode("utf-8", "replace")


def _b(text: str) -> bytes:
    return text.encode("utf-8")


def _errtext(exc: BaseException) -> str:
    """Mercurial errors carry bytes (and hints); network errors are plain exceptions."""
    if isinstance(exc, error.Error):
        return _s(exc.format()).strip()
    if isinstance(exc, error.RepoError | error.ResponseError):
        return _s(stringutil.forcebytestr(exc))
    return str(exc)


class HgRepo(Repo):
    """A Mercurial repository (a directory with ``.hg/``), through its ``visible`` view."""

    repo_type = "hg"

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._repo = factory.repository(make_ui(), os.fsencode(path))
        except (error.RepoError, error.Abort) as exc:
            raise RepositoryNotFound(path) from exc

    def close(self) -> None:
        self._repo.close()

    # -- resolving --------------------------------------------------------------------------------

    def _ctx(self, spec: str):  # -> mercurial changectx
        """Resolve with ``scmutil.revsymbol``: ``tip``, revision numbers, full hashes, bookmarks,
        tags, branches, hash prefixes (Mercurial's order). The null and working-directory
        revisions are not changesets."""
        if self.is_empty():
            raise EmptyRepository()
        try:
            ctx = scmutil.revsymbol(self._repo, _b(spec))
        except (error.RepoLookupError, error.LookupError, error.Abort, ValueError) as exc:
            raise ChangesetNotFound(spec) from exc
        if ctx.rev() is None or ctx.rev() in (nullrev, wdirrev):
            raise ChangesetNotFound(spec)
        return ctx

    def _changeset(self, rev: int) -> Changeset:
        # Straight from the changelog: building a changectx (and its parents') per changeset
        # costs ~10x more, and listings build thousands.
        cl = self._repo.changelog
        entry = cl.changelogrevision(rev)
        raw_id = _s(hex(cl.node(rev)))
        return Changeset(
            raw_id=raw_id,
            short_id=raw_id[:12],
            revision=rev,
            message=_s(entry.description),
            date=float(entry.date[0]),
            author=_s(entry.user),
            parents=tuple(_s(hex(cl.node(p))) for p in cl.parentrevs(rev) if p != nullrev),
            branch=_s(entry.extra.get(b"branch", b"default")),
        )

    # -- changesets -------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return self._repo.changelog.tiprev() == nullrev

    def last_changeset(self) -> Changeset:
        if self.is_empty():
            return EMPTY_CHANGESET
        return self._changeset(self._repo.changelog.tiprev())

    def changeset(self, rev: str) -> Changeset:
        return self._changeset(self._ctx(rev).rev())

    def changesets(
        self,
        branch: str | None = None,
        start_date: float | None = None,
        end_date: float | None = None,
    ) -> list[Changeset]:
        repo = self._repo
        wanted = None
        if branch is not None:
            wanted = _b(branch)
            if self.is_empty() or not repo.branchmap().hasbranch(wanted):
                raise BranchNotFound(branch)
        cl = repo.changelog
        result = []
        for rev in repo:
            if wanted is not None and cl.branchinfo(rev)[0] != wanted:
                continue
            if start_date is not None or end_date is not None:
                date = cl.changelogrevision(rev).date[0]
                if start_date is not None and date < start_date:
                    continue
                if end_date is not None and date > end_date:
                    continue
            result.append(self._changeset(rev))
        return result

    def file_changes(self, rev: str) -> FileChanges:
        ctx = self._ctx(rev)
        status = ctx.p1().status(ctx)
        return FileChanges(
            added=sorted(_s(f) for f in status.added),
            changed=sorted(_s(f) for f in status.modified),
            removed=sorted(_s(f) for f in status.removed),
        )

    # -- trees and files ----------------------------------------------------------------------------

    def path_kind(self, rev: str, path: str) -> Literal["dir", "file"] | None:
        manifest = self._ctx(rev).manifest()
        path = normalize_path(path)
        if not path:
            return "dir"
        if _b(path) in manifest:
            return "file"
        return "dir" if manifest.hasdir(_b(path)) else None

    def nodes(self, rev: str, root_path: str = "") -> tuple[list[Node], list[Node]]:
        manifest = self._ctx(rev).manifest()
        root = normalize_path(root_path)
        prefix = _b(root) + b"/" if root else b""
        if root and not manifest.hasdir(_b(root)):
            raise NodeNotFound(
                root, "is not a directory" if _b(root) in manifest else "does not exist"
            )
        # directory (relative to root, "" = root) -> (subdirectory names, file names)
        tree: dict[str, tuple[set[str], list[str]]] = {"": (set(), [])}
        for raw in manifest:
            if not raw.startswith(prefix):
                continue
            parts = _s(raw[len(prefix) :]).split("/")
            parent = ""
            for part in parts[:-1]:
                here = f"{parent}/{part}" if parent else part
                tree[parent][0].add(part)
                tree.setdefault(here, (set(), []))
                parent = here
            tree[parent][1].append(parts[-1])

        dirs: list[Node] = []
        files: list[Node] = []
        base = f"{root}/" if root else ""

        def visit(rel: str) -> None:
            subdirs, names = tree[rel]
            below = f"{rel}/" if rel else ""
            ordered = sorted(subdirs)
            dirs.extend(Node(base + below + name, "dir") for name in ordered)
            files.extend(Node(base + below + name, "file") for name in sorted(names))
            for name in ordered:
                visit(below + name)

        visit("")
        return dirs, files

    def _fctx(self, rev: str, path: str):  # -> mercurial filectx
        ctx = self._ctx(rev)
        path = normalize_path(path)
        raw = _b(path)
        manifest = ctx.manifest()
        if not path or raw not in manifest:
            is_dir = not path or manifest.hasdir(raw)
            raise NodeNotFound(path, "is a directory" if is_dir else "does not exist")
        return ctx.filectx(raw)

    def file(self, rev: str, path: str) -> bytes:
        return self._fctx(rev, path).data()

    def file_info(self, rev: str, path: str) -> FileInfo:
        fctx = self._fctx(rev, path)
        return FileInfo(normalize_path(path), fctx.size(), is_binary(fctx.data()))

    def refs(self) -> Refs:
        repo = self._repo
        branches: dict[str, str] = {}
        closed: dict[str, str] = {}
        if not self.is_empty():
            for name, tiprev, _active, is_open in repo.branchmap().branches_info(repo):
                (branches if is_open else closed)[_s(name)] = _s(repo[tiprev].hex())
        tags = {_s(name): _s(hex(node)) for name, node in repo.tags().items()}
        bookmarks = {_s(name): _s(node) for name, node in hgbookmarks.listbookmarks(repo).items()}
        return Refs(
            branches=dict(sorted(branches.items())),
            tags=dict(sorted(tags.items())),
            bookmarks=dict(sorted(bookmarks.items())),
            branches_closed=dict(sorted(closed.items())),
        )

    # -- browsing (the web pages) -------------------------------------------------------------------

    def listdir(self, rev: str, path: str = "") -> list[TreeEntry]:
        ctx = self._ctx(rev)
        manifest = ctx.manifest()
        root = normalize_path(path)
        prefix = _b(root) + b"/" if root else b""
        if root and not manifest.hasdir(_b(root)):
            raise NodeNotFound(
                root, "is not a directory" if _b(root) in manifest else "does not exist"
            )
        dirs: set[str] = set()
        files: list[TreeEntry] = []
        for raw in manifest.walk(matchmod.always()) if not root else manifest:
            if not raw.startswith(prefix):
                continue
            name, sep, _below = _s(raw[len(prefix) :]).partition("/")
            if sep:
                dirs.add(name)
                continue
            flags = manifest.flags(raw)
            kind: Literal["file", "link"] = "link" if b"l" in flags else "file"
            files.append(TreeEntry(name, _s(raw), kind, ctx.filectx(raw).size()))
        base = f"{root}/" if root else ""
        listed = [TreeEntry(name, base + name, "dir") for name in sorted(dirs)]
        return listed + sorted(files, key=lambda e: e.name)

    def blob(self, rev: str, path: str, limit: int) -> Blob:
        fctx = self._fctx(rev, path)
        size = fctx.size()
        data = fctx.data()  # revlogs hold no partial reads: the whole text either way
        return Blob(
            normalize_path(path),
            _s(hex(fctx.filenode())),
            size,
            is_binary(data[:BINARY_PROBE]),
            data if size <= limit else None,
        )

    def blame(self, rev: str, path: str) -> list[BlameHunk]:
        fctx = self._fctx(rev, path)
        hunks: list[BlameHunk] = []
        known: dict[int, Changeset] = {}
        for number, line in enumerate(fctx.annotate(), start=1):
            crev = line.fctx.rev()
            if hunks and hunks[-1].changeset.revision == crev:
                last = hunks[-1]
                hunks[-1] = BlameHunk(last.start, last.count + 1, last.changeset)
                continue
            if crev not in known:
                known[crev] = self._changeset(crev)
            hunks.append(BlameHunk(number, 1, known[crev]))
        return hunks

    def log(self, rev: str, path: str = "", skip: int = 0, limit: int = 20) -> LogPage:
        ctx = self._ctx(rev)
        path = normalize_path(path)
        skip, limit = max(0, skip), max(1, limit)
        if path:
            revs = self._repo.revs(b"reverse(::%d and file(%s))", ctx.rev(), b"path:" + _b(path))
        else:
            revs = self._repo.revs(b"reverse(::%d)", ctx.rev())
        picked = []
        for n, number in enumerate(revs):
            if n < skip:
                continue
            picked.append(number)
            if len(picked) > limit:
                break
        return LogPage([self._changeset(n) for n in picked[:limit]], len(picked) > limit)

    def children(self, rev: str) -> list[Changeset]:
        return [self._changeset(child.rev()) for child in self._ctx(rev).children()]

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
        base = self._ctx(base_rev)
        if head_path is None or os.path.realpath(head_path) == os.path.realpath(self.path):
            head = self._ctx(head_rev)
            return self._compare(
                self._repo, base.node(), head.node(), self, merge, context, ignore_ws, limit
            )
        other = HgRepo(head_path)
        try:
            head_node = other._ctx(head_rev).node()
            # Mercurial's union of two repositories, in memory: nothing is written to either
            try:
                union = unionrepo.makeunionrepository(
                    make_ui(), os.fsencode(self.path), os.fsencode(head_path)
                )
            except (error.RepoError, error.Abort) as exc:
                raise RepositoryNotFound(head_path) from exc
            try:
                return self._compare(
                    union, base.node(), head_node, other, merge, context, ignore_ws, limit
                )
            finally:
                union.close()
        finally:
            other.close()

    def _compare(
        self,
        repo,
        base: bytes,
        head: bytes,
        owner: HgRepo,
        merge: bool,
        context: int,
        ignore_ws: bool,
        limit: int,
    ) -> Comparison:
        """Changesets and diff in ``repo`` (this one, or a union with the head's repository);
        the listed changesets are numbered as in ``owner``, the repository holding the head."""
        cl = repo.changelog
        revs = repo.revs(b"reverse(only(%d, %d))", cl.rev(head), cl.rev(base))
        listed: list[Changeset] = []
        owner_cl = owner._repo.changelog
        for number in revs:
            if len(listed) == limit:
                break
            listed.append(owner._changeset(owner_cl.rev(cl.node(number))))
        ancestor = cl.ancestor(base, head)
        has_ancestor = ancestor != repo.nullid
        old = ancestor if merge and has_ancestor else base
        diff = self._diff(old, head, None, context, ignore_ws, repo=repo)
        return Comparison(listed, _s(hex(ancestor)) if has_ancestor else None, diff)

    # -- diffs, patches, archives -------------------------------------------------------------------

    def _diff(
        self, node1: bytes, node2: bytes, match, context: int, ignore_ws: bool, repo=None
    ) -> bytes:
        opts = mdiff.diffopts(git=True, nodates=True, context=context, ignorews=ignore_ws)
        return b"".join(hgpatch.diff(repo or self._repo, node1, node2, match=match, opts=opts))

    def diff(
        self, rev: str, context: int = 3, ignore_ws: bool = False, renames: bool = False
    ) -> bytes:
        ctx = self._ctx(rev)
        return self._diff(ctx.p1().node(), ctx.node(), None, context, ignore_ws)

    def diff_between(
        self,
        rev1: str,
        rev2: str,
        path: str | None = None,
        context: int = 3,
        ignore_ws: bool = False,
    ) -> bytes:
        ctx1, ctx2 = self._ctx(rev1), self._ctx(rev2)
        match = None
        if path and normalize_path(path):
            match = matchmod.match(self._repo.root, b"", [b"path:" + _b(normalize_path(path))])
        return self._diff(ctx1.node(), ctx2.node(), match, context, ignore_ws)

    def patch(self, rev: str) -> bytes:
        ctx = self._ctx(rev)
        lines = [
            b"# HG changeset patch",
            b"# User " + ctx.user(),
            b"# Date " + _b(local_date(ctx.date()[0])),
            b"# Node ID " + ctx.hex(),
        ]
        lines += [b"# Parent  " + p.hex() for p in ctx.parents() if p.rev() != nullrev]
        header = b"\n".join(lines) + b"\n" + ctx.description() + b"\n\n"
        return header + self.diff(_s(ctx.hex()))

    def archive(self, rev: str, kind: ArchiveKind, prefix: str, out: BinaryIO) -> None:
        ctx = self._ctx(rev)
        if kind not in ("zip", "tgz", "tbz2"):
            raise ValueError(f"unknown archive kind {kind!r}")
        if not any(True for _ in ctx.manifest()):
            _empty_archive(kind, out)  # Mercurial refuses to write an archive of no files
            return
        prefix_b = _b(normalize_path(prefix)) or b"."  # "." is how archival spells "no prefix"
        try:
            archival.archive(self._repo, out, ctx.node(), _b(kind), decode=False, prefix=prefix_b)
        except error.Abort as exc:
            raise VcsError(f"hg archive failed: {_errtext(exc)}") from exc

    # -- remotes --------------------------------------------------------------------------------------

    def fetch(self, source: str, timeout: float | None = None) -> None:
        """Pull every changeset, bookmark and phase from ``source``, in one transaction.

        ``timeout`` is accepted for symmetry with git and applies to socket operations.
        """
        if timeout is not None:  # peers are built from baseui, not from the repository's ui
            self._repo.baseui.setconfig(
                b"http", b"timeout", b"%d" % max(1, int(timeout)), b"hearth"
            )
        try:
            peer = factory.peer(self._repo, {}, _b(source))
            try:
                exchange.pull(self._repo, peer)
            finally:
                peer.close()
        except _REMOTE_ERRORS as exc:
            raise RemoteError(
                mask_secret(f"failed to pull from {source}: {_errtext(exc)}", source)
            ) from exc


def _empty_archive(kind: ArchiveKind, out: BinaryIO) -> None:
    if kind == "zip":
        with zipfile.ZipFile(out, "w"):
            pass
        return
    with tarfile.open(fileobj=out, mode="w|gz" if kind == "tgz" else "w|bz2"):
        pass


# -- module-level operations ----------------------------------------------------------------------


def create(path: str) -> None:
    """``hg init`` at ``path`` (parents created)."""
    os.makedirs(path, exist_ok=True)
    try:
        factory.repository(make_ui(), os.fsencode(path), create=True).close()
    except (error.RepoError, error.Abort) as exc:
        raise VcsError(f"hg init failed: {_errtext(exc)}") from exc


def clone(source: str, dest: str, timeout: float | None = None) -> None:
    """Clone without a working copy. A local source is a fork: the store is hard-linked.

    Mercurial writes the source URL (password removed) to the clone's ``.hg/hgrc``.
    """
    existed = os.path.exists(dest)
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    ui = make_ui()
    if timeout is not None:
        ui.setconfig(b"http", b"timeout", b"%d" % max(1, int(timeout)), b"hearth")
    try:
        srcpeer, destpeer = clone_impl.clone(ui, {}, _b(source), os.fsencode(dest), update=False)
        srcpeer.close()
        destpeer.close()
    except _REMOTE_ERRORS as exc:
        if not existed:
            shutil.rmtree(dest, ignore_errors=True)
        raise RemoteError(
            mask_secret(f"failed to clone {source}: {_errtext(exc)}", source)
        ) from exc


def commit_files(
    path: str, files: dict[str, bytes], *, author: str, message: str, date: float
) -> str:
    """Commit ``files`` (repository path → content) as one changeset on top of the tip of the hg
    repository at ``path`` (a fresh repository: its root changeset), on branch ``default``.

    No working copy is involved (Mercurial's in-memory ``memctx``); files not named keep their
    content from the parent. ``date`` is epoch seconds, recorded in whole seconds as UTC. Returns
    the new changeset's raw id. Raises ``RepositoryNotFound``, or ``VcsError`` for an empty
    ``files``, a path ``check_commit_path`` refuses, or a failed transaction (nothing is written).
    """
    if not files:
        raise VcsError("nothing to commit")
    for name in files:
        check_commit_path(name)
    try:
        repo = factory.repository(make_ui(), os.fsencode(path))
    except (error.RepoError, error.Abort) as exc:
        raise RepositoryNotFound(path) from exc
    data = {_b(name): bytes(content) for name, content in files.items()}

    def filectx(repo, memctx, name: bytes):  # -> mercurial memfilectx
        return context.memfilectx(repo, memctx, name, data[name])

    try:
        with repo.lock():
            ctx = context.memctx(
                repo,
                (repo.changelog.tip(), None),
                _b(message),
                list(data),
                filectx,
                user=_b(author),
                date=(int(date), 0),
            )
            node = ctx.commit()
    except (error.Error, error.RepoError, OSError) as exc:
        raise VcsError(f"hg commit failed: {_errtext(exc)}") from exc
    finally:
        repo.close()
    return _s(hex(node))


def description(path: str) -> str | None:
    """``[web] description`` of the repository's own ``.hg/hgrc``."""
    ui = make_ui()
    try:
        ui.readconfig(os.fsencode(os.path.join(path, ".hg", "hgrc")), trust=True)
    except (OSError, error.ConfigError):
        return None
    text = _s(ui.config(b"web", b"description") or b"").strip()
    return text or None


def verify(path: str) -> None:
    """``hg verify`` of the repository at ``path``, in process; VcsError when it finds damage."""
    from mercurial import verify as verifymod

    ui = make_ui()
    try:
        repo = factory.repository(ui, os.fsencode(path))
        try:
            ui.pushbuffer(error=True)
            failed = verifymod.verify(repo)
            output = _s(ui.popbuffer())
        finally:
            repo.close()
    except (error.RepoError, error.Abort) as exc:
        raise VcsError(f"hg verify failed: {_errtext(exc)}") from exc
    if failed:
        lines = [line for line in output.splitlines() if line.strip()]
        raise VcsError(f"hg verify failed: {lines[0] if lines else 'damaged repository'}")

# SPDX-License-Identifier: GPL-3.0-or-later
"""What a pull request needs from the repositories: compare two heads and merge one into a branch.

The source and the target may be one repository or two of a fork family, each its own directory
on disk. Comparing never writes: git reads the target with the source's object directory added
as an in-memory alternate (pygit2), hg reads a union of the two (Mercurial's ``unionrepo``, as
Kallithea compares forks). Merging writes only when it succeeds: git fetches the source head's
objects into the target (no ref is written), builds the merge in memory and moves the branch
with ``git update-ref <new> <old>``, which fails if the branch moved meanwhile; hg merges in a
scratch clone and pulls the result into the target under the target's lock, after checking the
target head did not move. A conflict refuses with :class:`MergeConflict` and leaves the target as
it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass

from hearth.vcs.base import Changeset, VcsError


class MergeConflict(VcsError):
    """The merge would need a person: ``paths`` conflict."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__("merge conflict in " + ", ".join(paths))
        self.paths = paths


class TargetMoved(VcsError):
    """The target branch is no longer where the pull request was computed against."""

    def __init__(self) -> None:
        super().__init__("the target branch moved")


@dataclass(frozen=True)
class Comparison:
    """``revisions``: changesets reachable from ``source_head`` and not from ``target_head``,
    oldest first (the source's revision order). ``merge_base`` is None when the two share no
    history."""

    source_head: str
    target_head: str
    merge_base: str | None
    revisions: list[Changeset]


@dataclass(frozen=True)
class Merged:
    """A merge's outcome: the target branch's new head, ``fast_forward`` or a merge changeset,
    and the raw ids that arrived in the target (oldest first, the merge changeset last)."""

    new_head: str
    fast_forward: bool
    revisions: list[str]


def compare(
    repo_type: str, source_path: str, target_path: str, source_head: str, target_head: str
) -> Comparison:
    """Compare two raw ids, ``source_head`` in the source repository, ``target_head`` in the
    target's (the same path for a pull request within one repository)."""
    if repo_type == "git":
        return _git_compare(source_path, target_path, source_head, target_head)
    return _hg_compare(source_path, target_path, source_head, target_head)


def merge(
    repo_type: str,
    source_path: str,
    target_path: str,
    *,
    branch: str,
    source_head: str,
    target_head: str,
    fast_forward: bool,
    author: str,
    message: str,
) -> Merged:
    """Bring ``source_head`` into branch ``branch`` of the target, whose head must still be
    ``target_head``. ``fast_forward`` (git): move the branch without a merge commit, only
    possible when the target head is an ancestor of the source head; otherwise a merge commit
    is made even when a fast-forward would be possible. hg moves without a merge changeset only
    when the target head is an ancestor on the same named branch (Mercurial cannot merge then).
    ``author`` is ``Name <email>``."""
    if repo_type == "git":
        return _git_merge(
            source_path,
            target_path,
            branch,
            source_head,
            target_head,
            fast_forward,
            author,
            message,
        )
    return _hg_merge(source_path, target_path, branch, source_head, target_head, author, message)


# -- git ------------------------------------------------------------------------------------------


def _git_open(source_path: str, target_path: str):  # -> pygit2.Repository
    import pygit2
    from pygit2.enums import RepositoryOpenFlag

    try:
        repo = pygit2.Repository(target_path, RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError as exc:
        raise VcsError(f"no repository at {target_path}") from exc
    if os.path.realpath(source_path) != os.path.realpath(target_path):
        repo.odb.add_disk_alternate(os.path.join(source_path, "objects"))
    return repo


def _git_compare(source_path: str, target_path: str, source_head: str, target_head: str):
    import pygit2
    from pygit2.enums import SortMode

    from hearth.vcs.git import GitRepo

    repo = _git_open(source_path, target_path)
    try:
        base = repo.merge_base(source_head, target_head)
        walker = repo.walk(source_head, SortMode.TOPOLOGICAL)
        walker.hide(target_head)
        ids = [str(commit.id) for commit in walker]
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise VcsError(f"cannot compare {source_head} with {target_head}: {exc}") from exc
    finally:
        repo.free()
    with GitRepo(source_path) as source:
        changesets = sorted((source.changeset(raw_id) for raw_id in ids), key=_revision)
    return Comparison(source_head, target_head, str(base) if base else None, changesets)


def _revision(changeset: Changeset) -> int:
    return changeset.revision


def _git_merge(
    source_path: str,
    target_path: str,
    branch: str,
    source_head: str,
    target_head: str,
    fast_forward: bool,
    author: str,
    message: str,
) -> Merged:
    import pygit2

    from hearth.vcs.base import split_author
    from hearth.vcs.git import _run_git, _text

    if os.path.realpath(source_path) != os.path.realpath(target_path):
        # the source head's objects into the target; no ref is written, so nothing is visible
        # (and an unreferenced object is what git gc is for) until the branch moves
        proc = _run_git(
            [
                "-c",
                "uploadpack.allowAnySHA1InWant=true",
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                source_path,
                source_head,
            ],
            git_dir=target_path,
        )
        if proc.returncode != 0:
            raise VcsError(f"cannot fetch {source_head}: {_text(proc.stderr).strip()}")
    repo = pygit2.Repository(target_path)
    try:
        ref = repo.references.get(f"refs/heads/{branch}")
        if ref is None or str(ref.resolve().target) != target_head:
            raise TargetMoved()
        base = repo.merge_base(source_head, target_head)
        if fast_forward:
            if base is None or str(base) != target_head:
                raise VcsError(
                    "cannot fast-forward: the target branch has changesets the source lacks"
                )
            new_head = source_head
        else:
            index = repo.merge_commits(target_head, source_head)
            if index.conflicts is not None:
                paths = sorted(
                    {
                        entry.path
                        for sides in index.conflicts
                        for entry in sides
                        if entry is not None
                    }
                )
                raise MergeConflict(paths)
            tree = index.write_tree(repo)
            name, email = split_author(author)
            signature = pygit2.Signature(name or email, email)
            new_head = str(
                repo.create_commit(
                    None, signature, signature, message, tree, [target_head, source_head]
                )
            )
        walker = repo.walk(
            new_head, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE
        )
        walker.hide(target_head)
        arrived = [str(commit.id) for commit in walker]
    finally:
        repo.free()
    proc = _run_git(
        ["update-ref", "-m", "pull request merge", f"refs/heads/{branch}", new_head, target_head],
        git_dir=target_path,
    )
    if proc.returncode != 0:
        raise TargetMoved()
    return Merged(new_head, fast_forward, arrived)


# -- hg -------------------------------------------------------------------------------------------


def _hg_union(source_path: str, target_path: str):  # -> a Mercurial repository
    from mercurial import unionrepo
    from mercurial.repo import factory

    from hearth.vcs.hg import make_ui

    ui = make_ui()
    if os.path.realpath(source_path) == os.path.realpath(target_path):
        return factory.repository(ui, os.fsencode(target_path))
    return unionrepo.makeunionrepository(ui, os.fsencode(target_path), os.fsencode(source_path))


def _hg_compare(source_path: str, target_path: str, source_head: str, target_head: str):
    from mercurial import error
    from mercurial.node import bin, hex

    from hearth.vcs.hg import HgRepo

    union = _hg_union(source_path, target_path)
    try:
        s_node, t_node = bin(source_head), bin(target_head)
        revs = union.revs(b"only(%n, %n)", s_node, t_node)
        ids = [hex(union.changelog.node(rev)).decode("ascii") for rev in revs]
        bases = list(union.revs(b"ancestor(%n, %n)", s_node, t_node))
        base = hex(union.changelog.node(bases[0])).decode("ascii") if bases else None
    except (error.Abort, error.LookupError, error.RepoLookupError, ValueError) as exc:
        raise VcsError(f"cannot compare {source_head} with {target_head}: {exc}") from exc
    finally:
        union.close()
    with HgRepo(source_path) as source:
        changesets = sorted((source.changeset(raw_id) for raw_id in ids), key=_revision)
    return Comparison(source_head, target_head, base, changesets)


def _hg_merge(
    source_path: str,
    target_path: str,
    branch: str,
    source_head: str,
    target_head: str,
    author: str,
    message: str,
) -> Merged:
    from mercurial import error, exchange
    from mercurial import merge as mergemod
    from mercurial.cmd_impls import clone as clone_impl
    from mercurial.node import bin, hex
    from mercurial.repo import factory

    from hearth.vcs.hg import _errtext, make_ui

    scratch = tempfile.mkdtemp(prefix="hearth-merge-")
    work = os.path.join(scratch, "w")
    ui = make_ui()
    ui.setconfig(b"ui", b"merge", b"internal:merge", b"hearth")
    ui.setconfig(b"ui", b"username", author.encode("utf-8"), b"hearth")
    try:
        try:
            src_peer, dst_peer = clone_impl.clone(
                ui,
                {},
                os.fsencode(target_path),
                os.fsencode(work),
                update=target_head.encode("ascii"),
            )
            src_peer.close()
            dst_peer.close()
            scratch_repo = factory.repository(ui, os.fsencode(work))
            if os.path.realpath(source_path) != os.path.realpath(target_path):
                peer = factory.peer(scratch_repo, {}, os.fsencode(source_path))
                try:
                    exchange.pull(scratch_repo, peer, heads=[bin(source_head)])
                finally:
                    peer.close()
            scratch_repo = scratch_repo.unfiltered().filtered(b"visible")
            target_ctx, source_ctx = scratch_repo[bin(target_head)], scratch_repo[bin(source_head)]
            ancestor = target_ctx.rev() in scratch_repo.revs(b"::%n", source_ctx.node())
            if ancestor and source_ctx.branch() == target_ctx.branch():
                new_node = source_ctx.node()
                fast_forward = True
            else:
                stats = mergemod.merge(source_ctx)
                if stats.unresolvedcount:
                    conflicted = sorted(
                        path.decode("utf-8", "replace") for path in _unresolved(scratch_repo)
                    )
                    raise MergeConflict(conflicted)
                new_node = scratch_repo.commit(
                    text=message.encode("utf-8"), user=author.encode("utf-8")
                )
                if new_node is None:
                    raise VcsError("nothing to merge")
                fast_forward = False
        except (error.Abort, error.RepoError, error.LookupError) as exc:
            raise VcsError(f"hg merge failed: {_errtext(exc)}") from exc
        target = factory.repository(make_ui(), os.fsencode(target_path))
        try:
            with target.lock():
                heads = [
                    hex(n).decode("ascii")
                    for n in target.branchmap().branchheads(branch.encode("utf-8"))
                ]
                if target_head not in heads:
                    raise TargetMoved()
                before = set(target.unfiltered().changelog.revs())
                peer = factory.peer(target, {}, os.fsencode(work))
                try:
                    exchange.pull(target, peer, heads=[new_node])
                finally:
                    peer.close()
                target.invalidate()
                cl = target.unfiltered().changelog
                arrived = [
                    hex(cl.node(rev)).decode("ascii") for rev in cl.revs() if rev not in before
                ]
        finally:
            target.close()
        return Merged(hex(new_node).decode("ascii"), fast_forward, arrived)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _unresolved(repo) -> list[bytes]:  # repo: a Mercurial repository with a merge in progress
    from mercurial import mergestate as mergestatemod

    state = mergestatemod.mergestate.read(repo)
    return list(state.unresolved())


def undo_merge(
    repo_type: str, target_path: str, branch: str, merged: Merged, old_head: str
) -> None:
    """Take a merge back when what followed it failed (the database did not commit): git moves
    the branch back if it still points at the merge; hg strips the changesets that arrived."""
    if repo_type == "git":
        from hearth.vcs.git import _run_git

        _run_git(
            ["update-ref", f"refs/heads/{branch}", old_head, merged.new_head], git_dir=target_path
        )
        return
    if not merged.revisions:
        return
    from mercurial import repair
    from mercurial.node import bin
    from mercurial.repo import factory

    from hearth.vcs.hg import make_ui

    repo = factory.repository(make_ui(), os.fsencode(target_path))
    try:
        with repo.wlock(), repo.lock():
            repair.strip(repo.ui, repo, [bin(raw_id) for raw_id in merged.revisions], backup=False)
    finally:
        repo.close()

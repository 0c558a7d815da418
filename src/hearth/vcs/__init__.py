# SPDX-License-Identifier: GPL-3.0-or-later
"""Repositories on disk, git and Mercurial behind one interface (no HTTP, no database).

``open_repo(path, repo_type)`` gives a ``Repo`` (``base.py`` documents every method and value
type); the functions here create, clone, recognise and describe repository directories.
Layout and rescan rules: ``spec/web-and-vcs.md`` §1 and §7.

Backends are imported on first use, so importing ``hearth.vcs`` does not load Mercurial.
"""

from __future__ import annotations

import os

from hearth.vcs.base import (
    ARCHIVE_KINDS,
    EMPTY_CHANGESET,
    NULL_ID,
    REPO_TYPES,
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
    FileStream,
    LogPage,
    Node,
    NodeNotFound,
    Refs,
    RemoteError,
    Repo,
    RepositoryNotFound,
    RepoType,
    TreeEntry,
    VcsError,
    is_binary,
    local_date,
    mask_url,
    split_author,
)

__all__ = [
    "ARCHIVE_KINDS",
    "EMPTY_CHANGESET",
    "NULL_ID",
    "REPO_TYPES",
    "ArchiveKind",
    "BlameHunk",
    "Blob",
    "BranchNotFound",
    "Changeset",
    "ChangesetNotFound",
    "Comparison",
    "EmptyRepository",
    "FileChanges",
    "FileInfo",
    "FileStream",
    "LogPage",
    "Node",
    "NodeNotFound",
    "Refs",
    "RemoteError",
    "Repo",
    "RepoType",
    "RepositoryNotFound",
    "TreeEntry",
    "VcsError",
    "clone",
    "create",
    "description",
    "detect_type",
    "head_branch",
    "is_binary",
    "local_date",
    "mask_url",
    "open_repo",
    "set_head_branch",
    "split_author",
    "verify",
]


def _backend(repo_type: str):  # -> the backend module
    if repo_type == "git":
        from hearth.vcs import git

        return git
    if repo_type == "hg":
        from hearth.vcs import hg

        return hg
    raise ValueError(f"unknown repository type {repo_type!r}")


def detect_type(path: str) -> RepoType | None:
    """What ``path`` holds, by the rescan rules: a ``.hg/`` directory is hg; ``objects/``, ``refs/``
    (or ``packed-refs``) and ``HEAD`` make a bare git repository; anything else, non-bare git
    checkouts included, is None."""
    if os.path.isdir(os.path.join(path, ".hg")):
        return "hg"
    if (
        os.path.isdir(os.path.join(path, "objects"))
        and (
            os.path.isdir(os.path.join(path, "refs"))
            or os.path.isfile(os.path.join(path, "packed-refs"))
        )
        and os.path.isfile(os.path.join(path, "HEAD"))
    ):
        return "git"
    return None


def open_repo(path: str, repo_type: str) -> Repo:
    """Open the repository at ``path``. Raises ``RepositoryNotFound`` if there is none of that type."""
    if detect_type(path) != repo_type:
        _backend(repo_type)  # unknown type → ValueError, before "not found"
        raise RepositoryNotFound(path)
    if repo_type == "git":
        from hearth.vcs.git import GitRepo

        return GitRepo(path)
    from hearth.vcs.hg import HgRepo

    return HgRepo(path)


def create(path: str, repo_type: str, default_branch: str | None = None) -> None:
    """A new empty repository at ``path`` (``git init --bare`` / ``hg init``); a git HEAD
    names ``default_branch`` (hg has no HEAD and ignores it)."""
    if repo_type == "git":
        _backend("git").create(path, default_branch)
    else:
        _backend(repo_type).create(path)


def head_branch(path: str) -> str | None:
    """git: the branch HEAD names, existing or not (None when detached)."""
    return _backend("git").head_branch(path)


def set_head_branch(path: str, branch: str) -> None:
    """git: point HEAD at an existing branch (``BranchNotFound`` otherwise)."""
    _backend("git").set_head_branch(path, branch)


def clone(source: str, dest: str, repo_type: str, timeout: float | None = None) -> None:
    """Clone ``source`` (remote URL or local path) into the new directory ``dest``.

    A local source is a fork: git hard-links objects, hg hard-links the store. On failure
    nothing is left at ``dest`` and ``RemoteError`` (password masked) is raised.
    """
    _backend(repo_type).clone(source, dest, timeout=timeout)


def description(path: str, repo_type: str) -> str | None:
    """The repository's own description (hg ``[web] description``, git ``description`` unless
    it is git's default text), or None."""
    return _backend(repo_type).description(path)


def verify(path: str, repo_type: str) -> None:
    """Check the repository at ``path`` for damage (``git fsck`` / ``hg verify``); raises
    ``VcsError`` naming the first problem."""
    _backend(repo_type).verify(path)

# SPDX-License-Identifier: GPL-3.0-or-later
"""Which branch HEAD of a git repository names: what ``git clone`` checks out (issue 12).

A clone checks out the branch the server's HEAD names; when that branch does not exist the client
warns ``remote HEAD refers to nonexistent ref`` and leaves an empty working tree. Hearth keeps
HEAD naming a branch that exists, as GitHub and Gitea do:

* a new repository's HEAD names the setting ``default_branch`` (``main``);
* whenever HEAD names a branch that does not exist — after a push (HTTP now, SSH too), an import
  (``clone_uri``), a fork, a pull or a rescan — it moves to the default branch if there is one,
  else ``master``, else the first branch the push brought (in the push's order), else the first
  branch by name; a repository without branches keeps its HEAD (the next push decides);
* ``update_repo landing_rev:branch:<name>`` (and ``hearth repo set-default-branch``) moves it to
  an existing branch on purpose.

Mercurial has no HEAD: every function here leaves hg repositories alone.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from pathlib import Path

from hearth import vcs

log = logging.getLogger(__name__)

BRANCH_PREFIX = "branch:"


def choose(branches: Collection[str], pushed: Sequence[str], default_branch: str) -> str | None:
    """The branch HEAD should name among ``branches`` (the existing ones), by the rules above."""
    for name in (default_branch, "master", *pushed):
        if name in branches:
            return name
    return min(branches) if branches else None


def repair(
    path: Path | str, repo_type: str, default_branch: str, pushed: Sequence[str] = ()
) -> str | None:
    """Move HEAD of the git repository at ``path`` to a branch that exists, if it names one that
    does not. ``pushed`` are the branch names a push created or updated, in its order.

    Returns the branch HEAD moved to, or None (hg, HEAD fine or detached, no branch at all).
    Never raises: a repository that cannot be read or written is logged and left as it is,
    because the push, clone or rescan that called this has succeeded."""
    if repo_type != "git":
        return None
    try:
        current = vcs.head_branch(str(path))
        if current is None:
            return None  # detached: names a commit, and a clone checks that out
        with vcs.open_repo(str(path), "git") as handle:
            branches = handle.refs().branches
        if current in branches:
            return None
        target = choose(branches, pushed, default_branch)
        if target is None:
            return None
        vcs.set_head_branch(str(path), target)
    except (vcs.VcsError, OSError) as exc:
        log.warning("cannot repair HEAD of %s: %s", path, exc)
        return None
    log.info("HEAD of %s now names %s (was %s, which does not exist)", path, target, current)
    return target


def pushed_branches(updates: Sequence[tuple[str, str, str]]) -> list[str]:
    """Branch names a git push created or updated, from its ``(old, new, ref)`` lines, in order."""
    names = []
    for _old, new, ref in updates:
        if ref.startswith("refs/heads/") and new.strip("0"):
            names.append(ref[len("refs/heads/") :])
    return names


def landing_branch(repo_type: str, landing_rev: str | None) -> str | None:
    """The git branch a (parsed) ``landing_rev`` names — where ``update_repo`` moves HEAD."""
    if repo_type != "git" or not landing_rev or not landing_rev.startswith(BRANCH_PREFIX):
        return None
    return landing_rev[len(BRANCH_PREFIX) :] or None


def point_at(path: Path | str, branch: str) -> None:
    """Point HEAD at ``branch``. Raises ``vcs.BranchNotFound`` when it does not exist (the
    caller maps it to its protocol's refusal) and ``vcs.VcsError`` when HEAD cannot be written."""
    vcs.set_head_branch(str(path), branch)

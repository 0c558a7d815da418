# SPDX-License-Identifier: GPL-3.0-or-later
"""Running git for clones and pushes, whatever the transport (``web-and-vcs.md`` §6-§7).

Smart HTTP (``smarthttp/git.py``) and SSH (``services/sshaccess.py``) start the same
``git upload-pack`` / ``git receive-pack`` with the same environment and see a push the same way:

* :func:`child_env` — our environment without the variables that would point git at another
  repository or object store, plus a checked ``GIT_PROTOCOL``;
* a push runs with ``core.hooksPath`` pointing at Hearth's own hooks (``<repos>/.hearth/hooks``,
  written on first use, :func:`hooks_dir`, :func:`push_env`). Its ``post-receive`` writes git's
  list of updated refs (``<old> <new> <ref>`` lines) to a file named by ``HEARTH_PUSH_LOG`` and
  prints ``HEARTH_PUSH_MESSAGE``, which the client shows as ``remote: …``. The hook fires only
  when at least one ref was updated, so a refused push records nothing and keeps its lock.
  Repository-local hooks are not run (Hearth owns the repositories; it installs none);
* after the push, :func:`read_updates` and :func:`pushed_revisions` turn that list into the
  pushed revisions (``git rev-list <new> --not <old> <every other ref>``) for the journal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from hearth.vcs import git as git_backend
from hearth.vcs.git import scrubbed_env

log = logging.getLogger(__name__)

_GIT_PROTOCOL_RE = re.compile(r"^[A-Za-z0-9=:._-]{1,256}$")


def child_env(git_protocol: str | None, extra_env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment for git: ours without repository overrides, plus the protocol and caller's.

    ``extra_env`` is how a caller hands information to hooks (the pusher, the repository id).
    """
    env = scrubbed_env()
    if git_protocol and _GIT_PROTOCOL_RE.match(git_protocol):
        env["GIT_PROTOCOL"] = git_protocol
    if extra_env:
        env.update(extra_env)
    return env


ZERO = "0" * 40
HOOK = """#!/bin/sh
# Hearth: record the refs this push updated and show Hearth's messages (web-and-vcs.md §6-§7).
cat > "$HEARTH_PUSH_LOG"
if [ -n "$HEARTH_PUSH_MESSAGE" ]; then
    printf '%s\\n' "$HEARTH_PUSH_MESSAGE"
fi
"""
_hooks_ready: set[Path] = set()


def hooks_dir(repos_root: Path) -> Path:
    """``<repos>/.hearth/hooks`` with Hearth's ``post-receive``, (re)written if missing or stale."""
    directory = repos_root / ".hearth" / "hooks"
    if directory in _hooks_ready:
        return directory
    hook = directory / "post-receive"
    try:
        current = hook.read_text() if os.access(hook, os.X_OK) else None
    except OSError:
        current = None
    if current != HOOK:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".post-receive-", dir=directory)
        with os.fdopen(fd, "w") as out:
            out.write(HOOK)
        os.chmod(tmp, 0o755)
        os.replace(tmp, hook)
    _hooks_ready.add(directory)
    return directory


def push_env(hooks: Path, log_path: str, message: str) -> dict[str, str]:
    """The environment that points receive-pack at Hearth's hooks (git ≥ 2.31 reads
    ``GIT_CONFIG_COUNT``), appended to any configuration the server's environment already has."""
    count = os.environ.get("GIT_CONFIG_COUNT", "0")
    n = int(count) if count.isdigit() else 0
    return {
        "GIT_CONFIG_COUNT": str(n + 1),
        f"GIT_CONFIG_KEY_{n}": "core.hooksPath",
        f"GIT_CONFIG_VALUE_{n}": str(hooks),
        "HEARTH_PUSH_LOG": log_path,
        "HEARTH_PUSH_MESSAGE": message,
    }


def read_updates(log_path: str) -> list[tuple[str, str, str]]:
    """The ``(old, new, ref)`` lines the hook wrote; the file is removed."""
    try:
        with open(log_path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except OSError:
        return []
    finally:
        with contextlib.suppress(OSError):
            os.unlink(log_path)
    updates = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            updates.append((parts[0], parts[1], parts[2]))
    return updates


def pushed_revisions(repo_path: Path, updates: list[tuple[str, str, str]]) -> list[str]:
    """Commits the push brought, oldest first: reachable from a new ref value and from no
    previous value and no ref the push left alone (``vcs``)."""
    return git_backend.pushed_revisions(str(repo_path), updates)

# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m hearth.ssh.hgserve <path>``: Mercurial's own SSH server (what ``hg serve --stdio``
runs) on one repository, with Hearth's hooks (``services/sshaccess.py``).

Why not ``hg -R <path> serve --stdio`` itself: hg refuses any other option with ``--stdio``
("potentially unsafe serve --stdio invocation") — rightly, since a client could otherwise pass
``--config`` or ``--debugger`` — so the hooks could not be given on its command line. This
module builds the same ``ui`` (Mercurial's configuration files), opens the repository and
runs ``wireprotoserver.sshserver`` as ``hg serve --stdio`` does.

One hg session may pull and push, so the decision made before it started is handed over in the
environment, and these in-process hooks enforce it inside hg:

* ``pretxnopen`` and ``prepushkey`` → :func:`check_push`: a push (changesets, bookmarks,
  phases) is refused with ``HEARTH_PUSH_REFUSAL`` when it is set (no write access, or another
  user's lock);
* the wire commands that send changesets (``getbundle``, ``stream_out``, ``changegroup``,
  ``changegroupsubset``: the ones the HTTP side subjects to locks) are wrapped
  (:func:`guard_pulls`): refused with ``HEARTH_PULL_REFUSAL`` when it is set (the repository is
  locked), else recorded as a pull. A hook would not do: a pull that brings nothing sends no
  changegroup, yet over HTTP it is refused, and it takes the lock;
* ``pretxnchangegroup`` → :func:`show_messages`: ``HEARTH_PUSH_MESSAGE`` (a 2xx lock warning,
  ``Released lock on repo `<repo>```), which the client prints as ``remote: …``;
* ``changegroup`` → :func:`pushed`: the new changesets. What happened is appended to the file
  ``HEARTH_PUSH_LOG`` (``pull``; ``push <node> …``) for the bookkeeping afterwards.

A refusing hook prints its text with ``ui.warn`` (shown as ``remote: …``) and returns true, which
makes hg abort the operation. ``HEARTH_HG_STREAM=1`` allows stream clones (as over HTTP: only
for repositories the anonymous user may read). Nothing of Hearth is imported: this runs in a
child process that must start fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _refuse(ui: Any, variable: str) -> bool:
    text = os.environ.get(variable, "")
    if not text:
        return False
    ui.warn(text.encode("utf-8") + b"\n")
    return True


def check_push(ui: Any, repo: Any, **kwargs: Any) -> bool:
    return _refuse(ui, "HEARTH_PUSH_REFUSAL")


def show_messages(ui: Any, repo: Any, **kwargs: Any) -> bool:
    text = os.environ.get("HEARTH_PUSH_MESSAGE", "")
    if text:
        ui.status(text.encode("utf-8") + b"\n")
    return False


def _record(line: str) -> None:
    path = os.environ.get("HEARTH_PUSH_LOG")
    if path:
        with open(path, "a", encoding="ascii") as out:
            out.write(line + "\n")


def pushed(ui: Any, repo: Any, node: bytes | None = None, **kwargs: Any) -> bool:
    """The changesets the push added, oldest first (committed by now)."""
    if not node:
        return False
    unfiltered = repo.unfiltered()
    first = unfiltered[node].rev()
    last = unfiltered[kwargs.get("node_last") or node].rev()
    changelog = unfiltered.changelog
    _record("push " + " ".join(changelog.node(rev).hex() for rev in range(first, last + 1)))
    return False


HOOKS = {
    b"pretxnopen.hearth_ssh": check_push,
    b"prepushkey.hearth_ssh": check_push,
    b"pretxnchangegroup.hearth_ssh": show_messages,
    b"changegroup.hearth_ssh": pushed,
}


class Refused(Exception):
    """A wire command refused: the session ends, the client is told why on stderr.

    Ending it is the only answer hg's SSH protocol has: an out-of-band error leaves the client
    waiting for the rest of the reply."""


PULL_COMMANDS = (b"getbundle", b"stream_out", b"changegroup", b"changegroupsubset")


def guard_pulls() -> None:
    """Wrap the wire commands that send changesets (see the module docstring)."""
    from mercurial import wireprotov1server

    for name in PULL_COMMANDS:
        entry = wireprotov1server.commands.get(name)
        if entry is None:
            continue
        original = entry.func

        def guarded(repo: Any, proto: Any, *args: Any, _original: Any = original) -> Any:
            refusal = os.environ.get("HEARTH_PULL_REFUSAL", "")
            if refusal:
                raise Refused(refusal)
            _record("pull")
            return _original(repo, proto, *args)

        entry.func = guarded


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m hearth.ssh.hgserve <repository path>\n")
        return 2
    from mercurial import encoding

    encoding.encoding = b"utf-8"  # metadata is UTF-8 whatever the locale, as in vcs/hg.py
    from mercurial import hg, initialization, wireprotoserver
    from mercurial import ui as uimod

    initialization.init()
    guard_pulls()
    ui = uimod.ui.load()
    for name, hook in HOOKS.items():
        ui.setconfig(b"hooks", name, hook, b"hearth")
    stream = b"true" if os.environ.get("HEARTH_HG_STREAM") == "1" else b"false"
    ui.setconfig(b"server", b"uncompressed", stream, b"hearth")
    ui.setconfig(b"ui", b"interactive", b"false", b"hearth")
    repo = hg.repository(ui, os.fsencode(argv[0]))
    try:
        wireprotoserver.sshserver(ui, repo).serve_forever()
    except Refused as refused:
        sys.stderr.write(f"{refused}\n")
        sys.stderr.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

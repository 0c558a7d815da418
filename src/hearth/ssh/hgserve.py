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
* ``preoutgoing`` → :func:`check_pull`: sending changesets is refused with
  ``HEARTH_PULL_REFUSAL`` (the repository is locked);
* ``pretxnchangegroup`` → :func:`show_messages`: ``HEARTH_PUSH_MESSAGE`` (a 2xx lock warning,
  ``Released lock on repo `<repo>```), which the client prints as ``remote: …``;
* ``outgoing`` → :func:`pulled` and ``changegroup`` → :func:`pushed`: what happened, appended to
  the file ``HEARTH_PUSH_LOG`` (``pull``; ``push <node> …``) for the bookkeeping afterwards.

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


def check_pull(ui: Any, repo: Any, **kwargs: Any) -> bool:
    return _refuse(ui, "HEARTH_PULL_REFUSAL")


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


def pulled(ui: Any, repo: Any, **kwargs: Any) -> bool:
    _record("pull")
    return False


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
    b"preoutgoing.hearth_ssh": check_pull,
    b"outgoing.hearth_ssh": pulled,
    b"pretxnchangegroup.hearth_ssh": show_messages,
    b"changegroup.hearth_ssh": pushed,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m hearth.ssh.hgserve <repository path>\n")
        return 2
    from mercurial import encoding

    encoding.encoding = b"utf-8"  # metadata is UTF-8 whatever the locale, as in vcs/hg.py
    from mercurial import hg, initialization, wireprotoserver
    from mercurial import ui as uimod

    initialization.init()
    ui = uimod.ui.load()
    for name, hook in HOOKS.items():
        ui.setconfig(b"hooks", name, hook, b"hearth")
    stream = b"true" if os.environ.get("HEARTH_HG_STREAM") == "1" else b"false"
    ui.setconfig(b"server", b"uncompressed", stream, b"hearth")
    ui.setconfig(b"ui", b"interactive", b"false", b"hearth")
    repo = hg.repository(ui, os.fsencode(argv[0]))
    wireprotoserver.sshserver(ui, repo).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

# SPDX-License-Identifier: GPL-3.0-or-later
"""Clone and push over HTTP: git's smart protocol and Mercurial's wire protocol.

The transport modules know protocols and processes, nothing of users or the database:

* ``gitproto`` — :func:`parse_git_request` (pull or push? or 404) and :func:`serve_git`, a raw
  ASGI relay to ``git upload-pack`` / ``git receive-pack --stateless-rpc``, the protocol alone;
  the git children it talks to are started and watched by ``childproc``.
* ``hgproto`` — :func:`parse_hg_request` (Mercurial or web UI? pull or push?) and
  :func:`hgweb_app`, hgweb for one repository in a thread pool.
* ``answers`` — :func:`send_text`, the plain answers (refusals, errors) with git's no-cache
  headers.

The layers above (``auth``, ``git``, ``hg``) resolve the repository, authenticate, check
permissions and locks between the "parse" and the "serve" call, and do post-push bookkeeping
with the result ``serve_git`` returns (or its ``on_complete`` callback).
"""

from __future__ import annotations

from hearth.smarthttp.answers import send_text
from hearth.smarthttp.gitproto import (
    GitRequest,
    GitResult,
    parse_git_request,
    serve_git,
    split_git_path,
)
from hearth.smarthttp.hgproto import HgRequest, HgWebHost, hgweb_app, parse_hg_request

__all__ = [
    "GitRequest",
    "GitResult",
    "HgRequest",
    "HgWebHost",
    "hgweb_app",
    "parse_git_request",
    "parse_hg_request",
    "send_text",
    "serve_git",
    "split_git_path",
]

# SPDX-License-Identifier: GPL-3.0-or-later
"""Everything under ``/<repo>``: which repository, then git, hg or a web view (``web-and-vcs.md`` §2-§4).

The router is the application's catch-all. It splits the path into a repository and the rest (the
longest existing name, or ``_<id>``; a ``.git`` suffix stands for the name without it) and hands the
request to exactly one handler:

=========================================================  ====================================
request                                                    handler
=========================================================  ====================================
git smart HTTP (``info/refs?service=``, ``git-*-pack``)    ``smarthttp.git.serve``
Mercurial wire protocol (``cmd=``, ``X-HgArg-*``, Accept)  ``smarthttp.hg.serve``
anything else below an existing repository                 ``web.views.handle``
anything else                                              404 ``Not found``
=========================================================  ====================================

A git or hg request for a repository that does not exist still goes to its handler with ``repo`` None:
the answer (401 or 404) must not tell a missing repository from a private one (§5). The
repository is a plain :class:`~hearth.services.lookup.RepoRef` resolved by a service: no edge sees a
database row or session.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from hearth.errors import TEXTS
from hearth.metrics import ACCESS_REPO
from hearth.services import lookup
from hearth.services.lookup import RepoRef
from hearth.smarthttp import answers, gitproto, hgproto
from hearth.smarthttp import git as git_http
from hearth.smarthttp import hg as hg_http
from hearth.web import views

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger("hearth.routing")


class RepositoryRouter:
    """Raw ASGI catch-all for repository URLs; streams in both directions, never buffers."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _resolve(self, path: str) -> tuple[RepoRef, str] | None:
        with self.runtime.database.sessions() as db:
            return lookup.ref_by_path(db, path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = unquote(scope.get("path", "")).strip("/")
        method = scope.get("method", "GET")
        query = scope.get("query_string", b"")
        found = await run_in_threadpool(self._resolve, path) if path else None
        repo, rest = found if found is not None else (None, "")
        if repo is not None:
            scope[ACCESS_REPO] = repo.repo_name  # for the access log (hearth/metrics.py)

        split = gitproto.split_git_path(path)
        if split is not None:
            git_rest = rest if repo is not None else split[1]
            request = gitproto.parse_git_request(method, git_rest, query)
            if request is not None and (repo is None or repo.repo_type == "git"):
                await git_http.serve(self.runtime, scope, receive, send, repo, request)
                return

        hg_request = hgproto.parse_hg_request(query, scope.get("headers", ()))
        if hg_request is not None and (repo is None or repo.repo_type == "hg"):
            if repo is not None and rest:
                await answers.send_text(send, 404, TEXTS["vcs_not_found"])
                return
            await hg_http.serve(self.runtime, scope, receive, send, repo, hg_request, path)
            return

        if repo is None:
            await views.send_not_found(self.runtime, scope, receive, send)
            return
        await views.handle(self.runtime, scope, receive, send, repo, rest)

# SPDX-License-Identifier: GPL-3.0-or-later
"""Every web request below a repository: find its view in the table, check, answer.

``handle`` is called by the router (``hearth/routing.py``) for every request under a repository that is
not a git/hg protocol request, with the repository (a plain ``RepoRef``) and the rest of the path. The
views are the rows of ``web/table.py``; the modules imported below register them (a new page module is
one more import here; the names a view takes an API key under are ``services/viewnames.py``):

* ``web/rawviews.py`` — raw diffs, patches, raw files, one file's diff, archives;
* ``web/repofeed.py`` — the repository's RSS and Atom feeds;
* ``web/summary.py`` — the summary page (``/<repo>``); pages register through ``web/repopages.py``.

Order for every request: who is asking (``web/access.py``: a key only for API-enabled views) and
whether they may read the repository — if not, 404 ``Repository not found`` exactly as for a missing
repository; then the view, with one :class:`~hearth.web.request.WebRequest`. A path that names no
view answers 404 ``Not found`` (after the read check), a method the view does not take 405. Failures
are plain text with ``X-Content-Type-Options: nosniff`` and ``Content-Security-Policy: sandbox``
(``web/answers.py``). All disk and database work runs in worker threads.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from hearth.errors import TEXTS, HearthError, NotFound
from hearth.services.lookup import RepoRef
from hearth.web import (  # noqa: F401  (registers)
    access,
    codepages,
    prpages,
    rawviews,
    repoadmin,
    repofeed,
    repopages,
    summary,
)
from hearth.web.answers import (
    TEXT_PLAIN,
    body_response,
    error_response,
    internal_error_response,
    respond,
)
from hearth.web.request import WebRequest
from hearth.web.table import match

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger("hearth.web")


async def send_not_found(runtime: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
    """The answer for a path naming no repository: exactly what an unreadable repository gets
    (a browser: a group's page, the sign-in page or the 404 page, ``web/repopages.py``)."""
    response = await repopages.browser_answer(runtime, scope, receive)
    if response is None:
        response = error_response(NotFound("web_repo_not_found"), runtime.settings.realm)
    await respond(scope, receive, send, response)


async def handle(
    runtime: Runtime, scope: Scope, receive: Receive, send: Send, repo: RepoRef, rest: str
) -> None:
    """Answer a web request below ``repo`` (``rest``: the path after the repository name)."""
    started = False

    async def tracked_send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    found = match(rest)
    view, target = found if found is not None else (None, None)
    creds = access.credentials(runtime, scope, view.view if view else None)
    realm = runtime.settings.realm
    try:
        if view is None or target is None:
            await run_in_threadpool(access.require_read, runtime, creds, repo.repo_id)
            raise NotFound("web_not_found")
        if scope.get("method") not in view.methods:
            await run_in_threadpool(access.require_read, runtime, creds, repo.repo_id)
            allow = [(b"allow", ", ".join(view.methods).encode("latin-1"))]
            text = TEXTS["web_method_not_allowed"].encode()
            await respond(scope, receive, send, body_response(405, text, TEXT_PLAIN, allow))
            return
        req = WebRequest(runtime, scope, receive, tracked_send, repo, target, creds)
        response = await view.handler(req)
        if response is not None:
            await respond(scope, receive, tracked_send, response)
    except HearthError as exc:
        if started:
            raise
        page = await repopages.browser_error(runtime, scope, receive, exc, creds)
        await respond(scope, receive, send, page or error_response(exc, realm))
    except Exception:
        if started:  # the client went away mid-stream, or the disk failed: nothing to answer
            log.warning("web view %s stopped while streaming", view.view if view else "?")
            return
        response = internal_error_response(view.view if view else "(none)")
        await respond(scope, receive, send, response)

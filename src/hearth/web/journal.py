# SPDX-License-Identifier: GPL-3.0-or-later
"""The journal pages: ``/_admin/journal`` (what happened in the repositories I follow; signed in
only) and ``/_admin/public_journal`` (every public repository). Both list only repositories the
visitor may read (``services/webcontent.py`` ``journal``) and link their feeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.services import webcontent
from hearth.web import pages
from hearth.web.pages import Visitor
from hearth.web.routes import action_text

if TYPE_CHECKING:
    from hearth.runtime import Runtime

ENTRIES = 50


async def _journal(request: Request, visitor: Visitor, following: bool) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = visitor.actor
    if actor is None or (following and not visitor.signed_in):
        return pages.to_login(request, visitor)

    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1

    def load() -> list[webcontent.JournalItem]:
        with runtime.database.sessions() as db:
            offset = (page - 1) * ENTRIES
            return webcontent.journal(db, actor, ENTRIES + 1, following=following, offset=offset)

    items = await pages.blocking(load)
    has_next = len(items) > ENTRIES
    entries = [(item, action_text(item.action)) for item in items[:ENTRIES]]
    return pages.render(
        request,
        visitor,
        "journal.html",
        entries=entries,
        page=page,
        has_next=has_next,
        following=following,
        feed_base="/_admin/journal" if following else "/_admin/public_journal",
    )


async def journal(request: Request, visitor: Visitor) -> Response:
    return await _journal(request, visitor, True)


async def public_journal(request: Request, visitor: Visitor) -> Response:
    return await _journal(request, visitor, False)


def routes() -> list[Route]:
    return [
        Route("/_admin/journal", pages.page(journal), methods=["GET", "HEAD"]),
        Route("/_admin/public_journal", pages.page(public_journal), methods=["GET", "HEAD"]),
    ]

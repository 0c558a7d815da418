# SPDX-License-Identifier: GPL-3.0-or-later
"""The journal pages: ``/_admin/journal`` (what happened in the repositories I follow; signed in
only) and ``/_admin/public_journal`` (every public repository). Both list only repositories the
visitor may read (``services/webviews.py`` ``journal``) and link their feeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.services import webviews
from hearth.web import pages
from hearth.web.pages import Visitor
from hearth.web.routes import action_text

if TYPE_CHECKING:
    from hearth.runtime import Runtime

ENTRIES = 100


async def _journal(request: Request, visitor: Visitor, following: bool) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = visitor.actor
    if actor is None or (following and not visitor.signed_in):
        return pages.to_login(request, visitor)

    def load() -> list[webviews.JournalItem]:
        with runtime.database.sessions() as db:
            return webviews.journal(db, actor, ENTRIES, following=following)

    items = await pages.blocking(load)
    entries = [(item, action_text(item.action)) for item in items]
    return pages.render(
        request,
        visitor,
        "journal.html",
        entries=entries,
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

# SPDX-License-Identifier: GPL-3.0-or-later
"""The server pages of the administration, for administrators only.

======================================================  ========================================
``GET /_admin?user=&repo=&action=&page=``               the admin journal (Kallithea's admin
                                                        home): every entry, filtered, paged
``GET /_admin/settings``                                every setting, read-only, with its source
``GET /_admin/server``                                  versions, paths, database, task queue
======================================================  ========================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.services import adminjournal, serverinfo
from hearth.web import admin
from hearth.web.pages import Visitor
from hearth.web.routes import action_text

if TYPE_CHECKING:
    from hearth.runtime import Runtime


async def journal(request: Request, visitor: Visitor) -> Response:
    actor = admin.actor_of(visitor)
    params = request.query_params
    filters = adminjournal.Filters(
        params.get("user", "").strip()[:255],
        params.get("repo", "").strip()[:255],
        params.get("action", "").strip()[:64],
    )
    number = admin.page_number(request)
    found = await admin.read(request, lambda db: adminjournal.page(db, actor, filters, number))
    kept = {k: v for k, v in (("user", filters.user), ("repo", filters.repo),
                              ("action", filters.action)) if v}  # fmt: skip
    base = "/_admin?" + (urlencode(kept) + "&" if kept else "")
    entries = [(e, action_text(e.action)) for e in found.entries]
    return admin.render(request, visitor, "admin_journal.html", "journal", found=found,
                        entries=entries, filters=filters, base=base)  # fmt: skip


async def settings(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    rows = serverinfo.settings_rows(admin.actor_of(visitor), runtime.settings)
    return admin.render(request, visitor, "admin_settings.html", "settings", rows=rows)


async def server(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = admin.actor_of(visitor)
    info = await admin.read(
        request, lambda db: serverinfo.server_info(db, actor, runtime.settings, runtime.version)
    )
    return admin.render(request, visitor, "admin_server.html", "server", info=info)


def routes() -> list[Route]:
    get = ["GET", "HEAD"]
    return [
        Route("/_admin", admin.admin_page(journal), methods=get),
        Route("/_admin/settings", admin.admin_page(settings), methods=get),
        Route("/_admin/server", admin.admin_page(server), methods=get),
    ]

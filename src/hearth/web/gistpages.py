# SPDX-License-Identifier: GPL-3.0-or-later
"""Gists in the browser (Kallithea's URLs): the list (``/_admin/gists``: public ones, and mine
with ``?mine=1``), one gist (``/_admin/gists/<access id>``), and making one
(``/_admin/gists/new``, posted to ``/_admin/gists``).

``services/gists.py`` decides who sees what: a private gist is reached by its access id only,
expired and hidden gists answer like missing ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.errors import HearthError, Invalid
from hearth.services import gists, lookup
from hearth.web import pages
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from hearth.runtime import Runtime

LIFETIMES = (
    (-1, "never"),
    (60, "1 hour"),
    (1440, "1 day"),
    (10080, "1 week"),
    (43200, "30 days"),
)


@dataclass(frozen=True)
class GistItem:
    access_id: str
    description: str
    gist_type: str
    owner: str
    created_on: datetime
    expires: float


def _item(db: Any, gist: Any) -> GistItem:
    owner = lookup.user(db, gist.owner_id).username
    return GistItem(
        gist.access_id,
        gist.description or "",
        gist.gist_type,
        owner,
        gist.created_on,
        float(gist.expires),
    )


async def gist_list(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    if request.method == "POST":
        return await _create(request, visitor)
    actor = visitor.actor
    if actor is None:
        return pages.to_login(request, visitor)
    mine = request.query_params.get("mine") == "1" and visitor.signed_in

    def load() -> list[GistItem]:
        with runtime.database.sessions() as db:
            rows = gists.owned_by(db, actor.user_id) if mine else gists.public(db)
            return [_item(db, row) for row in rows]

    items = await pages.blocking(load)
    return pages.render(request, visitor, "gists.html", items=items, mine=mine)


async def gist_new(request: Request, visitor: Visitor) -> Response:
    if not visitor.signed_in:
        return pages.to_login(request, visitor)
    return _form(request, visitor)


def _form(
    request: Request,
    visitor: Visitor,
    *,
    status: int = 200,
    error: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    return pages.render(
        request,
        visitor,
        "gist_new.html",
        status=status,
        error=error,
        lifetimes=LIFETIMES,
        values=values or {"description": "", "filename": "", "content": "", "lifetime": "-1"},
    )


async def _create(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    data = await pages.form(request, visitor)
    if not visitor.signed_in or visitor.actor is None:
        return pages.to_login(request, visitor)
    actor = visitor.actor
    values = {
        name: pages.field(data, name)
        for name in ("description", "filename", "content", "lifetime", "gist_type")
    }
    filename = values["filename"].strip()
    content = values["content"]
    if not filename or not content.strip():
        return _form(
            request, visitor, status=400, error=Invalid("web_gist_empty").text, values=values
        )
    try:
        lifetime = int(values["lifetime"] or "-1")
    except ValueError:
        lifetime = -1
    gist_type = gists.PRIVATE if values["gist_type"] == gists.PRIVATE else gists.PUBLIC

    def make() -> str:
        with runtime.database.transaction(write=True) as db:
            gist = gists.create(
                db,
                actor,
                runtime.settings.repos,
                files={filename: {"content": content}},
                owner=None,
                gist_type=gist_type,
                lifetime=lifetime,
                description=values["description"].strip(),
                acl_level="acl_private" if gist_type == gists.PRIVATE else "acl_public",
            )
            return gist.access_id

    try:
        access_id = await pages.blocking(make)
    except HearthError as exc:
        return _form(request, visitor, status=400, error=exc.text, values=values)
    return pages.redirect(request, visitor, f"/_admin/gists/{quote(access_id)}")


async def gist_view(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = visitor.actor
    access_id = request.path_params["access_id"]
    if actor is None:
        return pages.hidden(request, visitor, "Gist not found")

    def load() -> tuple[GistItem, dict[str, str]]:
        with runtime.database.sessions() as db:
            gist = gists.find(db, actor, access_id)
            return _item(db, gist), gists.contents(runtime.settings.repos, gist)

    try:
        item, files = await pages.blocking(load)
    except HearthError:
        return pages.hidden(request, visitor, "Gist not found")
    return pages.render(request, visitor, "gist.html", gist=item, files=sorted(files.items()))


def routes() -> list[Route]:
    return [
        Route("/_admin/gists", pages.page(gist_list), methods=["GET", "HEAD", "POST"]),
        Route("/_admin/gists/new", pages.page(gist_new), methods=["GET", "HEAD"]),
        Route("/_admin/gists/{access_id}", pages.page(gist_view), methods=["GET", "HEAD"]),
    ]

# SPDX-License-Identifier: GPL-3.0-or-later
"""The home page (``/``) and a group's page (``/<group>``): the groups and repositories the
visitor may read, one page at a time (``services/catalogue.py`` decides and counts in SQL).

Query parameters: ``q`` (names containing it, in every group), ``sort`` (``name``, ``-name``,
``updated``, ``-updated``), ``page``. The filter box narrows the rows of the
page as one types; submitting it searches every repository.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.services import catalogue
from hearth.web import pages, repopages
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from hearth.runtime import Runtime


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


def _links(path: str, listing: catalogue.Listing) -> dict[str, str]:
    """The sort links of the column heads and the base of the pager's links."""
    keep = {"q": listing.query} if listing.query else {}

    def href(**params: str) -> str:
        merged = {**keep, **params}
        return path + ("?" + urlencode(merged) if merged else "")

    sorts = {
        "name": href(sort="-name" if listing.sort == "name" else "name"),
        "updated": href(sort="-updated" if listing.sort == "updated" else "updated"),
    }
    base = path + "?" + urlencode({**keep, "sort": listing.sort}) + "&"
    return {**{f"sort_{k}": v for k, v in sorts.items()}, "pager_base": base}


async def _listing(
    runtime: Runtime, request: Request, visitor: Visitor, group: tuple[int, str] | None
) -> catalogue.Listing:
    actor = visitor.actor
    assert actor is not None
    query = request.query_params.get("q", "")
    sort = request.query_params.get("sort", "name")
    page = _page_number(request)

    def load() -> catalogue.Listing:
        with runtime.database.sessions() as db:
            return catalogue.listing(
                db,
                actor,
                runtime.database.codepoint,
                group=group,
                query=query,
                sort=sort,
                page=page,
            )

    return await pages.blocking(load)


async def home(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    if visitor.actor is None:
        return pages.to_login(request, visitor)
    listing = await _listing(runtime, request, visitor, None)
    return pages.render(
        request,
        visitor,
        "home.html",
        listing=listing,
        group=None,
        search_q=listing.query,
        links=_links("/", listing),
    )


@repopages.group_page
async def group(request: Request, visitor: Visitor, path: str) -> Response | None:
    runtime: Runtime = request.app.state.runtime
    actor = visitor.actor
    if actor is None:
        return None
    name = path.strip("/")

    def find() -> catalogue.GroupPage | None:
        with runtime.database.sessions() as db:
            return catalogue.readable_group(db, actor, name)

    found = await pages.blocking(find)
    if found is None:
        return None
    listing = await _listing(runtime, request, visitor, (found.group_id, found.name))
    parts = found.name.split("/")
    crumbs = [
        (part, "/" + quote("/".join(parts[: i + 1])) if i < len(parts) - 1 else "")
        for i, part in enumerate(parts)
    ]
    return pages.render(
        request,
        visitor,
        "home.html",
        listing=listing,
        group=found,
        crumbs=crumbs,
        search_q=listing.query,
        links=_links("/" + quote(found.name), listing),
    )


def routes() -> list[Route]:
    return [Route("/", pages.page(home), methods=["GET", "HEAD"])]

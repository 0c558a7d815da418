# SPDX-License-Identifier: GPL-3.0-or-later
"""Pages below a repository (``/<repo>``, ``/<repo>/files/…``, …) and group pages (``/<group>``).

The router (``hearth/routing.py``) calls :func:`dispatch` for every request that is not git or hg;
it answers when the path is a page, else returns False and the raw views (``web/views.py``) answer.
A page is registered by the first segment of the path after the repository name::

    @repopages.page("changelog")
    async def changelog(view: RepoPage) -> Response: ...

``""`` is the summary. :func:`dispatch` first decides whether the visitor may read the repository
(``services/webviews.py`` → ``services/permissions.py``); a repository the visitor may not read
answers exactly as a missing one: a browser that is not signed in is sent to sign in, anyone else
gets the 404 page. Only then the page's handler runs, with the plain repository values of
:class:`RepoPage`; a typed failure (bad revision, missing path) becomes its page, a bug the 500 page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from hearth.errors import HearthError, NotFound
from hearth.services import webviews
from hearth.services.permissions import Actor
from hearth.services.webviews import RepoRef
from hearth.web import pages, views
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from hearth.runtime import Runtime


@dataclass(frozen=True)
class RepoPage:
    """What a repository page's handler gets: the request, who asks (allowed to read), the
    repository, and the path after the page's name (``files/tip/a/b`` → ``tip/a/b``)."""

    runtime: Runtime
    request: Request
    visitor: Visitor
    actor: Actor
    repo: RepoRef
    rest: str

    def render(self, template: str, **context: Any) -> Response:
        return pages.render(self.request, self.visitor, template, repo=self.repo, **context)


PageHandler = Callable[[RepoPage], Awaitable[Response]]
GroupHandler = Callable[[Request, Visitor, str], Awaitable[Response | None]]

_PAGES: dict[str, PageHandler] = {}
_group_page: list[GroupHandler] = []


def page(name: str) -> Callable[[PageHandler], PageHandler]:
    """Register the page for ``/<repo>/<name>/…`` (``""``: ``/<repo>`` itself)."""

    def register(handler: PageHandler) -> PageHandler:
        if name in _PAGES:
            raise ValueError(f"two pages for /<repo>/{name}")
        _PAGES[name] = handler
        return handler

    return register


def group_page(handler: GroupHandler) -> GroupHandler:
    """Register the answer for a path that names no repository: a group's page, or None."""
    _group_page[:] = [handler]
    return handler


def page_names() -> frozenset[str]:
    return frozenset(_PAGES)


async def _send(response: Response, scope: dict[str, Any], receive: Any, send: Any) -> None:
    await response(scope, receive, send)


async def dispatch(
    runtime: Runtime,
    scope: dict[str, Any],
    receive: Any,
    send: Any,
    repo: RepoRef | None,
    rest: str,
    path: str,
) -> bool:
    """Answer the request if it is a page; False leaves it to the raw views."""
    if scope.get("method") not in ("GET", "HEAD", "POST"):
        return False
    if repo is None:
        if not pages.wants_html(scope):
            return False
        request = Request(scope, receive)
        response = await _group_or_missing(runtime, request, path)
        await _send(response, scope, receive, send)
        return True
    name, _, tail = rest.strip("/").partition("/")
    handler = _PAGES.get(name)
    if handler is None:
        if not pages.wants_html(scope) or views.parse_rest(rest) is not None:
            return False
        handler = _no_such_page
    request = Request(scope, receive)
    response = await _repo_page(runtime, request, repo, handler, tail)
    await _send(response, scope, receive, send)
    return True


async def _no_such_page(view: RepoPage) -> Response:
    raise NotFound("web_not_found")


async def _group_or_missing(runtime: Runtime, request: Request, path: str) -> Response:
    try:
        who = await pages.visitor(runtime, request)
    except Exception:
        return pages.internal_error(request, None, "group page")
    try:
        if _group_page and path:
            found = await _group_page[0](request, who, path)
            if found is not None:
                return found
        return pages.hidden(request, who)
    except pages.CsrfFailed:
        return pages.csrf_refused(request, who)
    except HearthError as exc:
        return pages.error_answer(request, who, exc)
    except Exception:
        return pages.internal_error(request, who, "group page")


async def _repo_page(
    runtime: Runtime, request: Request, repo: RepoRef, handler: PageHandler, tail: str
) -> Response:
    try:
        who = await pages.visitor(runtime, request)
    except Exception:
        return pages.internal_error(request, None, handler.__name__)
    actor = who.actor

    def readable() -> bool:
        with runtime.database.sessions() as db:
            return webviews.can_read(db, actor, repo.repo_id)

    try:
        if actor is None or not await pages.blocking(readable):
            return pages.hidden(request, who)
        return await handler(RepoPage(runtime, request, who, actor, repo, tail))
    except pages.CsrfFailed:
        return pages.csrf_refused(request, who)
    except HearthError as exc:
        return pages.error_answer(request, who, exc)
    except Exception:
        return pages.internal_error(request, who, handler.__name__)

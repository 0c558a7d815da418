# SPDX-License-Identifier: GPL-3.0-or-later
"""Pages below a repository (``/<repo>``, ``/<repo>/files/…``, …) and what a browser sees for a
path that names no repository (a group's page, or the sign-in page, or the 404 page).

A repository page is a row of the one table of web views (``web/table.py``), registered with::

    @repopages.page("changelog", "changelog:index", parse=table.rev_path)
    async def changelog(view: RepoPage) -> Response: ...

The first argument is the path word (``""``: the summary at ``/<repo>`` itself), the second the
view's Hearth name; the rest of the path is parsed by ``parse`` (default: all of it in
``view.target.path`` and ``view.rest``).
``web/views.py`` finds the row and calls the wrapper made here, which finds the visitor (session
cookie, or a usable API key for a page named in ``services/viewnames.py`` and enabled by
``api_access_controllers_whitelist``), decides
whether they may read the repository (``services/webcontent.py`` → ``services/permissions.py``) —
a repository the visitor may not read answers exactly as a missing one: a browser that is not
signed in is sent to sign in, anyone else gets the 404 page — and only then runs the page with
the plain values of :class:`RepoPage`. A typed failure (bad revision, missing path) becomes its
page, a bug the 500 page. The page module is imported in ``web/views.py`` (importing registers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from hearth.errors import HearthError
from hearth.services import webcontent
from hearth.services.lookup import RepoRef
from hearth.services.permissions import Actor
from hearth.web import pages, table
from hearth.web.pages import Visitor
from hearth.web.request import WebRequest
from hearth.web.table import Parser, Target

if TYPE_CHECKING:
    from hearth.runtime import Runtime


@dataclass(frozen=True)
class RepoPage:
    """What a repository page's handler gets: the request, who asks (allowed to read), the
    repository, what the path named, and the path after the page's word (``files/tip/a/b`` →
    ``tip/a/b`` with the default parser)."""

    runtime: Runtime
    request: Request
    visitor: Visitor
    actor: Actor
    repo: RepoRef
    target: Target
    web: WebRequest

    @property
    def rest(self) -> str:
        if self.target.rev and self.target.path:
            return f"{self.target.rev}/{self.target.path}"
        return self.target.rev or self.target.path

    def render(self, template: str, **context: Any) -> Response:
        return pages.render(self.request, self.visitor, template, repo=self.repo, **context)


PageHandler = Callable[[RepoPage], Awaitable[Response]]
GroupHandler = Callable[[Request, Visitor, str], Awaitable[Response | None]]

_group_page: list[GroupHandler] = []


def whole_tail(tail: str) -> tuple[str, str] | None:
    """The default parser of a page: the whole rest of the path, as ``target.path``."""
    return "", tail


def page(
    word: str,
    name: str,
    *,
    parse: Parser = whole_tail,
    methods: tuple[str, ...] = ("GET", "HEAD"),
) -> Callable[[PageHandler], PageHandler]:
    """Register the page for ``/<repo>/<word>/…`` (``""``: ``/<repo>`` itself) in the table."""

    def register(handler: PageHandler) -> PageHandler:
        async def view(req: WebRequest) -> Response:
            return await _answer(req, handler)

        view.__name__ = handler.__name__
        table.register(
            table.Route(
                name,
                words=(word,),
                handler=view,
                parse=table.exact if word == "" else parse,
                methods=methods,
            )
        )
        return handler

    return register


def group_page(handler: GroupHandler) -> GroupHandler:
    """Register the answer for a path that names no repository: a group's page, or None."""
    _group_page[:] = [handler]
    return handler


async def _answer(req: WebRequest, handler: PageHandler) -> Response:
    runtime = req.runtime
    request = req.request
    try:
        who = await pages.visitor(runtime, request, key=req.creds.key, use=req.creds.use)
    except Exception:
        return pages.internal_error(request, None, handler.__name__)
    actor = who.actor
    repo = req.repo

    def readable() -> bool:
        with runtime.database.sessions() as db:
            return webcontent.can_read(db, actor, repo.repo_id)

    try:
        if actor is None or not await pages.blocking(readable):
            return pages.hidden(request, who)
        return await handler(RepoPage(runtime, request, who, actor, repo, req.target, req))
    except pages.CsrfFailed:
        return pages.csrf_refused(request, who)
    except HearthError as exc:
        return pages.error_answer(request, who, exc)
    except Exception:
        return pages.internal_error(request, who, handler.__name__)


async def browser_answer(runtime: Runtime, scope: Scope, receive: Receive) -> Response | None:
    """For a browser asking for a path below no repository: the group's page, else the answer a
    hidden repository gets (sign in, or the 404 page). None for other clients (they keep the
    plain-text answer)."""
    if not pages.wants_html(scope) or scope.get("method") not in ("GET", "HEAD"):
        return None
    request = Request(scope, receive)
    try:
        who = await pages.visitor(runtime, request)
    except Exception:
        return pages.internal_error(request, None, "group page")
    path = request.url.path.strip("/")
    try:
        if _group_page and path:
            found = await _group_page[0](request, who, path)
            if found is not None:
                return found
        return pages.hidden(request, who)
    except HearthError as exc:
        return pages.error_answer(request, who, exc)
    except Exception:
        return pages.internal_error(request, who, "group page")


async def browser_error(
    runtime: Runtime, scope: Scope, receive: Receive, exc: HearthError, creds: Any
) -> Response | None:
    """A browser's answer for a failed raw view or a path naming no view: a repository it may
    not see sends it to sign in (when it brought neither key nor session, ``spec`` §8), any
    other failure is an HTML page. None for other clients."""
    if not pages.wants_html(scope):
        return None
    request = Request(scope, receive)
    if exc.code == "web_repo_not_found" and creds.key is None and creds.session is None:
        return pages.to_login(request)
    if exc.code not in ("web_repo_not_found", "web_not_found"):
        return None  # e.g. a raw file that is missing: the plain answer is what a build farm wants
    try:
        who = await pages.visitor(runtime, request)
    except Exception:
        return pages.internal_error(request, None, "error page")
    return pages.error_answer(request, who, exc)

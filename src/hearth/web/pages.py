# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way a page is answered: who is looking (:func:`visitor`), :func:`render` a template of
``web/templates/`` with the base layout, and the shared answers (403/404/500 pages, the redirect to
the sign-in page, the CSRF check of every POST).

Every page carries the same safety headers: a CSP that allows no inline script and nothing from
another origin, ``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin``, ``nosniff``. Templates
are autoescaped; the only markup a template may emit unescaped is what a service sanitised (README,
highlighted code) and marks ``Markup``.

Handlers translate: they read the request, ask a service (in a worker thread), and render. A page
never decides access itself: ``visitor`` asks ``services/webcontent.py``, which asks
``services/permissions.py``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from hearth.errors import Forbidden, HearthError, Invalid, NotFound
from hearth.services import sessions, webcontent
from hearth.services.permissions import Actor
from hearth.web import format as fmt
from hearth.web import session as web_session
from hearth.web import static

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger("hearth.web.pages")
T = TypeVar("T")

TEMPLATES = Path(__file__).parent / "templates"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "cache-control": "private, no-cache",
}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals["static"] = static.url
    env.filters["reltime"] = fmt.relative
    env.filters["exact"] = fmt.exact
    env.filters["isotime"] = fmt.iso
    env.filters["short"] = fmt.short_id
    env.filters["firstline"] = fmt.first_line
    env.filters["urlpath"] = lambda value: quote(str(value))
    env.filters["bytes"] = fmt.size
    return env


ENV = _environment()


# --- who is looking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """The person behind a request, as every page sees it."""

    #: who the request acts as; None when nobody may (the anonymous user is disabled or refused)
    actor: Actor | None
    #: a still valid browser session
    signed_in: bool
    #: the CSRF token every changing form of the page carries as ``_csrf``
    csrf: str
    #: the nonce behind ``csrf`` when it is new (before signing in): sent as a cookie
    new_csrf_nonce: str | None = None

    @property
    def username(self) -> str:
        return self.actor.username if self.actor is not None and self.signed_in else ""

    @property
    def admin(self) -> bool:
        return self.signed_in and self.actor is not None and self.actor.admin


def _csrf(runtime: Runtime, scope: Mapping[str, Any], nonce: str | None) -> tuple[str, str | None]:
    key = web_session.signing_key(runtime)
    if nonce:
        return sessions.csrf_token(key, nonce), None
    cookie = web_session.cookies(scope).get(web_session.CSRF_COOKIE)
    if cookie and 16 <= len(cookie) <= 64:
        return sessions.csrf_token(key, cookie), None
    fresh = sessions.new_nonce()
    return sessions.csrf_token(key, fresh), fresh


async def visitor(
    runtime: Runtime, request: Request, *, key: str | None = None, use: str = "http"
) -> Visitor:
    """Who ``request`` comes from: a signed-in user, the anonymous user, or nobody. ``key``: an
    API key the page may take (``web/access.py`` decided); its owner is not "signed in"."""
    scope = request.scope
    claim = web_session.claim(runtime, scope)
    address = runtime.client_address(dict(scope))

    def load() -> Actor | None:
        default_id = runtime.default_user_id()
        with runtime.database.sessions() as db:
            return webcontent.viewer(db, key, use, address, default_id, claim)

    who = await run_in_threadpool(load)
    signed_in = claim is not None and who is not None and who.user_id == claim.user_id
    csrf, fresh = _csrf(runtime, scope, claim.nonce if signed_in and claim else None)
    return Visitor(who, signed_in, csrf, fresh)


def wants_html(scope: Mapping[str, Any]) -> bool:
    """A browser asking for a page (``Accept`` names ``text/html``)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"accept":
            return b"text/html" in value.lower()
    return False


# --- answers ---------------------------------------------------------------------------------------


def _finish(request: Request, visitor: Visitor | None, response: Response) -> Response:
    for name, value in PAGE_HEADERS.items():
        if name != "cache-control" or name not in response.headers:
            response.headers[name] = value
    if visitor is not None and visitor.new_csrf_nonce:
        runtime: Runtime = request.app.state.runtime
        response.raw_headers.append(
            web_session.set_cookie(
                runtime, request.scope, web_session.CSRF_COOKIE, visitor.new_csrf_nonce, None
            )
        )
    return response


def render_text(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


def render(
    request: Request,
    visitor: Visitor,
    template: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Response:
    """``template`` rendered in the base layout, with the page headers."""
    body = ENV.get_template(template).render(
        request=request,
        visitor=visitor,
        csrf=visitor.csrf,
        path=request.url.path,
        here=_here(request),
        **context,
    )
    response = HTMLResponse(body, status_code=status, headers=dict(headers or {}))
    return _finish(request, visitor, response)


def _here(request: Request) -> str:
    """The path and query of the request: where "sign in" should come back to."""
    query = request.url.query
    return request.url.path + ("?" + query if query else "")


def error_page(
    request: Request, visitor: Visitor, status: int, title: str, message: str = ""
) -> Response:
    return render(
        request, visitor, "error.html", status=status, title=title, message=message or title
    )


def not_found(request: Request, visitor: Visitor, message: str = "Not found") -> Response:
    return error_page(request, visitor, 404, "Not found", message)


def forbidden(request: Request, visitor: Visitor, message: str = "Forbidden") -> Response:
    return error_page(request, visitor, 403, "Forbidden", message)


def login_url(came_from: str) -> str:
    return "/_admin/login?" + urlencode({"came_from": came_from})


def to_login(request: Request, visitor: Visitor | None = None) -> Response:
    """Send a browser to the sign-in page, to come back here afterwards."""
    response = RedirectResponse(login_url(_here(request)), status_code=302)
    return _finish(request, visitor, response)


def hidden(request: Request, visitor: Visitor, message: str = "Repository not found") -> Response:
    """What a page the visitor may not see answers, exactly as a missing one: a browser that is not
    signed in is sent to sign in, a signed-in browser gets the 404 page, any other client the
    plain-text 404 of the raw views (``spec/web-and-vcs.md`` §8)."""
    if not wants_html(request.scope):
        response = PlainTextResponse(message, status_code=404)
        response.headers["content-security-policy"] = "sandbox"
        response.headers["x-content-type-options"] = "nosniff"
        return response
    if not visitor.signed_in:
        return to_login(request, visitor)
    return not_found(request, visitor, message)


def redirect(request: Request, visitor: Visitor | None, location: str) -> Response:
    """303 See Other: the answer to a POST that worked."""
    return _finish(request, visitor, RedirectResponse(location, status_code=303))


def error_answer(request: Request, visitor: Visitor, exc: HearthError) -> Response:
    """A typed failure of a service as a page."""
    if isinstance(exc, NotFound):
        return not_found(request, visitor, exc.text)
    if isinstance(exc, Forbidden):
        return forbidden(request, visitor, exc.text)
    if isinstance(exc, Invalid):
        return error_page(request, visitor, 400, "Bad request", exc.text)
    return error_page(request, visitor, 500, "Something went wrong", exc.text)


def internal_error(request: Request, visitor: Visitor | None, what: str) -> Response:
    """A page for a bug: logged with an incident id, nothing of it shown."""
    incident = uuid.uuid4().hex[:12]
    log.exception("internal error in page %s (incident %s)", what, incident)
    text = f"Internal server error (incident {incident})"
    if visitor is None:
        return _finish(request, None, HTMLResponse(text, status_code=500))
    return error_page(request, visitor, 500, "Internal server error", text)


# --- forms -----------------------------------------------------------------------------------------


FORM_MAX_BYTES = 4 * 1024 * 1024


async def read_form(request: Request) -> FormData:
    """An ``application/x-www-form-urlencoded`` body (the only kind our forms send), at most
    ``FORM_MAX_BYTES``; any other body counts as an empty form (its CSRF check then fails)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > FORM_MAX_BYTES:
            raise Invalid("web_form_too_large")
        chunks.append(chunk)
    if kind != "application/x-www-form-urlencoded":
        return FormData([])
    text = b"".join(chunks).decode("utf-8", "replace")
    pairs: list[tuple[str, str | UploadFile]] = list(parse_qsl(text, keep_blank_values=True))
    return FormData(pairs)


class CsrfFailed(Exception):
    """A POST without the form's CSRF token, or with a wrong one."""


async def form(request: Request, visitor: Visitor) -> FormData:
    """The posted form, once its ``_csrf`` field matched the visitor's token; else
    :class:`CsrfFailed` (answer it with :func:`csrf_refused`: nothing has changed)."""
    data = await read_form(request)
    given = data.get("_csrf")
    if not isinstance(given, str) or not given or given != visitor.csrf:
        raise CsrfFailed
    return data


def csrf_refused(request: Request, visitor: Visitor) -> Response:
    return forbidden(
        request,
        visitor,
        "The form was stale or did not come from this site (CSRF check failed). "
        "Nothing was changed; reload the page and try again.",
    )


def field(data: FormData, name: str, default: str = "") -> str:
    value = data.get(name)
    return value if isinstance(value, str) else default


# --- one page handler -----------------------------------------------------------------------------

Handler = Callable[[Request, Visitor], Awaitable[Response]]


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint around ``handler``: finds the visitor, answers a failed CSRF check,
    a service's typed failure and a bug with their pages."""

    async def endpoint(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            who = await visitor(runtime, request)
        except Exception:
            return internal_error(request, None, handler.__name__)
        try:
            return await handler(request, who)
        except CsrfFailed:
            return csrf_refused(request, who)
        except HearthError as exc:
            return error_answer(request, who, exc)
        except Exception:
            return internal_error(request, who, handler.__name__)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def blocking(work: Callable[[], T]) -> T:
    """Run database or disk work in a worker thread."""
    return await run_in_threadpool(work)

# SPDX-License-Identifier: GPL-3.0-or-later
"""Signing in and out: ``/_admin/login`` (Kallithea's form fields ``username`` and ``password``,
plus ``_csrf`` and ``came_from``) and ``/_admin/logout``.

The checks are those of clone/push (``services/sessions.py``); failures from one address are slowed
by the same throttle (``runtime.throttle``) and all answer the same "wrong user name or password"
unless the password was right. After signing in the browser returns to ``came_from`` when it is a
path of this site. Signing out is a POST with the CSRF token: a link on another site cannot sign
anybody out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.services import sessions
from hearth.services.sessions import Outcome
from hearth.web import pages
from hearth.web import session as web_session
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from hearth.runtime import Runtime

# what the form says, and its status (401 as for wrong clone credentials, 403 as for a refused user)
_REFUSALS = {
    Outcome.BAD_CREDENTIALS: ("Wrong user name or password.", 401),
    Outcome.INACTIVE: ("This account is disabled.", 403),
    Outcome.IP_DENIED: ("Signing in from your address is not allowed for this account.", 403),
}


def _form(
    request: Request,
    visitor: Visitor,
    came_from: str,
    username: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    return pages.render(
        request,
        visitor,
        "login.html",
        status=status,
        came_from=sessions.safe_return_path(came_from),
        username=username,
        error=error,
    )


async def login(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    if request.method != "POST":
        came_from = request.query_params.get("came_from", "/")
        if visitor.signed_in:
            return pages.redirect(request, visitor, sessions.safe_return_path(came_from))
        return _form(request, visitor, came_from)
    data = await pages.form(request, visitor)
    login_name = pages.field(data, "username")
    password = pages.field(data, "password")
    came_from = sessions.safe_return_path(pages.field(data, "came_from", "/"))
    address = runtime.client_address(dict(request.scope))

    def check() -> sessions.SignIn:
        with runtime.database.transaction(write=True) as db:
            return sessions.sign_in(
                db, login_name, password, address, runtime.default_user_id(), runtime.passwords
            )

    result = await pages.blocking(check)
    if result.outcome is not Outcome.SIGNED_IN:
        if result.outcome is Outcome.BAD_CREDENTIALS:
            await runtime.throttle.failed(address)
        text, status = _REFUSALS[result.outcome]
        return _form(request, visitor, came_from, login_name, text, status)
    token = sessions.issue(web_session.signing_key(runtime), result.user_id, result.stored_password)
    response = pages.redirect(request, None, came_from)
    response.raw_headers.append(web_session.session_cookie(runtime, request.scope, token))
    return response


async def logout(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    if request.method != "POST":
        return pages.render(request, visitor, "logout.html")
    await pages.form(request, visitor)
    response = pages.redirect(request, None, "/")
    response.raw_headers.append(web_session.clear_session_cookie(runtime, request.scope))
    return response


def routes() -> list[Route]:
    return [
        Route("/_admin/login", pages.page(login), methods=["GET", "HEAD", "POST"]),
        Route("/_admin/logout", pages.page(logout), methods=["GET", "HEAD", "POST"]),
    ]

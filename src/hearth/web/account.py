# SPDX-License-Identifier: GPL-3.0-or-later
"""My account (``/_admin/my_account``, Kallithea's URLs): profile, password, extra e-mail
addresses, API keys and SSH keys, my repositories and the repositories I follow.

===========================================  ==================================================
``GET  /_admin/my_account``                  the page (``?done=<what>`` shows what just worked)
``POST /_admin/my_account``                  profile: ``firstname``, ``lastname``, ``email``
``POST /_admin/my_account/password``         ``current_password``, ``new_password``,
                                             ``password_confirmation``
``POST /_admin/my_account/emails``           ``new_email``
``POST /_admin/my_account/emails/delete``    ``del_email_id``
``POST /_admin/my_account/api_keys``         ``description``, ``role``, ``expires`` (YYYY-MM-DD)
``POST /_admin/my_account/api_keys/delete``  ``del_api_key_id``
``POST /_admin/my_account/ssh_keys``         ``public_key`` (pasted ``id_*.pub``), ``description``
``POST /_admin/my_account/ssh_keys/delete``  ``del_public_key_fingerprint`` (``SHA256:…``)
===========================================  ==================================================

A new key is shown in the answer to the POST that made it and never again (the page is
``no-store``). A changed password ends every other session and renews this one. A refused SSH key (malformed,
weak, already someone's) is answered with the page again, the reason beside the form and what was
pasted still in it, so the user fixes the key rather than pasting it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.errors import HearthError, Invalid
from hearth.services import keys, profile, sessions
from hearth.web import pages
from hearth.web import session as web_session
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from hearth.runtime import Runtime
    from hearth.services.permissions import Actor

DONE = {
    "profile": "Your profile was saved.",
    "password": "Your password was changed. Other sessions have been signed out.",
    "email_added": "The e-mail address was added.",
    "email_removed": "The e-mail address was removed.",
    "key_revoked": "The API key was revoked; it no longer works.",
    "ssh_key_added": "The SSH key was added; it works from the next SSH connection.",
    "ssh_key_removed": "The SSH key was removed; it no longer opens a connection.",
}


async def _page(
    request: Request,
    visitor: Visitor,
    *,
    status: int = 200,
    error: str = "",
    new_key: str = "",
    ssh_error: str = "",
    ssh_form: dict[str, str] | None = None,
) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = visitor.actor
    assert actor is not None

    def load() -> profile.Account:
        with runtime.database.sessions() as db:
            return profile.account(db, actor)

    data = await pages.blocking(load)
    done = DONE.get(request.query_params.get("done", "")) if request.method == "GET" else None
    return pages.render(
        request,
        visitor,
        "my_account.html",
        status=status,
        headers={"cache-control": "no-store"},
        account=data,
        roles=keys.ROLES,
        error=error,
        done=done or "",
        new_key=new_key,
        ssh_error=ssh_error,
        ssh_form=ssh_form or {"public_key": "", "description": ""},
    )


async def my_account(request: Request, visitor: Visitor) -> Response:
    if not visitor.signed_in:
        return pages.to_login(request, visitor)
    if request.method != "POST":
        return await _page(request, visitor)
    data = await pages.form(request, visitor)
    return await _change(
        request,
        visitor,
        "profile",
        lambda db, actor: profile.update_profile(
            db,
            actor,
            pages.field(data, "firstname"),
            pages.field(data, "lastname"),
            pages.field(data, "email"),
        ),
    )


async def _change(
    request: Request, visitor: Visitor, done: str, work: Callable[[Session, Actor], object]
) -> Response:
    """Run ``work(db, actor)`` in a write transaction; the page again with the error, or a
    redirect to the page saying what was done."""
    runtime: Runtime = request.app.state.runtime
    actor = visitor.actor
    assert actor is not None

    def run() -> object:
        with runtime.database.transaction(write=True) as db:
            return work(db, actor)

    try:
        await pages.blocking(run)
    except HearthError as exc:  # bad input, a missing key or address, a taken e-mail
        return await _page(request, visitor, status=400, error=exc.text)
    return pages.redirect(request, visitor, f"/_admin/my_account?done={done}")


async def _posted(
    request: Request, visitor: Visitor, back: str = "/_admin/my_account"
) -> FormData | Response:
    """The CSRF-checked form of a signed-in visitor's POST; else the answer to give instead (sign
    in first; any other method goes ``back`` to the page the form is on)."""
    if not visitor.signed_in:
        return pages.to_login(request, visitor)
    if request.method != "POST":
        return pages.redirect(request, visitor, back)
    return await pages.form(request, visitor)


async def password(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    data = await _posted(request, visitor)
    if isinstance(data, Response):
        return data
    actor = visitor.actor
    assert actor is not None

    def run() -> str:
        with runtime.database.transaction(write=True) as db:
            return profile.change_password(
                db,
                actor,
                pages.field(data, "current_password"),
                pages.field(data, "new_password"),
                pages.field(data, "password_confirmation"),
            )

    try:
        stored = await pages.blocking(run)
    except Invalid as exc:
        return await _page(request, visitor, status=400, error=exc.text)
    token = sessions.issue(web_session.signing_key(runtime), actor.user_id, stored)
    response = pages.redirect(request, None, "/_admin/my_account?done=password")
    response.raw_headers.append(web_session.session_cookie(runtime, request.scope, token))
    return response


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1


async def emails(request: Request, visitor: Visitor) -> Response:
    data = await _posted(request, visitor)
    if isinstance(data, Response):
        return data
    email = pages.field(data, "new_email")
    return await _change(
        request, visitor, "email_added", lambda db, actor: profile.add_email(db, actor, email)
    )


async def emails_delete(request: Request, visitor: Visitor) -> Response:
    data = await _posted(request, visitor)
    if isinstance(data, Response):
        return data
    email_id = _int(pages.field(data, "del_email_id"))
    return await _change(
        request,
        visitor,
        "email_removed",
        lambda db, actor: profile.remove_email(db, actor, email_id),
    )


async def api_keys(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    data = await _posted(request, visitor, "/_admin/my_account#api-keys")
    if isinstance(data, Response):
        return data
    actor = visitor.actor
    assert actor is not None

    def run() -> str:
        with runtime.database.transaction(write=True) as db:
            return profile.create_key(
                db,
                actor,
                pages.field(data, "description"),
                pages.field(data, "role", "all"),
                pages.field(data, "expires"),
            )

    try:
        key = await pages.blocking(run)
    except Invalid as exc:
        return await _page(request, visitor, status=400, error=exc.text)
    return await _page(request, visitor, new_key=key)


async def api_keys_delete(request: Request, visitor: Visitor) -> Response:
    data = await _posted(request, visitor)
    if isinstance(data, Response):
        return data
    key_id = _int(pages.field(data, "del_api_key_id"))
    return await _change(
        request, visitor, "key_revoked", lambda db, actor: profile.revoke_key(db, actor, key_id)
    )


async def ssh_keys(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    data = await _posted(request, visitor, "/_admin/my_account#ssh-keys")
    if isinstance(data, Response):
        return data
    typed = {
        "public_key": pages.field(data, "public_key"),
        "description": pages.field(data, "description"),
    }
    actor = visitor.actor
    assert actor is not None

    def run() -> object:
        with runtime.database.transaction(write=True) as db:
            return profile.add_ssh_key(
                db, runtime.settings, actor, typed["public_key"], typed["description"]
            )

    try:
        await pages.blocking(run)
    except HearthError as exc:  # malformed, weak or already someone's key
        return await _page(request, visitor, status=400, ssh_error=exc.text, ssh_form=typed)
    return pages.redirect(request, visitor, "/_admin/my_account?done=ssh_key_added#ssh-keys")


async def ssh_keys_delete(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    data = await _posted(request, visitor, "/_admin/my_account#ssh-keys")
    if isinstance(data, Response):
        return data
    fingerprint = pages.field(data, "del_public_key_fingerprint")
    return await _change(
        request,
        visitor,
        "ssh_key_removed",
        lambda db, actor: profile.remove_ssh_key(db, runtime.settings, actor, fingerprint),
    )


def routes() -> list[Route]:
    both = ["GET", "HEAD", "POST"]
    return [
        Route("/_admin/my_account", pages.page(my_account), methods=both),
        Route("/_admin/my_account/password", pages.page(password), methods=both),
        Route("/_admin/my_account/emails", pages.page(emails), methods=both),
        Route("/_admin/my_account/emails/delete", pages.page(emails_delete), methods=both),
        Route("/_admin/my_account/api_keys", pages.page(api_keys), methods=both),
        Route("/_admin/my_account/api_keys/delete", pages.page(api_keys_delete), methods=both),
        Route("/_admin/my_account/ssh_keys", pages.page(ssh_keys), methods=both),
        Route("/_admin/my_account/ssh_keys/delete", pages.page(ssh_keys_delete), methods=both),
    ]

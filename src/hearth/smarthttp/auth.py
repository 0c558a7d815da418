# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP side of clone/push access: Basic credentials in, 401/403/404/423 answers out.

``services/vcsauth.py`` decides (``spec/web-and-vcs.md`` §5-§6); this module reads the
``Authorization`` header, runs that decision in a worker thread (the database must not block the
event loop while other clones stream), slows repeated failures from one address
(``runtime.throttle``) and writes the answers:

=================================  ============================================================
no credentials                     401 ``Authentication required`` with
                                   ``WWW-Authenticate: Basic realm="<realm>"`` (403 without the
                                   header when setting ``auth_ret_code`` is 403)
wrong credentials                  the same, after the throttle's delay
inactive user, IP rules            403 ``Access denied``
missing or unreadable repository   404 ``Repository not found``
push without write                 403 ``Push access denied``
locked                             setting ``lock_ret_code`` (423), ``Repository `<repo>` locked
                                   by user `<username>```
=================================  ============================================================

The lock text is also the reason phrase of the status line (``smarthttp/reasons.py``): hg prints
``abort: HTTP Error 423: Repository `<repo>` locked by user `<username>```, git prints
``The requested URL returned error: 423``.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import Message, Scope, Send

from hearth.errors import TEXTS
from hearth.metrics import ACCESS_USER
from hearth.services import vcsauth
from hearth.services.lookup import RepoRef
from hearth.services.vcsauth import Access, Credentials, Decision, Outcome
from hearth.smarthttp import reasons
from hearth.smarthttp.answers import send_text

if TYPE_CHECKING:
    from hearth.runtime import Runtime


class Malformed(Exception):
    """An ``Authorization: Basic`` header that does not decode to ``login:secret``."""


def basic_credentials(scope: Scope) -> Credentials | None:
    """The credentials of an ``Authorization: Basic`` header; None when there is none.

    Other schemes count as no credentials. Raises :class:`Malformed` for a Basic header that is
    not base64 of ``login:secret`` (UTF-8, else Latin-1 as older clients send).
    """
    value = Headers(scope=scope).get("authorization")
    if value is not None:
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            raw = base64.b64decode(token.encode("latin-1").strip(), validate=True)
        except (binascii.Error, ValueError):
            raise Malformed from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        login, sep, secret = text.partition(":")
        if not sep:
            raise Malformed
        return Credentials(login, secret)
    return None


async def authorize(
    runtime: Runtime,
    scope: Scope,
    send: Send,
    repo: RepoRef | None,
    access: Access,
    *,
    lock_applies: bool = True,
) -> Decision | None:
    """Decide one git/hg request; answer it and return None unless it is to be served."""
    settings = runtime.settings
    address = runtime.client_address(scope)
    try:
        credentials = basic_credentials(scope)
        malformed = False
    except Malformed:
        credentials, malformed = None, True

    def decide() -> Decision:
        with runtime.database.sessions() as db:
            return vcsauth.decide(
                db,
                repo=repo,
                access=access,
                credentials=credentials,
                address=address,
                default_user_id=runtime.default_user_id(),
                passwords=runtime.passwords,
                lock_applies=lock_applies,
                lock_ret_code=settings.lock_ret_code,
            )

    decision = await run_in_threadpool(decide)
    outcome = decision.outcome
    if outcome is Outcome.LOGIN_REQUIRED and malformed:
        outcome = Outcome.BAD_CREDENTIALS
    if outcome is Outcome.SERVE:
        if decision.actor is not None:  # for the access log (hearth/metrics.py)
            scope[ACCESS_USER] = decision.actor.username
        return decision
    if outcome is Outcome.BAD_CREDENTIALS:
        await runtime.throttle.failed(address)
    if outcome in (Outcome.LOGIN_REQUIRED, Outcome.BAD_CREDENTIALS):
        await login_required(runtime, send)
    elif outcome is Outcome.FORBIDDEN:
        await send_text(send, 403, TEXTS["vcs_forbidden"])
    elif outcome is Outcome.NOT_FOUND:
        await send_text(send, 404, TEXTS["vcs_repo_not_found"])
    elif outcome is Outcome.PUSH_DENIED:
        await send_text(send, 403, TEXTS["vcs_push_denied"])
    else:  # Outcome.LOCKED
        await send_locked(send, decision.lock.status, decision.lock.message or "")
    return None


async def send_locked(send: Send, status: int, text: str) -> None:
    """The lock refusal: ``text`` as the plain-text body and as the reason phrase."""
    sent: list[Message] = []

    async def collect(message: Message) -> None:
        sent.append(message)

    await send_text(collect, status, text)
    await reasons.send_start(send, dict(sent[0]), text)
    for message in sent[1:]:
        await send(message)


async def login_required(runtime: Runtime, send: Send) -> None:
    """401 with the realm, or 403 when setting ``auth_ret_code`` says so."""
    settings = runtime.settings
    if settings.auth_ret_code == 403:
        await send_text(send, 403, TEXTS["vcs_login_required"])
        return
    realm = settings.realm.replace("\\", "\\\\").replace('"', '\\"')
    header = f'Basic realm="{realm}"'.encode("latin-1", "replace")
    await send_text(send, 401, TEXTS["vcs_login_required"], [(b"www-authenticate", header)])

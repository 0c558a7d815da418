# SPDX-License-Identifier: GPL-3.0-or-later
"""The session and CSRF cookies on the wire: read them from a request, write ``Set-Cookie``.

``services/sessions.py`` signs and checks the tokens; this module only knows HTTP. Two cookies:

==================  ==============================================================================
``hearth_session``  the signed session token after signing in; HttpOnly, SameSite=Lax, path ``/``
``hearth_csrf``     a random nonce for the CSRF token of forms shown before signing in (sign-in form)
==================  ==============================================================================

Both are ``Secure`` when the site is served over https: the request came over https, or setting
``canonical_url`` says https (Hearth behind a TLS-terminating proxy that talks plain HTTP to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

from hearth.services import sessions

if TYPE_CHECKING:
    from hearth.runtime import Runtime

SESSION_COOKIE = "hearth_session"
CSRF_COOKIE = "hearth_csrf"


def cookies(scope: Mapping[str, Any]) -> dict[str, str]:
    """The request's cookies by name (a malformed header counts as none)."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        if name.lower() != b"cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value.decode("latin-1"))
        except CookieError:
            continue
        for key, morsel in jar.items():
            found.setdefault(key, morsel.value)
    return found


def signing_key(runtime: Runtime) -> bytes:
    return sessions.secret(runtime.settings.home)


def claim(runtime: Runtime, scope: Mapping[str, Any]) -> sessions.Claim | None:
    """The well-signed session of the request, not yet checked against its user."""
    token = cookies(scope).get(SESSION_COOKIE)
    if not token:
        return None
    return sessions.read(signing_key(runtime), token)


def is_secure(runtime: Runtime, scope: Mapping[str, Any]) -> bool:
    if scope.get("scheme") == "https":
        return True
    return runtime.settings.canonical_url.lower().startswith("https://")


def set_cookie(
    runtime: Runtime, scope: Mapping[str, Any], name: str, value: str, max_age: int | None
) -> tuple[bytes, bytes]:
    """A ``Set-Cookie`` header; ``max_age`` 0 deletes the cookie, None makes it last the visit."""
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if is_secure(runtime, scope):
        parts.append("Secure")
    return (b"set-cookie", "; ".join(parts).encode("latin-1"))


def session_cookie(runtime: Runtime, scope: Mapping[str, Any], token: str) -> tuple[bytes, bytes]:
    return set_cookie(runtime, scope, SESSION_COOKIE, token, sessions.MAX_AGE)


def clear_session_cookie(runtime: Runtime, scope: Mapping[str, Any]) -> tuple[bytes, bytes]:
    return set_cookie(runtime, scope, SESSION_COOKIE, "", 0)

# SPDX-License-Identifier: GPL-3.0-or-later
"""Which web views take an API key, which key a request carries, and who the request acts as.

``spec/web-and-vcs.md`` §8: every view has three names (Kallithea's, RhodeCode's, Hearth's); the
feed views always take a key, the others only when setting ``api_access_controllers_whitelist`` has a
glob pattern matching one of their names (the table: ``services/viewnames.py``). The key comes from
``?api_key=``, else ``?auth_token=``, else ``Authorization: Bearer``. A key of a view that does not take
one, or a key that is not valid for the view (``services/webviews.py``), is ignored: the request is
anonymous. Whether the actor may read the repository is asked of ``services/permissions.py`` through
``services/webviews.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from hearth.config import Settings
from hearth.errors import NotFound
from hearth.services import webviews
from hearth.services.permissions import Actor
from hearth.services.viewnames import VIEWS, api_enabled_views  # the table of view names

if TYPE_CHECKING:
    from hearth.runtime import Runtime


def api_enabled(settings: Settings, view: str) -> bool:
    return view in api_enabled_views(tuple(settings.api_access_controllers_whitelist))


def request_key(scope: dict[str, Any]) -> str | None:
    """The key a request carries, first present wins: ``api_key``, ``auth_token``, Bearer.

    Only parameters spelled literally are read (not ``api%5Fkey``): the log masking of ``hearth/logs.py``
    recognises the literal names, so a key that is used is always masked in the access log.
    """
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        found: dict[str, str] = {}
        for pair in query.split("&"):
            name, sep, value = pair.partition("=")
            if sep and name in _KEY_PARAMS and name not in found:
                found[name] = unquote_plus(value)
        for name in _KEY_PARAMS:
            if found.get(name):
                return found[name]
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


_KEY_PARAMS = ("api_key", "auth_token")


@dataclass(frozen=True)
class Credentials:
    """What the request brings for deciding access, gathered on the event loop (no I/O)."""

    key: str | None  # None unless the view takes a key and the request carries one
    use: str
    ip: str


def credentials(runtime: Runtime, scope: dict[str, Any], view: str | None) -> Credentials:
    """The request's key if ``view`` takes one (an unknown view takes none), its use and address."""
    known = VIEWS.get(view) if view else None
    enabled = known is not None and api_enabled(runtime.settings, known.name)
    key = request_key(scope) if enabled else None
    return Credentials(key, known.key_use if known else "http", runtime.client_address(scope))


def actor(runtime: Runtime, creds: Credentials) -> Actor | None:
    """Who the request acts as (blocking: call it in a worker thread)."""
    default_id = runtime.default_user_id()
    with runtime.database.sessions() as db:
        return webviews.viewer(db, creds.key, creds.use, creds.ip, default_id)


def require_read(runtime: Runtime, creds: Credentials, repo_id: int) -> Actor:
    """The actor, if it may read the repository; else ``Repository not found`` (blocking).

    A missing repository and one the actor may not read answer the same.
    """
    default_id = runtime.default_user_id()
    with runtime.database.sessions() as db:
        who = webviews.viewer(db, creds.key, creds.use, creds.ip, default_id)
        if who is None or not webviews.can_read(db, who, repo_id):
            raise NotFound("web_repo_not_found")
        return who

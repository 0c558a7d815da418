# SPDX-License-Identifier: GPL-3.0-or-later
"""Which web views take an API key, which key a request carries, and who the request acts as.

``spec/web-and-vcs.md`` §8: every view has three names (Kallithea's, RhodeCode's, Hearth's; the
table: ``services/viewnames.py``); the feed views always take a key, the others only when setting
``api_access_controllers_whitelist`` has a glob pattern matching one of their names (case-sensitive, ``fnmatch.fnmatchcase``). The key comes from
``?api_key=``, else ``?auth_token=``, else ``Authorization: Bearer``. A key of a view that does not take
one, or a key that is not valid for the view (``services/webcontent.py``), is ignored: the request is
anonymous. Whether the actor may read the repository is asked of ``services/permissions.py`` through
``services/webcontent.py``. A signed-in browser's session cookie counts for every view (after a usable
key, before anonymous access).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from starlette.datastructures import Headers
from starlette.types import Scope

from hearth.config import Settings
from hearth.errors import NotFound
from hearth.services import sessions, webcontent
from hearth.services.permissions import Actor
from hearth.services.viewnames import VIEWS, api_enabled_views  # the table of view names
from hearth.web import session as web_session

if TYPE_CHECKING:
    from hearth.runtime import Runtime


def api_enabled(settings: Settings, view: str) -> bool:
    return view in api_enabled_views(tuple(settings.api_access_controllers_whitelist))


def request_key(scope: Scope) -> str | None:
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
    for value in Headers(scope=scope).getlist("authorization"):
        scheme, _, token = value.partition(" ")
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
    #: a well-signed browser session (checked against its user when the actor is looked up)
    session: sessions.Claim | None = None


def credentials(runtime: Runtime, scope: Scope, view: str | None) -> Credentials:
    """The request's key if ``view`` takes one (an unknown view takes none), its use and address."""
    known = VIEWS.get(view) if view else None
    enabled = known is not None and api_enabled(runtime.settings, known.name)
    key = request_key(scope) if enabled else None
    use = known.key_use if known else "http"
    return Credentials(key, use, runtime.client_address(scope), web_session.claim(runtime, scope))


def actor(runtime: Runtime, creds: Credentials) -> Actor | None:
    """Who the request acts as (blocking: call it in a worker thread)."""
    default_id = runtime.default_user_id()
    with runtime.database.sessions() as db:
        return webcontent.viewer(db, creds.key, creds.use, creds.ip, default_id, creds.session)


def require_read(runtime: Runtime, creds: Credentials, repo_id: int) -> Actor:
    """The actor, if it may read the repository; else ``Repository not found`` (blocking).

    A missing repository and one the actor may not read answer the same.
    """
    default_id = runtime.default_user_id()
    with runtime.database.sessions() as db:
        who = webcontent.viewer(db, creds.key, creds.use, creds.ip, default_id, creds.session)
        if who is None or not webcontent.can_read(db, who, repo_id):
            raise NotFound("web_repo_not_found")
        return who

# SPDX-License-Identifier: GPL-3.0-or-later
"""Which web views take an API key, which key a request carries, and who the request acts as.

``spec/web-and-vcs.md`` §8: every view has three names (Kallithea's, RhodeCode's, Hearth's); the
feed views always take a key, the others only when setting ``api_access_controllers_whitelist`` has a
glob pattern matching one of their names (case-sensitive, ``fnmatch.fnmatchcase``). The key comes from
``?api_key=``, else ``?auth_token=``, else ``Authorization: Bearer``. A key of a view that does not take
one, or a key that is not valid for the view (``services/webviews.py``), is ignored: the request is
anonymous. Whether the actor may read the repository is asked of ``services/permissions.py`` through
``services/webviews.py``. A signed-in browser's session cookie counts for every view (after a usable
key, before anonymous access).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from hearth.config import Settings
from hearth.errors import NotFound
from hearth.services import sessions, webviews
from hearth.services.permissions import Actor
from hearth.web import session as web_session

if TYPE_CHECKING:
    from hearth.runtime import Runtime


@dataclass(frozen=True)
class View:
    """One web view under its three names; ``feed`` views always take a key (role ``feed`` too)."""

    name: str
    kallithea: str
    rhodecode: str
    feed: bool = False

    @property
    def names(self) -> tuple[str, str, str]:
        return (self.kallithea, self.rhodecode, self.name)

    @property
    def key_use(self) -> str:
        """The key use of ``services/keys.py``: which key roles this view admits."""
        return "feed" if self.feed else "http"


_TABLE = (
    View("changeset:raw", "ChangesetController:changeset_raw", "RepoCommitsView:repo_commit_raw"),
    View(
        "changeset:patch",
        "ChangesetController:changeset_patch",
        "RepoCommitsView:repo_commit_patch",
    ),
    View(
        "changeset:download",
        "ChangesetController:changeset_download",
        "RepoCommitsView:repo_commit_download",
    ),
    View("files:raw", "FilesController:raw", "RepoFilesView:repo_file_raw"),
    View("files:download", "FilesController:rawfile", "RepoFilesView:repo_file_download"),
    View("files:diff", "FilesController:diff", "RepoFilesView:repo_files_diff"),
    View("files:archive", "FilesController:archivefile", "RepoFilesView:repo_archivefile"),
    View("feed:rss", "FeedController:rss", "RepoFeedView:rss", feed=True),
    View("feed:atom", "FeedController:atom", "RepoFeedView:atom", feed=True),
    View("journal:rss", "JournalController:journal_rss", "JournalView:journal_rss", feed=True),
    View("journal:atom", "JournalController:journal_atom", "JournalView:journal_atom", feed=True),
    View(
        "journal:public_rss",
        "JournalController:public_journal_rss",
        "JournalView:journal_public_rss",
        feed=True,
    ),
    View(
        "journal:public_atom",
        "JournalController:public_journal_atom",
        "JournalView:journal_public_atom",
        feed=True,
    ),
)
VIEWS: dict[str, View] = {view.name: view for view in _TABLE}


@functools.lru_cache(maxsize=16)
def api_enabled_views(whitelist: tuple[str, ...]) -> frozenset[str]:
    """Hearth names of the views that take a key: the feeds, and every view one of whose names
    matches a pattern of ``whitelist``. Computed once per whitelist (the table is finite)."""
    patterns = [pattern.strip() for pattern in whitelist if pattern.strip()]
    return frozenset(
        view.name
        for view in _TABLE
        if view.feed
        or any(fnmatchcase(name, pattern) for name in view.names for pattern in patterns)
    )


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
    #: a well-signed browser session (checked against its user when the actor is looked up)
    session: sessions.Claim | None = None


def credentials(runtime: Runtime, scope: dict[str, Any], view: str | None) -> Credentials:
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
        return webviews.viewer(db, creds.key, creds.use, creds.ip, default_id, creds.session)


def require_read(runtime: Runtime, creds: Credentials, repo_id: int) -> Actor:
    """The actor, if it may read the repository; else ``Repository not found`` (blocking).

    A missing repository and one the actor may not read answer the same.
    """
    default_id = runtime.default_user_id()
    with runtime.database.sessions() as db:
        who = webviews.viewer(db, creds.key, creds.use, creds.ip, default_id, creds.session)
        if who is None or not webviews.can_read(db, who, repo_id):
            raise NotFound("web_repo_not_found")
        return who

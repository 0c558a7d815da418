# SPDX-License-Identifier: GPL-3.0-or-later
"""Web routes outside any repository: the journal feeds (``spec/web-and-vcs.md`` §8).

=========================================================  ===============================
path                                                       view
=========================================================  ===============================
``/_admin/journal/rss``, ``/_admin/journal/atom``          ``journal:rss`` / ``:atom``
``/_admin/public_journal/rss``, ``…/atom``                 ``journal:public_rss`` / ``:public_atom``
``/_admin/public_journal_rss``, ``…_atom`` (old paths)     the same
=========================================================  ===============================

The journal feed lists the entries of the repositories the user follows and needs a user (a valid key:
feeds always take one); the public journal lists the entries of non-private repositories and is open to
the anonymous ``default`` user too. Both show only repositories the requester may read. Without anybody
to act as, they answer 401 ``Login required`` (there is no login page to redirect to yet).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from hearth.errors import Forbidden, HearthError
from hearth.services import webcontent
from hearth.services.permissions import Actor
from hearth.web import access, feeds
from hearth.web.answers import error_response, feed_response, internal_error_response, respond

if TYPE_CHECKING:
    from hearth.runtime import Runtime

# Kallithea's wording of journal actions (its ``action_parser``); unknown actions show as stored.
ACTION_TEXTS = {
    "user_created_repo": "[created] repository",
    "user_created_fork": "[created] repository as fork",
    "user_forked_repo": "[forked] repository",
    "user_updated_repo": "[updated] repository",
    "user_deleted_repo": "[deleted] repository",
    "user_downloaded_archive": "[downloaded] archive from repository",
    "admin_created_repo": "[created] repository",
    "admin_forked_repo": "[forked] repository",
    "admin_updated_repo": "[updated] repository",
    "admin_deleted_repo": "[delete] repository",
    "push": "[pushed] into",
    "push_local": "[committed via Hearth] into repository",
    "push_remote": "[pulled from remote] into repository",
    "pull": "[pulled] from",
    "started_following_repo": "[started following] repository",
    "stopped_following_repo": "[stopped following] repository",
    "user_created_pull_request": "[created] pull request for",
    "user_commented_pull_request": "[commented] on pull request for",
    "user_closed_pull_request": "[closed] pull request for",
    "user_merged_pull_request": "[merged] pull request into",
}


def action_text(action: str) -> str:
    return ACTION_TEXTS.get(action, action)


class JournalFeed:
    """A raw ASGI endpoint for one journal feed."""

    def __init__(self, runtime: Runtime, view: str, kind: str, following: bool) -> None:
        self.runtime = runtime
        self.view = view
        self.kind = kind
        self.following = following

    def _load(self, creds: access.Credentials) -> list[webcontent.JournalItem]:
        runtime = self.runtime
        default_id = runtime.default_user_id()
        with runtime.database.sessions() as db:
            who: Actor | None = webcontent.viewer(
                db, creds.key, creds.use, creds.ip, default_id, creds.session
            )
            if who is None or (self.following and who.is_anonymous):
                raise Forbidden("web_login_required")
            return webcontent.journal(
                db, who, runtime.settings.feed_items, following=self.following
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        creds = access.credentials(runtime, scope, self.view)
        try:
            items = await run_in_threadpool(self._load, creds)
        except HearthError as exc:
            await respond(scope, receive, send, error_response(exc, runtime.settings.realm))
            return
        except Exception:
            await respond(scope, receive, send, internal_error_response(self.view))
            return
        base = runtime.base_url(scope)
        page = "journal" if self.following else "public_journal"
        entries = [self._entry(base, page, item) for item in items]
        title = "Hearth journal" if self.following else "Hearth public journal"
        feed = feeds.Feed(
            title=title,
            link=f"{base}/_admin/{page}",
            self_link=f"{base}/_admin/{page}/{self.kind}",
            description=title,
            entries=entries,
        )
        await respond(scope, receive, send, feed_response(feed, self.kind))

    @staticmethod
    def _entry(base: str, page: str, item: webcontent.JournalItem) -> feeds.Entry:
        text = action_text(item.action)
        description = (
            f"<p>{html.escape(item.username)} {html.escape(text)} {html.escape(item.repo_name)}</p>"
        )
        if item.detail:
            description += f"<pre>{html.escape(item.detail)}</pre>"
        return feeds.Entry(
            title=f"{item.username} - {text} {item.repo_name}",
            link=f"{base}/{quote(item.repo_name)}",
            guid=f"{base}/_admin/{page}#entry-{item.entry_id}",
            author=item.username,
            date=feeds.utc(item.date),
            description_html=description,
        )


_JOURNAL_ROUTES = (
    ("/_admin/journal/rss", "journal:rss", "rss", True),
    ("/_admin/journal/atom", "journal:atom", "atom", True),
    ("/_admin/public_journal/rss", "journal:public_rss", "rss", False),
    ("/_admin/public_journal/atom", "journal:public_atom", "atom", False),
    ("/_admin/public_journal_rss", "journal:public_rss", "rss", False),
    ("/_admin/public_journal_atom", "journal:public_atom", "atom", False),
)


def routes(runtime: Runtime) -> list[BaseRoute]:
    """The journal feed routes, for the application's route list."""
    return [
        Route(path, JournalFeed(runtime, view, kind, following), methods=["GET", "HEAD"])
        for path, view, kind, following in _JOURNAL_ROUTES
    ]

# SPDX-License-Identifier: GPL-3.0-or-later
"""The repository feeds, RSS 2.0 and Atom 1.0 (``spec/web-and-vcs.md`` §8): ``feed/rss``,
``feed/atom`` and the old ``feed-rss``, ``feed-atom``. Feeds always take an API key (``feed`` or
``http`` role); the latest changesets come from ``services/webcontent.py``.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from hearth.services import webcontent
from hearth.web import feeds
from hearth.web.answers import feed_response
from hearth.web.request import WebRequest
from hearth.web.table import exact, web_view


@web_view(
    "feed:rss",
    words=("feed/rss", "feed-rss"),
    parse=exact,
)
@web_view(
    "feed:atom",
    words=("feed/atom", "feed-atom"),
    parse=exact,
)
async def repository_feed(req: WebRequest) -> Response:
    settings, ref = req.settings, req.repo
    kind = req.target.view.split(":", 1)[1]
    items = await req.guarded(lambda: webcontent.latest_changes(settings, ref, settings.feed_items))
    repo_url = f"{req.base_url()}/{quote(ref.repo_name)}"
    entries = [
        feeds.Entry(
            title=feeds.first_line(item.changeset.message),
            link=f"{repo_url}/changeset/{item.changeset.raw_id}",
            guid=f"{repo_url}/changeset/{item.changeset.raw_id}",
            author=item.changeset.author,
            date=feeds.epoch_utc(item.changeset.date),
            description_html=feeds.changes_html(item.changeset.message, item.changes),
        )
        for item in items
    ]
    feed = feeds.Feed(
        title=f"Hearth {ref.repo_name} feed",
        link=repo_url,
        self_link=f"{repo_url}/feed/{kind}",
        description=f"Changes on {ref.repo_name} repository",
        entries=entries,
    )
    return feed_response(feed, kind)

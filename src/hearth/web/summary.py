# SPDX-License-Identifier: GPL-3.0-or-later
"""A repository's summary page (``/<repo>``) and following it (``POST /_admin/toggle_following``,
Kallithea's URL and field ``follows_repository_id``).

The summary answers what a visitor comes for in the first screen: what the repository is, how to
clone it (plain URL, with the visitor's user name, by id, over SSH when setting ``ssh_port`` is
set — each with a copy button), its latest
changesets and its README; branches, tags, bookmarks, forks, followers, feeds and downloads beside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.errors import NotFound
from hearth.services import cloneurls
from hearth.services import summary as summaries
from hearth.web import markup, pages, repopages
from hearth.web.pages import Visitor
from hearth.web.repopages import RepoPage

if TYPE_CHECKING:
    from hearth.runtime import Runtime


def clone_urls(
    runtime: Runtime, request: Request, name: str, repo_id: int, user: str
) -> dict[str, str]:
    """The clone URLs of the summary: plain, with the user name (``clone_uri_tmpl``), by id, and
    over SSH (empty when SSH is off)."""
    base = runtime.base_url(dict(request.scope))
    parts = urlsplit(base)
    prefix = parts.path.strip("/")
    plain = f"{base}/{quote(name)}"
    ssh = cloneurls.ssh_url(runtime.settings, base, name) or ""
    urls = {"http": plain, "id": f"{base}/_{repo_id}", "user": "", "ssh": ssh}
    if user:
        urls["user"] = runtime.settings.clone_uri_tmpl.format(
            scheme=parts.scheme,
            user=quote(user, safe=""),
            netloc=parts.netloc,
            prefix=prefix,
            repo=quote(name),
            repoid=repo_id,
        )
    return urls


@repopages.page("", "summary:index")
async def summary_page(view: RepoPage) -> Response:
    runtime = view.runtime
    actor = view.actor

    def load() -> summaries.Summary:
        with runtime.database.sessions() as db:
            return summaries.summary(db, runtime.settings, actor, view.repo.repo_id)

    data = await pages.blocking(load)
    readme_html = None
    if data.readme is not None and data.readme.markdown:
        readme_html = markup.markdown(data.readme.text)
    urls = clone_urls(runtime, view.request, data.name, data.repo_id, view.visitor.username)
    return view.render(
        "summary.html",
        s=data,
        urls=urls,
        readme_html=readme_html,
        repo_url="/" + quote(data.name),
    )


async def toggle_following(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    if request.method != "POST":
        return pages.not_found(request, visitor)
    data = await pages.form(request, visitor)
    if not visitor.signed_in or visitor.actor is None:
        return pages.to_login(request, visitor)
    try:
        repo_id = int(pages.field(data, "follows_repository_id"))
    except ValueError:
        raise NotFound("web_repo_not_found") from None
    follow = pages.field(data, "follow", "1") == "1"
    actor = visitor.actor
    address = runtime.client_address(dict(request.scope))

    def change() -> str:
        with runtime.database.transaction(write=True) as db:
            return summaries.set_following(db, actor, repo_id, follow, address)

    name = await pages.blocking(change)
    return pages.redirect(request, visitor, "/" + quote(name))


def routes() -> list[Route]:
    return [
        Route("/_admin/toggle_following", pages.page(toggle_following), methods=["GET", "POST"])
    ]

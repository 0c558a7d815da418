# SPDX-License-Identifier: GPL-3.0-or-later
"""Pull-request pages, at Kallithea's URLs below the target repository:

=================================================  ============================================
``/<repo>/pull-request``                           the repository's list (``?status=closed``)
``/<repo>/pull-request/new``                       pick source and target, preview, create
``/<repo>/pull-request/<id>[/_/<slug>]``           the pull request: review, discussion, merge
``POST …/<id>/comment``                            a comment (general, inline, answer, status,
                                                   close); a script's request gets the comment's
                                                   HTML instead of a redirect
``POST …/<id>/resolve``                            an inline comment resolved (or not)
``POST …/<id>/reviewers``                          reviewers added and removed
``POST …/<id>/merge``                              merge (``fast_forward=1`` for git)
``/_admin/my_pullrequests``                        opened by me, awaiting my review
=================================================  ============================================

Handlers translate: services (``pullrequests``, ``prpages``) decide and do the work.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from hearth.errors import HearthError, NotFound
from hearth.services import prpages, pullrequests
from hearth.services.codeview import Lru
from hearth.services.pullrequests import CommentView
from hearth.web import diffrender, markup, pages, repopages
from hearth.web.codepages import Links
from hearth.web.pages import Visitor
from hearth.web.repopages import RepoPage

_ID = re.compile(r"[1-9][0-9]{0,9}")
_ACTIONS = ("comment", "resolve", "reviewers", "merge")


def pr_url(repo_name: str, pr_id: int, action: str = "") -> str:
    return f"/{quote(repo_name)}/pull-request/{pr_id}" + (f"/{action}" if action else "")


def _markdown(text: str) -> Markup:
    return markup.markdown(text)


def _ids(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text) if part]


@repopages.page("pull-request", "pullrequest:index", methods=("GET", "HEAD", "POST"))
async def pull_request(view: RepoPage) -> Response:
    parts = view.rest.strip("/").split("/")
    head = parts[0] if parts else ""
    if head == "":
        return await _listing(view)
    if head == "new":
        return await _new(view)
    if not _ID.fullmatch(head):
        raise NotFound("web_not_found")
    pr_id = int(head)
    tail = parts[1:]
    if not tail or tail[0] == "_":
        if view.request.method == "POST":
            raise NotFound("web_not_found")
        return await _show(view, pr_id)
    if len(tail) == 1 and tail[0] in _ACTIONS and view.request.method == "POST":
        return await _act(view, pr_id, tail[0])
    raise NotFound("web_not_found")


def _work(view: RepoPage, call: Any) -> Any:
    """``call(db, actor, settings)`` in a worker thread; a POST's in a writing transaction."""
    runtime = view.runtime
    write = view.request.method == "POST"

    def run() -> Any:
        with runtime.database.transaction(write) as db:
            return call(db, view.actor, runtime.settings)

    return pages.blocking(run)


# --- the list --------------------------------------------------------------------------------


async def _listing(view: RepoPage) -> Response:
    status = "closed" if view.request.query_params.get("status") == "closed" else "new"
    found = await _work(
        view, lambda db, actor, settings: prpages.listing(db, actor, settings, view.repo, status)
    )
    text = view.request.query_params.get("q", "").strip().lower()
    if text:
        found = [p for p in found if text in p.title.lower() or text in p.owner.lower()]
    return view.render(
        "pullrequests.html", prs=found, state=status, q=text, tab="pullrequests", pr_url=pr_url
    )


# --- a new pull request ----------------------------------------------------------------------


async def _new(view: RepoPage) -> Response:
    request = view.request
    if request.method == "POST":
        if not view.visitor.signed_in:
            return pages.to_login(request, view.visitor)
        data = await pages.form(request, view.visitor)
        new = pullrequests.NewPullRequest(
            source_repo=pages.field(data, "source_repo"),
            target_repo=view.repo.repo_name,
            source_ref=pages.field(data, "source_ref"),
            target_ref=pages.field(data, "target_ref"),
            title=pages.field(data, "title").strip(),
            description=pages.field(data, "description"),
            reviewers=_ids(pages.field(data, "reviewers")),
        )
        address = view.runtime.client_address(dict(request.scope))
        pr = await _work(
            view,
            lambda db, actor, settings: pullrequests.create(
                db, actor, settings, new, client_ip=address
            ),
        )
        return pages.redirect(
            request, view.visitor, pr_url(view.repo.repo_name, pr.pull_request_id)
        )
    params = request.query_params
    form = await _work(
        view,
        lambda db, actor, settings: prpages.new_page(
            db,
            actor,
            settings,
            view.repo,
            params.get("source_repo", view.repo.repo_name),
            params.get("source_ref", ""),
            params.get("target_ref", ""),
        ),
    )
    fragment = Markup("")
    if form.preview is not None:
        preview = form.preview
        fragment = await pages.blocking(
            lambda: _diff(
                preview.diff,
                Links(form.source_repo),
                preview.head.raw_id,
                [],
                ("new", form.source_repo, preview.base.raw_id, preview.head.raw_id),
            )
        )
    return view.render("pullrequest_new.html", form=form, fragment=fragment, tab="pullrequests")


# --- one pull request ------------------------------------------------------------------------


_FILES: Lru[tuple[object, ...], list[diffrender.FileView]] = Lru(16)


def _diff(
    diff: Any,
    links: Links,
    rev: str,
    comments: list[CommentView],
    key: tuple[object, ...],
    actions: dict[str, Any] | None = None,
) -> Markup:
    """The diff's files with each line addressable and the inline comments under the lines they
    were made on (outdated ones are listed apart). ``key`` names the diff (repositories and
    revisions): its highlighted lines are kept, and so is the HTML of every file no comment is
    shown in, so a warm page highlights nothing."""
    files = _FILES.get_or_make(key, lambda: diffrender.file_views(diff, "unified"))
    by_line: dict[tuple[str, str], list[CommentView]] = {}
    for comment in comments:
        if comment.f_path and comment.line_no and not comment.outdated:
            by_line.setdefault((comment.f_path, comment.line_no), []).append(comment)
    answers = _answers(comments)
    parts = []
    for view in files:

        def make(view: diffrender.FileView = view) -> bytes:
            return pages.render_text("_pr_file.html", f=view, links=links, rev=rev).encode()

        html = diffrender.render_cached(("pr", *key, view.index), make).decode()
        for (path, line), here in by_line.items():
            if path == view.file.path:
                html = _with_comments(html, line, here, answers, actions or {})
        parts.append(Markup(html))
    return Markup("").join(parts)


def _with_comments(
    html: str,
    line: str,
    comments: list[CommentView],
    answers: dict[int, list[CommentView]],
    actions: dict[str, Any],
) -> str:
    """``html`` (a file's cached rows) with a row of ``comments`` after the row of ``line``."""
    marker = f' data-line="{line}"><td class="ln">'
    at = html.find(marker)
    if at < 0:
        return html
    end = html.index("</tr>", at) + len("</tr>")
    shown = "".join(
        pages.render_text("_pr_comment.html", c=c, md=_markdown, answers=answers, **actions)
        for c in comments
        if c.parent_id is None
    )
    row = f'<tr class="inline-comments" data-line="{line}"><td colspan="4">{shown}</td></tr>'
    return html[:end] + row + html[end:]


def _answers(comments: list[CommentView]) -> dict[int, list[CommentView]]:
    found: dict[int, list[CommentView]] = {}
    for comment in comments:
        if comment.parent_id is not None:
            found.setdefault(comment.parent_id, []).append(comment)
    return found


def _actions(view: RepoPage, pr_id: int, can_comment: bool) -> dict[str, Any]:
    """What a comment's answer and resolve forms need."""
    base = pr_url(view.repo.repo_name, pr_id)
    return {
        "can_comment": can_comment,
        "comment_url": base + "/comment",
        "resolve_url": base + "/resolve",
        "csrf": view.visitor.csrf,
    }


async def _show(view: RepoPage, pr_id: int) -> Response:
    found = await _work(
        view,
        lambda db, actor, settings: prpages.page(db, actor, settings, view.repo, pr_id),
    )
    pr = found.pr
    fragment = Markup("")
    if found.compare is not None:
        fragment = await pages.blocking(
            lambda: _diff(
                found.compare.diff,
                Links(pr.org_repo),
                pr.org_ref_parts[2],
                pr.comments,
                (pr.other_repo, pr.org_repo, pr.other_ref_parts[2], pr.org_ref_parts[2]),
                _actions(view, pr.pull_request_id, found.may_comment),
            )
        )
    threads = [c for c in pr.comments if c.parent_id is None]
    answers: dict[int, list[CommentView]] = {}
    for comment in pr.comments:
        if comment.parent_id is not None:
            answers.setdefault(comment.parent_id, []).append(comment)
    return view.render(
        "pullrequest.html",
        page=found,
        pr=pr,
        fragment=fragment,
        general=[c for c in threads if not c.f_path],
        outdated=[c for c in threads if c.f_path and c.outdated],
        answers=answers,
        description=_markdown(pr.description),
        md=_markdown,
        links=Links(pr.org_repo),
        target_links=Links(pr.other_repo),
        pr_url=pr_url,
        tab="pullrequests",
    )


def _wants_fragment(request: Request) -> bool:
    return request.headers.get("x-requested-with", "").lower() == "fetch"


async def _act(view: RepoPage, pr_id: int, action: str) -> Response:
    request, visitor = view.request, view.visitor
    if not visitor.signed_in:
        return pages.to_login(request, visitor)
    data = await pages.form(request, visitor)
    address = view.runtime.client_address(dict(request.scope))
    back = pr_url(view.repo.repo_name, pr_id)
    if action == "comment":
        parent = pages.field(data, "parent_id")
        new = pullrequests.NewComment(
            text=pages.field(data, "text"),
            status=pages.field(data, "status") or None,
            close=pages.field(data, "close") == "1",
            f_path=pages.field(data, "f_path") or None,
            line_no=pages.field(data, "line_no") or None,
            parent_id=int(parent) if _ID.fullmatch(parent) else None,
        )

        def comment(db: Any, actor: Any, settings: Any) -> CommentView:
            row = pullrequests.comment(db, actor, settings, pr_id, new, client_ip=address)
            return pullrequests.comment_view(db, settings, pr_id, row.comment_id)

        try:
            made = await _checked(view, pr_id, comment)
        except HearthError as exc:
            if _wants_fragment(request):
                return HTMLResponse(exc.text, status_code=400)
            raise
        if _wants_fragment(request):
            if made.parent_id is not None:
                html = pages.render_text("_pr_answer.html", a=made, md=_markdown)
            else:
                html = pages.render_text(
                    "_pr_comment.html",
                    c=made,
                    md=_markdown,
                    answers={},
                    **_actions(view, pr_id, True),
                )
            return HTMLResponse(html)
        return pages.redirect(request, visitor, back + f"#comment-{made.comment_id}")
    if action == "resolve":
        target = pages.field(data, "comment_id")
        resolved = pages.field(data, "resolved") == "1"
        if not _ID.fullmatch(target):
            raise NotFound("pr_comment_not_found", x=target)
        await _checked(
            view,
            pr_id,
            lambda db, actor, settings: pullrequests.resolve_comment(
                db, actor, int(target), resolved
            ),
        )
        if _wants_fragment(request):
            return HTMLResponse("resolved" if resolved else "open")
        return pages.redirect(request, visitor, back + f"#comment-{target}")
    if action == "reviewers":
        add, remove = _ids(pages.field(data, "add")), _ids(pages.field(data, "remove"))
        await _checked(
            view,
            pr_id,
            lambda db, actor, settings: pullrequests.edit_reviewers(db, actor, pr_id, add, remove),
        )
        return pages.redirect(request, visitor, back)
    fast_forward = pages.field(data, "fast_forward") == "1"
    await _checked(
        view,
        pr_id,
        lambda db, actor, settings: pullrequests.merge(
            db, actor, settings, pr_id, fast_forward=fast_forward, client_ip=address
        ),
    )
    return pages.redirect(request, visitor, back)


def _checked(view: RepoPage, pr_id: int, call: Any) -> Any:
    """``call`` in one transaction, once the pull request is known to live below this
    repository and to be visible to the visitor."""

    def run(db: Any, actor: Any, settings: Any) -> Any:
        prpages.find(db, actor, view.repo, pr_id)
        return call(db, actor, settings)

    return _work(view, run)


# --- my pull requests ------------------------------------------------------------------------


@pages.page
async def my_pullrequests(request: Request, visitor: Visitor) -> Response:
    if not visitor.signed_in or visitor.actor is None:
        return pages.to_login(request, visitor)
    runtime = request.app.state.runtime
    actor = visitor.actor

    def load() -> Any:
        with runtime.database.sessions() as db:
            return pullrequests.mine(db, actor, runtime.settings)

    opened, reviewing = await pages.blocking(load)
    return pages.render(
        request, visitor, "my_pullrequests.html", opened=opened, reviewing=reviewing, pr_url=pr_url
    )


def routes() -> list[BaseRoute]:
    return [Route("/_admin/my_pullrequests", my_pullrequests, methods=["GET", "HEAD"])]


def new_link(repo_name: str, **query: str) -> str:
    return f"/{quote(repo_name)}/pull-request/new?" + urlencode(query)

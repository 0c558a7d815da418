# SPDX-License-Identifier: GPL-3.0-or-later
"""The code pages of a repository, at Kallithea's URLs:

==========================================  ==========================================
``/<repo>/files/<rev>/<path>``              a directory's listing or a file (highlighted)
``/<repo>/annotate/<rev>/<path>``           blame
``/<repo>/changelog[/<rev>/<path>]``        history, per branch (``?branch=``) or per path
``/<repo>/changeset/<rev>``                 a changeset and its diff
``/<repo>/compare/<a>...<b>``               changesets between two revisions, and the diff
==========================================  ==========================================

Handlers translate: they read the path and the query, ask ``services/codeview.py`` in a worker
thread (it decides access and reads the repository), and render. Highlighted files are cached by
blob id and lexer, rendered diffs by changeset id and options, so a warm page renders no code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup
from starlette.responses import Response

from hearth.errors import NotFound
from hearth.services import codeview
from hearth.services.codeview import Diff, Lru
from hearth.web import diffrender, highlight, pages, repopages
from hearth.web import format as fmt
from hearth.web.repopages import RepoPage


@dataclass(frozen=True)
class Links:
    """URLs of one repository's pages (paths quoted, ``/`` kept)."""

    repo: str

    def _base(self, name: str | None = None) -> str:
        return "/" + quote(name or self.repo)

    def summary(self) -> str:
        return self._base()

    def files(self, rev: str, path: str = "") -> str:
        return f"{self._base()}/files/{quote(rev, safe='')}/{quote(path)}"

    def annotate(self, rev: str, path: str) -> str:
        return f"{self._base()}/annotate/{quote(rev, safe='')}/{quote(path)}"

    def raw(self, rev: str, path: str) -> str:
        return f"{self._base()}/raw/{quote(rev, safe='')}/{quote(path)}"

    def download(self, rev: str, path: str) -> str:
        return f"{self._base()}/rawfile/{quote(rev, safe='')}/{quote(path)}"

    def changelog(self, rev: str = "", path: str = "", **query: Any) -> str:
        url = f"{self._base()}/changelog"
        if rev:
            url += f"/{quote(rev, safe='')}" + (f"/{quote(path)}" if path else "")
        query = {k: v for k, v in query.items() if v not in (None, "", False)}
        return url + ("?" + urlencode(query) if query else "")

    def changeset(self, rev: str, **query: Any) -> str:
        query = {k: v for k, v in query.items() if v not in (None, "", False)}
        url = f"{self._base()}/changeset/{quote(rev, safe='')}"
        return url + ("?" + urlencode(query) if query else "")

    def compare_home(self) -> str:
        return f"{self._base()}/compare"

    def raw_diff(self, rev: str) -> str:
        return f"{self._base()}/changeset-diff/{quote(rev, safe='')}"

    def patch(self, rev: str) -> str:
        return f"{self._base()}/changeset-patch/{quote(rev, safe='')}"

    def compare(self, base: str, head: str, **query: Any) -> str:
        query = {k: v for k, v in query.items() if v not in (None, "", False)}
        url = f"{self._base()}/compare/{quote(base, safe='@')}...{quote(head, safe='@')}"
        return url + ("?" + urlencode(query) if query else "")

    def repo_files(self, name: str, rev: str, path: str = "") -> str:
        return f"{self._base(name)}/files/{quote(rev, safe='')}/{quote(path)}"

    def repo_changeset(self, name: str, rev: str) -> str:
        return f"{self._base(name)}/changeset/{quote(rev, safe='')}"


def crumbs(links: Links, rev: str, path: str) -> list[tuple[str, str | None]]:
    """The repository root, then each directory of ``path``, then its last part (not a link)."""
    pieces = [p for p in path.split("/") if p]
    parts: list[tuple[str, str | None]] = [("/", links.files(rev) if pieces else None)]
    for n, piece in enumerate(pieces):
        last = n == len(pieces) - 1
        parts.append((piece, None if last else links.files(rev, "/".join(pieces[: n + 1]))))
    return parts


def _flag(view: RepoPage, name: str) -> bool:
    return view.request.query_params.get(name, "").lower() in ("1", "true", "yes", "on")


def _page_number(view: RepoPage) -> int:
    try:
        return max(1, int(view.request.query_params.get("page", "1")))
    except ValueError:
        return 1


async def _ask(
    view: RepoPage,
    call: Any,
    *args: Any,
    then: Callable[[Any], Any] | None = None,
    **kwargs: Any,
) -> tuple[Any, Any]:
    """``call(db, actor, settings, repo, *args)`` of ``codeview`` in a worker thread, and
    ``then(result)`` (the rendering of code, cached or not) in the same one: every trip to a
    worker thread costs, on a busy machine, about as much as a cached page."""
    runtime = view.runtime

    def work() -> tuple[Any, Any]:
        with runtime.database.sessions() as db:
            found = call(db, view.actor, runtime.settings, view.repo, *args, **kwargs)
        return found, then(found) if then is not None else None

    return await pages.blocking(work)


def _split(rest: str) -> tuple[str, str]:
    rev, _, path = rest.partition("/")
    return rev or "tip", path.strip("/")


# --- files -------------------------------------------------------------------------------------

_CODE: Lru[tuple[str, str, str], bytes] = Lru(256, weigh=len, budget=96 << 20)
_SPLICE = "<!--hearth:code-->"


def code_table(blob_id: str, data: bytes, filename: str) -> bytes:
    """The numbered, highlighted lines of a file as UTF-8, cached by content id and lexer.

    Kept as bytes and spliced into the encoded page (:func:`_spliced`): a 5,000-line file is a
    megabyte of HTML, and passing it through the template and encoding it again on every view
    cost more than the rest of the page."""
    key = (blob_id, highlight.lexer_name(filename), "code")

    def make() -> bytes:
        lines = highlight.highlight_lines(data.decode("utf-8", "replace"), filename)
        return pages.render_text("_code.html", lines=lines).encode("utf-8")

    return _CODE.get_or_make(key, make)


def _spliced(response: Response, fragment: bytes | None) -> Response:
    """``fragment`` in place of the page's one ``_SPLICE`` marker."""
    if fragment is None:
        return response
    head, sep, tail = bytes(response.body).partition(_SPLICE.encode())
    if sep:
        response.body = head + fragment + tail
        response.headers["content-length"] = str(len(response.body))
    return response


_BLAMES: Lru[tuple[str, str, str], Markup] = Lru(64, weigh=len, budget=32 << 20)


def blame_table(page: codeview.BlamePage, links: Links) -> Markup:
    """The blamed lines, cached by repository (its links), changeset id and path."""

    def make() -> Markup:
        text = (page.blob.data or b"").decode("utf-8", "replace")
        lines = highlight.highlight_lines(text, page.path)
        starts = {hunk.start: hunk for hunk in page.hunks}
        return Markup(
            pages.render_text(
                "_blame.html", lines=lines, starts=starts, links=links, where=page.where
            )
        )

    key = (links.repo, page.where.changeset.raw_id, page.path)
    return _BLAMES.get_or_make(key, make)


def _file_code(found: codeview.TreePage | codeview.FilePage) -> bytes | None:
    if not isinstance(found, codeview.FilePage) or not found.shown or found.blob.data is None:
        return None
    return code_table(found.blob.blob_id, found.blob.data, found.path)


@repopages.page("files", "files:index")
async def files(view: RepoPage) -> Response:
    rev, path = _split(view.rest)
    at = view.request.query_params.get("at")
    if at:  # the branch/tag switcher without JavaScript
        return pages.redirect(
            view.request, view.visitor, Links(view.repo.repo_name).files(at, path)
        )
    found, code = await _ask(view, codeview.browse, rev, path, then=_file_code)
    links = Links(view.repo.repo_name)
    where = found.where
    common = {
        "where": where,
        "links": links,
        "fpath": found.path,
        "crumbs": crumbs(links, where.rev, found.path),
        "tab": "files",
    }
    if isinstance(found, codeview.TreePage):
        parent = found.path.rsplit("/", 1)[0] if "/" in found.path else ""
        return view.render(
            "files_tree.html",
            entries=found.entries,
            parent=parent if found.path else None,
            **common,
        )
    response = view.render(
        "file.html",
        page=found,
        code=Markup(_SPLICE) if code is not None else None,
        lexer=highlight.lexer_name(found.path),
        line_count=(found.blob.data or b"").count(b"\n"),
        **common,
    )
    return _spliced(response, code)


@repopages.page("annotate", "files:annotate")
async def annotate(view: RepoPage) -> Response:
    rev, path = _split(view.rest)
    if not path:
        raise NotFound("web_not_found")
    at = view.request.query_params.get("at")
    if at:
        return pages.redirect(
            view.request, view.visitor, Links(view.repo.repo_name).annotate(at, path)
        )
    links = Links(view.repo.repo_name)
    found, table = await _ask(
        view, codeview.blame, rev, path, then=lambda f: blame_table(f, links) if f.shown else None
    )
    return view.render(
        "annotate.html",
        page=found,
        where=found.where,
        table=table,
        links=links,
        fpath=found.path,
        crumbs=crumbs(links, found.where.rev, found.path),
        tab="files",
    )


# --- history -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogRow:
    """One changeset of the changelog, every value the row shows worked out here: a page of
    twenty rows through template macros cost more than reading the history."""

    url: str
    browse: str
    subject: str
    author: str
    labels: list[codeview.Label]
    branch: str | None
    merge: bool
    ident: str
    iso: str
    exact: str
    relative: str


def log_rows(changesets: list[Any], names: codeview.Names, links: Links, path: str) -> list[LogRow]:
    base = links.summary()
    tail = quote(path)
    return [
        LogRow(
            url=f"{base}/changeset/{cs.raw_id}",
            browse=f"{base}/files/{cs.raw_id}/{tail}",
            subject=fmt.first_line(cs.message),
            author=cs.author.split("<")[0].strip(),
            labels=names.labels(cs.raw_id),
            branch=cs.branch if cs.branch and cs.branch != "default" else None,
            merge=len(cs.parents) > 1,
            ident=f"{cs.revision}:{cs.short_id}",
            iso=fmt.iso(cs.date),
            exact=fmt.exact(cs.date),
            relative=fmt.relative(cs.date),
        )
        for cs in changesets
    ]


@repopages.page("changelog", "changelog:index")
async def changelog(view: RepoPage) -> Response:
    rest = view.rest.strip("/")
    rev, path = _split(rest) if rest else ("tip", "")
    branch = view.request.query_params.get("branch") or None
    number = _page_number(view)
    found, _ = await _ask(view, codeview.history, rev, path, number, branch)
    links = Links(view.repo.repo_name)
    base_rev = "" if not rest else found.where.rev

    def page_link(n: int) -> str:
        return links.changelog(base_rev, found.path, branch=branch, page=n if n > 1 else None)

    rows = log_rows(found.changesets, found.where.names, links, found.path)

    return view.render(
        "changelog.html",
        page=found,
        rows=rows,
        where=found.where,
        links=links,
        fpath=found.path,
        prev_link=page_link(number - 1) if number > 1 else None,
        next_link=page_link(number + 1) if found.more else None,
        crumbs=crumbs(links, found.where.rev, found.path) if found.path else None,
        tab="changelog",
    )


# --- changesets and comparisons -----------------------------------------------------------------


def _mode(view: RepoPage) -> diffrender.Mode:
    return "sbs" if view.request.query_params.get("mode") == "sbs" else "unified"


def diff_fragment(
    diff: Diff,
    mode: diffrender.Mode,
    links: Links,
    rev: str,
    full_link: str,
    key: tuple[object, ...] | None,
) -> bytes:
    """The files of a diff as UTF-8, rendered once per ``key`` (it names everything the HTML
    holds) and spliced into the page like a file's code."""

    def make() -> bytes:
        views = diffrender.file_views(diff, mode)
        return pages.render_text(
            "_diff.html", files=views, mode=mode, links=links, rev=rev, full_link=full_link
        ).encode("utf-8")

    return diffrender.render_cached(key, make)


@repopages.page("changeset", "changeset:index")
async def changeset(view: RepoPage) -> Response:
    rev = view.rest.strip("/")
    if not rev:
        raise NotFound("web_not_found")
    mode = _mode(view)
    ignore_ws, full = _flag(view, "ignorews"), _flag(view, "fulldiff")
    links = Links(view.repo.repo_name)
    full_link = links.changeset(
        rev, fulldiff=1, ignorews=ignore_ws, mode=mode if mode != "unified" else None
    )

    def fragment_of(found: codeview.ChangesetPage) -> bytes:
        raw_id = found.where.changeset.raw_id
        key = (view.repo.repo_name, view.repo.repo_type, raw_id, mode, ignore_ws, full, rev)
        return diff_fragment(found.diff, mode, links, raw_id, full_link, key)

    found, fragment = await _ask(
        view, codeview.changeset, rev, then=fragment_of, ignore_ws=ignore_ws, full=full
    )
    response = view.render(
        "changeset.html",
        page=found,
        where=found.where,
        cs=found.where.changeset,
        diff=found.diff,
        fragment=Markup(_SPLICE),
        mode=mode,
        ignore_ws=ignore_ws,
        full=full,
        links=links,
        tab="changelog",
    )
    return _spliced(response, fragment)


@repopages.page("compare", "compare:index")
async def compare(view: RepoPage) -> Response:
    spec = view.rest.strip("/")
    params = view.request.query_params
    links = Links(view.repo.repo_name)
    if "..." not in spec:
        base, head = params.get("base", ""), params.get("head", "")
        if base and head:  # the form below, without JavaScript
            other = params.get("other_repo") or None
            return pages.redirect(
                view.request, view.visitor, links.compare(base, head, other_repo=other)
            )
        return view.render("compare_form.html", links=links, tab="compare")
    base, _, head = spec.partition("...")
    if not base or not head:
        raise NotFound("web_not_found")
    mode = _mode(view)
    ignore_ws, full, merge = _flag(view, "ignorews"), _flag(view, "fulldiff"), _flag(view, "merge")
    other_name = params.get("other_repo") or None

    def same(**change: Any) -> str:
        query: dict[str, Any] = {
            "other_repo": other_name,
            "merge": merge,
            "mode": mode if mode != "unified" else None,
            "ignorews": ignore_ws,
        }
        query.update(change)
        return links.compare(base, head, **query)

    def fragment_of(found: codeview.ComparePage) -> bytes:
        key = (
            "compare",
            base,
            head,
            view.repo.repo_name,
            found.other.repo_name,
            found.base.raw_id,
            found.head.raw_id,
            mode,
            ignore_ws,
            full,
            merge,
        )
        head_links = Links(found.other.repo_name)
        return diff_fragment(found.diff, mode, head_links, found.head.raw_id, same(fulldiff=1), key)

    found, fragment = await _ask(
        view,
        codeview.compare,
        base,
        head,
        then=fragment_of,
        other_name=other_name,
        merge=merge,
        ignore_ws=ignore_ws,
        full=full,
    )
    head_links = Links(found.other.repo_name)

    response = view.render(
        "compare.html",
        page=found,
        fragment=Markup(_SPLICE),
        links=links,
        head_links=head_links,
        mode=mode,
        ignore_ws=ignore_ws,
        merge=merge,
        same=same,
        tab="compare",
    )
    return _spliced(response, fragment)

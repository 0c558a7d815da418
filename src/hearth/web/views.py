# SPDX-License-Identifier: GPL-3.0-or-later
"""The repository web views a build farm fetches with an API key (``spec/web-and-vcs.md`` §8).

``handle`` is called by the router (``hearth/routing.py``) for every request under a repository that is
not a git/hg protocol request, with the repository row and the rest of the path:

=============================================  =====================  ===================================
rest of the path                               view                   answer
=============================================  =====================  ===================================
``changeset-diff/<rev>``, ``raw-changeset/…``  ``changeset:raw``      raw diff (``<rev1>...<rev2>`` too)
``changeset-patch/<rev>``                      ``changeset:patch``    patch header + diff
``changeset-download/<rev>``                   ``changeset:download`` raw diff as ``<rev[:12]>.diff``
``raw/<rev>/<path>``                           ``files:raw``          file bytes inline
``rawfile/<rev>/<path>``, ``download/…``       ``files:download``     file bytes as an attachment
``diff/<path>?diff1=&diff2=&diff=raw|download``  ``files:diff``       one file's diff
``archive/<rev><ext>``                         ``files:archive``      zip / tar.gz / tar.bz2
``feed/rss``, ``feed/atom``, ``feed-rss``, …   ``feed:rss|atom``      RSS 2.0 / Atom 1.0
=============================================  =====================  ===================================

Order for every request: who is asking (``web/access.py``: a key only for API-enabled views) and
whether they may read the repository — if not, 404 ``Repository not found`` exactly as for a missing
repository; then the view. Every answer is plain text on failure, with ``X-Content-Type-Options:
nosniff`` and ``Content-Security-Policy: sandbox`` always. The web UI pages (a browser redirected to a
login page, ``diff`` values other than ``raw``/``download``) do not exist yet: those answer 404.
All disk and database work runs in worker threads.
"""

from __future__ import annotations

import codecs
import logging
import mimetypes
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool

from hearth import vcs
from hearth.db.models import Repository
from hearth.errors import TEXTS, Forbidden, HearthError, Invalid, NotFound
from hearth.services import webviews
from hearth.services.webviews import RepoRef
from hearth.web import access, archives, feeds, pages

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger("hearth.web")
T = TypeVar("T")

SAFETY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"sandbox"),
]
TEXT_PLAIN = "text/plain; charset=utf-8"

# Binary types a browser only displays or saves: served as what they are. Everything else binary is
# application/octet-stream, and types a browser could run (HTML, SVG, XML, JavaScript) text/plain.
_SAFE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/x-ms-bmp",
        "image/tiff",
        "image/x-icon",
        "image/vnd.microsoft.icon",
        "image/avif",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/java-archive",
        "application/zstd",
    }
)
# a browser may run what it renders as any of these (text/html, image/svg+xml, application/javascript…)
_EXECUTABLE_WORDS = ("html", "xml", "svg", "javascript", "ecmascript")
_EXTRA_TYPES = {
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".tgz": "application/gzip",
    ".gz": "application/gzip",
    ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz",
    ".7z": "application/x-7z-compressed",
    ".rar": "application/vnd.rar",
    ".jar": "application/java-archive",
    ".zst": "application/zstd",
}


def raw_content_type(path: str, data: bytes, binary: bool, whole: bool = True) -> str:
    """The ``Content-Type`` of a raw file (web-and-vcs.md §8); ``data`` is the file or, when
    ``whole`` is false, its first bytes."""
    name = path.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    guessed = _EXTRA_TYPES.get(name[dot:]) if dot >= 0 else None
    if guessed is None:
        guessed, _encoding = mimetypes.guess_type(name, strict=False)
        if _encoding == "gzip":
            guessed = "application/gzip"
        elif _encoding == "bzip2":
            guessed = "application/x-bzip2"
        elif _encoding == "xz":
            guessed = "application/x-xz"
    if guessed in _SAFE_TYPES and (binary or not _is_utf8(data, whole)):
        return guessed
    if not binary:
        return TEXT_PLAIN
    if guessed is not None and any(word in guessed for word in _EXECUTABLE_WORDS):
        return "text/plain"
    return "application/octet-stream"


def _is_utf8(data: bytes, whole: bool = True) -> bool:
    """Valid UTF-8 (for the first bytes of a file, a sequence cut at the end still counts)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=whole)
    except UnicodeDecodeError:
        return False
    return True


def content_disposition(kind: str, filename: str) -> bytes:
    """``attachment; filename=<name>``; names a plain token cannot hold also get ``filename*``."""
    plain = filename.isascii() and all(c.isalnum() or c in "._-+~" for c in filename)
    if plain and filename:
        return f"{kind}; filename={filename}".encode("latin-1")
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}".encode(
        "latin-1"
    )


# --- answers ----------------------------------------------------------------------------------------


def _start(
    status: int, content_type: str, length: int, headers: list[tuple[bytes, bytes]] | None
) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", str(length).encode()),
            *SAFETY_HEADERS,
            *(headers or ()),
        ],
    }


async def send_body(
    send: Any,
    status: int,
    body: bytes,
    content_type: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    head_only: bool = False,
) -> None:
    await send(_start(status, content_type, len(body), headers))
    await send({"type": "http.response.body", "body": b"" if head_only else body})


async def send_stream(
    send: Any,
    stream: vcs.FileStream,
    content_type: str,
    headers: list[tuple[bytes, bytes]],
    *,
    head_only: bool = False,
) -> None:
    """A 200 with ``stream``'s bytes: the head at once, the rest read chunk by chunk in worker
    threads (a file that fails mid-way ends the connection short of its ``Content-Length``)."""
    await send(_start(200, content_type, stream.size, headers))
    if head_only or stream.whole:
        await send({"type": "http.response.body", "body": b"" if head_only else stream.head})
        return
    await send({"type": "http.response.body", "body": stream.head, "more_body": True})
    chunks = stream.rest()
    while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def send_feed(send: Any, feed: feeds.Feed, kind: str, *, head_only: bool = False) -> None:
    """A rendered RSS or Atom feed; repository and journal feeds alike."""
    body, content_type = feeds.render(feed, kind)
    await send_body(
        send,
        200,
        body,
        content_type,
        [(b"cache-control", b"private, no-cache")],
        head_only=head_only,
    )


def error_status(exc: HearthError) -> int:
    if exc.code == "web_login_required":
        return 401
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, Invalid):
        return 400
    return 500


async def send_error(send: Any, exc: HearthError, realm: str, *, head_only: bool = False) -> None:
    status = error_status(exc)
    extra = [(b"cache-control", b"no-cache")]
    if status == 401:
        extra.append((b"www-authenticate", f'Bearer realm="{realm}"'.encode("latin-1")))
    await send_body(send, status, exc.text.encode("utf-8"), TEXT_PLAIN, extra, head_only=head_only)


async def send_internal_error(send: Any, what: str, *, head_only: bool = False) -> None:
    """Log the failure with an incident id (never the query string: it may hold a key)."""
    incident = uuid.uuid4().hex[:12]
    log.exception("internal error in web view %s (incident %s)", what, incident)
    text = TEXTS["web_internal"].format(incident=incident)
    await send_body(send, 500, text.encode(), TEXT_PLAIN, head_only=head_only)


# --- routing the rest of the path --------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    view: str
    rev: str = ""
    path: str = ""
    kind: str = ""  # feeds: rss | atom


_CHANGESET_VIEWS = {
    "changeset-diff": "changeset:raw",
    "raw-changeset": "changeset:raw",
    "changeset-patch": "changeset:patch",
    "changeset-download": "changeset:download",
}
_FILE_VIEWS = {"raw": "files:raw", "rawfile": "files:download", "download": "files:download"}
_FEEDS = {"feed/rss": "rss", "feed/atom": "atom", "feed-rss": "rss", "feed-atom": "atom"}


def parse_rest(rest: str) -> Target | None:
    """The view a path below a repository names, or None (not one of ours)."""
    rest = rest.lstrip("/")
    if rest.rstrip("/") in _FEEDS:
        kind = _FEEDS[rest.rstrip("/")]
        return Target(f"feed:{kind}", kind=kind)
    head, _, tail = rest.partition("/")
    if head in _CHANGESET_VIEWS:
        return Target(_CHANGESET_VIEWS[head], rev=tail.rstrip("/"))
    if head in _FILE_VIEWS:
        rev, _, path = tail.partition("/")
        return Target(_FILE_VIEWS[head], rev=rev, path=path)
    if head == "diff" and tail:
        return Target("files:diff", path=tail)
    if head == "archive" and tail:
        return Target("files:archive", rev=tail)
    return None


def _query(scope: dict[str, Any]) -> dict[str, str]:
    """The first value of each query parameter."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), True):
        params.setdefault(name, value)
    return params


def diff_options(params: dict[str, str]) -> tuple[int, bool]:
    """``context=<n>`` (default 3, bounded) and ``ignorews=1``."""
    try:
        context = max(0, min(int(params.get("context", "3")), 100_000))
    except ValueError:
        context = 3
    ignore_ws = params.get("ignorews", "").lower() in ("1", "true", "yes", "on")
    return context, ignore_ws


def _header(scope: dict[str, Any], wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            return value.decode("latin-1")
    return None


# --- the entry point ----------------------------------------------------------------------------------


async def send_not_found(runtime: Runtime, scope: dict[str, Any], send: Any) -> None:
    """The answer for a path naming no repository: exactly what an unreadable repository gets."""
    await send_error(
        send,
        NotFound("web_repo_not_found"),
        runtime.settings.realm,
        head_only=scope.get("method") == "HEAD",
    )


async def handle(
    runtime: Runtime,
    scope: dict[str, Any],
    receive: Any,
    send: Any,
    repo: Repository,
    rest: str,
) -> None:
    """Answer a web request below ``repo`` (``rest``: the path after the repository name)."""
    started = False

    async def tracked_send(message: dict[str, Any]) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    target = parse_rest(rest)
    creds = access.credentials(runtime, scope, target.view if target else None)
    ref = RepoRef.of(repo)
    head_only = scope.get("method") == "HEAD"
    realm = runtime.settings.realm
    try:
        if target is None:
            await run_in_threadpool(access.require_read, runtime, creds, ref.repo_id)
            raise NotFound("web_not_found")
        if scope.get("method") not in ("GET", "HEAD"):
            await run_in_threadpool(access.require_read, runtime, creds, ref.repo_id)
            await send_body(
                send,
                405,
                TEXTS["web_method_not_allowed"].encode(),
                TEXT_PLAIN,
                [(b"allow", b"GET, HEAD")],
                head_only=head_only,
            )
            return
        view = _VIEWS[target.view]
        await view(runtime, scope, tracked_send, ref, target, creds, head_only)
    except HearthError as exc:
        if started:
            raise
        if _send_to_login(scope, creds, exc):
            await send_login_redirect(scope, send)
            return
        await send_error(send, exc, realm, head_only=head_only)
    except Exception:
        if started:  # the client went away mid-stream, or the disk failed: nothing to answer
            log.warning("web view %s stopped while streaming", target.view if target else "?")
            return
        await send_internal_error(send, target.view if target else "(none)", head_only=head_only)


def _send_to_login(scope: dict[str, Any], creds: access.Credentials, exc: HearthError) -> bool:
    """A browser with neither key nor session asking for a repository it cannot see (§8)."""
    return (
        exc.code == "web_repo_not_found"
        and creds.key is None
        and creds.session is None
        and pages.wants_html(scope)
    )


async def send_login_redirect(scope: dict[str, Any], send: Any) -> None:
    query = scope.get("query_string", b"").decode("latin-1")
    here = quote(scope.get("path", "/")) + ("?" + query if query else "")
    location = pages.login_url(here).encode("latin-1")
    await send_body(send, 302, b"", TEXT_PLAIN, [(b"location", location)])


async def _guarded(
    runtime: Runtime, creds: access.Credentials, ref: RepoRef, work: Callable[[], T]
) -> T:
    """Check read access, then do ``work``, both in one worker thread."""

    def run() -> T:
        access.require_read(runtime, creds, ref.repo_id)
        return work()

    return await run_in_threadpool(run)


async def _changeset_view(
    runtime: Runtime,
    scope: dict[str, Any],
    send: Any,
    ref: RepoRef,
    target: Target,
    creds: access.Credentials,
    head_only: bool,
) -> None:
    settings = runtime.settings
    if target.view == "changeset:patch":
        body = await _guarded(
            runtime, creds, ref, lambda: webviews.patch(settings, ref, target.rev)
        )
        await send_body(send, 200, body, TEXT_PLAIN, head_only=head_only)
        return
    context, ignore_ws = diff_options(_query(scope))
    body = await _guarded(
        runtime,
        creds,
        ref,
        lambda: webviews.raw_diff(settings, ref, target.rev, context=context, ignore_ws=ignore_ws),
    )
    extra = []
    if target.view == "changeset:download":
        name = f"{(target.rev or 'tip')[:12]}.diff"
        extra.append((b"content-disposition", content_disposition("attachment", name)))
    await send_body(send, 200, body, TEXT_PLAIN, extra, head_only=head_only)


async def _file_view(
    runtime: Runtime,
    scope: dict[str, Any],
    send: Any,
    ref: RepoRef,
    target: Target,
    creds: access.Credentials,
    head_only: bool,
) -> None:
    settings = runtime.settings
    stream = await _guarded(
        runtime, creds, ref, lambda: webviews.raw_stream(settings, ref, target.rev, target.path)
    )
    try:
        content_type = raw_content_type(target.path, stream.head, stream.binary, stream.whole)
        extra = [(b"cache-control", b"private, no-cache")]
        if target.view == "files:download":
            basename = target.path.strip("/").rsplit("/", 1)[-1]
            extra.append((b"content-disposition", content_disposition("attachment", basename)))
        await send_stream(send, stream, content_type, extra, head_only=head_only)
    finally:
        await run_in_threadpool(stream.close)


async def _file_diff_view(
    runtime: Runtime,
    scope: dict[str, Any],
    send: Any,
    ref: RepoRef,
    target: Target,
    creds: access.Credentials,
    head_only: bool,
) -> None:
    settings = runtime.settings
    params = _query(scope)
    mode = params.get("diff", "")
    context, ignore_ws = diff_options(params)

    def work() -> bytes:
        if mode not in ("raw", "download"):  # the web UI's diff pages: none yet
            raise NotFound("web_not_found")
        return webviews.file_diff(
            settings,
            ref,
            target.path,
            params.get("diff1", ""),
            params.get("diff2", ""),
            context=context,
            ignore_ws=ignore_ws,
        )

    body = await _guarded(runtime, creds, ref, work)
    extra = []
    if mode == "download":
        basename = target.path.rstrip("/").rsplit("/", 1)[-1]
        extra.append(
            (b"content-disposition", content_disposition("attachment", basename + ".diff"))
        )
    await send_body(send, 200, body, TEXT_PLAIN, extra, head_only=head_only)


async def _archive_view(
    runtime: Runtime,
    scope: dict[str, Any],
    send: Any,
    ref: RepoRef,
    target: Target,
    creds: access.Credentials,
    head_only: bool,
) -> None:
    settings = runtime.settings
    plan = await _guarded(
        runtime, creds, ref, lambda: webviews.archive_plan(settings, ref, target.rev)
    )
    headers = [
        *archives.headers_for(plan),
        (b"content-disposition", content_disposition("attachment", plan.filename)),
        *SAFETY_HEADERS,
    ]
    if archives.etag_matches(_header(scope, b"if-none-match"), plan.etag):
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    path = archives.cache_path(settings.repos, plan)
    await run_in_threadpool(
        archives.ensure, path, lambda out: webviews.write_archive(settings, ref, plan, out)
    )
    await archives.send_file(send, path, plan.content_type, headers, head_only=head_only)


async def _feed_view(
    runtime: Runtime,
    scope: dict[str, Any],
    send: Any,
    ref: RepoRef,
    target: Target,
    creds: access.Credentials,
    head_only: bool,
) -> None:
    settings = runtime.settings
    items = await _guarded(
        runtime, creds, ref, lambda: webviews.latest_changes(settings, ref, settings.feed_items)
    )
    base = runtime.base_url(scope)
    repo_url = f"{base}/{quote(ref.repo_name)}"
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
        self_link=f"{repo_url}/feed/{target.kind}",
        description=f"Changes on {ref.repo_name} repository",
        entries=entries,
    )
    await send_feed(send, feed, target.kind, head_only=head_only)


_VIEWS = {
    "changeset:raw": _changeset_view,
    "changeset:patch": _changeset_view,
    "changeset:download": _changeset_view,
    "files:raw": _file_view,
    "files:download": _file_view,
    "files:diff": _file_diff_view,
    "files:archive": _archive_view,
    "feed:rss": _feed_view,
    "feed:atom": _feed_view,
}

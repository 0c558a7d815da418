# SPDX-License-Identifier: GPL-3.0-or-later
"""The raw views a build farm fetches with an API key (``spec/web-and-vcs.md`` §8).

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
=============================================  =====================  ===================================

The content comes from ``services/webcontent.py``; the read check runs with it in one worker thread
(``WebRequest.guarded``).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from hearth.errors import NotFound
from hearth.services import webcontent
from hearth.services.filetypes import raw_content_type
from hearth.web import archives
from hearth.web.answers import (
    SAFETY_HEADERS,
    TEXT_PLAIN,
    body_response,
    content_disposition,
    send_stream,
)
from hearth.web.request import WebRequest
from hearth.web.table import path_required, rev_path, rev_required, web_view


def diff_options(params: dict[str, str]) -> tuple[int, bool]:
    """``context=<n>`` (default 3, bounded) and ``ignorews=1``."""
    try:
        context = max(0, min(int(params.get("context", "3")), 100_000))
    except ValueError:
        context = 3
    ignore_ws = params.get("ignorews", "").lower() in ("1", "true", "yes", "on")
    return context, ignore_ws


@web_view(
    "changeset:raw",
    words=("changeset-diff", "raw-changeset"),
)
@web_view(
    "changeset:download",
    words=("changeset-download",),
)
async def changeset_diff(req: WebRequest) -> Response:
    settings, ref, rev = req.settings, req.repo, req.target.rev
    context, ignore_ws = diff_options(req.query)
    body = await req.guarded(
        lambda: webcontent.raw_diff(settings, ref, rev, context=context, ignore_ws=ignore_ws)
    )
    extra = []
    if req.target.view == "changeset:download":
        name = f"{(rev or 'tip')[:12]}.diff"
        extra.append((b"content-disposition", content_disposition("attachment", name)))
    return body_response(200, body, TEXT_PLAIN, extra)


@web_view(
    "changeset:patch",
    words=("changeset-patch",),
)
async def changeset_patch(req: WebRequest) -> Response:
    settings, ref, rev = req.settings, req.repo, req.target.rev
    body = await req.guarded(lambda: webcontent.patch(settings, ref, rev))
    return body_response(200, body, TEXT_PLAIN)


@web_view(
    "files:raw",
    words=("raw",),
    parse=rev_path,
)
@web_view(
    "files:download",
    words=("rawfile", "download"),
    parse=rev_path,
)
async def file_raw(req: WebRequest) -> None:
    settings, ref, target = req.settings, req.repo, req.target
    stream = await req.guarded(
        lambda: webcontent.raw_stream(settings, ref, target.rev, target.path)
    )
    try:
        content_type = raw_content_type(target.path, stream.head, stream.binary, stream.whole)
        extra = [(b"cache-control", b"private, no-cache")]
        if target.view == "files:download":
            basename = target.path.strip("/").rsplit("/", 1)[-1]
            extra.append((b"content-disposition", content_disposition("attachment", basename)))
        await send_stream(req.send, stream, content_type, extra, head_only=req.head_only)
    finally:
        await run_in_threadpool(stream.close)


@web_view(
    "files:diff",
    words=("diff",),
    parse=path_required,
)
async def file_diff(req: WebRequest) -> Response:
    settings, ref, target, params = req.settings, req.repo, req.target, req.query
    mode = params.get("diff", "")
    context, ignore_ws = diff_options(params)

    def work() -> bytes:
        if mode not in ("raw", "download"):  # the web UI's diff pages: none yet
            raise NotFound("web_not_found")
        return webcontent.file_diff(
            settings,
            ref,
            target.path,
            params.get("diff1", ""),
            params.get("diff2", ""),
            context=context,
            ignore_ws=ignore_ws,
        )

    body = await req.guarded(work)
    extra = []
    if mode == "download":
        basename = target.path.rstrip("/").rsplit("/", 1)[-1]
        extra.append(
            (b"content-disposition", content_disposition("attachment", basename + ".diff"))
        )
    return body_response(200, body, TEXT_PLAIN, extra)


@web_view(
    "files:archive",
    words=("archive",),
    parse=rev_required,
)
async def archive(req: WebRequest) -> None:
    settings, ref, rev, send = req.settings, req.repo, req.target.rev, req.send
    plan = await req.guarded(lambda: webcontent.archive_plan(settings, ref, rev))
    headers = [
        *archives.headers_for(plan),
        (b"content-disposition", content_disposition("attachment", plan.filename)),
        *SAFETY_HEADERS,
    ]
    if archives.etag_matches(req.headers.get("if-none-match"), plan.etag):
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    path = archives.cache_path(settings.repos, plan)
    await run_in_threadpool(
        archives.ensure, path, lambda out: webcontent.write_archive(settings, ref, plan, out)
    )
    await archives.send_file(send, path, plan.content_type, headers, head_only=req.head_only)

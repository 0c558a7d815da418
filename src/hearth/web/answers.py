# SPDX-License-Identifier: GPL-3.0-or-later
"""How the web views answer: plain bodies, streamed files, feeds, errors (``spec/web-and-vcs.md`` §8).

Every answer carries ``X-Content-Type-Options: nosniff`` and ``Content-Security-Policy: sandbox``;
failures are plain text. Shared by the views below a repository and the journal feeds of
``web/routes.py``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from hearth import vcs
from hearth.errors import TEXTS, Forbidden, HearthError, Invalid, NotFound
from hearth.services.filetypes import TEXT_PLAIN
from hearth.web import feeds

log = logging.getLogger("hearth.web")

SAFETY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"sandbox"),
]


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


def body_response(
    status: int,
    body: bytes,
    content_type: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Response:
    """A whole body with the safety headers (and ``headers``): Starlette sets the length."""
    response = Response(body, status, media_type=content_type)
    response.raw_headers.extend([*SAFETY_HEADERS, *(headers or ())])
    return response


async def respond(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
    """Send ``response``; to a HEAD request its headers alone (the length stays the body's)."""
    if scope.get("method") != "HEAD":
        await response(scope, receive, send)
        return

    async def head_send(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            message = {**message, "body": b""}
        await send(message)

    await response(scope, receive, head_send)


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


async def send_stream(
    send: Send,
    stream: vcs.FileStream,
    content_type: str,
    headers: list[tuple[bytes, bytes]],
    *,
    head_only: bool = False,
) -> None:
    """A 200 with ``stream``'s bytes: the head at once, the rest read chunk by chunk in worker
    threads (a file that fails mid-way ends the connection short of its ``Content-Length``).
    Raw ASGI rather than ``StreamingResponse``: the length is known and must be sent."""
    await send(_start(200, content_type, stream.size, headers))
    if head_only or stream.whole:
        await send({"type": "http.response.body", "body": b"" if head_only else stream.head})
        return
    await send({"type": "http.response.body", "body": stream.head, "more_body": True})
    chunks = stream.rest()
    while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def feed_response(feed: feeds.Feed, kind: str) -> Response:
    """A rendered RSS or Atom feed; repository and journal feeds alike."""
    body, content_type = feeds.render(feed, kind)
    return body_response(200, body, content_type, [(b"cache-control", b"private, no-cache")])


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


def error_response(exc: HearthError, realm: str) -> Response:
    """The plain-text answer for ``exc``; a 401 names the realm for a Bearer key."""
    status = error_status(exc)
    extra = [(b"cache-control", b"no-cache")]
    if status == 401:
        extra.append((b"www-authenticate", f'Bearer realm="{realm}"'.encode("latin-1")))
    return body_response(status, exc.text.encode("utf-8"), TEXT_PLAIN, extra)


def internal_error_response(what: str) -> Response:
    """Log the failure with an incident id (never the query string: it may hold a key)."""
    incident = uuid.uuid4().hex[:12]
    log.exception("internal error in web view %s (incident %s)", what, incident)
    text = TEXTS["web_internal"].format(incident=incident)
    return body_response(500, text.encode(), TEXT_PLAIN)

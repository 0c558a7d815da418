# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain answers of the clone/push edge: git's no-cache headers and :func:`send_text` (errors,
refusals, 404s), shared by the git relay, hgweb's host and the access checks."""

from __future__ import annotations

from starlette.types import Send


def base_headers(content_type: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", content_type.encode("latin-1")),
        (b"cache-control", b"no-cache, max-age=0, must-revalidate"),
        (b"expires", b"Fri, 01 Jan 1980 00:00:00 GMT"),
        (b"pragma", b"no-cache"),
    ]


async def send_text(
    send: Send,
    status: int,
    text: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """A complete plain-text answer with git's no-cache headers (errors, refusals, 404s)."""
    body = text.encode("utf-8")
    hdrs = base_headers("text/plain; charset=utf-8")
    hdrs.append((b"content-length", str(len(body)).encode()))
    hdrs.extend(headers or ())
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body, "more_body": False})

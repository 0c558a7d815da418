# SPDX-License-Identifier: GPL-3.0-or-later
"""Custom HTTP reason phrases under uvicorn, for the lock refusal (``web-and-vcs.md`` §6).

Mercurial shows a refused request as ``abort: HTTP Error <status>: <reason phrase>``, so the
phrase of a lock refusal must be ``Repository `<repo>` locked by user `<username>``` (Kallithea's
answer). ASGI has no way to send a reason phrase: uvicorn writes it from a table keyed by status
code (``httptools_impl.STATUS_LINE``, ``h11_impl.STATUS_PHRASES``), looked up while the app awaits
``send(http.response.start)``. :func:`install` replaces those tables by mappings that first look at
a context variable, which :func:`send_start` sets around that one ``send`` call. The variable is
per task, so concurrent requests cannot see each other's phrase; every other response keeps the
standard phrase.

If uvicorn changes its internals, :func:`install` leaves them alone and the standard phrase
(``423 Locked``) is sent: git is unaffected (it prints only the status code), hg then prints
``abort: HTTP Error 423: Locked``.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from starlette.types import Send

log = logging.getLogger(__name__)

_REASON: contextvars.ContextVar[bytes | None] = contextvars.ContextVar(
    "hearth_reason", default=None
)
_installed = False


class _StatusLines(dict[int, bytes]):
    """``httptools_impl.STATUS_LINE`` with the current task's reason phrase, if it set one."""

    def __getitem__(self, status: int) -> bytes:
        reason = _REASON.get()
        if reason is None:
            return dict.__getitem__(self, status)
        return b"HTTP/1.1 %d %s\r\n" % (status, reason)


class _StatusPhrases(dict[int, bytes]):
    """``h11_impl.STATUS_PHRASES`` likewise (h11 writes the status line itself)."""

    def __getitem__(self, status: int) -> bytes:
        reason = _REASON.get()
        return dict.__getitem__(self, status) if reason is None else reason


def install() -> bool:
    """Patch uvicorn's status tables once; returns whether custom phrases are possible."""
    global _installed
    if _installed:
        return True
    try:
        from uvicorn.protocols.http import h11_impl, httptools_impl
    except ImportError:  # uvicorn without httptools: try h11 alone
        httptools_impl = None  # type: ignore[assignment]
        try:
            from uvicorn.protocols.http import h11_impl
        except ImportError:
            return False
    ok = False
    table: Any = getattr(httptools_impl, "STATUS_LINE", None) if httptools_impl else None
    if isinstance(table, dict) and not isinstance(table, _StatusLines):
        httptools_impl.STATUS_LINE = _StatusLines(table)
        ok = True
    phrases: Any = getattr(h11_impl, "STATUS_PHRASES", None)
    if isinstance(phrases, dict) and not isinstance(phrases, _StatusPhrases):
        h11_impl.STATUS_PHRASES = _StatusPhrases(phrases)
        ok = True
    if not ok:
        log.warning("uvicorn's status tables not found: lock refusals get the standard phrase")
    _installed = ok
    return ok


def _phrase(text: str) -> bytes:
    """One line of Latin-1 (what HTTP/1.1 allows in a status line); other characters as UTF-8."""
    line = " ".join(text.split())
    try:
        return line.encode("latin-1")
    except UnicodeEncodeError:
        return line.encode("utf-8")


async def send_start(send: Send, message: dict[str, Any], reason: str) -> None:
    """Send ``http.response.start`` with ``reason`` as the reason phrase (where supported)."""
    token = _REASON.set(_phrase(reason))
    try:
        await send(message)
    finally:
        _REASON.reset(token)

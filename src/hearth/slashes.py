# SPDX-License-Identifier: GPL-3.0-or-later
"""Repeated slashes in a request path count as one, before any routing (issue 12 item 2).

``http://host/`` + ``/_admin/api`` gives ``//_admin/api``; Kallithea answers it, and nginx merges
slashes by default (``merge_slashes on``), so the same client worked behind nginx and failed
without it. Merging here makes every route — the API, the repositories, the web views — see the
path nginx would pass on. Only the path is touched; the query string keeps its slashes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

_RUN = re.compile(r"//+")
_RUN_BYTES = re.compile(rb"//+")


def merge_slashes(path: str) -> str:
    """``//a///b//`` → ``/a/b/``."""
    return _RUN.sub("/", path)


class MergeSlashes:
    """ASGI middleware: ``path`` and ``raw_path`` of HTTP requests with slashes merged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and "//" in scope.get("path", ""):
            scope = dict(scope)
            scope["path"] = merge_slashes(scope["path"])
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                scope["raw_path"] = _RUN_BYTES.sub(b"/", raw)
        await self.app(scope, receive, send)

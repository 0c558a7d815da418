# SPDX-License-Identifier: GPL-3.0-or-later
"""Archive downloads: built once per (repository, raw id, format), then served from disk.

``spec/web-and-vcs.md`` §1 and §8. Archives live under ``<repos>/.hearth/archives/<repo id>/`` (the
rescan never looks into ``.hearth``). A build writes a temporary file in that directory and renames it
into place, so a reader sees a whole archive or none; concurrent requests for the same archive in this
process wait for one build. Answers are streamed in chunks from the file, carry
``ETag: "<raw id><ext>"`` and honour ``If-None-Match`` with 304 before anything is built.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import anyio
from starlette.concurrency import run_in_threadpool

from hearth.services.webcontent import ArchivePlan

CHUNK = 256 * 1024

_BUILD_LOCKS: dict[Path, threading.Lock] = {}
_BUILD_LOCKS_GUARD = threading.Lock()


def cache_root(repos_root: Path) -> Path:
    return repos_root / ".hearth" / "archives"


def cache_path(repos_root: Path, plan: ArchivePlan) -> Path:
    return cache_root(repos_root) / str(plan.repo_id) / plan.cache_name


def etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` (a list of entity tags or ``*``; weak comparison) against ``etag``."""
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def ensure(path: Path, build: Callable[[BinaryIO], None]) -> Path:
    """``path``, built with ``build(out)`` first if it is not there yet (blocking)."""
    if path.is_file():
        return path
    with _BUILD_LOCKS_GUARD:
        lock = _BUILD_LOCKS.setdefault(path, threading.Lock())
    try:
        with lock:
            if path.is_file():  # built while we waited
                return path
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".build-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    build(out)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, path)
            except BaseException:
                try:
                    os.unlink(temp)
                except FileNotFoundError:
                    pass
                raise
    finally:
        with _BUILD_LOCKS_GUARD:
            if _BUILD_LOCKS.get(path) is lock and not lock.locked():
                del _BUILD_LOCKS[path]
    return path


def headers_for(plan: ArchivePlan) -> list[tuple[bytes, bytes]]:
    return [
        (b"etag", plan.etag.encode("latin-1")),
        (b"cache-control", b"private, no-cache"),
    ]


async def send_file(
    send: Any,
    path: Path,
    content_type: str,
    headers: list[tuple[bytes, bytes]],
    *,
    head_only: bool = False,
) -> None:
    """Stream ``path`` in chunks (each read in a worker thread) with ``headers``."""
    async with await anyio.open_file(path, "rb") as handle:
        size = (await run_in_threadpool(os.fstat, handle.wrapped.fileno())).st_size
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", content_type.encode("latin-1")),
                    (b"content-length", str(size).encode()),
                    *headers,
                ],
            }
        )
        if head_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        sent = 0
        while sent < size:
            chunk = await handle.read(min(CHUNK, size - sent))
            if not chunk:  # the file cannot shrink (renamed into place whole), but be safe
                break
            sent += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": sent < size})
        if sent < size or size == 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

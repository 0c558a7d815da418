# SPDX-License-Identifier: GPL-3.0-or-later
"""Mercurial's HTTP wire protocol, served in-process by hgweb (spec ``web-and-vcs.md`` §4).

Transport only, like ``gitproto``: :func:`parse_hg_request` tells a caller whether a request to
a repository URL is Mercurial's wire protocol and whether it needs pull or push rights, and
:func:`hgweb_app` serves it. Authentication, permissions and locking happen in the caller
(``smarthttp/hg.py``) before it hands the request over.

The protocol is Mercurial's ``http-v1`` (``mercurial/helptext/internals/wireprotocol.txt``):
the command is the ``cmd`` query parameter; its arguments come in the query string, in
``X-HgArg-1..N`` headers (concatenated, then URL-decoded), or, with the ``httppostargs``
capability we do not advertise, at the start of the body. ``batch`` carries several commands
in its ``cmds`` argument as ``op args;op args``.

Why one hgweb per repository rather than hgwebdir: hgwebdir rescans its directory every
``web.refreshinterval`` seconds, so a new repository is invisible for up to 20 s, and it
would map URLs to repositories on its own while our router already did. Building an
``hgweb`` costs about 1 ms, but a fresh one also reopens the repository and reloads its caches
on its first request; :class:`HgWebHost` therefore keeps a small LRU of them, drops a
repository's entries after every push it served, and otherwise relies on hgweb's own check of
the changelog/phaseroots/bookmarks stat data to see changes made elsewhere.

hgweb is WSGI and blocking, so it runs in a2wsgi's thread pool; a long clone holds a thread.

Mercurial 7 registers its commands, template keywords and bundle2 part handlers when
``mercurial.initialization`` is first imported, and that import fails ("duplicate registration
for name: branches") once any repository has been opened in the process, because opening one
registers a template keyword per namespace. Importing only ``hgweb_mod`` skips it, and pushes
then fail with "missing support for replycaps". So this module imports it on load; any code
that opens hg repositories in-process must import it (or this module) first.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import parse_qs

from mercurial import encoding as _hg_encoding

# Process-wide, as in ``vcs/hg.py`` (which must agree): metadata is UTF-8 whatever the locale.
_hg_encoding.encoding = b"utf-8"

from mercurial import initialization as _hg_initialization  # noqa: E402
from starlette.datastructures import Headers  # noqa: E402
from starlette.types import Receive, Scope, Send  # noqa: E402

from hearth.smarthttp.answers import send_text  # noqa: E402

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Access = Literal["pull", "push"]

#: Wire commands that change the repository; everything else is read-only.
PUSH_COMMANDS = frozenset({"unbundle", "pushkey"})
WORKERS = 32
"""Default size of the thread pool hgweb runs in: the number of concurrent hg transfers."""
CACHE_SIZE = 32
"""Default number of hgweb objects (one open repository each) kept between requests.

Measured on a 3,000-revision repository: ``capabilities`` 4.1 ms → 2.2 ms, ``heads``
5.2 ms → 2.0 ms, ``branchmap`` 7.5 ms → 3.4 ms (median, uvicorn on 127.0.0.1)."""
COALESCE = 64 * 1024
"""hgweb yields many tiny chunks (a stream clone: a file header, then its data); each one
crosses from the worker thread to the event loop, so merge them up to this size."""

_SCOPE_KEY = "hearth.hgweb"

_hg_initialization.init()


@dataclass(frozen=True, slots=True)
class HgRequest:
    """A Mercurial wire-protocol request, as far as access control needs to know it."""

    cmd: str | None
    """The ``cmd`` query parameter (``None`` when only the headers said "Mercurial")."""
    batch: tuple[str, ...]
    """For ``cmd=batch``, the commands inside it, in order."""
    access: Access


def _headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Each header once, lowercase, repeated values joined with commas (RFC 9110 §5.3)."""
    found = Headers(raw=[(name.lower(), value) for name, value in headers])
    return {name: ",".join(found.getlist(name)) for name in found}


def _hgargs(headers: dict[str, str]) -> str:
    """Mercurial's ``decodevaluefromheaders``: ``X-HgArg-1``, ``-2``, … until one is missing."""
    parts = []
    i = 1
    while (value := headers.get(f"x-hgarg-{i}")) is not None:
        parts.append(value)
        i += 1
    return "".join(parts)


def parse_hg_request(
    query_string: bytes | str, headers: Iterable[tuple[bytes, bytes]]
) -> HgRequest | None:
    """Classify a request to a repository URL; None means it is not Mercurial (web UI).

    ``headers`` are ASGI's raw ``(name, value)`` pairs. A ``batch`` whose command list cannot
    be read without consuming the body (``X-HgArgs-Post``) counts as a push: refusing a
    reader is safer than letting a writer through.
    """
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    query = parse_qs(query_string, keep_blank_values=True, encoding="latin-1")
    hdrs = _headers(headers)
    hgargs = _hgargs(hdrs)
    accept = hdrs.get("accept", "").lower()
    if "cmd" not in query and not hgargs and "application/mercurial-" not in accept:
        return None
    cmds = query.get("cmd", [])
    cmd = cmds[-1] if cmds else None
    push = any(c in PUSH_COMMANDS for c in cmds)
    batch: list[str] = []
    if "batch" in cmds:
        args = parse_qs(hgargs, keep_blank_values=True, encoding="latin-1")
        lists = query.get("cmds", []) + args.get("cmds", [])
        for value in lists:
            batch.extend(pair.split(" ", 1)[0] for pair in value.split(";") if pair)
        push = push or any(op in PUSH_COMMANDS for op in batch)
        if not lists and "x-hgargs-post" in hdrs:
            push = True
    return HgRequest(cmd, tuple(batch), "push" if push else "pull")


@dataclass(frozen=True, slots=True)
class _Target:
    """Everything the WSGI thread needs to pick the hgweb and fix up the environ."""

    key: tuple[str, bool, bool, str]
    script_name: str
    path_info: str
    remote_user: str | None


class HgWebHost:
    """Runs hgweb applications for single repositories: the thread pool and the repo cache.

    One instance per server process (:func:`hgweb_app` uses a module default); tests or a
    second server can build their own.
    """

    def __init__(self, *, workers: int = WORKERS, cache_size: int = CACHE_SIZE) -> None:
        self.workers = workers
        self.cache_size = cache_size
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, bool, bool, str], Any] = OrderedDict()
        self._baseui: Any = None
        self._middleware: ASGIApp | None = None
        #: in-process hooks (``hooks`` section name → callable) every hgweb built from now on
        #: runs; set them before serving (cached hgwebs keep the hooks they were built with)
        self.hooks: dict[bytes, Callable[..., Any]] = {}

    def app(
        self,
        repo_path: Path,
        *,
        allow_push: bool,
        stream_clones: bool = True,
        push_user: str | None = None,
        repo_name: str,
        url_prefix: str | None = None,
    ) -> ASGIApp:
        """An ASGI app serving the hg repository at ``repo_path`` (wire protocol and web UI).

        ``url_prefix`` is the path, below the scope's ``root_path``, that addressed the
        repository in this request (default ``/<repo_name>``; ``/_12`` for the id form). It
        becomes ``SCRIPT_NAME`` so hgweb builds its links and matches ``?cmd=`` on the
        repository root. ``push_user`` becomes ``REMOTE_USER``: hooks see it in ``HG_URL``
        (``remote:http:<addr>:<user>``). With ``allow_push`` false a push answers 403 here,
        and hgweb's own ``web.allow-push`` is empty as a second lock.
        """
        key = (os.path.realpath(repo_path), allow_push, stream_clones, repo_name)
        prefix = "/" + (url_prefix if url_prefix is not None else repo_name).strip("/")

        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                raise RuntimeError(f"hgweb serves HTTP only, not {scope['type']!r}")
            request = parse_hg_request(scope.get("query_string", b""), scope.get("headers", ()))
            if request is not None and request.access == "push" and not allow_push:
                await send_text(send, 403, "Push access denied")
                return
            root = scope.get("root_path", "").rstrip("/")
            script_name = root + prefix
            path = scope["path"]
            if path == script_name or path.startswith(script_name + "/"):
                path_info = path[len(script_name) :]
            elif path == prefix or path.startswith(prefix + "/"):  # path without root_path
                path_info = path[len(prefix) :]
            else:
                raise ValueError(f"request path {path!r} is not below {script_name!r}")
            target = _Target(key, script_name, path_info, push_user)
            child = dict(scope)
            child["root_path"] = script_name
            child["path"] = script_name + path_info
            child[_SCOPE_KEY] = target
            await self._wsgi()(child, receive, send)
            if request is not None and request.access == "push":
                self.invalidate(repo_path)

        return serve

    def invalidate(self, repo_path: Path) -> None:
        """Forget the cached hgweb objects of a repository (after a push, rename, delete)."""
        real = os.path.realpath(repo_path)
        with self._lock:
            for key in [k for k in self._cache if k[0] == real]:
                del self._cache[key]

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def _wsgi(self) -> ASGIApp:
        if self._middleware is None:
            from a2wsgi import WSGIMiddleware

            middleware: Any = WSGIMiddleware(self._dispatch, workers=self.workers)  # type: ignore[arg-type]
            self._middleware = middleware
        return cast(ASGIApp, self._middleware)

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """The WSGI entry point, in a worker thread: fix the environ, run the repo's hgweb."""
        target: _Target = environ["asgi.scope"][_SCOPE_KEY]
        environ["SCRIPT_NAME"] = target.script_name.encode("utf-8").decode("latin-1")
        environ["PATH_INFO"] = target.path_info.encode("utf-8").decode("latin-1")
        environ.pop("REPO_NAME", None)
        # hg reads the client address for HG_URL from REMOTE_HOST, as ``hg serve`` sets it.
        environ["REMOTE_HOST"] = environ.get("REMOTE_ADDR", "")
        if target.remote_user:
            environ["REMOTE_USER"] = target.remote_user.encode("utf-8").decode("latin-1")
        else:
            environ.pop("REMOTE_USER", None)
        return _coalesced(self._hgweb(target.key)(environ, start_response))

    def _hgweb(self, key: tuple[str, bool, bool, str]) -> Any:
        with self._lock:
            web = self._cache.get(key)
            if web is not None:
                self._cache.move_to_end(key)
                return web
        web = self._build(*key)
        if self.cache_size > 0:
            with self._lock:
                self._cache[key] = web
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return web

    def _build(self, path: str, allow_push: bool, stream_clones: bool, name: str) -> Any:
        """One repository's hgweb with Hearth's settings as overlays (above any ``hgrc``)."""
        from mercurial import ui as uimod
        from mercurial.hgweb import hgweb as make_hgweb

        with self._lock:
            if self._baseui is None:
                self._baseui = uimod.ui.load()
            ui = self._baseui.copy()
        settings = {
            (b"web", b"push_ssl"): b"false",  # TLS is the front proxy's business
            (b"web", b"allow-push"): b"*" if allow_push else b"",
            (b"web", b"deny_push"): b"" if allow_push else b"*",
            (b"web", b"name"): name.encode("utf-8"),
            (b"web", b"encoding"): b"UTF-8",
            (b"server", b"uncompressed"): b"true" if stream_clones else b"false",
        }
        for (section, item), value in settings.items():
            ui.setconfig(section, item, value, b"hearth")
        for hook_name, hook in self.hooks.items():
            ui.setconfig(b"hooks", hook_name, hook, b"hearth")
        return make_hgweb(os.fsencode(path), name=name.encode("utf-8"), baseui=ui)


def _coalesced(iterable: Iterable[bytes], size: int = COALESCE) -> Iterator[bytes]:
    """Pass big chunks through, merge runs of small ones; close the inner iterable (WSGI)."""
    parts: list[bytes] = []
    pending = 0
    try:
        for chunk in iterable:
            if not parts and len(chunk) >= size:
                yield chunk
                continue
            parts.append(chunk)
            pending += len(chunk)
            if pending >= size:
                yield b"".join(parts)
                parts, pending = [], 0
        if parts:
            yield b"".join(parts)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()


_default_host = HgWebHost()


def default_host() -> HgWebHost:
    """The process-wide host :func:`hgweb_app` uses (for ``invalidate`` after repo changes)."""
    return _default_host


def hgweb_app(
    repo_path: Path,
    *,
    allow_push: bool,
    stream_clones: bool = True,
    push_user: str | None = None,
    repo_name: str,
    url_prefix: str | None = None,
) -> ASGIApp:
    """An ASGI app for one hg repository, on the process-wide :class:`HgWebHost`.

    See :meth:`HgWebHost.app`; build one per request, after authorisation decided
    ``allow_push`` and the user.
    """
    return _default_host.app(
        repo_path,
        allow_push=allow_push,
        stream_clones=stream_clones,
        push_user=push_user,
        repo_name=repo_name,
        url_prefix=url_prefix,
    )

# SPDX-License-Identifier: GPL-3.0-or-later
"""One web request below a repository, as every view receives it.

Instead of seven parameters and a ``head_only`` flag, a view gets one :class:`WebRequest`: the
runtime, the ASGI triple, the repository (a plain :class:`~hearth.services.lookup.RepoRef`), what
the path named (:class:`~hearth.web.table.Target`) and the credentials ``web/access.py`` gathered.
It also reads the query and the headers (Starlette's ``Headers``), and runs the read check with
the view's blocking work in one worker thread (:meth:`guarded`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from hearth.services.lookup import RepoRef
from hearth.web import access
from hearth.web.table import Target

if TYPE_CHECKING:
    from hearth.config import Settings
    from hearth.runtime import Runtime

T = TypeVar("T")


@dataclass(frozen=True)
class WebRequest:
    runtime: Runtime
    scope: Scope
    receive: Receive
    send: Send
    repo: RepoRef
    target: Target
    creds: access.Credentials

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def method(self) -> str:
        return str(self.scope.get("method", "GET"))

    @property
    def head_only(self) -> bool:
        """A HEAD request: answers carry their headers, no body."""
        return self.method == "HEAD"

    @functools.cached_property
    def query(self) -> dict[str, str]:
        """The first value of each query parameter."""
        params: dict[str, str] = {}
        raw = self.scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(raw, True):
            params.setdefault(name, value)
        return params

    @functools.cached_property
    def headers(self) -> Headers:
        return Headers(scope=self.scope)

    @functools.cached_property
    def request(self) -> Request:
        """Starlette's request, for what the fields above do not cover (cookies, forms)."""
        return Request(self.scope, self.receive, self.send)

    def base_url(self) -> str:
        return self.runtime.base_url(self.scope)

    async def guarded(self, work: Callable[[], T]) -> T:
        """Check read access, then do ``work``, both in one worker thread; an unreadable
        repository raises ``Repository not found``."""

        def run() -> T:
            access.require_read(self.runtime, self.creds, self.repo.repo_id)
            return work()

        return await run_in_threadpool(run)

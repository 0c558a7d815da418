# SPDX-License-Identifier: GPL-3.0-or-later
"""Prometheus metrics of the HTTP side: requests by route kind, latency, clones and pushes with
their bytes (``/_admin/metrics``; ``web/ops.py`` answers it).

Several server processes each count their own requests; with ``PROMETHEUS_MULTIPROC_DIR`` set
(``hearth serve`` sets it to ``<home>/metrics`` and empties it at start, ``server.py``) prometheus-client keeps
the counts in files there and a scrape of any process adds up all of them. Without it (a plain
``uvicorn hearth.asgi:app``) the counts are this process's.

:class:`MetricsMiddleware` wraps the whole application in plain ASGI (bodies stream through it
untouched). Route kinds: ``api`` (labelled with the JSON-RPC method, which the envelope leaves in
the scope under :data:`API_METHOD`), ``git``, ``hg``, ``page`` (``/_admin/…``) and ``view``
(everything else below a repository). A clone body git writes straight into the socket
(``smarthttp/direct.py``) never passes through ASGI; its size is left in the scope under
:data:`DIRECT_SENT` (and its status under :data:`DIRECT_STATUS`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram

from hearth.logs import mask_secrets

ACCESS = logging.getLogger("hearth.access")

API_METHOD = "hearth.api_method"
DIRECT_SENT = "hearth.direct_sent"
DIRECT_STATUS = "hearth.direct_status"
ACCESS_USER = "hearth.user"  # who was served, left in the scope by the API and smart HTTP
ACCESS_REPO = "hearth.repo"  # the repository the router resolved
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("hearth_requests_total", "HTTP requests answered", ["kind", "method", "status"])
LATENCY = Histogram(
    "hearth_request_duration_seconds",
    "Time from the request's arrival to the end of its answer",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
VCS_OPERATIONS = Counter(
    "hearth_vcs_operations_total", "Successful clones/fetches and pushes", ["vcs", "operation"]
)
VCS_BYTES = Counter(
    "hearth_vcs_bytes_total",
    "Bytes of clone/fetch answers sent and push bodies received",
    ["vcs", "operation", "direction"],
)
SSH_SESSIONS = Counter(
    "hearth_ssh_sessions_total",
    "SSH sessions a server process ran: from its built-in SSH server or handed over by "
    "OpenSSH's forced command (hearth ssh-serve)",
    ["edge", "service"],
)


def classify(scope: dict[str, Any]) -> tuple[str, str | None, str | None, bool]:
    """(kind, vcs, operation, starts): operation is ``clone`` (a clone or fetch) or ``push`` for
    the requests that carry a repository's content or begin such an exchange; ``starts`` marks
    the one request per operation that counts it: git's ``info/refs`` advertisement (a v2 clone
    then POSTs ``ls-refs`` and ``fetch``, a v0 fetch may negotiate over several POSTs), hg's
    ``getbundle`` or ``unbundle``."""
    path: str = scope.get("path", "")
    query = scope.get("query_string", b"").decode("latin-1")
    if path in ("/_admin/api", "/_admin/api/"):
        return "api", None, None, False
    if path.startswith("/_admin/"):
        return "page", None, None, False
    if path.endswith("/info/refs") and "service=git-" in query:
        operation = "push" if "service=git-receive-pack" in query else "clone"
        return "git", "git", operation, True
    if path.endswith("/git-upload-pack"):
        return "git", "git", "clone", False
    if path.endswith("/git-receive-pack"):
        return "git", "git", "push", False
    if "cmd=" in query:
        if "cmd=getbundle" in query:
            return "hg", "hg", "clone", True
        if "cmd=unbundle" in query:
            return "hg", "hg", "push", True
        return "hg", None, None, False
    return "view", None, None, False


class MetricsMiddleware:
    """Counts every HTTP request (see the module docstring) and writes its access-log line.

    The line (logger ``hearth.access``) names the client as every rule sees it (``address``:
    the TCP peer, or ``remote_addr_header`` behind a proxy — uvicorn's own access log, which
    would name the proxy, is off), the request with keys masked, the status, the bytes sent, the
    duration, the user served and the repository, and for an API call its method."""

    def __init__(self, app: Any, address: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.app = app
        self.address = address

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind, vcs, operation, starts = classify(scope)
        started = time.perf_counter()
        status = 0
        sent = received = 0

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def counting_send(message: Any) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            status = status or int(scope.get(DIRECT_STATUS, 0))
            method = str(scope.get(API_METHOD, "")) if kind == "api" else ""
            REQUESTS.labels(kind, method, str(status or 500)).inc()
            LATENCY.labels(kind).observe(time.perf_counter() - started)
            if vcs and operation and status == 200:
                if starts:
                    VCS_OPERATIONS.labels(vcs, operation).inc()
                out = sent + int(scope.get(DIRECT_SENT, 0))
                VCS_BYTES.labels(vcs, operation, "sent").inc(out)
                VCS_BYTES.labels(vcs, operation, "received").inc(received)
            if ACCESS.isEnabledFor(logging.INFO):
                query = scope.get("query_string", b"").decode("latin-1")
                target = scope.get("path", "") + ("?" + query if query else "")
                client = self.address(scope) if self.address else (scope.get("client") or ("-",))[0]
                request = f"{scope.get('method', '')} {mask_secrets(target)}"
                size = sent + int(scope.get(DIRECT_SENT, 0))
                took = round(time.perf_counter() - started, 4)
                fields = {"client": client, "request": request, "status": status}
                fields |= {"bytes": size, "duration": took, "kind": kind}
                if method:
                    fields["api_method"] = method
                user, repo = scope.get(ACCESS_USER), scope.get(ACCESS_REPO)
                fields |= {"user": user, "repository": repo}
                ACCESS.info(
                    '%s "%s" %d %d %.3fs user=%s repo=%s%s',
                    client,
                    request,
                    status,
                    size,
                    took,
                    user or "-",
                    repo or "-",
                    f" method={method}" if method else "",
                    extra=fields,
                )

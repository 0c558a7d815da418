# SPDX-License-Identifier: GPL-3.0-or-later
"""The ASGI application: mounts the API, the VCS endpoints and the web views on one runtime
(``hearth.runtime``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from hearth.api import methods  # noqa: F401  (registers every method)
from hearth.api.jsonrpc import JsonRpcEndpoint
from hearth.config import Settings
from hearth.metrics import MetricsMiddleware
from hearth.routing import RepositoryRouter
from hearth.runtime import Runtime
from hearth.slashes import MergeSlashes
from hearth.smarthttp import reasons
from hearth.ssh.handoff import HandoffServer
from hearth.ssh.server import SshServer
from hearth.web import ops, site
from hearth.web import routes as web_routes

log = logging.getLogger("hearth")


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or Runtime(settings)
    reasons.install()  # lock refusals carry their text as the reason phrase (hg prints it)
    api = JsonRpcEndpoint(runtime)
    routes = [
        Route("/_admin/api", api, methods=None),
        Route("/_admin/api/", api, methods=None),
        Route("/_admin/health", ops.Health(runtime), methods=["GET", "HEAD"]),
        Route("/_admin/metrics", ops.Metrics(runtime), methods=["GET"]),
        *web_routes.routes(runtime),
        *site.routes(runtime),
        Mount("/", app=RepositoryRouter(runtime)),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        """The built-in SSH server runs beside HTTP when setting ``ssh_port`` is set; the socket
        ``hearth ssh-serve`` hands its sessions to (``ssh/handoff.py``) unless ``ssh_handoff`` is off."""
        ssh = SshServer(runtime) if settings.ssh_port else None
        if ssh is not None:
            await ssh.start()
            log.info("SSH on %s:%d", settings.host, settings.ssh_port)
        handoff = HandoffServer(runtime) if settings.ssh_handoff else None
        if handoff is not None:
            await asyncio.to_thread(handoff.start)
        try:
            yield
        finally:
            if handoff is not None:
                await asyncio.to_thread(handoff.close)
            if ssh is not None:
                await ssh.close()

    app = Starlette(routes=routes, middleware=[Middleware(MergeSlashes)], lifespan=lifespan)
    app.add_middleware(MetricsMiddleware, address=runtime.client_address)
    app.state.runtime = runtime
    return app

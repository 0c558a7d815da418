# SPDX-License-Identifier: GPL-3.0-or-later
"""The ASGI application: mounts the API, the VCS endpoints and the web views on one runtime
(``hearth.runtime``)."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from hearth.api import methods  # noqa: F401  (registers every method)
from hearth.api.jsonrpc import JsonRpcEndpoint
from hearth.config import Settings
from hearth.metrics import MetricsMiddleware
from hearth.routing import RepositoryRouter
from hearth.runtime import Runtime
from hearth.smarthttp import reasons
from hearth.web import ops
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
        Mount("/", app=RepositoryRouter(runtime)),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(MetricsMiddleware, address=runtime.client_address)
    app.state.runtime = runtime
    return app

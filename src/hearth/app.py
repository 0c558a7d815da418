# SPDX-License-Identifier: GPL-3.0-or-later
"""The ASGI application: mounts the API, the VCS endpoints and the web views on one runtime.

``Runtime`` holds what lives for the process — settings, the database, the authentication throttle —
and is passed explicitly to every endpoint; nothing is read from globals.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from hearth import __version__
from hearth.api import methods  # noqa: F401  (registers every method)
from hearth.api.jsonrpc import JsonRpcEndpoint
from hearth.config import Settings
from hearth.db.session import Database
from hearth.services import bootstrap
from hearth.throttle import FailureThrottle

log = logging.getLogger("hearth")


class NotInitialised(RuntimeError):
    """The database has no ``default`` user: ``hearth init`` has not run."""


class Runtime:
    """Process-wide state shared by every request."""

    version = __version__

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        self.database = database or Database(settings.database_url)
        self.throttle = FailureThrottle(cap=settings.auth_failure_delay_max)
        self._default_user_id: int | None = None

    def default_user_id(self) -> int:
        if self._default_user_id is None:
            with self.database.sessions() as db:
                found = bootstrap.default_user_id(db)
            if found is None:
                raise NotInitialised("the database is not initialised: run `hearth init`")
            self._default_user_id = found
        return self._default_user_id

    def base_url(self, scope: dict[str, Any]) -> str:
        """Setting ``canonical_url``, else the request's scheme and ``Host``."""
        if self.settings.canonical_url:
            return self.settings.canonical_url
        host = ""
        for name, value in scope.get("headers", []):
            if name == b"host":
                host = value.decode("latin-1")
                break
        if not host and scope.get("server"):
            server_host, port = scope["server"]
            host = f"{server_host}:{port}"
        return f"{scope.get('scheme', 'http')}://{host}"


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or Runtime(settings)
    api = JsonRpcEndpoint(runtime)
    routes = [
        Route("/_admin/api", api, methods=None),
        Route("/_admin/api/", api, methods=None),
    ]
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    return app

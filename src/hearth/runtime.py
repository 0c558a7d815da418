# SPDX-License-Identifier: GPL-3.0-or-later
"""Process-wide state: ``Runtime`` holds what lives for the process — settings, the database, the
authentication throttle — and is passed explicitly to every endpoint; nothing is read from globals.

A leaf module: edges and the API's call object import it; it imports only what it holds.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import Scope

from hearth import __version__
from hearth.config import Settings
from hearth.db.session import Database
from hearth.services import bootstrap, failures
from hearth.services.vcsauth import VerifiedPasswords
from hearth.throttle import FailureThrottle


class NotInitialised(RuntimeError):
    """The database has no ``default`` user: ``hearth init`` has not run."""


class Runtime:
    """Process-wide state shared by every request."""

    version = __version__

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        self.database = database or Database(settings.database_url)
        # failures counted in the database: by every server process together (issue 18)
        self.throttle = FailureThrottle(
            cap=settings.auth_failure_delay_max, counter=failures.counter(self.database)
        )
        #: recent successful clone/push password checks (a clone is several requests)
        self.passwords = VerifiedPasswords()
        self._default_user_id: int | None = None

    def default_user_id(self) -> int:
        if self._default_user_id is None:
            with self.database.sessions() as db:
                found = bootstrap.default_user_id(db)
            if found is None:
                raise NotInitialised("the database is not initialised: run `hearth init`")
            self._default_user_id = found
        return self._default_user_id

    def client_address(self, scope: Scope) -> str:
        """The TCP peer, or the first address of the header named by ``remote_addr_header``."""
        header = self.settings.remote_addr_header
        if header:
            for value in Headers(scope=scope).getlist(header):
                first = value.split(",")[0].strip()
                if first:
                    return first
        client = scope.get("client")
        return client[0] if client else ""

    def base_url(self, scope: Scope) -> str:
        """Setting ``canonical_url``, else the request's scheme and ``Host``."""
        if self.settings.canonical_url:
            return self.settings.canonical_url
        host = Headers(scope=scope).get("host", "")
        if not host and scope.get("server"):
            server_host, port = scope["server"]
            host = f"{server_host}:{port}"
        return f"{scope.get('scheme', 'http')}://{host}"

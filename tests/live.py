# SPDX-License-Identifier: GPL-3.0-or-later
"""A real Hearth server in a subprocess on a random port, and a small client for tests.

Each server has its own ``HEARTH_HOME`` and database (a SQLite file, or a fresh PostgreSQL database),
is initialised by the service ``hearth init`` calls (``services/bootstrap.py``) with the settings
``hearth init`` would read from the same environment, and is then served by a real ``hearth
serve``. Keys are issued in this process by the service ``hearth admin api-key`` calls
(``services/keys.py``, on the server's database). Both run here rather than in a process of their
own: a ``hearth`` process costs about a second of CPU, the suite starts about a hundred servers and
issues hundreds of keys, and the command ``hearth init`` itself is tested in test_admin_cli.py.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from hearth.config import load_settings
from hearth.db.session import Database
from hearth.services import bootstrap, keys, lookup

PG_URL = os.environ.get("HEARTH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_counter = itertools.count(1)


def unique(prefix: str = "t") -> str:
    """A name no other test uses (tests share one server per backend)."""
    return f"{prefix}{next(_counter)}x{uuid.uuid4().hex[:6]}"


_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_PORT_BASE = 10000 + 2500 * (int(_WORKER) % 8 if _WORKER.isdigit() else 0)
_next_ports = itertools.cycle(range(_PORT_BASE, _PORT_BASE + 2500))


def free_port() -> int:
    """A port nothing listens on, for a server the test starts next. Each xdist worker takes
    its ports from a range of its own below the kernel's ephemeral ones (32768 and up): two
    workers asking the kernel for "any free port" could be handed the same one between
    the asking and a server's binding it."""
    for port in _next_ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("unreachable")


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def create_pg_database() -> str:
    import psycopg

    name = f"hearth_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def proc_table() -> dict[int, tuple[int, str, int, str]]:
    """pid → (ppid, state, session id, comm) for every process we can see."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), fields[0], int(fields[3]), comm)
    return table


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``."""
    table = proc_table()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, row in table.items() if row[0] in frontier} - found
        found |= frontier
    return found


class LiveServer:
    def __init__(self, home: Path, database_url: str, **settings: Any) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.env = {
            **os.environ,
            "TZ": os.environ.get("TZ", "UTC"),
            "HEARTH_HOME": str(home),
            "HEARTH_DATABASE_URL": database_url,
            "HEARTH_PORT": str(self.port),
            "HEARTH_ADMIN_PASSWORD": "admin-secret-1",
            "HEARTH_LOG_LEVEL": "warning",
        }
        for name, value in settings.items():
            self.env["HEARTH_" + name.upper()] = str(value)
        self.env.pop("HEARTH_CONFIG", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=60)
        self.admin_key = ""
        self.log = home / "server.log"
        self._database: Database | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def cli(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "hearth", *args],
            env=self.env,
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"hearth {' '.join(args)} failed: {result.stderr}{result.stdout}")
        return result

    def init(self) -> None:
        """What ``hearth init`` does with this server's environment, in this process (module
        docstring): ``hearth.toml`` is looked for where ``hearth init`` would look for it."""
        settings = load_settings(environ=self.env)
        database = Database(settings.database_url)
        try:
            bootstrap.initialise(database, settings)
        finally:
            database.dispose()

    def start(self) -> LiveServer:
        self.home.mkdir(parents=True, exist_ok=True)
        self.init()
        self.admin_key = self.api_key("admin")
        self._spawn()
        return self

    def _spawn(self) -> None:
        logfile = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hearth", "serve"],
            env=self.env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def api_key(self, username: str) -> str:
        """A new key for ``username``, as ``hearth admin api-key USERNAME`` makes it."""
        if self._database is None:
            self._database = Database(self.database_url)
        with self._database.session() as db:
            user = lookup.user(db, username)
            return keys.create_key(db, user.user_id, description="hearth admin api-key", role="all")

    def stop(self) -> None:
        if self._database is not None:
            self._database.dispose()
            self._database = None
        self.client.close()
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    # -- API ------------------------------------------------------------------------------------
    def post(
        self,
        body: bytes | str,
        headers: dict[str, str] | None = None,
        method: str = "POST",
        path: str = "/_admin/api",
    ) -> httpx.Response:
        if isinstance(body, str):
            body = body.encode()
        hdrs = {"content-type": "text/plain", **(headers or {})}
        return self.client.request(method, path, content=body, headers=hdrs)

    def envelope(
        self, request: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        response = self.post(json.dumps(request), headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        reply = response.json()
        assert list(reply) == ["id", "result", "error"], reply
        return reply

    def call(self, method: str, key: str | None = None, **args: Any) -> dict[str, Any]:
        """The whole envelope of ``method(args)`` called with ``key`` (default: the admin's)."""
        return self.envelope(
            {"id": 1, "api_key": key or self.admin_key, "method": method, "args": args}
        )

    def ok(self, method: str, key: str | None = None, **args: Any) -> Any:
        """``method``'s result; fails the test if the server answered an error."""
        reply = self.call(method, key, **args)
        assert reply["error"] is None, f"{method}({args}) -> {reply['error']}"
        return reply["result"]

    def err(self, method: str, key: str | None = None, **args: Any) -> str:
        """``method``'s error text; fails the test if it succeeded."""
        reply = self.call(method, key, **args)
        assert reply["result"] is None and isinstance(reply["error"], str), reply
        return reply["error"]

    # -- fixtures-as-methods --------------------------------------------------------------------
    def new_repo(
        self,
        repo_type: str = "git",
        name: str | None = None,
        *,
        key: str | None = None,
        prefix: str = "r",
        **fields: Any,
    ) -> dict[str, Any]:
        """Create a repository through the API as ``key`` (default: the admin); returns the
        repository object. Without ``name`` the name is unique, starting with ``prefix``."""
        name = name or unique(prefix)
        return self.ok("create_repo", key, repo_name=name, repo_type=repo_type, **fields)["repo"]

    def new_user(self, prefix: str = "u", **fields: Any) -> tuple[dict[str, Any], str]:
        """Create a user through the API; returns (user object, a fresh API key)."""
        name = unique(prefix)
        fields.setdefault("email", f"{name}@example.com")
        user = self.ok("create_user", username=name, **fields)["user"]
        return user, self.api_key(name)


def new_server(tmp: Path, backend: str, **settings: Any) -> tuple[LiveServer, str | None]:
    """Start a server on ``backend``; returns it and the PostgreSQL URL to drop afterwards."""
    pg_url = None
    if backend == "postgres":
        pg_url = create_pg_database()
        url = pg_url
    else:
        url = f"sqlite:///{tmp / 'hearth.db'}"
    server = LiveServer(tmp, url, **settings)
    try:
        server.start()
    except BaseException:
        server.stop()
        if pg_url:
            drop_pg_database(pg_url)
        raise
    return server, pg_url

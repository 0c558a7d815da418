# SPDX-License-Identifier: GPL-3.0-or-later
"""Production mode for tests: several ``hearth serve`` processes and ``hearth worker`` processes
sharing one PostgreSQL database, one Redis and one repository store.

Each cluster has a fresh PostgreSQL database; its Celery queue is named after that database
(``services/taskrecords.py``), so clusters of tests running at once never take each other's work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.live import IN_CI, LiveServer, create_pg_database, drop_pg_database, postgres_available
from tests.test_background import HearthWorker
from tests.test_tasks import REDIS_URL, redis_available


def require_services() -> None:
    missing = [
        name
        for name, up in (("PostgreSQL", postgres_available()), ("Redis", redis_available()))
        if not up
    ]
    if not missing:
        return
    if IN_CI:
        pytest.fail(f"{' and '.join(missing)} required under CI=true")
    pytest.skip(f"{' and '.join(missing)} not reachable")


class Cluster:
    """``servers`` share the database, the broker and ``store``; ``workers`` run the queue."""

    def __init__(self, base: Path, servers: int = 2, **settings: Any) -> None:
        self.base = base
        self.database_url = create_pg_database()
        self.store = base / "store"
        self.settings: dict[str, Any] = {
            "repos": self.store,
            "broker_url": REDIS_URL,
            "task_lost_after": 4,
            **settings,
        }
        self.servers = [
            LiveServer(base / f"server{n}", self.database_url, **self.settings)
            for n in range(servers)
        ]
        self.workers: list[HearthWorker] = []

    def start(self) -> Cluster:
        first, *others = self.servers
        first.start()  # hearth init once, as an operator does
        for server in others:
            server.home.mkdir(parents=True, exist_ok=True)
            server.admin_key = first.admin_key
            server._spawn()
        return self

    def worker(self, *celery_args: str) -> HearthWorker:
        worker = HearthWorker(self.servers[0], *celery_args).start()
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        for server in self.servers:
            server.stop()
        drop_pg_database(self.database_url)

    def logs(self) -> str:
        text = []
        for path in sorted(self.base.rglob("*.log")):
            text.append(f"== {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(text)

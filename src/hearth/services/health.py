# SPDX-License-Identifier: GPL-3.0-or-later
"""What ``/_admin/health`` checks and what ``/_admin/metrics`` reads from the database.

Health: the database answers a query, the repository store is a directory this process can write
to (a file is created and removed), the broker (when one is configured) accepts a connection. Each
check has a short time limit and reports its error text; nothing here raises.

The metrics read here are shared by every process (they come from the database), so any server
process answers them alike: tasks by state and method, and the age of each mirror's last
successful pull.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hearth.clock import now_utc
from hearth.config import Settings
from hearth.db.models import Repository, Task
from hearth.db.session import Database


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error}


def check_database(database: Database) -> Check:
    try:
        with database.sessions() as db:
            db.execute(text("SELECT 1"))
    except Exception as exc:
        return Check("database", False, type(exc).__name__ + ": " + str(exc).splitlines()[0])
    return Check("database", True)


def check_store(settings: Settings) -> Check:
    probe = settings.repos / f".hearth-health-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        if not settings.repos.is_dir():
            return Check("store", False, f"{settings.repos} is not a directory")
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return Check("store", False, exc.strerror or str(exc))
    return Check("store", True)


def check_broker(settings: Settings) -> Check | None:
    """None when no broker is configured (there is nothing to check)."""
    if not settings.broker_url:
        return None
    from hearth.services.taskrecords import celery_app

    try:
        with celery_app(settings).connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return Check("broker", False, type(exc).__name__ + ": " + str(exc).splitlines()[0])
    return Check("broker", True)


def checks(database: Database, settings: Settings) -> list[Check]:
    found = [check_database(database), check_store(settings)]
    broker = check_broker(settings)
    if broker is not None:
        found.append(broker)
    return found


def task_counts(db: Session) -> dict[tuple[str, str], int]:
    """(method, state) -> how many tasks of the last seven days."""
    rows = db.execute(
        select(Task.method, Task.state, func.count()).group_by(Task.method, Task.state)
    )
    return {(method, state): count for method, state, count in rows}


def mirror_ages(db: Session) -> dict[str, float | None]:
    """repository name -> seconds since its last successful scheduled pull (None: never)."""
    now = now_utc()
    rows = db.execute(
        select(Repository.repo_name, Repository.mirror_success_on).where(
            Repository.pull_interval.is_not(None), Repository.state == "ready"
        )
    )
    return {name: (now - when).total_seconds() if when is not None else None for name, when in rows}

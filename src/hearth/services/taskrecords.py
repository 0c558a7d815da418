# SPDX-License-Identifier: GPL-3.0-or-later
"""Background tasks: the rows ``get_task`` reports, and the Celery queue the work travels on.

``methods.md`` "Background work": when a broker is configured (setting ``broker_url``, e.g.
``redis://127.0.0.1:6379/0``), ``pull`` and ``rescan_repos`` record a task row (state ``queued``),
send a message and answer at once with the task id; a worker (``celery -A hearth.tasks.worker
worker``) moves the row to ``running`` and then ``done`` (with the method's result) or ``failed``
(with its error text). While it runs the worker beats (``heartbeat_on``); a running task
whose worker stopped beating for ``task_lost_after`` seconds is lost: it is marked failed and what
it had started is removed (``hearth.tasks.reap``). Without a broker the work is done before answering and no row is written.

A job may report how far it has got (``progress``, a JSON object of counts: ``set_progress``); a
worker commits it in the same transaction as the work it counts. A page that starts work (the
admin rescan) records a row even without a broker: the work is done at once and the row is
written finished (``record``), so the page's report has an address in both modes (``report``).

Each instance uses a queue of its own, named after its database, so instances (and test runs)
sharing one broker never take each other's work. The message carries only the task id and the
method's arguments; the row is written in the caller's transaction, so a worker that receives the
message before that transaction commits waits for the row (``claim``). Rows older than seven days
are dropped when new ones are made.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hearth.clock import now_utc
from hearth.config import Settings
from hearth.db.models import Task, User
from hearth.errors import HearthError, NotFound
from hearth.render import local_iso
from hearth.services.permissions import Actor

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("hearth.tasks")

TASK_NAME = "hearth.run"
KEEP = timedelta(days=7)
STATES = ("queued", "running", "done", "failed")


def queued(settings: Settings) -> bool:
    """Is background work queued? Yes when a broker is configured; without one, work is eager
    even when ``tasks_async`` is set (there is nowhere to queue it)."""
    if settings.tasks_async and not settings.broker_url:
        log.warning("tasks_async is on but broker_url is empty: running tasks synchronously")
    return bool(settings.broker_url)


def queue_name(settings: Settings) -> str:
    """The instance's own queue: ``hearth.<hash of the database URL>``."""
    return "hearth." + hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]


def celery_app(settings: Settings) -> Celery:
    """The Celery application for these settings (one per broker and queue, made on first use)."""
    return _celery_app(settings.broker_url, queue_name(settings))


@functools.cache
def _celery_app(broker_url: str, queue: str) -> Celery:
    from celery import Celery

    app = Celery("hearth", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        # Mercurial needs the real sys.stdout (it writes to stdout.buffer); Celery's proxy has none
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"socket_connect_timeout": 5},
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
    )
    return app


# --- rows ---------------------------------------------------------------------------------------


def enqueue(
    db: Session,
    settings: Settings,
    actor: Actor,
    method: str,
    args: dict[str, Any],
    *,
    failure: HearthError,
) -> str:
    """Record a queued task for ``method`` started by ``actor`` and send it; returns its id.

    ``failure`` is raised (and the caller's transaction rolls back, row included) when the broker
    cannot take the message.
    """
    task_id = new_id()
    prune(db)
    db.add(
        Task(
            task_id=task_id,
            method=method,
            user_id=actor.user_id,
            state="queued",
            created_on=now_utc(),
            args=args,
        )
    )
    db.flush()
    try:
        celery_app(settings).send_task(TASK_NAME, args=[task_id, args], task_id=task_id)
    except Exception as exc:  # kombu's OperationalError, socket errors: the broker is unreachable
        log.error("cannot queue %s (task %s): %s", method, task_id, exc)
        raise failure from exc
    return task_id


def new_id() -> str:
    return uuid.uuid4().hex


def prune(db: Session) -> None:
    db.execute(delete(Task).where(Task.created_on < now_utc() - KEEP))


def get(db: Session, actor: Actor, task_id: str) -> Task:
    """The task, if it is the actor's own or the actor is an admin; else "does not exist"."""
    row = db.get(Task, task_id)
    if (
        row is None
        or row.created_on < now_utc() - KEEP
        or (not actor.admin and row.user_id != actor.user_id)
    ):
        raise NotFound("task_not_found", x=task_id)
    return row


def describe(db: Session, actor: Actor, task_id: str) -> dict[str, Any]:
    """``get_task``'s answer: the task ``get`` finds, as plain values."""
    row = get(db, actor, task_id)
    return {
        "task_id": row.task_id,
        "method": row.method,
        "state": row.state,
        "result": row.result,
        "error": row.error,
        "created_on": local_iso(row.created_on),
        "finished_on": local_iso(row.finished_on),
    }


def claim(db: Session, task_id: str) -> Task | None:
    """Move a queued task to ``running``; None if there is no queued row (yet)."""
    moved = db.execute(
        update(Task)
        .where(Task.task_id == task_id, Task.state == "queued")
        .values(state="running", heartbeat_on=now_utc())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return db.get(Task, task_id) if moved else None


def beat(db: Session, task_id: str) -> bool:
    """The worker running ``task_id`` is alive; False if the task is no longer running (it was
    declared lost), so the worker must not record anything for it."""
    moved = db.execute(
        update(Task)
        .where(Task.task_id == task_id, Task.state == "running")
        .values(heartbeat_on=now_utc())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(moved)


def lost(db: Session, settings: Settings, task_id: str | None = None) -> list[Task]:
    """Running tasks whose worker has not beaten for ``task_lost_after`` seconds (killed, or its
    host gone). Only the running state is looked at: a queued task still waits in the broker."""
    cutoff = now_utc() - timedelta(seconds=settings.task_lost_after)
    query = select(Task).where(Task.state == "running", Task.heartbeat_on < cutoff)
    if task_id is not None:
        query = query.where(Task.task_id == task_id)
    return list(db.scalars(query))


def give_up(db: Session, settings: Settings, task_id: str, error: str) -> bool:
    """Mark a lost task failed; True for the one caller that did it (several servers and workers
    may find the same lost task at once: the conditional update lets exactly one clean up)."""
    cutoff = now_utc() - timedelta(seconds=settings.task_lost_after)
    moved = db.execute(
        update(Task)
        .where(Task.task_id == task_id, Task.state == "running", Task.heartbeat_on < cutoff)
        .values(state="failed", result=None, error=error, finished_on=now_utc())
        .execution_options(synchronize_session="fetch")
    ).rowcount  # type: ignore[attr-defined]
    return bool(moved)


def finish(db: Session, task_id: str, result: Any, error: str | None) -> None:
    """Record the outcome: ``done`` with the result, or ``failed`` with the error text. A task
    already declared lost (failed) keeps that outcome."""
    db.execute(
        update(Task)
        .where(Task.task_id == task_id, Task.state == "running")
        .values(
            state="failed" if error is not None else "done",
            result=result if error is None else None,
            error=error,
            finished_on=now_utc(),
        )
        .execution_options(synchronize_session=False)
    )


def set_progress(db: Session, task_id: str, progress: dict[str, Any]) -> bool:
    """Record how far a running task has got (and that its worker is alive); False if the task is
    no longer running (it was declared lost), so the worker must stop."""
    moved = db.execute(
        update(Task)
        .where(Task.task_id == task_id, Task.state == "running")
        .values(progress=progress, heartbeat_on=now_utc())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(moved)


def record(
    db: Session,
    actor: Actor,
    method: str,
    args: dict[str, Any],
    *,
    result: Any = None,
    error: str | None = None,
    progress: dict[str, Any] | None = None,
    task_id: str | None = None,
) -> str:
    """A row for work already done without a broker: ``done`` with ``result``, or ``failed``
    with ``error``; returns its id (``task_id``, or a new one)."""
    task_id = task_id or new_id()
    prune(db)
    moment = now_utc()
    db.add(
        Task(
            task_id=task_id,
            method=method,
            user_id=actor.user_id,
            state="failed" if error is not None else "done",
            created_on=moment,
            finished_on=moment,
            args=args,
            result=result if error is None else None,
            error=error,
            progress=progress,
        )
    )
    db.flush()
    return task_id


@dataclass(frozen=True)
class Report:
    """A task as a page shows it: what was asked, by whom, how far it got and how it ended."""

    task_id: str
    method: str
    state: str
    args: dict[str, Any]
    progress: dict[str, Any]
    result: Any
    error: str | None
    created_on: datetime  # naive UTC
    finished_on: datetime | None
    started_by: str

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


def _report(row: Task, started_by: str) -> Report:
    return Report(
        row.task_id,
        row.method,
        row.state,
        dict(row.args or {}),
        dict(row.progress or {}),
        row.result,
        row.error,
        row.created_on,
        row.finished_on,
        started_by,
    )


def report(db: Session, actor: Actor, task_id: str, method: str) -> Report:
    """The task ``get`` finds, if it is a ``method`` task; else "does not exist"."""
    row = get(db, actor, task_id)
    if row.method != method:
        raise NotFound("task_not_found", x=task_id)
    user = db.get(User, row.user_id) if row.user_id is not None else None
    return _report(row, user.username if user is not None else "")


def recent(db: Session, actor: Actor, method: str, limit: int = 5) -> list[Report]:
    """The newest ``method`` tasks the actor may see (all of them for an admin)."""
    query = (
        select(Task, User.username)
        .outerjoin(User, User.user_id == Task.user_id)
        .where(Task.method == method, Task.created_on >= now_utc() - KEEP)
        .order_by(Task.created_on.desc(), Task.task_id)
        .limit(limit)
    )
    if not actor.admin:
        query = query.where(Task.user_id == actor.user_id)
    return [_report(row, username or "") for row, username in db.execute(query).tuples()]

# SPDX-License-Identifier: GPL-3.0-or-later
"""Work that may run in the background: ``pull`` and ``rescan_repos`` (``methods.md`` §1).

A job is run either at once, inside the API request's transaction (no broker configured), or by a
worker (``hearth.tasks.worker``) after the API recorded a task and answered with its id
(``services/taskrecords.py``). :func:`submit` decides; both ways run the same job function and produce
the same result and the same error texts, so ``get_task`` reports exactly what the synchronous
call would have answered.

In a worker each job runs in its own transactions: a pull reads its plan, fetches with no
transaction open (a long fetch must not hold the database), then records the outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hearth.config import Settings
from hearth.db.models import User
from hearth.db.session import Database
from hearth.errors import TEXTS, Failed, HearthError
from hearth.services import bootstrap, permissions, remote, rescan, taskrecords
from hearth.services.permissions import Actor

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("hearth.tasks")

#: how long a worker waits for the row of a task whose request has not committed yet (seconds)
CLAIM_WAIT = 30.0


# --- results (the same in both modes) ------------------------------------------------------------


def pull_result(repo_name: str, task_id: str | None) -> dict[str, Any]:
    return {"msg": f"Pulled from `{repo_name}`", "repository": repo_name, "task": task_id}


def rescan_result(result: rescan.RescanResult, task_id: str | None) -> dict[str, Any]:
    return {
        "added": result.added,
        "removed": result.removed,
        "obsolete": result.obsolete,
        "task": task_id,
    }


# --- jobs ----------------------------------------------------------------------------------------

Sessions = Callable[[], Any]  # a context manager giving a committing session (Database.session)


@dataclass(frozen=True)
class Job:
    """How to run a method now, in a worker, and what its answer is while it is queued."""

    now: Callable[[Session, Actor, Settings, dict[str, Any]], Any]
    background: Callable[[Sessions, Actor, Settings, dict[str, Any], str], Any]
    queued_result: Callable[[dict[str, Any], str], Any]
    failure: Callable[[dict[str, Any]], HearthError]  # for a failure nobody anticipated


def _pull_now(db: Session, actor: Actor, settings: Settings, args: dict[str, Any]) -> Any:
    repo = remote.pull(
        db, actor, settings, args["repoid"], args.get("clone_uri"), client_ip=args["client_ip"]
    )
    return pull_result(repo.repo_name, None)


def _pull_background(
    sessions: Sessions, actor: Actor, settings: Settings, args: dict[str, Any], task_id: str
) -> Any:
    with sessions() as db:
        plan = remote.prepare(db, actor, settings, args["repoid"], args.get("clone_uri"))
    remote.fetch(plan)
    with sessions() as db:
        repo = remote.record(db, actor, settings, plan, client_ip=args["client_ip"])
        return pull_result(repo.repo_name, task_id)


def _rescan_now(db: Session, actor: Actor, settings: Settings, args: dict[str, Any]) -> Any:
    return rescan_result(rescan.rescan(db, settings, remove_obsolete=args["remove_obsolete"]), None)


def _rescan_background(
    sessions: Sessions, actor: Actor, settings: Settings, args: dict[str, Any], task_id: str
) -> Any:
    with sessions() as db:
        found = rescan.rescan(db, settings, remove_obsolete=args["remove_obsolete"])
        return rescan_result(found, task_id)


JOBS: dict[str, Job] = {
    "pull": Job(
        _pull_now,
        _pull_background,
        lambda args, task_id: pull_result(args["repo_name"], task_id),
        lambda args: Failed("pull_failed", x=args["repo_name"]),
    ),
    "rescan_repos": Job(
        _rescan_now,
        _rescan_background,
        lambda args, task_id: rescan_result(rescan.RescanResult(), task_id),
        lambda args: Failed("rescan_failed"),
    ),
}


def submit(db: Session, actor: Actor, settings: Settings, method: str, args: dict[str, Any]) -> Any:
    """Run ``method`` now, or queue it when a broker is configured; returns the API result.

    ``args`` must be JSON (it travels in the message).
    """
    job = JOBS[method]
    if not taskrecords.queued(settings):
        return job.now(db, actor, settings, args)
    task_id = taskrecords.enqueue(db, settings, actor, method, args, failure=job.failure(args))
    return job.queued_result(args, task_id)


# --- the worker side -----------------------------------------------------------------------------


def execute(database: Database, settings: Settings, task_id: str, args: dict[str, Any]) -> str:
    """Run one queued task to its end and record the outcome; returns the final state."""
    row = _claim(database, task_id)
    if row is None:
        log.error("task %s: no queued row after %.0f s; dropped", task_id, CLAIM_WAIT)
        return "missing"
    method, user_id = row
    job = JOBS.get(method)
    result: Any = None
    error: str | None = None
    try:
        if job is None:
            raise Failed("failed", text=f"unknown task method {method}")
        actor = _actor(database, user_id)
        if actor is None:
            raise job.failure(args)
        result = job.background(database.session, actor, settings, args, task_id)
    except HearthError as exc:
        error = exc.text
    except Exception:
        log.exception("task %s (%s) failed", task_id, method)
        error = job.failure(args).text if job is not None else TEXTS["internal"]
    with database.session() as db:
        taskrecords.finish(db, task_id, result, error)
    return "failed" if error is not None else "done"


def _claim(database: Database, task_id: str) -> tuple[str, int | None] | None:
    deadline = time.monotonic() + CLAIM_WAIT
    while True:
        with database.session() as db:
            row = taskrecords.claim(db, task_id)
            if row is not None:
                return row.method, row.user_id
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)


def _actor(database: Database, user_id: int | None) -> Actor | None:
    """The user who started the task, as they are now (None if deleted or deactivated)."""
    if user_id is None:
        return None
    with database.sessions() as db:
        user = db.get(User, user_id)
        default_id = bootstrap.default_user_id(db)
        if user is None or not user.active or default_id is None:
            return None
        return permissions.actor_for(db, user, default_id)


def register(app: Celery, settings: Settings) -> None:
    """Declare the one Celery task on ``app``; the database is opened on first use per process."""
    opened: list[Database] = []

    def database() -> Database:
        if not opened:
            opened.append(Database(settings.database_url))
        return opened[0]

    @app.task(name=taskrecords.TASK_NAME, ignore_result=True)
    def run(task_id: str, args: dict[str, Any]) -> str:
        return execute(database(), settings, task_id, args)

# SPDX-License-Identifier: GPL-3.0-or-later
"""Work that may run in the background: ``pull``, ``rescan_repos``, ``fork_repo`` and
``create_repo`` with a ``clone_uri`` (``methods.md`` "Background work").

A job is run either at once, inside the API request's transaction (no broker configured), or by a
worker (``hearth.tasks.worker``) after the API recorded a task and answered with its id
(``services/taskrecords.py``). :func:`submit` decides; both ways run the same job function and produce
the same result and the same error texts, so ``get_task`` reports exactly what the synchronous
call would have answered.

In a worker each job runs in its own transactions: a pull reads its plan, fetches with no
transaction open (a long fetch must not hold the database), then records the outcome. A queued
create or fork is reserved by the request and made by the worker (``services/reserved.py``).

A page that shows the work's progress and outcome starts it with :func:`start` instead: the same
job, and a task row in both modes (without a broker it is written finished), so the outcome has an
address. A queued rescan works in stretches of about ``STRETCH`` seconds, each committed with its
counts (``taskrecords.set_progress``), so the page shows how far it has got.

While a job runs, a thread beats for it (``services/taskrecords.beat``) every ``task_lost_after / 5``
seconds. A running task whose worker stopped beating (killed, host gone) is *lost*: :func:`reap`
marks it failed with the method's failure text and undoes what it started. It runs in every
worker (at start and then periodically) and for the one task ``get_task`` asks about, so a lost
task reads as failed even when no worker is left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hearth.config import Settings
from hearth.db.models import User
from hearth.db.session import Database
from hearth.errors import TEXTS, Failed, HearthError
from hearth.services import bootstrap, permissions, remote, repos, rescan, reserved, taskrecords
from hearth.services.permissions import Actor

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("hearth.tasks")

#: how long a worker waits for the row of a task whose request has not committed yet (seconds)
CLAIM_WAIT = 30.0
#: how long a queued rescan works before it commits what it did with its counts (seconds)
STRETCH = 0.5


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
#: note(progress): how far a job done at once got, its counts as JSON (the last call wins)
Note = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Job:
    """How to run a method now, in a worker, and what its answer is while it is queued."""

    now: Callable[[Session, Actor, Settings, dict[str, Any], Note], Any]
    background: Callable[[Sessions, Actor, Settings, dict[str, Any], str], Any]
    queued_result: Callable[[dict[str, Any], str], Any]
    failure: Callable[[dict[str, Any]], HearthError]  # for a failure nobody anticipated
    # undo what a failed or lost task started: (session, settings, args, task id)
    abandon: Callable[[Session, Settings, dict[str, Any], str], None] | None = None


def _pull_now(
    db: Session, actor: Actor, settings: Settings, args: dict[str, Any], note: Note
) -> Any:
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


def _rescan_run(
    settings: Settings, args: dict[str, Any], progress: rescan.Progress | None
) -> rescan.Run:
    return rescan.Run(
        settings,
        remove_obsolete=bool(args["remove_obsolete"]),
        invalidate_caches=bool(args.get("invalidate_caches", False)),  # pages only
        progress=progress,
    )


def _rescan_now(
    db: Session, actor: Actor, settings: Settings, args: dict[str, Any], note: Note
) -> Any:
    run = _rescan_run(settings, args, None)
    run.walk()
    run.plan(db)
    run.work(db)
    note(run.counts.as_dict())
    return rescan_result(run.result, None)


def _rescan_background(
    sessions: Sessions, actor: Actor, settings: Settings, args: dict[str, Any], task_id: str
) -> Any:
    """Walk the disk with no transaction open (its counts committed every ``STRETCH`` seconds),
    then work in stretches, each committed with its counts; a task declared lost stops."""
    last = [time.monotonic()]

    def save(db: Session, counts: rescan.Counts) -> None:
        if not taskrecords.set_progress(db, task_id, counts.as_dict()):
            raise Failed("rescan_failed")  # declared lost: this stretch is not recorded

    def walking(event: str, name: str, counts: rescan.Counts) -> None:
        if counts.phase == "scanning" and time.monotonic() - last[0] >= STRETCH:
            with sessions() as db:
                save(db, counts)
            last[0] = time.monotonic()

    run = _rescan_run(settings, args, walking)
    committed: dict[str, Any] = {}
    try:
        run.walk()
        planned = False
        while True:
            with sessions() as db:
                if not planned:
                    run.plan(db)
                    planned = True
                finished = run.work(db, time.monotonic() + STRETCH)
                save(db, run.counts)
            committed = run.counts.as_dict()
            if finished:
                return rescan_result(run.result, task_id)
    except HearthError as exc:
        cause = rescan.cause_of(exc)
        if cause:  # kept beside the counts of what was committed before the failure
            with sessions() as db:
                taskrecords.set_progress(db, task_id, {**committed, "cause": cause})
        raise


def create_result(repo_name: str, task_id: str | None) -> dict[str, Any]:
    """``create_repo``'s answer while queued and in ``get_task`` (the API fills in ``repo``)."""
    return {
        "msg": f"Created new repository `{repo_name}`",
        "success": True,
        "task": task_id,
        "repo": None,
    }


def fork_result(source: str, fork_name: str, task_id: str | None) -> dict[str, Any]:
    return {"msg": f"Created fork of `{source}` as `{fork_name}`", "success": True, "task": task_id}


def _create_failure(args: dict[str, Any]) -> HearthError:
    return Failed("repo_create_failed", x=args["repo_name"])


def _fork_failure(args: dict[str, Any]) -> HearthError:
    return Failed("repo_fork_failed", x=args["source_name"], fork=args["fork_name"])


def _make_background(
    sessions: Sessions,
    actor: Actor,
    settings: Settings,
    args: dict[str, Any],
    task_id: str,
    failure: HearthError,
) -> str:
    """Clone into the scratch area, then move into place and mark ready; returns the name."""
    source_id = args.get("source_id")
    with sessions() as db:
        work = reserved.plan(
            db,
            settings,
            task_id,
            args["repo_id"],
            clone_uri=args.get("clone_uri"),
            source_id=source_id,
            failure=failure,
        )
    reserved.build(settings, work, failure)
    with sessions() as db:
        repo = reserved.complete(
            db,
            settings,
            actor,
            task_id,
            work,
            source_id=source_id,
            client_ip=args["client_ip"],
            failure=failure,
        )
        name = repo.repo_name
    reserved.tidy(settings, task_id)
    return name


def _create_background(
    sessions: Sessions, actor: Actor, settings: Settings, args: dict[str, Any], task_id: str
) -> Any:
    name = _make_background(sessions, actor, settings, args, task_id, _create_failure(args))
    return create_result(name, task_id)


def _fork_background(
    sessions: Sessions, actor: Actor, settings: Settings, args: dict[str, Any], task_id: str
) -> Any:
    _make_background(sessions, actor, settings, args, task_id, _fork_failure(args))
    return fork_result(args["source_name"], args["fork_name"], task_id)


def _abandon_made(db: Session, settings: Settings, args: dict[str, Any], task_id: str) -> None:
    reserved.abandon(db, settings, task_id, args["repo_id"], list(args.get("groups", [])))


def _not_eager(
    db: Session, actor: Actor, settings: Settings, args: dict[str, Any], note: Note
) -> Any:
    raise AssertionError("create_repo and fork_repo run eagerly through services.repos")


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
    "create_repo": Job(
        _not_eager,
        _create_background,
        lambda args, task_id: create_result(args["repo_name"], task_id),
        _create_failure,
        _abandon_made,
    ),
    "fork_repo": Job(
        _not_eager,
        _fork_background,
        lambda args, task_id: fork_result(args["source_name"], args["fork_name"], task_id),
        _fork_failure,
        _abandon_made,
    ),
}


def queue_create(db: Session, actor: Actor, settings: Settings, new: repos.NewRepo, ip: str) -> Any:
    """``create_repo`` in queued mode: reserve the name now, clone in a worker."""
    groups: list[str] = []
    repo = repos.create(db, actor, settings, new, client_ip=ip, reserve=groups)
    args = {
        "repo_id": repo.repo_id,
        "repo_name": repo.repo_name,
        "clone_uri": new.clone_uri,
        "groups": groups,
        "client_ip": ip,
    }
    task_id = taskrecords.enqueue(
        db, settings, actor, "create_repo", args, failure=_create_failure(args)
    )
    return create_result(repo.repo_name, task_id)


def queue_fork(
    db: Session,
    actor: Actor,
    settings: Settings,
    source_ref: int | str,
    new: repos.NewFork,
    ip: str,
) -> Any:
    """``fork_repo`` in queued mode: reserve the fork's name now, clone in a worker."""
    groups: list[str] = []
    source, fork = repos.fork(db, actor, settings, source_ref, new, client_ip=ip, reserve=groups)
    args = {
        "repo_id": fork.repo_id,
        "source_id": source.repo_id,
        "source_name": source.repo_name,
        "fork_name": fork.repo_name,
        "groups": groups,
        "client_ip": ip,
    }
    task_id = taskrecords.enqueue(
        db, settings, actor, "fork_repo", args, failure=_fork_failure(args)
    )
    return fork_result(source.repo_name, fork.repo_name, task_id)


# --- lost tasks ----------------------------------------------------------------------------------


def reap(db: Session, settings: Settings, task_id: str | None = None) -> list[str]:
    """Declare lost the running tasks (or the one ``task_id``) whose worker stopped beating: mark
    them failed and undo what they started. Returns the ids this caller reaped."""
    reaped = []
    for row in taskrecords.lost(db, settings, task_id):
        job = JOBS.get(row.method)
        args = row.args or {}
        text = job.failure(args).text if job is not None and args else TEXTS["internal"]
        if not taskrecords.give_up(db, settings, row.task_id, text):
            continue  # another process reaped it first
        log.error("task %s (%s): its worker was lost; marked failed", row.task_id, row.method)
        if job is not None and job.abandon is not None and args:
            job.abandon(db, settings, args, row.task_id)
        reaped.append(row.task_id)
    return reaped


def submit(db: Session, actor: Actor, settings: Settings, method: str, args: dict[str, Any]) -> Any:
    """Run ``method`` now, or queue it when a broker is configured; returns the API result.

    ``args`` must be JSON (it travels in the message).
    """
    job = JOBS[method]
    if not taskrecords.queued(settings):
        return job.now(db, actor, settings, args, _ignored)
    task_id = taskrecords.enqueue(db, settings, actor, method, args, failure=job.failure(args))
    return job.queued_result(args, task_id)


def _ignored(progress: dict[str, Any]) -> None:
    """The API answers with the result only."""


def start(db: Session, actor: Actor, settings: Settings, method: str, args: dict[str, Any]) -> str:
    """:func:`submit` for a page: returns the id of the task row that reports the work. Queued
    when a broker is configured; otherwise the work is done now and the row written finished
    (``done``, with its result and counts) in the same transaction. A failure raises as in
    :func:`submit` (nothing is written; the page records it with ``taskrecords.record``)."""
    job = JOBS[method]
    if taskrecords.queued(settings):
        return taskrecords.enqueue(db, settings, actor, method, args, failure=job.failure(args))
    counts: dict[str, Any] = {}
    result = job.now(db, actor, settings, args, counts.update)
    task_id = taskrecords.new_id()
    if isinstance(result, dict) and "task" in result:
        result = {**result, "task": task_id}  # as a worker's result names its task
    return taskrecords.record(
        db, actor, method, args, result=result, progress=counts or None, task_id=task_id
    )


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
    with Heartbeat(database, task_id, settings.task_lost_after / 5):
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
            if error is not None and job is not None and job.abandon is not None:
                job.abandon(db, settings, args, task_id)
            taskrecords.finish(db, task_id, result, error)
    return "failed" if error is not None else "done"


class Heartbeat:
    """A thread beating for one running task until the block ends."""

    def __init__(self, database: Database, task_id: str, every: float) -> None:
        self.database, self.task_id, self.every = database, task_id, max(0.5, every)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"beat-{task_id}", daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                with self.database.session() as db:
                    taskrecords.beat(db, self.task_id)
            except Exception:
                log.exception("task %s: heartbeat failed", self.task_id)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


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

    from celery import signals

    @signals.worker_ready.connect(weak=False)
    def start_reaper(**_: Any) -> None:
        from hearth.tasks import mirrorloop

        threading.Thread(target=_reaper, args=(database(), settings), daemon=True).start()
        mirrorloop.start(database(), settings)


def _reaper(database: Database, settings: Settings) -> None:
    """Reap lost tasks at worker start and then every ``task_lost_after / 2`` seconds."""
    while True:
        try:
            with database.session() as db:
                reap(db, settings)
        except Exception:
            log.exception("reaping lost tasks failed")
        time.sleep(max(1.0, settings.task_lost_after / 2))

# SPDX-License-Identifier: GPL-3.0-or-later
"""The mirror scheduler every ``hearth worker`` runs beside Celery (``services/mirrors.py``).

Once a second it looks for due mirrors and claims each with the database's conditional update, so
several workers never pull one mirror twice; a claimed mirror is pulled on a small thread pool
of its own, so a remote that hangs holds one thread until ``pull_timeout`` and the other mirrors
(and Celery's tasks) go on.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from hearth.config import Settings
from hearth.db.session import Database
from hearth.services import mirrors

log = logging.getLogger("hearth.mirrors")

THREADS = 4
TICK = 1.0


def run_forever(database: Database, settings: Settings) -> None:
    pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="mirror")
    busy: set[int] = set()
    lock = threading.Lock()

    def pull(repo_id: int) -> None:
        try:
            error = mirrors.pull(database, settings, repo_id)
            if error:
                log.warning("mirror %s: %s", repo_id, error)
        except Exception:
            log.exception("mirror %s: pull failed", repo_id)
        finally:
            with lock:
                busy.discard(repo_id)

    while True:
        try:
            with lock:
                free = THREADS - len(busy)
            if free > 0:
                with database.session() as db:
                    taken = [
                        repo_id
                        for repo_id in mirrors.due(db, limit=free)
                        if mirrors.claim(db, settings, repo_id)
                    ]
                for repo_id in taken:
                    with lock:
                        busy.add(repo_id)
                    pool.submit(pull, repo_id)
        except Exception:
            log.exception("mirror scheduling failed")
        time.sleep(TICK)


def start(database: Database, settings: Settings) -> None:
    threading.Thread(
        target=run_forever, args=(database, settings), name="mirrors", daemon=True
    ).start()

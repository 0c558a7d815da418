# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth worker``: the instance's Celery worker (``celery -A hearth.tasks.worker worker``).

It reads the settings the server reads (``hearth.toml``, ``HEARTH_BROKER_URL``,
``HEARTH_DATABASE_URL``, ``HEARTH_REPOS`` …), checks the two it cannot work without, and then
becomes Celery's own worker: every further option (``--concurrency``, ``--pool``, ``-Q``,
``--loglevel``, ``--hostname``, ``-B`` …) is Celery's and is passed through unchanged, so Celery's
documentation applies as it is. ``exec`` rather than a child process: systemd and the signals an
operator sends (SIGTERM: warm shutdown, finishing running tasks) reach Celery directly.
"""

from __future__ import annotations

import os
import sys

import typer

from hearth.cli.admin_context import fail, settings, shown_url
from hearth.db.session import Database
from hearth.services import bootstrap


def worker(ctx: typer.Context) -> None:
    """Run a background worker (Celery's worker; its options pass through)."""
    config = settings()
    if not config.broker_url:
        raise fail(
            "broker_url is not set: a worker needs a broker (e.g. redis://127.0.0.1:6379/0)", 2
        )
    database = Database(config.database_url)
    try:
        with database.sessions() as db:
            initialised = bootstrap.default_user_id(db) is not None
    except Exception as exc:
        raise fail(
            f"cannot open the database ({shown_url(config.database_url)}): {exc}", 2
        ) from None
    finally:
        database.dispose()
    if not initialised:
        raise fail("the instance is not initialised; run `hearth init`", 2)
    argv = [sys.executable, "-m", "celery", "-A", "hearth.tasks.worker", "worker", *ctx.args]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


WORKER_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}

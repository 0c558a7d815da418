# SPDX-License-Identifier: GPL-3.0-or-later
"""The Celery application of a Hearth instance: ``celery -A hearth.tasks.worker worker``.

Reads the same settings as the server (``hearth.toml``, ``HEARTH_*``; ``load_settings()``), so a
worker started beside a server with the same environment serves that instance's queue (named after
its database, ``services/taskrecords.py``) and writes to the same database. It needs ``broker_url``.
"""

from __future__ import annotations

from hearth import tasks
from hearth.config import ConfigError, load_settings
from hearth.services.taskrecords import celery_app

settings = load_settings()
if not settings.broker_url:
    raise ConfigError("broker_url: a worker needs a broker (e.g. redis://127.0.0.1:6379/0)")

app = celery_app(settings)
tasks.register(app, settings)

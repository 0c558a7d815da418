# SPDX-License-Identifier: GPL-3.0-or-later
"""Authentication failures counted in the database, so every server process sees them all and a
restart forgets none (``hearth/throttle.py``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from hearth.clock import now_utc
from hearth.db.models import AuthFailure
from hearth.db.session import Database
from hearth.throttle import Counter


def counter(database: Database) -> Counter:
    """A ``throttle.Counter`` over ``database``."""

    def count(address: str, window: float) -> int:
        now = now_utc()
        since = now - timedelta(seconds=window)
        with database.session() as db:
            db.execute(delete(AuthFailure).where(AuthFailure.failed_on < since))
            db.add(AuthFailure(address=address[:64], failed_on=now))
            db.flush()
            found = db.scalar(
                select(func.count()).where(
                    AuthFailure.address == address[:64], AuthFailure.failed_on >= since
                )
            )
        return int(found or 0)

    return count

# SPDX-License-Identifier: GPL-3.0-or-later
"""Compensations for work outside the database, run when the transaction does not commit.

A service that creates, moves or renames something on disk registers how to undo it on the session;
whoever owns the transaction (the API envelope, a CLI command, a background task) runs the hooks after
a rollback or a failed commit and forgets them after a successful commit. That is how a failed
operation leaves neither a row nor a directory behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

log = logging.getLogger("hearth.undo")
_KEY = "hearth_undo"


def on_rollback(db: Session, action: Callable[[], object]) -> None:
    db.info.setdefault(_KEY, []).append(action)


def forget(db: Session) -> None:
    db.info.pop(_KEY, None)


def run(db: Session) -> None:
    """Run the hooks newest first; a failing hook is logged and the others still run."""
    for action in reversed(db.info.pop(_KEY, [])):
        try:
            action()
        except Exception:
            log.exception("undo action failed")

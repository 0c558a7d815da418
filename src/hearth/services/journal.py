# SPDX-License-Identifier: GPL-3.0-or-later
"""The journal: who did what to which repository, from where.

Names are stored as text beside the ids so entries outlive deleted users and repositories (the ids are
set to NULL by the database when those go).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hearth.clock import now_utc
from hearth.db.models import JournalEntry


def record(
    db: Session,
    *,
    user_id: int | None,
    username: str,
    action: str,
    repo_id: int | None = None,
    repo_name: str | None = None,
    detail: str = "",
    ip_addr: str = "",
) -> None:
    db.add(
        JournalEntry(
            user_id=user_id,
            username=username,
            action=action,
            repo_id=repo_id,
            repo_name=repo_name,
            detail=detail,
            ip_addr=ip_addr,
            action_date=now_utc(),
        )
    )

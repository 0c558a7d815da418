# SPDX-License-Identifier: GPL-3.0-or-later
"""The administrators' journal (``/_admin/admin_journal``): every entry, of every repository
including private and deleted ones, filtered by user, repository and action, newest first.
Kallithea's admin journal; the people's journal (``services/webcontent.journal``) shows only what
the viewer may read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from hearth.db.models import JournalEntry
from hearth.services.permissions import Actor
from hearth.services.useradmin import require_admin

PER_PAGE = 50


@dataclass(frozen=True)
class Entry:
    entry_id: int
    username: str
    action: str
    repo_name: str
    detail: str
    ip_addr: str
    date: datetime  # naive UTC


@dataclass(frozen=True)
class Filters:
    user: str = ""
    repo: str = ""
    action: str = ""


@dataclass(frozen=True)
class JournalPage:
    entries: list[Entry]
    page: int
    has_next: bool
    actions: list[str]  # every action recorded, for the filter's choices


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def page(db: Session, actor: Actor, filters: Filters, number: int) -> JournalPage:
    """Entries whose username is ``filters.user`` (exactly, any case), whose repository name
    contains ``filters.repo`` and whose action is ``filters.action``."""
    require_admin(actor)
    query = select(JournalEntry)
    if filters.user:
        query = query.where(func.lower(JournalEntry.username) == filters.user.lower())
    if filters.repo:
        query = query.where(
            func.lower(JournalEntry.repo_name).like(_like(filters.repo.lower()), escape="\\")
        )
    if filters.action:
        query = query.where(JournalEntry.action == filters.action)
    query = (
        query.order_by(JournalEntry.action_date.desc(), JournalEntry.entry_id.desc())
        .offset((number - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
    )
    rows = list(db.scalars(query))
    entries = [
        Entry(r.entry_id, r.username, r.action, r.repo_name or "", r.detail or "",
              r.ip_addr or "", r.action_date)
        for r in rows[:PER_PAGE]
    ]  # fmt: skip
    actions = list(db.scalars(select(distinct(JournalEntry.action)).order_by(JournalEntry.action)))
    return JournalPage(entries, number, len(rows) > PER_PAGE, actions)

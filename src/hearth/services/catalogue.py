# SPDX-License-Identifier: GPL-3.0-or-later
"""The repository lists of the home and group pages: one page of what a viewer may read, counted,
filtered, sorted and cut in SQL, so the first page of 10,000 repositories costs two small queries.

Readability is ``services/permissions.py``'s level subquery, joined in SQL (admins read
everything). The last change comes from the cached ``changeset_cache`` column: listing never opens
a repository on disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hearth.db.models import RepoGroup, Repository, User
from hearth.db.session import core
from hearth.services import permissions
from hearth.services.permissions import Actor, Level

PER_PAGE = 50
QUERY_MAX = 200

# sort key → (column, descending); names are those of the page's ?sort=
_SORTS: dict[str, tuple[Any, bool]] = {
    "name": (Repository.repo_name, False),
    "-name": (Repository.repo_name, True),
    "updated": (Repository.updated_on, True),
    "-updated": (Repository.updated_on, False),
    "type": (Repository.repo_type, False),
    "owner": (User.username, False),
}
SORTS = tuple(_SORTS)


@dataclass(frozen=True)
class RepoRow:
    repo_id: int
    name: str
    repo_type: str
    description: str
    private: bool
    owner: str
    fork_of: str | None
    last_date: float | None  # epoch seconds of the tip changeset; None when empty
    tip: str | None  # its short id
    tip_message: str
    updated_on: datetime


@dataclass(frozen=True)
class GroupRow:
    group_id: int
    name: str  # full path
    description: str

    @property
    def last_component(self) -> str:
        return self.name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Listing:
    groups: list[GroupRow]
    repos: list[RepoRow]
    total: int  # repositories matching, on every page
    page: int
    pages: int
    sort: str
    query: str


def _readable(query: Any, actor: Actor, kind: str, obj: Any) -> Any:
    if actor.admin:
        return query
    levels = permissions.level_subquery(kind, actor.is_anonymous)
    return query.join(levels, levels.c.obj == obj).where(levels.c.level >= int(Level.READ))


def _contains(column: Any, text: str) -> Any:
    return func.lower(column).contains(text.lower(), autoescape=True)


def listing(
    db: Session,
    actor: Actor,
    codepoint: Any,
    *,
    group: tuple[int, str] | None = None,
    query: str = "",
    sort: str = "name",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Listing:
    """One page of the repositories ``actor`` may read — everywhere, or below ``group``
    (id, path) — whose names contain ``query`` (any case), and the readable groups directly at
    the top or in ``group`` (with a query: every readable group whose name contains it)."""
    query = query.strip()[:QUERY_MAX]
    sort = sort if sort in _SORTS else "name"
    params = {} if actor.admin else permissions.level_params(actor)

    repos = (
        select(Repository.repo_id)
        .join(User, User.user_id == Repository.owner_id)
        .where(Repository.state == "ready")
    )
    groups = select(RepoGroup.group_id, RepoGroup.group_name, RepoGroup.description)
    if group is not None:
        prefix = group[1] + "/"
        # LIKE narrows (and may use the index) but ignores case on SQLite: the exact prefix decides
        repos = repos.where(
            Repository.repo_name.startswith(prefix, autoescape=True),
            func.substr(Repository.repo_name, 1, len(prefix)) == prefix,
        )
    if query:
        repos = repos.where(_contains(Repository.repo_name, query))
        groups = groups.where(_contains(RepoGroup.group_name, query))
        if group is not None:
            groups = groups.where(
                func.substr(RepoGroup.group_name, 1, len(group[1]) + 1) == group[1] + "/"
            )
    else:
        groups = groups.where(
            RepoGroup.parent_id.is_(None) if group is None else RepoGroup.parent_id == group[0]
        )
    repos = _readable(repos, actor, "repository", Repository.repo_id)
    groups = _readable(groups, actor, "group", RepoGroup.group_id)

    conn = core(db)
    total = int(
        conn.execute(select(func.count()).select_from(repos.subquery()), params).scalar() or 0
    )
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    column, descending = _SORTS[sort]
    ordered = codepoint(column) if column is not Repository.updated_on else column
    order = [ordered.desc() if descending else ordered, Repository.repo_id]
    rows_query = (
        select(
            Repository.repo_id,
            Repository.repo_name,
            Repository.repo_type,
            Repository.description,
            Repository.private,
            Repository.changeset_cache,
            Repository.updated_on,
            User.username,
            Repository.fork_id,
        )
        .join(User, User.user_id == Repository.owner_id)
        .where(Repository.repo_id.in_(repos.scalar_subquery()))
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    found = conn.execute(rows_query, params).all()
    parents = _names(conn, {row.fork_id for row in found if row.fork_id is not None})
    group_rows = [
        GroupRow(row.group_id, row.group_name, row.description or "")
        for row in conn.execute(groups.order_by(codepoint(RepoGroup.group_name)), params)
    ]
    return Listing(
        groups=group_rows,
        repos=[_row(row, parents) for row in found],
        total=total,
        page=page,
        pages=pages,
        sort=sort,
        query=query,
    )


def _names(conn: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(Repository.repo_id, Repository.repo_name).where(Repository.repo_id.in_(ids))
    return dict(conn.execute(query).all())


def _row(row: Any, parents: dict[int, str]) -> RepoRow:
    cache = row.changeset_cache if isinstance(row.changeset_cache, dict) else {}
    date = cache.get("date")
    revision = cache.get("revision", -1)
    empty = not cache or revision == -1
    return RepoRow(
        repo_id=row.repo_id,
        name=row.repo_name,
        repo_type=row.repo_type,
        description=row.description or "",
        private=bool(row.private),
        owner=row.username,
        fork_of=parents.get(row.fork_id) if row.fork_id is not None else None,
        last_date=None if empty or date is None else float(date),
        tip=None if empty else cache.get("short_id"),
        tip_message="" if empty else str(cache.get("message") or ""),
        updated_on=row.updated_on,
    )


@dataclass(frozen=True)
class GroupPage:
    group_id: int
    name: str
    description: str
    owner: str


def readable_group(db: Session, actor: Actor, path: str) -> GroupPage | None:
    """The group at ``path`` if ``actor`` may read it; None when missing or hidden (one answer)."""
    row = db.execute(
        select(RepoGroup.group_id, RepoGroup.group_name, RepoGroup.description, User.username)
        .join(User, User.user_id == RepoGroup.owner_id)
        .where(RepoGroup.group_name == path)
    ).first()
    if row is None:
        return None
    if not actor.admin and permissions.group_level(db, actor, row.group_id) < Level.READ:
        return None
    return GroupPage(row.group_id, row.group_name, row.description or "", row.username)

# SPDX-License-Identifier: GPL-3.0-or-later
"""The repository lists of the home and group pages: one page of what a viewer may read,
filtered, sorted and cut in SQL, so the first page of 10,000 repositories costs three small queries.

Readability is ``services/permissions.py``'s ``repo_readable`` clause (admins read everything). The last change comes from the cached ``changeset_cache`` column: listing never opens
a repository on disk.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
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
    page: int
    has_next: bool
    sort: str
    query: str


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
    the top or in ``group`` (with a query: every readable group whose name contains it).

    The page is found in the sort order and cut with LIMIT; one row more than the page tells
    whether there is a next page, so the listing never counts (or decides access to) every
    repository: the first page of 10,000 costs about as much as the first page of 100.
    """
    query = query.strip()[:QUERY_MAX]
    sort = sort if sort in _SORTS else "name"
    page = max(1, page)
    params: dict[str, Any] = {} if actor.admin else permissions.level_params(actor)
    params["limit"] = per_page + 1
    params["offset"] = (page - 1) * per_page
    if group is not None:
        params["prefix"] = group[1] + "/"
        params["prefix_like"] = _escape_like(group[1] + "/") + "%"
        params["plen"] = len(group[1]) + 1
        params["parent"] = group[0]
    if query:
        params["pattern"] = f"%{_escape_like(query.lower())}%"
    shape = (actor.admin, actor.is_anonymous, group is not None, bool(query))
    ids = _ids_statement(codepoint, sort, *shape)
    groups = _groups_statement(codepoint, *shape)
    conn = core(db)
    page_ids = [row[0] for row in conn.execute(ids, params)]
    has_next = len(page_ids) > per_page
    page_ids = page_ids[:per_page]
    found = _rows(conn, page_ids)
    parents = _names(conn, {row.fork_id for row in found if row.fork_id is not None})
    group_rows = [
        GroupRow(row.group_id, row.group_name, row.description or "")
        for row in conn.execute(groups, params)
    ]
    return Listing(
        groups=group_rows,
        repos=[_row(row, parents) for row in found],
        page=page,
        has_next=has_next,
        sort=sort,
        query=query,
    )


# Statements are built once per shape, with everything that varies as bound parameters:
# building and compiling a statement of this size costs SQLAlchemy more than SQLite needs to run it.


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name_like(column: Any) -> Any:
    return func.lower(column).like(bindparam("pattern"), escape="\\")


@functools.cache
def _ids_statement(
    codepoint: Any, sort: str, admin: bool, anonymous: bool, in_group: bool, filtered: bool
) -> Any:
    ids = select(Repository.repo_id).where(
        Repository.state == "ready", permissions.repo_readable(admin, anonymous)
    )
    if in_group:
        # LIKE narrows (and may use the index) but ignores case on SQLite: the exact prefix decides
        ids = ids.where(
            Repository.repo_name.like(bindparam("prefix_like"), escape="\\"),
            func.substr(Repository.repo_name, 1, bindparam("plen")) == bindparam("prefix"),
        )
    if filtered:
        ids = ids.where(_name_like(Repository.repo_name))
    column, descending = _SORTS[sort]
    if sort == "owner":
        column = select(User.username).where(User.user_id == Repository.owner_id).scalar_subquery()
    ordered = codepoint(column) if column is not Repository.updated_on else column
    return (
        ids.order_by(ordered.desc() if descending else ordered, Repository.repo_id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


@functools.cache
def _groups_statement(
    codepoint: Any, admin: bool, anonymous: bool, in_group: bool, filtered: bool
) -> Any:
    groups = select(RepoGroup.group_id, RepoGroup.group_name, RepoGroup.description)
    if filtered:
        groups = groups.where(_name_like(RepoGroup.group_name))
        if in_group:
            groups = groups.where(
                func.substr(RepoGroup.group_name, 1, bindparam("plen")) == bindparam("prefix")
            )
    else:
        groups = groups.where(
            RepoGroup.parent_id == bindparam("parent")
            if in_group
            else RepoGroup.parent_id.is_(None)
        )
    if not admin:
        levels = permissions.level_subquery("group", anonymous)
        groups = groups.join(levels, levels.c.obj == RepoGroup.group_id).where(
            levels.c.level >= int(Level.READ)
        )
    return groups.order_by(codepoint(RepoGroup.group_name))


_ROWS = (
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
    .where(Repository.repo_id.in_(bindparam("ids", expanding=True)))
)


def _rows(conn: Any, ids: list[int]) -> list[Any]:
    """The listed columns of ``ids``, in that order."""
    if not ids:
        return []
    by_id = {row.repo_id: row for row in conn.execute(_ROWS, {"ids": ids})}
    return [by_id[i] for i in ids if i in by_id]


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
    group = db.scalar(select(RepoGroup).where(RepoGroup.group_name == path))
    if group is None or not permissions.allows(db, actor, Level.READ, group):
        return None
    owner = db.scalar(select(User.username).where(User.user_id == group.owner_id)) or ""
    return GroupPage(group.group_id, group.group_name, group.description or "", owner)

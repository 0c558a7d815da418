# SPDX-License-Identifier: GPL-3.0-or-later
"""Repositories as the API lists them, loaded in a fixed number of queries whatever their number.

Listing never opens a repository on disk: ``last_changeset`` comes from the cached column.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from hearth.db.models import Follower, RepoGroup, Repository, User
from hearth.db.session import core
from hearth.services import permissions
from hearth.services.permissions import Actor


class RepoView(NamedTuple):
    """A repository's columns as a plain dict (listing 10,000 ORM objects, or even result rows
    read by attribute, costs more than the query) with the names the API shows beside them."""

    repo: dict[str, Any]  # the ``repositories`` columns by name
    owner: str
    fork_of: str | None
    locked_by: User | None


_OWNER = aliased(User)
_PARENT = aliased(Repository)
_ROWS = (
    select(
        *Repository.__table__.columns,
        _OWNER.username.label("owner_name"),
        _PARENT.repo_name.label("fork_name"),
    )
    .join(_OWNER, _OWNER.user_id == Repository.owner_id)
    .outerjoin(_PARENT, _PARENT.repo_id == Repository.fork_id)
    .where(Repository.state == "ready")
)


_ONE = _ROWS.where(Repository.repo_id == bindparam("rid"))
_FOLLOWERS = (
    select(User)
    .join(Follower, Follower.user_id == User.user_id)
    .where(Follower.repo_id == bindparam("rid"))
    .order_by(Follower.row_id)
)


def _views(db: Session, result: Any) -> list[RepoView]:
    """Views of the rows of an executed ``_ROWS`` query."""
    keys = list(result.keys())
    rows = [dict(zip(keys, row, strict=True)) for row in result.all()]
    lockers = {row["locked_by"] for row in rows if row["locked_by"] is not None}
    users = (
        {u.user_id: u for u in db.scalars(select(User).where(User.user_id.in_(lockers)))}
        if lockers
        else {}
    )
    return [
        RepoView(row, row["owner_name"], row["fork_name"], users.get(row["locked_by"]))
        for row in rows
    ]


def view(db: Session, repo: Repository) -> RepoView:
    db.flush()
    result = core(db).execute(_ONE, {"rid": repo.repo_id})
    return _views(db, result)[0]


def visible(
    db: Session,
    actor: Actor,
    codepoint: Any,
    *,
    root: RepoGroup | None = None,
    traverse: bool = True,
) -> list[RepoView]:
    """``get_repos``: admins every repository by id; others what they may read, by name."""
    query = _ROWS
    if root is not None:
        if traverse:
            prefix = root.group_name + "/"
            # LIKE narrows (and may use the index) but is case-insensitive on SQLite: names
            # are case-sensitive, so the exact prefix decides.
            query = query.where(
                Repository.repo_name.startswith(prefix, autoescape=True),
                func.substr(Repository.repo_name, 1, len(prefix)) == prefix,
            )
        else:
            query = query.where(Repository.group_id == root.group_id)
    if actor.admin:
        return _views(db, core(db).execute(query.order_by(Repository.repo_id)))
    levels = permissions.repo_level_subquery(actor)
    query = query.join(levels, levels.c.obj == Repository.repo_id).where(
        levels.c.level >= int(permissions.Level.READ)
    )
    result = core(db).execute(
        query.order_by(codepoint(Repository.repo_name)), permissions.level_params(actor)
    )
    return _views(db, result)


def followers(db: Session, repo_id: int) -> list[User]:
    return list(db.scalars(_FOLLOWERS, {"rid": repo_id}))


def locked(db: Session, user_id: int | None) -> list[RepoView]:
    """Locked repositories (all, or those held by ``user_id``), by ``repo_id``."""
    query = _ROWS.where(Repository.locked_by.is_not(None))
    if user_id is not None:
        query = query.where(Repository.locked_by == user_id)
    return _views(db, core(db).execute(query.order_by(Repository.repo_id)))

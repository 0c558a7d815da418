# SPDX-License-Identifier: GPL-3.0-or-later
"""Resolving ``id|name`` references (``jsonrpc.md`` §8): integers and ASCII-digit strings are ids."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hearth.db.models import Gist, RepoGroup, Repository, User, UserGroup
from hearth.errors import NotFound

_DIGITS = re.compile(r"[0-9]+")
# primary keys are 32-bit INTEGER columns; a larger id cannot exist (and PostgreSQL would refuse
# the literal outright), so it is answered as missing without asking the database
_ID_LIMIT = 2**31
T = TypeVar("T")


def as_id(ref: int | str) -> int | None:
    """The primary key ``ref`` names, or None when it is a name."""
    if isinstance(ref, int):
        return ref
    if _DIGITS.fullmatch(ref):
        return int(ref)
    return None


def is_digits(name: str) -> bool:
    return bool(_DIGITS.fullmatch(name))


@functools.cache
def _by_name(model: Any, name_col: str) -> Any:
    return select(model).where(getattr(model, name_col) == bindparam("name"))


def _find(db: Session, model: type[T], pk: str, name_col: str, ref: int | str, code: str) -> T:
    ident = as_id(ref)
    if ident is not None:
        obj = db.get(model, ident) if -_ID_LIMIT <= ident < _ID_LIMIT else None
    else:
        obj = db.scalar(_by_name(cast(Any, model), name_col), {"name": ref})
    if obj is None:
        raise NotFound(code, x=ref)
    return obj


def user(db: Session, ref: int | str) -> User:
    return _find(db, User, "user_id", "username", ref, "user_not_found")


def user_group(db: Session, ref: int | str) -> UserGroup:
    return _find(db, UserGroup, "users_group_id", "group_name", ref, "user_group_not_found")


def repository(db: Session, ref: int | str) -> Repository:
    repo = _find(db, Repository, "repo_id", "repo_name", ref, "repo_not_found")
    if repo.state != "ready":
        raise NotFound("repo_not_found", x=ref)
    return repo


def repo_group(db: Session, ref: int | str) -> RepoGroup:
    return _find(db, RepoGroup, "group_id", "group_name", ref, "repo_group_not_found")


def gist(db: Session, ref: int | str) -> Gist:
    ident = as_id(ref)
    obj = db.scalar(select(Gist).where(Gist.access_id == str(ref)))
    if obj is None and ident is not None and -_ID_LIMIT <= ident < _ID_LIMIT:
        obj = db.get(Gist, ident)
    if obj is None:
        raise NotFound("gist_not_found", x=ref)
    return obj


@dataclass(frozen=True)
class RepoRef:
    """A repository as the edges see it: the columns they and the services they call need, as a
    plain value read once per request (safe across threads, no session behind it).

    The lock columns are the state when the request was routed; the services that change a lock
    read the row again in their own transaction.
    """

    repo_id: int
    repo_name: str
    repo_type: str
    enable_downloads: bool = False
    enable_locking: bool = False
    locked_by: int | None = None
    locked_date: float | None = None
    lock_reason: str | None = None

    @classmethod
    def of(cls, repo: Repository) -> RepoRef:
        return cls(
            repo.repo_id,
            repo.repo_name,
            repo.repo_type,
            bool(repo.enable_downloads),
            bool(repo.enable_locking),
            repo.locked_by,
            repo.locked_date,
            repo.lock_reason,
        )


def ref_by_path(db: Session, path: str) -> tuple[RepoRef, str] | None:
    """:func:`repository_by_path` as a plain value: what the router hands to the edges."""
    found = repository_by_path(db, path)
    return None if found is None else (RepoRef.of(found[0]), found[1])


def repository_by_path(db: Session, path: str) -> tuple[Repository, str] | None:
    """The repository a URL path starts with, and the rest of the path (``web-and-vcs.md`` §2).

    ``path`` is the URL path without its leading ``/``. The first component may be ``_<id>``.
    Otherwise every prefix of the path is a candidate and the longest existing name wins (one
    query); a component ending in ``.git`` also stands for the name without it, the exact name
    preferred (§3). Repositories being created or deleted are not found.
    """
    parts = path.split("/")
    first = parts[0]
    if first.startswith("_") and is_digits(first[1:]):
        ident = int(first[1:])
        repo = db.get(Repository, ident) if ident < _ID_LIMIT else None
        if repo is None or repo.state != "ready":
            return None
        return repo, "/".join(parts[1:])
    candidates: list[tuple[str, int]] = []  # (name, components it consumes), preferred first
    for end in range(len(parts), 0, -1):
        name = "/".join(parts[:end])
        if not name or len(name) > 255:
            continue
        candidates.append((name, end))
        if name.endswith(".git") and len(name) > 4:
            candidates.append((name[:-4], end))
    if not candidates:
        return None
    found = db.scalars(
        select(Repository).where(
            Repository.repo_name.in_([name for name, _ in candidates]),
            Repository.state == "ready",
        )
    ).all()
    by_name = {repo.repo_name: repo for repo in found}
    for name, end in candidates:
        if name in by_name:
            return by_name[name], "/".join(parts[end:])
    return None

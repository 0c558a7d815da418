# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place access is decided (``spec/permissions.md``).

Kallithea 0.7's model: permission rows carry a level, the highest level wins, nothing is inherited at
check time. Object permissions are computed in SQL over the union of the ``default`` user's row, the
rows of the user's active groups and the user's own row, so "which of these N repositories may U read"
is one query (``repo_levels``), never a loop in Python.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from hearth.db.models import (
    GroupUserGroupPerm,
    GroupUserPerm,
    RepoGroup,
    Repository,
    RepoUserGroupPerm,
    RepoUserPerm,
    User,
    UserGlobalPerm,
    UserGroup,
    UserGroupGlobalPerm,
    UserGroupMember,
    UserGroupUserGroupPerm,
    UserGroupUserPerm,
)
from hearth.db.session import core
from hearth.errors import HearthError, Invalid, NotFound


class Level(IntEnum):
    """Object permission levels; the integer is Kallithea's weight."""

    NONE = 0
    READ = 1
    WRITE = 3
    ADMIN = 4


LEVEL_WORDS = {Level.NONE: "none", Level.READ: "read", Level.WRITE: "write", Level.ADMIN: "admin"}
OBJECT_KINDS = ("repository", "group", "usergroup")

# global permission families: kind -> [(name, weight)]
GLOBAL_KINDS: dict[str, list[tuple[str, int]]] = {
    "repository": [(f"repository.{w}", int(lv)) for lv, w in LEVEL_WORDS.items()],
    "group": [(f"group.{w}", int(lv)) for lv, w in LEVEL_WORDS.items()],
    "usergroup": [(f"usergroup.{w}", int(lv)) for lv, w in LEVEL_WORDS.items()],
    "hg.create": [("hg.create.none", 0), ("hg.create.repository", 1)],
    "hg.fork": [("hg.fork.none", 0), ("hg.fork.repository", 1)],
    "hg.usergroup.create": [("hg.usergroup.create.false", 0), ("hg.usergroup.create.true", 1)],
    "hg.register": [
        ("hg.register.none", 0),
        ("hg.register.manual_activate", 1),
        ("hg.register.auto_activate", 2),
    ],
    "hg.extern_activate": [("hg.extern_activate.manual", 0), ("hg.extern_activate.auto", 1)],
}
ADMIN_PERMISSION = "hg.admin"

# name -> (kind, weight); the 24 names of permissions.md §1
PERMISSIONS: dict[str, tuple[str, int]] = {
    name: (kind, weight) for kind, names in GLOBAL_KINDS.items() for name, weight in names
}
PERMISSIONS[ADMIN_PERMISSION] = ("hg.admin", 1)

DEFAULT_GLOBALS = (
    "repository.read",
    "group.read",
    "usergroup.read",
    "hg.create.repository",
    "hg.fork.repository",
    "hg.register.manual_activate",
    "hg.extern_activate.auto",
)

DEFAULT_USERNAME = "default"


@dataclass(frozen=True)
class Actor:
    """Who is acting: an authenticated user, or the anonymous ``default`` user."""

    user_id: int
    username: str
    admin: bool
    default_user_id: int

    @property
    def is_anonymous(self) -> bool:
        return self.user_id == self.default_user_id


def permission_name(kind: str, level: int) -> str:
    return f"{kind}.{LEVEL_WORDS[Level(level)]}"


def parse_object_permission(name: str, kind: str) -> Level:
    """``repository.write`` -> Level.WRITE, with Kallithea's two error texts."""
    if name not in PERMISSIONS:
        raise NotFound("permission_not_found", x=name)
    prefix, _, word = name.partition(".")
    if prefix != kind or word not in LEVEL_WORDS.values():
        raise Invalid("perm_wrong_kind", x=name, prefix=kind)
    return Level({w: lv for lv, w in LEVEL_WORDS.items()}[word])


# --- global permissions ---------------------------------------------------------------------


_GLOBAL_NAMES = union_all(
    select(UserGlobalPerm.permission).where(
        UserGlobalPerm.user_id.in_([bindparam("uid"), bindparam("did")])
    ),
    select(UserGroupGlobalPerm.permission).where(
        UserGroupGlobalPerm.users_group_id.in_(
            select(UserGroupMember.users_group_id)
            .join(UserGroup, UserGroup.users_group_id == UserGroupMember.users_group_id)
            .where(UserGroupMember.user_id == bindparam("uid"), UserGroup.active.is_(True))
        )
    ),
)


def global_permissions(db: Session, actor: Actor) -> set[str]:
    """The effective global permission names: per kind, the highest weight of every source."""
    if actor.admin:
        return {ADMIN_PERMISSION}
    return _strongest(db.scalars(_GLOBAL_NAMES, level_params(actor)).all())


def _strongest(names: Iterable[str]) -> set[str]:
    best: dict[str, tuple[int, str]] = {}
    for name in names:
        kind, weight = PERMISSIONS.get(name, ("", -1))
        if kind and (kind not in best or weight > best[kind][0]):
            best[kind] = (weight, name)
    return {name for _, name in best.values()}


def has_global(db: Session, actor: Actor, name: str) -> bool:
    """Admin, or the effective permission of ``name``'s kind weighs at least as much as ``name``."""
    if actor.admin:
        return True
    kind, weight = PERMISSIONS[name]
    for held in global_permissions(db, actor):
        held_kind, held_weight = PERMISSIONS[held]
        if held_kind == kind and held_weight >= weight:
            return True
    return False


def default_global_level(db: Session, default_user_id: int, kind: str) -> Level:
    """The ``default`` user's global ``repository.*``/``group.*``/``usergroup.*``: rows for new objects."""
    name = db.scalar(
        select(UserGlobalPerm.permission).where(
            UserGlobalPerm.user_id == default_user_id, UserGlobalPerm.kind == kind
        )
    )
    if name is None:
        return Level.NONE
    return Level(PERMISSIONS[name][1])


# --- object permissions (one query each) ----------------------------------------------------
#
# The statements are built once per (object kind, anonymous or not) with the actor's ids as bound
# parameters (``level_params``): building a statement costs SQLAlchemy more than SQLite needs to run it.


@dataclass(frozen=True)
class _Kind:
    """How one kind of object is permissioned: its table, id, name, and the two row tables."""

    model: Any
    obj: Any  # the object's primary key column
    name: Any  # the column shown in reports
    user_rows: Any  # table with (obj_col, user_id, level)
    user_obj: Any
    group_rows: Any  # table with (obj_col, users_group_id, level)
    group_obj: Any
    owner_and_private: bool  # repositories: the owner has admin, private starts at none
    user_origin: Any = None  # the rows' ``from_group_id`` (what a repository group's grant
    group_origin: Any = None  # wrote); user groups are in no repository group: None


_KINDS = {
    "repository": _Kind(Repository, Repository.repo_id, Repository.repo_name, RepoUserPerm,
                        RepoUserPerm.repo_id, RepoUserGroupPerm, RepoUserGroupPerm.repo_id, True,
                        RepoUserPerm.from_group_id, RepoUserGroupPerm.from_group_id),
    "group": _Kind(RepoGroup, RepoGroup.group_id, RepoGroup.group_name, GroupUserPerm,
                   GroupUserPerm.group_id, GroupUserGroupPerm, GroupUserGroupPerm.group_id, False,
                   GroupUserPerm.from_group_id, GroupUserGroupPerm.from_group_id),
    "usergroup": _Kind(UserGroup, UserGroup.users_group_id, UserGroup.group_name,
                       UserGroupUserPerm, UserGroupUserPerm.target_id, UserGroupUserGroupPerm,
                       UserGroupUserGroupPerm.target_id, False),
}  # fmt: skip
_UID: Any = bindparam("uid")
_DID: Any = bindparam("did")
_IDS: Any = bindparam("ids", expanding=True)


def level_params(actor: Actor) -> dict[str, int]:
    """The bound parameters every level statement of this module takes."""
    return {"uid": actor.user_id, "did": actor.default_user_id}


RULE_OWNER = "owner"
RULE_PRIVATE = "private"
RULE_DEFAULT = "default user"
RULE_GROUP = "user group"
RULE_USER = "direct grant"
RULE_ADMIN = "admin"


def _sources(kind: str, anonymous: bool, explained: bool) -> list[Any]:
    """The rows a non-admin's level on each object is the MAX of: the ``default`` user's row (for
    repositories: the owner's admin first, else none when private), the rows of the actor's active
    groups, and the actor's own row. With ``explained`` each row also says which rule it is,
    through whom (``via``: a user or user group id) and, for a row a repository group's grant
    wrote on what is inside it, that group (``origin``: its id) — which is all :func:`explain`
    adds: the access checks and the explanation read the very same rows."""
    k = _KINDS[kind]
    default_row = (k.user_obj == k.obj) & (k.user_rows.user_id == _DID)
    start: Any = func.coalesce(k.user_rows.level, 0)
    rule: Any = literal(RULE_DEFAULT)
    via: Any = _DID
    no_origin: Any = literal(None, Integer)
    user_origin: Any = no_origin if k.user_origin is None else k.user_origin
    group_origin: Any = no_origin if k.group_origin is None else k.group_origin
    origin: Any = user_origin
    if k.owner_and_private:
        start = case(
            (Repository.owner_id == _UID, literal(int(Level.ADMIN))),
            (Repository.private.is_(True), literal(0)),
            else_=start,
        )
        rule = case(
            (Repository.owner_id == _UID, literal(RULE_OWNER)),
            (Repository.private.is_(True), literal(RULE_PRIVATE)),
            else_=literal(RULE_DEFAULT),
        )
        via = case((Repository.owner_id == _UID, _UID), else_=_DID)
        origin = case(
            (Repository.owner_id == _UID, no_origin),
            (Repository.private.is_(True), no_origin),
            else_=user_origin,
        )

    def columns(obj: Any, level: Any, what: Any, who: Any, came: Any) -> list[Any]:
        out = [obj.label("obj"), level.label("level")]
        if explained:
            out += [what.label("rule"), who.label("via"), came.label("origin")]
        return out

    parts = [select(*columns(k.obj, start, rule, via, origin)).outerjoin(k.user_rows, default_row)]
    if not anonymous:
        groups = (
            select(UserGroupMember.users_group_id)
            .join(UserGroup, UserGroup.users_group_id == UserGroupMember.users_group_id)
            .where(UserGroupMember.user_id == _UID, UserGroup.active.is_(True))
        )
        parts.append(
            select(
                *columns(
                    k.group_obj,
                    k.group_rows.level,
                    literal(RULE_GROUP),
                    k.group_rows.users_group_id,
                    group_origin,
                )
            ).where(k.group_rows.users_group_id.in_(groups))
        )
        parts.append(
            select(
                *columns(
                    k.user_obj,
                    k.user_rows.level,
                    literal(RULE_USER),
                    k.user_rows.user_id,
                    user_origin,
                )
            ).where(k.user_rows.user_id == _UID)
        )
    return parts


@functools.cache
def level_subquery(kind: str, anonymous: bool) -> Any:
    """(obj, level) for a non-admin: MAX(level) over :func:`_sources`. Execute with
    ``level_params``."""
    sub = union_all(*_sources(kind, anonymous, False)).subquery()
    return (
        select(sub.c.obj.label("obj"), func.max(sub.c.level).label("level"))
        .group_by(sub.c.obj)
        .subquery()
    )


@functools.cache
def _explained_statement(kind: str, anonymous: bool) -> Any:
    sub = union_all(*_sources(kind, anonymous, True)).subquery()
    return select(sub.c.level, sub.c.rule, sub.c.via, sub.c.origin).where(
        sub.c.obj == bindparam("obj")
    )


@dataclass(frozen=True)
class Reason:
    """One rule that gives ``actor`` a level on an object."""

    rule: str  # RULE_*
    level: Level
    via_user_id: int | None  # the owner, the default user, the user with the direct grant
    via_group_id: int | None  # the user group of a group grant
    effective: bool  # this rule decided the level; the others were overridden or equal
    from_group_id: int | None = None  # the repository group whose grant wrote the row here


@dataclass(frozen=True)
class Explanation:
    level: Level
    reasons: list[Reason]  # strongest first


_RULE_ORDER = {RULE_ADMIN: 0, RULE_OWNER: 1, RULE_USER: 2, RULE_GROUP: 3, RULE_DEFAULT: 4,
               RULE_PRIVATE: 5}  # fmt: skip


def explain(db: Session, actor: Actor, kind: str, obj_id: int) -> Explanation:
    """``actor``'s level on one object and why: the rows of :func:`_sources` (those
    :func:`level_subquery` takes the MAX of), the strongest marked effective; an admin's level is
    admin whatever the rows say (they are listed as overridden)."""
    params: dict[str, Any] = {**level_params(actor), "obj": obj_id}
    rows = core(db).execute(_explained_statement(kind, actor.is_anonymous), params).all()
    found: list[tuple[str, Level, int | None, int | None, int | None]] = []
    for level, rule, via, origin in rows:
        if level is None:
            continue
        group_id = int(via) if rule == RULE_GROUP else None
        user_id = None if rule == RULE_GROUP else int(via)
        came = None if origin is None else int(origin)
        found.append((str(rule), Level(int(level)), user_id, group_id, came))
    if actor.admin:
        found.append((RULE_ADMIN, Level.ADMIN, actor.user_id, None, None))
    found.sort(key=lambda r: (-int(r[1]), _RULE_ORDER.get(r[0], 9)))
    best = found[0][1] if found else Level.NONE
    reasons = [
        Reason(rule, level, user_id, group_id, index == 0, came)
        for index, (rule, level, user_id, group_id, came) in enumerate(found)
    ]
    return Explanation(best, reasons)


@functools.cache
def _statement(kind: str, anonymous: bool, admin: bool, filtered: bool, named: bool) -> Any:
    k = _KINDS[kind]
    if admin:
        query = select(k.obj, literal(int(Level.ADMIN)).label("level"))
        obj = k.obj
    else:
        levels = level_subquery(kind, anonymous)
        query = select(levels.c.obj, levels.c.level)
        obj = levels.c.obj
    if named:
        query = query.add_columns(k.name)
        if not admin:
            query = query.join(k.model, k.obj == obj)
        query = query.order_by(obj)
    if filtered:
        query = query.where(obj.in_(_IDS))
    return query


def _levels(db: Session, actor: Actor, kind: str, ids: Iterable[int] | None) -> dict[int, int]:
    params: dict[str, Any] = level_params(actor)
    if ids is not None:
        params["ids"] = list(ids)
        if not params["ids"]:
            return {}
    statement = _statement(kind, actor.is_anonymous, actor.admin, ids is not None, False)
    return {obj: int(level or 0) for obj, level in core(db).execute(statement, params)}


@dataclass(frozen=True)
class Report:
    """Everything ``get_user`` shows of a user's permissions, read in one query."""

    globals: set[str]
    objects: dict[str, list[tuple[str, int]]]  # kind -> (name, level) in id order


@functools.cache
def _report_statement(anonymous: bool, admin: bool) -> Any:
    parts = []
    for index, kind in enumerate(OBJECT_KINDS):
        named = _statement(kind, anonymous, admin, False, True).order_by(None).subquery()
        obj, level, name = list(named.c)
        parts.append(
            select(
                literal(index).label("part"),
                obj.label("obj"),
                name.label("name"),
                func.coalesce(level, 0).label("level"),
            )
        )
    if not admin:
        names = _GLOBAL_NAMES.subquery()
        parts.append(
            select(
                literal(len(OBJECT_KINDS)).label("part"),
                literal(0).label("obj"),
                names.c.permission.label("name"),
                literal(0).label("level"),
            )
        )
    return union_all(*parts).order_by("part", "obj")


def report(db: Session, actor: Actor) -> Report:
    """Global permissions and the level on every repository, group and user group, in one
    query (``get_user`` is the API's most frequent call)."""
    objects: dict[str, list[tuple[str, int]]] = {kind: [] for kind in OBJECT_KINDS}
    global_names: list[str] = []
    statement = _report_statement(actor.is_anonymous, actor.admin)
    for part, _obj, name, level in core(db).execute(statement, level_params(actor)):
        if part < len(OBJECT_KINDS):
            objects[OBJECT_KINDS[part]].append((name, int(level)))
        else:
            global_names.append(name)
    globals_ = {ADMIN_PERMISSION} if actor.admin else _strongest(global_names)
    return Report(globals_, objects)


def repo_level_subquery(actor: Actor) -> Any:
    """(obj = repo_id, level) for a non-admin; join it to filter repositories in SQL and execute
    the statement with ``level_params(actor)``."""
    return level_subquery("repository", actor.is_anonymous)


@functools.cache
def _repo_readable(anonymous: bool) -> Any:
    start = and_(
        Repository.private.is_(False),
        exists().where(
            RepoUserPerm.repo_id == Repository.repo_id,
            RepoUserPerm.user_id == _DID,
            RepoUserPerm.level >= int(Level.READ),
        ),
    )
    clauses = [Repository.owner_id == _UID, start]
    if not anonymous:
        groups = (
            select(UserGroupMember.users_group_id)
            .join(UserGroup, UserGroup.users_group_id == UserGroupMember.users_group_id)
            .where(UserGroupMember.user_id == _UID, UserGroup.active.is_(True))
        )
        clauses.append(
            exists().where(
                RepoUserGroupPerm.repo_id == Repository.repo_id,
                RepoUserGroupPerm.users_group_id.in_(groups),
                RepoUserGroupPerm.level >= int(Level.READ),
            )
        )
        clauses.append(
            exists().where(
                RepoUserPerm.repo_id == Repository.repo_id,
                RepoUserPerm.user_id == _UID,
                RepoUserPerm.level >= int(Level.READ),
            )
        )
    return or_(*clauses)


def repo_readable(admin: bool, anonymous: bool) -> Any:
    """A WHERE clause on ``repositories``: true where ``actor`` may read — the rule of
    ``level_subquery("repository")`` (owner; else, unless private, the ``default`` row; the active
    groups' rows; the user's own row; the highest wins) asked as correlated EXISTS tests. A sorted
    page of a listing then stops after its rows instead of computing every repository's level.
    Execute with ``level_params(actor)``; admins read everything. Built per (admin, anonymous)
    shape, like the other statements here."""
    if admin:
        return true()
    return _repo_readable(anonymous)


def repo_levels(db: Session, actor: Actor, ids: Iterable[int] | None = None) -> dict[int, int]:
    """Effective level per repository (all, or ``ids``): admin 4; owner 4; private -> start at none."""
    return _levels(db, actor, "repository", ids)


def group_levels(db: Session, actor: Actor, ids: Iterable[int] | None = None) -> dict[int, int]:
    """Effective level per repository group."""
    return _levels(db, actor, "group", ids)


def user_group_levels(
    db: Session, actor: Actor, ids: Iterable[int] | None = None
) -> dict[int, int]:
    """Effective level per user group."""
    return _levels(db, actor, "usergroup", ids)


def repo_level(db: Session, actor: Actor, repo_id: int) -> Level:
    return Level(repo_levels(db, actor, [repo_id]).get(repo_id, 0))


def group_level(db: Session, actor: Actor, group_id: int) -> Level:
    return Level(group_levels(db, actor, [group_id]).get(group_id, 0))


def user_group_level(db: Session, actor: Actor, users_group_id: int) -> Level:
    return Level(user_group_levels(db, actor, [users_group_id]).get(users_group_id, 0))


def allows(db: Session, actor: Actor, need: Level, obj: Repository | RepoGroup | UserGroup) -> bool:
    """Whether ``actor`` holds at least ``need`` on ``obj``: an admin always does; everybody
    else by the effective level (the one test every service asks)."""
    if actor.admin:
        return True
    if isinstance(obj, Repository):
        level = repo_level(db, actor, obj.repo_id)
    elif isinstance(obj, RepoGroup):
        level = group_level(db, actor, obj.group_id)
    else:
        level = user_group_level(db, actor, obj.users_group_id)
    return level >= need


def require(
    db: Session,
    actor: Actor,
    need: Level,
    obj: Repository | RepoGroup | UserGroup,
    refusal: HearthError,
) -> None:
    """Raise ``refusal`` unless :func:`allows`: each caller says what a refusal looks like
    ("does not exist" where existence is hidden, "access denied" where it is not)."""
    if not allows(db, actor, need, obj):
        raise refusal


def actor_for(db: Session, user: User, default_user_id: int) -> Actor:
    return Actor(user.user_id, user.username, bool(user.admin), default_user_id)


# --- pull requests (methods.md §9, Kallithea's rules) ----------------------------------------


def may_read_pull_request(db: Session, actor: Actor, org_repo_id: int) -> bool:
    """Kallithea decides a pull request's visibility by its source repository alone."""
    return actor.admin or repo_level(db, actor, org_repo_id) >= Level.READ


def may_close_pull_request(actor: Actor, owner_id: int) -> bool:
    return actor.admin or actor.user_id == owner_id


def may_review_pull_request(actor: Actor, owner_id: int, reviewer_ids: Iterable[int]) -> bool:
    """Setting a review status: admins, the owner, and the reviewers."""
    return actor.admin or actor.user_id == owner_id or actor.user_id in set(reviewer_ids)


def may_edit_reviewers(db: Session, actor: Actor, owner_id: int, other_repo_id: int) -> bool:
    return (
        actor.admin
        or actor.user_id == owner_id
        or repo_level(db, actor, other_repo_id) >= Level.ADMIN
    )


def may_merge_pull_request(db: Session, actor: Actor, other_repo_id: int) -> bool:
    """Merging moves the target's branch: what a push into the target needs."""
    return actor.admin or repo_level(db, actor, other_repo_id) >= Level.WRITE

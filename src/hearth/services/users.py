# SPDX-License-Identifier: GPL-3.0-or-later
"""Users: creation, update, deletion, and the details the API shows (``methods.md`` §2)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hearth.clock import now_utc
from hearth.db.models import (
    Follower,
    Gist,
    PullRequest,
    RepoGroup,
    Repository,
    User,
    UserEmail,
    UserGroup,
    UserIpRule,
)
from hearth.db.session import core
from hearth.errors import Conflict, Failed, Forbidden, HearthError, Invalid
from hearth.services import keys, permissions
from hearth.services.lookup import is_digits
from hearth.services.passwords import hash_password
from hearth.services.permissions import DEFAULT_USERNAME

_USERNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
RESERVED_USERNAMES = frozenset({DEFAULT_USERNAME, "new_user"})


def validate_username(name: str) -> None:
    """Kallithea's web rule (README #9), plus: not reserved, not digits only (README #35)."""
    if (
        not _USERNAME.fullmatch(name)
        or len(name) > 255
        or name in RESERVED_USERNAMES
        or is_digits(name)
    ):
        raise Invalid("invalid_username", x=name)


def _name_taken(db: Session, username: str, exclude: int | None = None) -> bool:
    query = select(User.user_id).where(User.username_lower == username.lower())
    if exclude is not None:
        query = query.where(User.user_id != exclude)
    return db.scalar(query) is not None


def _email_taken(db: Session, email: str, exclude: int | None = None) -> bool:
    email = email.lower()
    primary = select(User.user_id).where(func.lower(User.email) == email)
    extra = select(UserEmail.user_id).where(func.lower(UserEmail.email) == email)
    if exclude is not None:
        primary = primary.where(User.user_id != exclude)
        extra = extra.where(UserEmail.user_id != exclude)
    return db.scalar(primary.union_all(extra).limit(1)) is not None


def username_taken(db: Session, username: str, exclude: int | None = None) -> bool:
    """Whether another user (not ``exclude``) has ``username`` (any case)."""
    return _name_taken(db, username, exclude)


def email_taken_by_other(db: Session, email: str, exclude: int | None) -> bool:
    """Whether a user other than ``exclude`` has ``email`` (primary or extra, any case)."""
    return _email_taken(db, email, exclude)


def email_taken(db: Session, email: str) -> bool:
    """Whether any user has ``email`` as primary or extra address (any case)."""
    return _email_taken(db, email)


def create_user(
    db: Session,
    *,
    username: str,
    email: str,
    password: str = "",
    firstname: str = "",
    lastname: str = "",
    active: bool = True,
    admin: bool = False,
    extern_type: str = "internal",
    extern_name: str = "",
    description: str = "",
    force_password_change: bool = False,
    with_main_key: bool = True,
) -> User:
    """Create a user with a fresh main API key (checks in the order of ``methods.md``)."""
    validate_username(username)
    if _name_taken(db, username):
        raise Conflict("user_exists", x=username)
    if _email_taken(db, email):
        raise Conflict("email_exists", x=email)
    user = User(
        username=username,
        username_lower=username.lower(),
        password=hash_password(password),
        email=email.lower(),
        firstname=firstname,
        lastname=lastname,
        active=active,
        admin=admin,
        extern_type=extern_type,
        extern_name=extern_name,
        description=description,
        force_password_change=force_password_change,
        created_on=now_utc(),
    )
    try:
        with db.begin_nested():
            db.add(user)
            db.flush()
            if with_main_key:
                keys.create_key(db, user.user_id, description="main key", is_main=True)
    except IntegrityError:
        # a concurrent create won the race for the name or the e-mail
        raise Conflict("user_exists", x=username) from None
    return user


def create_user_or_fail(db: Session, *, username: str, **fields: Any) -> User:
    """:func:`create_user` for the API: in a savepoint, so a failure leaves no row, and any
    failure that is not one of Hearth's own answers as ``Failed(user_create_failed)``."""
    try:
        with db.begin_nested():
            return create_user(db, username=username, **fields)
    except HearthError:
        raise
    except Exception as exc:
        raise Failed("user_create_failed", x=username) from exc


_UPDATABLE = (
    "username",
    "email",
    "password",
    "firstname",
    "lastname",
    "active",
    "admin",
    "extern_type",
    "extern_name",
    "description",
)


def update_user(db: Session, user: User, ref: Any, changes: dict[str, Any]) -> User:
    """Apply the non-null ``changes``; ``ref`` is the ``userid`` as passed (for the failure text)."""
    if user.username == DEFAULT_USERNAME:
        raise Forbidden("edit_default_user")
    changes = {k: v for k, v in changes.items() if v is not None and k in _UPDATABLE}
    if "username" in changes:
        validate_username(changes["username"])
        if _name_taken(db, changes["username"], exclude=user.user_id):
            raise Failed("user_update_failed", x=ref)
    if "email" in changes and _email_taken(db, changes["email"], exclude=user.user_id):
        raise Failed("user_update_failed", x=ref)
    for name, value in changes.items():
        if name == "password":
            user.password = hash_password(value)
        elif name == "email":
            user.email = value.lower()
        elif name == "username":
            user.username = value
            user.username_lower = value.lower()
        else:
            setattr(user, name, value)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise Failed("user_update_failed", x=ref) from None
    return user


def delete_user(db: Session, user: User) -> None:
    """Delete a user who owns nothing; their rows go with them (cascades), journal rows stay."""
    owns = (
        exists().where(Repository.owner_id == user.user_id),
        exists().where(RepoGroup.owner_id == user.user_id),
        exists().where(UserGroup.owner_id == user.user_id),
        exists().where(Gist.owner_id == user.user_id),
        exists().where(PullRequest.owner_id == user.user_id),
    )
    if user.username == DEFAULT_USERNAME or db.scalar(select(or_(*owns))):
        raise Failed("user_delete_failed", id=user.user_id, name=user.username)
    db.execute(delete(Follower).where(Follower.user_id == user.user_id))
    db.delete(user)
    db.flush()


@dataclass(frozen=True)
class UserDetails:
    """A user with the related rows the detailed API shape shows."""

    user: User
    emails: list[str]
    ip_rules: list[str]


_EXTRAS = union_all(
    select(
        literal(0).label("kind"),
        UserEmail.user_id.label("uid"),
        UserEmail.email.label("value"),
        UserEmail.email_id.label("seq"),
    ).where(UserEmail.user_id.in_(bindparam("ids", expanding=True))),
    select(
        literal(1).label("kind"),
        UserIpRule.user_id.label("uid"),
        UserIpRule.ip_addr.label("value"),
        UserIpRule.ip_id.label("seq"),
    ).where(UserIpRule.user_id.in_(bindparam("ids", expanding=True))),
).order_by("kind", "seq")


def details(db: Session, users: Sequence[User]) -> list[UserDetails]:
    """Batch-load extra e-mails and IP rules for ``users`` (one query whatever their number)."""
    ids = [u.user_id for u in users]
    emails: dict[int, list[str]] = defaultdict(list)
    rules: dict[int, list[str]] = defaultdict(list)
    if ids:
        for kind, uid, value, _seq in core(db).execute(_EXTRAS, {"ids": ids}):
            (emails if kind == 0 else rules)[uid].append(value)
    return [UserDetails(u, [u.email, *emails[u.user_id]], rules[u.user_id]) for u in users]


_IP_RULES = (
    select(UserIpRule.ip_addr)
    .where(UserIpRule.user_id == bindparam("uid"))
    .order_by(UserIpRule.ip_id)
)


def ip_rules(db: Session, user_id: int) -> list[str]:
    """The user's own IP rules, oldest first (``get_ip``)."""
    return list(core(db).execute(_IP_RULES, {"uid": user_id}).scalars())


def list_users(db: Session, codepoint: Any) -> list[User]:
    """Every user but ``default``, by username in code-point order."""
    return list(
        db.scalars(
            select(User).where(User.username != DEFAULT_USERNAME).order_by(codepoint(User.username))
        )
    )


@dataclass(frozen=True)
class PermissionReport:
    global_: list[str]
    repositories: dict[str, str]
    repositories_groups: dict[str, str]
    user_groups: dict[str, str]


def permission_report(
    db: Session, subject: User, default_user_id: int, *, hide_none: bool
) -> PermissionReport:
    """``get_user``'s ``permissions`` block (``permissions.md`` §4) for ``subject``."""
    actor = permissions.actor_for(db, subject, default_user_id)
    found = permissions.report(db, actor)

    def named(kind: str) -> dict[str, str]:
        return {
            name: permissions.permission_name(kind, level)
            for name, level in found.objects[kind]
            if not (hide_none and level == 0)
        }

    return PermissionReport(
        sorted(found.globals),
        named("repository"),
        named("group"),
        named("usergroup"),
    )

# SPDX-License-Identifier: GPL-3.0-or-later
"""Account administration the ``hearth`` command needs and the API does not offer.

Keys are listed by their *hint* (last four characters) and never otherwise: a stored key cannot be
shown because only its hash is kept (``jsonrpc.md`` §5), and :class:`KeyInfo` carries no hash either,
so nothing downstream can print one by mistake. Users are changed through ``services.users`` so the
rules there (the ``default`` user is not editable, …) hold for the command line too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hearth.db.models import ApiKey, User
from hearth.services import keys, users
from hearth.services.passwords import hash_password


@dataclass(frozen=True)
class KeyInfo:
    """An API key as an administrator may see it: everything but the key."""

    key_id: int
    username: str
    hint: str
    description: str
    role: str
    expires: float  # epoch seconds, -1.0 = never
    is_main: bool
    created_on: datetime

    @property
    def expired(self) -> bool:
        return self.expires != -1 and self.expires <= time.time()

    def as_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "username": self.username,
            "hint": self.hint,
            "description": self.description,
            "role": self.role,
            "expires": self.expires,
            "expired": self.expired,
            "is_main": self.is_main,
            "created_on": self.created_on.isoformat(timespec="seconds"),
        }


def _info(row: ApiKey, username: str) -> KeyInfo:
    return KeyInfo(
        key_id=row.key_id,
        username=username,
        hint=row.hint,
        description=row.description,
        role=row.role,
        expires=float(row.expires),
        is_main=bool(row.is_main),
        created_on=row.created_on,
    )


def key_infos(db: Session, user: User | None = None) -> list[KeyInfo]:
    """The keys of ``user``, or of every user (by username, then key id)."""
    query = select(ApiKey, User.username).join(User, User.user_id == ApiKey.user_id)
    if user is not None:
        query = query.where(ApiKey.user_id == user.user_id)
    rows = db.execute(query.order_by(User.username, ApiKey.key_id)).all()
    return [_info(key, username) for key, username in rows]


def issue_key(
    db: Session,
    user: User,
    *,
    description: str,
    role: str = "all",
    expires_in_days: float | None = None,
) -> tuple[str, KeyInfo]:
    """A new extra key for ``user``: the key (shown this once) and its listing entry."""
    expires = -1.0 if expires_in_days is None else time.time() + expires_in_days * 86400
    key = keys.create_key(db, user.user_id, description=description, role=role, expires=expires)
    row = db.scalar(select(ApiKey).where(ApiKey.key_hash == keys.hash_key(key)))
    assert row is not None  # just flushed by create_key
    return key, _info(row, user.username)


def revoke_key(db: Session, user: User, key_id: int) -> KeyInfo | None:
    """Delete ``user``'s key ``key_id``; the deleted key's entry, or None when it has no such key."""
    row = db.scalar(select(ApiKey).where(ApiKey.user_id == user.user_id, ApiKey.key_id == key_id))
    if row is None:
        return None
    info = _info(row, user.username)
    db.execute(delete(ApiKey).where(ApiKey.key_id == key_id))
    return info


def set_password(user: User, password: str) -> None:
    """Replace ``user``'s password; an empty one is refused (it would disable password login)."""
    if not password:
        raise ValueError("the password must not be empty")
    user.password = hash_password(password)


def set_active(db: Session, user: User, active: bool) -> User:
    """Activate or deactivate ``user`` (a deactivated user's keys stop working at once)."""
    return users.update_user(db, user, user.username, {"active": active})


def user_summary(user: User) -> dict[str, Any]:
    """What ``hearth user list`` shows of a user."""
    return {
        "user_id": user.user_id,
        "username": user.username,
        "email": user.email,
        "firstname": user.firstname or "",
        "lastname": user.lastname or "",
        "active": bool(user.active),
        "admin": bool(user.admin),
        "extern_type": user.extern_type,
        "created_on": user.created_on.isoformat(timespec="seconds") if user.created_on else None,
        "last_login": user.last_login.isoformat(timespec="seconds") if user.last_login else None,
    }

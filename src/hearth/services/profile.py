# SPDX-License-Identifier: GPL-3.0-or-later
"""What a signed-in user manages about themselves (the My account page): the profile, the
password, extra e-mail addresses, their own API keys and SSH keys, and the lists of their repositories and of
the repositories they follow.

Only the acting user's own rows are touched: every function takes the actor and nothing naming
another user. SSH keys are parsed, checked and stored by ``services/sshkeys.py``, the
same code the API and ``hearth user ssh-key`` use. A new key is returned once (only its hash is stored, ``services/keys.py``); key
listings carry the hint, never the key. Repository lists are filtered by what the actor may read
(``services/permissions.py``).

Everything here blocks on the database; callers run it in a worker thread.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hearth.config import Settings
from hearth.db.models import ApiKey, Follower, Repository, User, UserEmail
from hearth.errors import Invalid, NotFound
from hearth.services import keys, lookup, permissions, sshkeys, users
from hearth.services.passwords import hash_password, verify_password
from hearth.services.permissions import Actor

PASSWORD_MIN = 8
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class KeyRow:
    key_id: int
    description: str
    role: str
    hint: str
    expires: float  # -1: never
    is_main: bool
    created_on: datetime
    last_used: float | None

    @property
    def expired(self) -> bool:
        return self.expires != -1 and self.expires <= time.time()


@dataclass(frozen=True)
class RepoLink:
    name: str
    repo_type: str
    description: str
    private: bool


@dataclass(frozen=True)
class Account:
    user_id: int
    username: str
    email: str
    firstname: str
    lastname: str
    admin: bool
    last_login: datetime | None
    extra_emails: list[tuple[int, str]]
    keys: list[KeyRow]
    ssh_keys: list[sshkeys.KeyInfo]
    own_repos: list[RepoLink]
    followed: list[RepoLink]


def _user(db: Session, actor: Actor) -> User:
    if actor.is_anonymous:
        raise NotFound("user_not_found", x=actor.username)
    return lookup.user(db, actor.user_id)


def _links(rows: list[Repository]) -> list[RepoLink]:
    return [RepoLink(r.repo_name, r.repo_type, r.description or "", bool(r.private)) for r in rows]


def account(db: Session, actor: Actor) -> Account:
    user = _user(db, actor)
    emails = [
        (row.email_id, row.email)
        for row in db.scalars(
            select(UserEmail).where(UserEmail.user_id == user.user_id).order_by(UserEmail.email_id)
        )
    ]
    key_rows = [
        KeyRow(
            k.key_id,
            k.description,
            k.role,
            k.hint,
            float(k.expires),
            bool(k.is_main),
            k.created_on,
            keys.last_used(db, k.key_id, k.last_used),
        )
        for k in db.scalars(
            select(ApiKey).where(ApiKey.user_id == user.user_id).order_by(ApiKey.key_id)
        )
    ]
    # what the actor may read of them, decided by services/permissions.py in the same query
    shown = (Repository.state == "ready", permissions.repo_readable(actor.admin, False))
    params = permissions.level_params(actor)
    own = list(
        db.scalars(
            select(Repository)
            .where(Repository.owner_id == user.user_id, *shown)
            .order_by(Repository.repo_name),
            params,
        )
    )
    followed = list(
        db.scalars(
            select(Repository)
            .join(Follower, Follower.repo_id == Repository.repo_id)
            .where(Follower.user_id == user.user_id, *shown)
            .order_by(Repository.repo_name),
            params,
        )
    )
    return Account(
        user_id=user.user_id,
        username=user.username,
        email=user.email,
        firstname=user.firstname or "",
        lastname=user.lastname or "",
        admin=bool(user.admin),
        last_login=user.last_login,
        extra_emails=emails,
        keys=key_rows,
        ssh_keys=sshkeys.list_for(db, user),
        own_repos=_links(own),
        followed=_links(followed),
    )


def update_profile(db: Session, actor: Actor, firstname: str, lastname: str, email: str) -> None:
    user = _user(db, actor)
    email = email.strip()
    if not _EMAIL.fullmatch(email):
        raise Invalid("web_email_invalid", x=email)
    users.update_user(
        db,
        user,
        user.username,
        {"firstname": firstname.strip()[:255], "lastname": lastname.strip()[:255], "email": email},
    )


def change_password(db: Session, actor: Actor, current: str, new: str, repeat: str) -> str:
    """Replace the password after checking the current one; the new stored hash (the caller
    issues a new session with it: every other session of the user ends)."""
    user = _user(db, actor)
    if not user.password or not verify_password(user.password, current):
        raise Invalid("web_wrong_password")
    if new != repeat:
        raise Invalid("web_password_mismatch")
    if len(new) < PASSWORD_MIN:
        raise Invalid("web_password_short", n=PASSWORD_MIN)
    user.password = hash_password(new)
    db.flush()
    return user.password


def add_email(db: Session, actor: Actor, email: str) -> None:
    user = _user(db, actor)
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 255:
        raise Invalid("web_email_invalid", x=email)
    if users.email_taken(db, email):
        raise Invalid("web_email_taken", x=email)
    db.add(UserEmail(user_id=user.user_id, email=email))
    db.flush()


def remove_email(db: Session, actor: Actor, email_id: int) -> None:
    user = _user(db, actor)
    done = db.execute(
        delete(UserEmail).where(UserEmail.user_id == user.user_id, UserEmail.email_id == email_id)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise NotFound("web_email_not_found")


def parse_expiry(text: str, today: date | None = None) -> float:
    """``YYYY-MM-DD`` (the key works until that day's end, UTC) → epoch seconds; empty → never."""
    text = text.strip()
    if not text:
        return -1.0
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid("web_key_expiry") from None
    if day < (today or datetime.now(UTC).date()):
        raise Invalid("web_key_expiry")
    end = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
    return end.timestamp()


def create_key(db: Session, actor: Actor, description: str, role: str, expiry: str) -> str:
    """A new key for the actor; returned this once."""
    user = _user(db, actor)
    if role not in keys.ROLES:
        raise Invalid("web_key_role", roles=", ".join(keys.ROLES))
    expires = parse_expiry(expiry)
    return keys.create_key(
        db, user.user_id, description=description.strip()[:255], role=role, expires=expires
    )


def revoke_key(db: Session, actor: Actor, key_id: int) -> None:
    user = _user(db, actor)
    if not keys.revoke_key(db, user.user_id, key_id):
        raise NotFound("web_key_not_found")


def add_ssh_key(
    db: Session, settings: Settings, actor: Actor, public_key: str, description: str
) -> sshkeys.KeyInfo:
    """Add a pasted public key to the actor's keys (:class:`Invalid` for a malformed or weak
    key, :class:`Conflict` for one any user already has)."""
    return sshkeys.add(db, settings, _user(db, actor), public_key, description.strip())


def remove_ssh_key(db: Session, settings: Settings, actor: Actor, fingerprint: str) -> None:
    """Remove the actor's key with this fingerprint; another user's key is not found."""
    sshkeys.remove(db, settings, _user(db, actor), fingerprint)

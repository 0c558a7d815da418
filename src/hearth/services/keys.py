# SPDX-License-Identifier: GPL-3.0-or-later
"""API keys: issued as 40 lowercase hex characters, stored as SHA-256, checked by role and expiry.

A key is a 160-bit random secret, so a fast hash is enough at rest and the lookup goes through a unique
index on the hash: the database never compares the secret itself, and the final comparison is
constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from hearth.clock import now_utc
from hearth.db.models import ApiKey, User, UserIpRule
from hearth.db.session import core

log = logging.getLogger("hearth.keys")

ROLES = ("all", "api", "http", "vcs", "feed")
# which key roles each use admits (jsonrpc.md §5, web-and-vcs.md §5, §8)
USES: dict[str, frozenset[str]] = {
    "api": frozenset({"all", "api"}),
    "http": frozenset({"all", "http"}),
    "feed": frozenset({"all", "http", "feed"}),
    "vcs": frozenset({"all", "vcs"}),
}


def generate_key() -> str:
    return secrets.token_hex(20)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class KeyOwner:
    """The user a valid key belongs to, with what the caller needs to decide access."""

    user_id: int
    username: str
    admin: bool
    active: bool
    #: whether the user or the ``default`` user has IP rules (if not, no rule query is needed)
    has_ip_rules: bool = True


def create_key(
    db: Session,
    user_id: int,
    *,
    description: str = "",
    role: str = "all",
    expires: float = -1.0,
    is_main: bool = False,
) -> str:
    """Store a new key for ``user_id`` and return it; this is the only time it is seen."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    key = generate_key()
    db.add(
        ApiKey(
            user_id=user_id,
            key_hash=hash_key(key),
            hint=key[-4:],
            description=description,
            role=role,
            expires=float(expires),
            is_main=is_main,
            created_on=now_utc(),
        )
    )
    db.flush()
    return key


# Built once: constructing a statement costs more than running it (this is every API call's path).
_AUTHENTICATE = (
    select(
        ApiKey.key_id,
        ApiKey.last_used,
        ApiKey.key_hash,
        ApiKey.expires,
        ApiKey.role,
        User.user_id,
        User.username,
        User.admin,
        User.active,
        select(func.count(UserIpRule.ip_id))
        .where(
            or_(UserIpRule.user_id == User.user_id, UserIpRule.user_id == bindparam("default_id"))
        )
        .scalar_subquery()
        .label("ip_rules"),
    )
    .join(User, User.user_id == ApiKey.user_id)
    .where(ApiKey.key_hash == bindparam("digest"))
)


def authenticate(
    db: Session, key: object, use: str, default_user_id: int | None = None
) -> KeyOwner | None:
    """The owner of ``key`` if it is a known, unexpired key whose role admits ``use``; else None.

    Activity, the ``default`` user and IP rules are the caller's to check: they answer differently per
    protocol (the API says ``Invalid API key``, clone/push answers 403). With ``default_user_id`` the
    same query also tells whether any IP rule applies, so most requests need no second query.
    """
    if not isinstance(key, str) or not key or len(key) > 256:
        return None
    digest = hash_key(key)
    row = (
        core(db)
        .execute(_AUTHENTICATE, {"digest": digest, "default_id": default_user_id or 0})
        .first()
    )
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    if row.expires != -1 and row.expires <= time.time():
        return None
    if row.role not in USES[use]:
        return None
    _note_use(db, row.key_id, row.last_used)
    has_rules = default_user_id is None or bool(row.ip_rules)
    return KeyOwner(row.user_id, row.username, bool(row.admin), bool(row.active), has_rules)


def revoke_key(db: Session, user_id: int, key_id: int) -> bool:
    result = db.execute(delete(ApiKey).where(ApiKey.user_id == user_id, ApiKey.key_id == key_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- last use -------------------------------------------------------------------------------------
# A key's last use is kept to the minute. Writing it on every request would turn every API call and
# clone into a write; instead a use older than a minute is noted in memory and a daemon thread per
# engine writes the notes every few seconds in its own short transaction (it holds no lock while
# it waits, so it never blocks the request that noted the use).

LAST_USE_RESOLUTION = 60.0
_FLUSH_EVERY = 5.0
_uses: dict[int, float] = {}  # key id -> last use noted, not yet written
_written: dict[int, float] = {}  # key id -> last use this process wrote or read
_uses_lock = threading.Lock()
_flushers: dict[int, threading.Thread] = {}


def _note_use(db: Session, key_id: int, stored: float | None) -> None:
    now = time.time()
    with _uses_lock:
        known = max(stored or 0.0, _written.get(key_id, 0.0), _uses.get(key_id, 0.0))
        if now - known < LAST_USE_RESOLUTION:
            return
        _uses[key_id] = now
        engine = db.get_bind()
        engine = getattr(engine, "engine", engine)
        if id(engine) not in _flushers:
            thread = threading.Thread(
                target=_flush_loop, args=(engine,), name="hearth-key-uses", daemon=True
            )
            _flushers[id(engine)] = thread
            thread.start()


def _flush_loop(engine: Any) -> None:
    while True:
        time.sleep(_FLUSH_EVERY)
        try:
            flush_uses(engine)
        except Exception:  # the database is away for a moment: try again next round
            log.warning("could not record API key uses", exc_info=True)


def flush_uses(engine: Any) -> None:
    """Write the noted uses (also called directly, e.g. before showing them)."""
    with _uses_lock:
        pending = dict(_uses)
        _uses.clear()
    if not pending:
        return
    try:
        with engine.begin() as conn:
            for key_id, moment in pending.items():
                conn.execute(
                    update(ApiKey)
                    .where(ApiKey.key_id == key_id)
                    .where(or_(ApiKey.last_used.is_(None), ApiKey.last_used < moment))
                    .values(last_used=moment)
                )
    except Exception:
        with _uses_lock:
            for key_id, moment in pending.items():
                _uses[key_id] = max(moment, _uses.get(key_id, 0.0))
        raise
    with _uses_lock:
        for key_id, moment in pending.items():
            _written[key_id] = max(moment, _written.get(key_id, 0.0))


def last_used(db: Session, key_id: int, stored: float | None = None) -> float | None:
    """The last use of a key as far as this process knows: the stored time or a newer note."""
    with _uses_lock:
        noted = max(_uses.get(key_id, 0.0), _written.get(key_id, 0.0))
    best = max(stored or 0.0, noted)
    return best or None

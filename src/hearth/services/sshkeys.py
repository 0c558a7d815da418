# SPDX-License-Identifier: GPL-3.0-or-later
"""Users' SSH public keys (issue 16): parse, add, list, remove, and find the key a client
presents.

A key is parsed with asyncssh, which reads the ``authorized_keys`` line format
(``<type> <base64> [comment]``) and checks that the base64 really is a key of that type. Only
ed25519, ECDSA (and their FIDO ``sk-`` forms) and RSA of at least 2048 bits are accepted: DSA and
short RSA keys are breakable or refused by current OpenSSH anyway. The fingerprint is the SHA-256
one ``ssh-keygen -l`` prints; it is unique in the table, so a key belongs to one user and the
lookup at login is one indexed query. The comment is kept as the user wrote it; the
description (API ``description``) defaults to it.

Every rule about which key opens which account lives here: the built-in SSH server asks
:func:`find` with the key the client proved, ``hearth ssh-keys`` (OpenSSH's
``AuthorizedKeysCommand``) asks ``sshlogin.authorized_lines`` (the same rule without
SQLAlchemy), and ``hearth ssh-serve KEY_ID`` asks
:func:`owner` — all three refuse keys of inactive users.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hearth.clock import now_utc
from hearth.config import Settings
from hearth.db.models import SshKey, User
from hearth.errors import Conflict, Invalid, NotFound
from hearth.services.sshlogin import (
    MAX_LINE,
    authorized_line,
    forced_command,
    hearth_argv,
    hearth_env,
)
from hearth.services.sshlogin import identity as _identity

MIN_RSA_BITS = 2048
ALGORITHMS = frozenset(
    {
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-rsa",
    }
)


@dataclass(frozen=True)
class ParsedKey:
    """One public key, checked."""

    key_type: str
    public_key: str
    """``<type> <base64>``, without the comment."""
    fingerprint: str
    comment: str


@dataclass(frozen=True)
class KeyInfo:
    """A stored key as listings show it."""

    key_id: int
    user_id: int
    username: str
    key_type: str
    fingerprint: str
    public_key: str
    comment: str
    description: str
    created_on: datetime
    last_used: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "username": self.username,
            "key_type": self.key_type,
            "fingerprint": self.fingerprint,
            "public_key": self.public_key,
            "comment": self.comment,
            "description": self.description,
            "created_on": self.created_on.isoformat(timespec="seconds"),
            "last_used": self.last_used.isoformat(timespec="seconds") if self.last_used else None,
        }


def _invalid(reason: str) -> Invalid:
    return Invalid("ssh_key_invalid", reason=reason)


def parse(text: str) -> ParsedKey:
    """The one public key of ``text`` (an ``id_*.pub`` file or an ``authorized_keys`` line
    without options); raises :class:`Invalid` saying what is wrong."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise _invalid("no key given")
    if len(lines) > 1 or len(text) > MAX_LINE:
        raise _invalid("give one key, on one line")
    line = lines[0]
    if line.startswith("-----BEGIN") or line.startswith("---- BEGIN"):
        raise _invalid("this is not in OpenSSH format: use the .pub file ssh-keygen wrote")
    parts = line.split(None, 2)
    key_type = parts[0]
    if key_type not in ALGORITHMS:
        if key_type in ("ssh-dss", "ssh-dsa"):
            raise _invalid("DSA keys are not accepted: use ed25519, ECDSA or RSA")
        raise _invalid(
            f"unknown key type `{key_type[:40]}`: use ed25519, ECDSA or RSA "
            f"(the line starts with ssh-ed25519, ecdsa-sha2-… or ssh-rsa)"
        )
    if len(parts) < 2:
        raise _invalid("the key data is missing after the key type")
    import asyncssh  # here: a login only looks keys up (half a second saved per ssh-serve)

    try:
        key = asyncssh.import_public_key(f"{parts[0]} {parts[1]}")
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise _invalid(f"the key data is not a valid {key_type} key ({exc})") from None
    if key.get_algorithm() != key_type:
        raise _invalid(f"the key data is a {key.get_algorithm()} key, not {key_type}")
    if key_type == "ssh-rsa":
        bits = getattr(getattr(key, "pyca_key", None), "key_size", 0)
        if bits < MIN_RSA_BITS:
            raise _invalid(f"RSA keys need at least {MIN_RSA_BITS} bits, this one has {bits}")
    comment = parts[2].strip() if len(parts) > 2 else ""
    return ParsedKey(
        key_type=key_type,
        public_key=f"{key_type} {parts[1]}",
        fingerprint=key.get_fingerprint("sha256"),
        comment=comment[:255],
    )


def _info(row: SshKey, username: str) -> KeyInfo:
    return KeyInfo(
        key_id=row.key_id,
        user_id=row.user_id,
        username=username,
        key_type=row.key_type,
        fingerprint=row.fingerprint,
        public_key=row.public_key,
        comment=row.comment,
        description=row.description,
        created_on=row.created_on,
        last_used=row.last_used,
    )


def add(db: Session, settings: Settings, user: User, text: str, description: str = "") -> KeyInfo:
    """Store ``text``'s key for ``user``; :class:`Conflict` if any user already has it. The
    ``authorized_keys`` file, if there is one, is rewritten."""
    parsed = parse(text)
    if db.scalar(select(SshKey.key_id).where(SshKey.fingerprint == parsed.fingerprint)):
        raise Conflict("ssh_key_exists", x=parsed.fingerprint)
    row = SshKey(
        user_id=user.user_id,
        fingerprint=parsed.fingerprint,
        key_type=parsed.key_type,
        public_key=parsed.public_key,
        comment=parsed.comment,
        description=(description or parsed.comment)[:255],
        created_on=now_utc(),
    )
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:  # the same key added concurrently
        raise Conflict("ssh_key_exists", x=parsed.fingerprint) from None
    write_authorized_keys(db, settings)
    return _info(row, user.username)


def list_for(db: Session, user: User) -> list[KeyInfo]:
    rows = db.scalars(select(SshKey).where(SshKey.user_id == user.user_id).order_by(SshKey.key_id))
    return [_info(row, user.username) for row in rows]


def remove(db: Session, settings: Settings, user: User, fingerprint: str) -> KeyInfo:
    """Delete ``user``'s key with this fingerprint (``SHA256:`` prefix optional)."""
    wanted = fingerprint.strip()
    if wanted and not wanted.startswith("SHA256:"):
        wanted = "SHA256:" + wanted
    row = db.scalar(
        select(SshKey).where(SshKey.user_id == user.user_id, SshKey.fingerprint == wanted)
    )
    if row is None:
        raise NotFound("ssh_key_not_found", x=fingerprint, user=user.username)
    info = _info(row, user.username)
    db.delete(row)
    db.flush()
    write_authorized_keys(db, settings)
    return info


@dataclass(frozen=True)
class KeyOwner:
    """Who a key opens: the key id (for ``last_used`` and the forced command) and the user."""

    key_id: int
    user_id: int
    username: str


def find(db: Session, public_key: str) -> KeyOwner | None:
    """The active user whose key is ``public_key`` (a whole line or its base64); None for an
    unknown or malformed key, or an inactive user."""
    identity = _identity(public_key)
    if identity is None:
        return None
    row = db.execute(
        select(SshKey.key_id, SshKey.public_key, User.user_id, User.username, User.active)
        .join(User, User.user_id == SshKey.user_id)
        .where(SshKey.fingerprint == identity[0])
    ).first()
    if row is None or not row.active or row.public_key != identity[1]:
        return None
    return KeyOwner(row.key_id, row.user_id, row.username)


def owner(db: Session, key_id: int) -> KeyOwner | None:
    """The active user of key ``key_id`` (``hearth ssh-serve``); None if removed or inactive."""
    row = db.execute(
        select(SshKey.key_id, User.user_id, User.username, User.active)
        .join(User, User.user_id == SshKey.user_id)
        .where(SshKey.key_id == key_id)
    ).first()
    if row is None or not row.active:
        return None
    return KeyOwner(row.key_id, row.user_id, row.username)


def touch(db: Session, key_id: int) -> None:
    """Record that key ``key_id`` was just used to log in."""
    db.execute(update(SshKey).where(SshKey.key_id == key_id).values(last_used=now_utc()))


# --- OpenSSH: authorized_keys lines ------------------------------------------------------------


def authorized_lines(
    db: Session, argv: list[str], env: dict[str, str], public_key: str | None = None
) -> Iterator[str]:
    """``authorized_keys`` lines of active users' keys; with ``public_key`` (sshd's ``%k``, the
    base64 alone, or a whole line) only the line of that key, if it is known. The same query as
    ``sshlogin.authorized_lines``, which ``hearth ssh-keys`` runs without SQLAlchemy."""
    query = (
        select(SshKey.key_id, SshKey.public_key)
        .join(User, User.user_id == SshKey.user_id)
        .where(User.active.is_(True))
        .order_by(SshKey.key_id)
    )
    if public_key is not None:
        identity = _identity(public_key)
        if identity is None:
            return
        query = query.where(SshKey.fingerprint == identity[0], SshKey.public_key == identity[1])
    for key_id, stored in db.execute(query):
        yield authorized_line(key_id, stored, forced_command(argv, env, key_id))


def file_lines(db: Session) -> list[str]:
    """The lines of the ``authorized_keys`` file: every stored key (see below)."""
    query = select(SshKey.key_id, SshKey.public_key).order_by(SshKey.key_id)
    argv, env = hearth_argv(), hearth_env()
    return [authorized_line(k, key, forced_command(argv, env, k)) for k, key in db.execute(query)]


HEADER = "# Written by Hearth (hearth ssh-authorized-keys); changes are overwritten.\n"


def write_authorized_keys(db: Session, settings: Settings, path: Path | None = None) -> int:
    """Rewrite setting ``ssh_authorized_keys_file`` (or ``path``) with every stored key, through
    a temporary file renamed into place, so sshd never reads half a file; the number of keys.

    Every key is listed, an inactive user's too: ``hearth ssh-serve`` refuses those at each
    connection, so deactivating a user needs no rewrite. Does nothing without a path.
    """
    target = path or settings.ssh_authorized_keys_file
    if target is None:
        return 0
    lines = file_lines(db)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".authorized_keys-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(HEADER + "".join(line + "\n" for line in lines))
        os.chmod(tmp, 0o600)  # sshd reads it as its owner; the settings may hold a password
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(lines)

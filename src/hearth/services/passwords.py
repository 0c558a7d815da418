# SPDX-License-Identifier: GPL-3.0-or-later
"""Password hashing: argon2 for new hashes; bcrypt hashes imported from Kallithea still verify,
and :func:`needs_rehash` tells the sign-in to replace them (and outdated argon2 parameters) with a
current argon2 hash while it holds the password."""

from __future__ import annotations

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
_BCRYPT = ("$2a$", "$2b$", "$2y$")


def hash_password(password: str) -> str:
    """The stored form; an empty password stores ``""`` (no password login)."""
    return _HASHER.hash(password) if password else ""


def verify_password(stored: str, password: str) -> bool:
    if not stored or not password:
        return False
    if stored.startswith(_BCRYPT):
        try:
            return bcrypt.checkpw(password.encode(), stored.encode())
        except ValueError:
            return False
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash that just verified should be replaced by :func:`hash_password`'s."""
    if not stored:
        return False
    if stored.startswith(_BCRYPT):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return False

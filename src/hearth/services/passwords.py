# SPDX-License-Identifier: GPL-3.0-or-later
"""Password hashing: argon2 for new hashes; bcrypt hashes imported from Kallithea still verify."""

from __future__ import annotations

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """The stored form; an empty password stores ``""`` (no password login)."""
    return _HASHER.hash(password) if password else ""


def verify_password(stored: str, password: str) -> bool:
    if not stored or not password:
        return False
    if stored.startswith(("$2a$", "$2b$", "$2y$")):
        try:
            return bcrypt.checkpw(password.encode(), stored.encode())
        except ValueError:
            return False
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False

# SPDX-License-Identifier: GPL-3.0-or-later
"""What OpenSSH's ``AuthorizedKeysCommand`` (``hearth ssh-keys USER KEY``) needs at each login,
importing neither SQLAlchemy nor the models: the key's identity, the ``authorized_keys`` line
with its forced command, and the one query that finds an active user's key.

sshd runs the command twice per login (once to ask whether the key would do, once to check its
signature), so its start-up is paid twice on every clone and push; with SQLAlchemy's ORM and
our models it cost about a second of CPU on a loaded machine, this way a few hundredths
(``bench/ssh.py``). ``services/sshkeys.py`` uses the same helpers for its listings and its
``authorized_keys`` file, and its :func:`~hearth.services.sshkeys.authorized_lines` is the
same rule through SQLAlchemy, taken when ``db/direct.py`` does not know the database URL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import shlex
import sys
from pathlib import Path

from hearth.db import direct

MAX_LINE = 16 * 1024
"""An RSA key of 16,384 bits is about 2,800 characters: longer input is not a key."""


def identity(public_key: str) -> tuple[str, str] | None:
    """(fingerprint, ``<type> <base64>``) of a key a client presents — a whole line, or the
    base64 alone (sshd's ``%k``; the type is also the first field inside the key data).

    Only stored keys can match, and they were checked by ``sshkeys.parse`` when added, so a
    login needs no parsing: the fingerprint is SHA-256 of the key data, as ``ssh-keygen -l``
    prints.
    """
    words = public_key.split()
    if not words or len(words[-1 if len(words) == 1 else 1]) > MAX_LINE:
        return None
    blob = words[0] if len(words) == 1 else words[1]
    try:
        data = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return None
    size = int.from_bytes(data[:4], "big")
    key_type = data[4 : 4 + size].decode("ascii", "replace") if 0 < size <= 64 else ""
    if len(words) > 1 and words[0] != key_type:
        return None
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}", f"{key_type} {blob}"


def forced_command(argv: list[str], env: dict[str, str], key_id: int) -> str:
    """The ``command="…"`` value: ``env`` (the settings ``hearth ssh-keys`` itself was started
    with, since sshd clears the environment) and ``argv … ssh-serve KEY_ID``, shell-quoted, with
    ``\\`` and ``"`` escaped for the option's own quoting."""
    words = [f"{name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    words += [shlex.quote(word) for word in argv] + ["ssh-serve", str(key_id)]
    command = " ".join(words)
    return command.replace("\\", "\\\\").replace('"', '\\"')


def authorized_line(key_id: int, public_key: str, command: str) -> str:
    """``restrict,command="…" <type> <base64>``: no pty, no forwarding, only Hearth."""
    return f'restrict,command="{command}" {public_key}'


def hearth_argv() -> list[str]:
    """How sshd starts this same ``hearth``: the script beside our Python, else ``python -m``."""
    script = Path(sys.executable).with_name("hearth")
    if os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "hearth"]


def hearth_env() -> dict[str, str]:
    """The settings given in the environment, for the forced command (sshd clears it); not the
    first admin's (``HEARTH_ADMIN_PASSWORD`` …), which ``ssh-serve`` never needs."""
    return {
        name: value
        for name, value in os.environ.items()
        if name.startswith("HEARTH_") and not name.startswith("HEARTH_ADMIN_")
    }


_ACTIVE_KEYS = (
    "SELECT k.key_id, k.public_key FROM ssh_keys k JOIN users u ON u.user_id = k.user_id "
    "WHERE u.active{extra} ORDER BY k.key_id"
)


def authorized_lines(
    database_url: str, argv: list[str], env: dict[str, str], public_key: str | None = None
) -> list[str] | None:
    """``authorized_keys`` lines of active users' keys, read with a bare DBAPI connection; with
    ``public_key`` (sshd's ``%k``, or a whole line) only that key's line, if it is known. None
    when ``db/direct.py`` cannot open this database URL (use ``sshkeys.authorized_lines``)."""
    params: tuple[str, ...] = ()
    if public_key is not None:
        found = identity(public_key)
        if found is None:
            return []
        params = found
    opened = direct.connect(database_url)
    if opened is None:
        return None
    connection, mark = opened
    extra = f" AND k.fingerprint = {mark} AND k.public_key = {mark}" if params else ""
    try:
        cursor = connection.cursor()
        cursor.execute(_ACTIVE_KEYS.format(extra=extra), params)
        rows = cursor.fetchall()
    finally:
        connection.close()
    return [authorized_line(k, key, forced_command(argv, env, k)) for k, key in rows]

# SPDX-License-Identifier: GPL-3.0-or-later
"""A bare DBAPI connection from a database URL, for the one process that cannot afford
SQLAlchemy: OpenSSH's ``AuthorizedKeysCommand`` (``hearth ssh-keys``), which sshd starts twice
for every SSH login. Importing SQLAlchemy's ORM and our models costs far more CPU than the
query itself; ``sqlite3`` and ``psycopg`` alone cost a fraction of it.

Only the URL forms :mod:`hearth.db.session` is given in practice are understood: SQLite files
(``sqlite:///relative``, ``sqlite:////absolute``, no query string) and PostgreSQL through
psycopg 3. Anything else answers None and the caller takes the SQLAlchemy road.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import quote

SQLITE = ("sqlite:///", "sqlite+pysqlite:///")
POSTGRES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def connect(url: str) -> tuple[Any, str] | None:
    """(DBAPI connection, its parameter marker ``?`` or ``%s``) for reading; None for a URL this
    module does not understand."""
    for prefix in SQLITE:
        if url.startswith(prefix):
            path = url[len(prefix) :]
            if not path or "?" in path or path == ":memory:":
                return None
            # never creating the file; waiting for a writer as the engine does (busy timeout)
            target = f"file:{quote(path, safe='/')}?mode=rw"
            return sqlite3.connect(target, uri=True, timeout=30), "?"
    for prefix in POSTGRES:
        if url.startswith(prefix):
            import psycopg  # here: only PostgreSQL instances pay for it

            return psycopg.connect("postgresql://" + url[len(prefix) :]), "%s"
    return None

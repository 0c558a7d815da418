# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading a Kallithea 0.7 database, read-only, with SQLAlchemy Core over its tables as they are.

No Kallithea code is imported: the tables are reflected from the database itself, so whatever
Kallithea's Alembic head wrote is read as written. The connection is opened read-only (SQLite
``mode=ro``, PostgreSQL ``default_transaction_read_only``) and everything is read in one
transaction, so the importer sees one consistent state and cannot change the source even by
mistake. The result is plain rows (:class:`Source`); mapping them onto Hearth is
``services/kallithea_map.py``'s job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from hearth.errors import Failed, failed

#: the tables an import reads (the schema of Kallithea 0.7)
TABLES = (
    "users",
    "user_api_keys",
    "user_email_map",
    "user_ip_map",
    "users_groups",
    "users_groups_members",
    "groups",
    "repositories",
    "permissions",
    "repo_to_perm",
    "users_group_repo_to_perm",
    "user_repo_group_to_perm",
    "users_group_repo_group_to_perm",
    "user_user_group_to_perm",
    "user_group_user_group_to_perm",
    "user_to_perm",
    "users_group_to_perm",
    "user_followings",
    "user_logs",
    "gists",
    "settings",
    "ui",
)
#: tables read only to report what does not come over (Hearth has no counterpart)
OPTIONAL_TABLES = (
    "pull_requests",
    "changeset_comments",
    "changeset_statuses",
    "repositories_fields",
    "user_ssh_keys",
    "statistics",
    "alembic_version",
)
#: row order per table: by primary key, so ids and "first wins" are stable
_ORDER = {
    "users": "user_id",
    "user_api_keys": "user_api_key_id",
    "user_email_map": "email_id",
    "user_ip_map": "ip_id",
    "users_groups": "users_group_id",
    "users_groups_members": "users_group_member_id",
    "groups": "group_id",
    "repositories": "repo_id",
    "permissions": "permission_id",
    "user_logs": "user_log_id",
    "gists": "gist_id",
    "user_followings": "user_following_id",
}


def _source_error(text: str) -> Failed:
    return failed(f"cannot read the Kallithea database: {text}")


@dataclass
class Source:
    """Every row an import needs, as dicts keyed by column name, per table."""

    url: str
    rows: dict[str, list[dict[str, Any]]]
    #: row counts of the tables that do not come over (see ``OPTIONAL_TABLES``)
    left_behind: dict[str, int] = field(default_factory=dict)
    alembic_version: str | None = None

    def table(self, name: str) -> list[dict[str, Any]]:
        return self.rows[name]

    def permission_names(self) -> dict[int, str]:
        return {r["permission_id"]: r["permission_name"] for r in self.rows["permissions"]}

    def fingerprint(self) -> str:
        """Identifies this source's content (ids and names of users, repositories, gists and the
        last journal entry): a rerun against the same source recognises its earlier import."""
        digest = hashlib.sha256()
        for table, columns in (
            ("users", ("user_id", "username")),
            ("repositories", ("repo_id", "repo_name")),
            ("groups", ("group_id", "group_name")),
            ("users_groups", ("users_group_id", "users_group_name")),
            ("gists", ("gist_id", "gist_access_id")),
        ):
            for row in self.rows[table]:
                digest.update(repr((table, *(row[c] for c in columns))).encode())
        logs = self.rows["user_logs"]
        digest.update(
            repr(("user_logs", len(logs), logs[-1]["user_log_id"] if logs else 0)).encode()
        )
        return digest.hexdigest()


def read_only_engine(url: str) -> Engine:
    """An engine that cannot write: SQLite opened with ``mode=ro``, PostgreSQL sessions read-only."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise _source_error(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            path = parsed.database or ""
            if not path or path == ":memory:":
                raise _source_error("a SQLite URL needs the path of kallithea.db")
            if not Path(path).is_file():
                raise _source_error(f"no such file: {path}")
            uri = f"file:{Path(path).resolve()}?mode=ro"
            return create_engine("sqlite://", creator=_sqlite_ro(uri))
        if backend == "postgresql":
            return create_engine(
                parsed, connect_args={"options": "-c default_transaction_read_only=on"}
            )
        return create_engine(parsed)
    except NoSuchModuleError as exc:
        raise _source_error(f"unsupported database URL ({backend})") from exc


def _sqlite_ro(uri: str) -> Any:
    import sqlite3

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True)

    return connect


def read(url: str) -> Source:
    """All rows of :data:`TABLES` from the Kallithea database at ``url``, read in one transaction.

    A missing table, an unreadable or damaged file is a :class:`~hearth.errors.Failed` naming it.
    """
    engine = read_only_engine(url)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        meta = MetaData()
        with engine.connect() as conn:
            meta.reflect(conn)
            missing = [t for t in TABLES if t not in meta.tables]
            if missing:
                raise _source_error(
                    f"{shown} is not a Kallithea 0.7 database (missing tables: {', '.join(missing)})"
                )
            rows: dict[str, list[dict[str, Any]]] = {}
            for name in TABLES:
                table = meta.tables[name]
                order = _ORDER.get(name)
                keys = [table.c[order]] if order else list(table.primary_key.columns)
                query = select(table).order_by(*keys)
                rows[name] = [dict(r) for r in conn.execute(query).mappings()]
            left: dict[str, int] = {}
            version = None
            for name in OPTIONAL_TABLES:
                if name not in meta.tables:
                    continue
                found = list(conn.execute(select(meta.tables[name])).mappings())
                if name == "alembic_version":
                    version = str(found[0]["version_num"]) if found else None
                else:
                    left[name] = len(found)
    except Failed:
        raise
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise _source_error(f"{shown}: {str(cause).strip().splitlines()[0]}") from exc
    finally:
        engine.dispose()
    return Source(url=shown, rows=rows, left_behind=left, alembic_version=version)

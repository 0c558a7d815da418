# SPDX-License-Identifier: GPL-3.0-or-later
"""Engine and session factory.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so concurrent writers wait instead of
failing; PostgreSQL goes through psycopg 3. ``Database`` is created once per process from the settings
and passed down explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import orjson
from sqlalchemy import ColumnElement, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from hearth.db import undo


def _normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = _normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # let SQLAlchemy manage transactions itself (BEGIN issued explicitly below)
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # A deferred transaction that reads and then writes cannot wait for another writer
            # (SQLite answers "database is locked" at once), so writing transactions take the
            # write lock up front; read-only ones stay deferred and run beside them.
            immediate = conn.get_execution_options().get("hearth_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def core(db: Session) -> Connection:
    """The session's connection, for the prebuilt Core statements of the hot paths: the ORM's
    execute path costs more than SQLite needs to run them. Pending ORM changes are flushed first,
    as the ORM's autoflush would."""
    db.flush()
    return db.connection()


class Database:
    """The engine and a session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        #: sessions for requests that only read
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        #: sessions for requests that may write (SQLite: BEGIN IMMEDIATE)
        self.write_sessions = sessionmaker(
            self.engine.execution_options(hearth_write=True), expire_on_commit=False
        )

    def session(self) -> AbstractContextManager[Session]:
        """A writing session that commits on success, and on any exception rolls back and runs
        the undo hooks registered by services (``db/undo.py``)."""
        return self.transaction(write=True)

    @contextmanager
    def transaction(self, write: bool) -> Iterator[Session]:
        """A session that commits on success, and on any exception rolls back and runs the undo
        hooks registered by services (``db/undo.py``); ``write`` takes SQLite's write lock up
        front (``write_sessions``), else the transaction stays deferred."""
        with (self.write_sessions if write else self.sessions)() as session:
            try:
                yield session
                session.commit()
                undo.forget(session)
            except BaseException:
                session.rollback()
                undo.run(session)
                raise

    def codepoint(self, column: Any) -> ColumnElement[Any]:
        """``column`` ordered by code point (PostgreSQL needs ``COLLATE "C"``; SQLite's BINARY is it)."""
        return column if self.is_sqlite else column.collate("C")

    def dispose(self) -> None:
        self.engine.dispose()

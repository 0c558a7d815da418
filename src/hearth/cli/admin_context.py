# SPDX-License-Identifier: GPL-3.0-or-later
"""What every ``hearth`` command shares: the settings, a database session, and who acts.

A command opens the instance's database with :func:`connect` (or :func:`session`): the session
commits when the command's block succeeds; a :class:`~hearth.errors.HearthError` rolls it back (and
with it whatever a service did on disk) and ends the command with its text on one line of stderr and
exit status 1. Commands that act on repositories act as the first admin (:func:`acting_admin`),
as ``rescan`` does. Log records of ``hearth.*`` at ERROR and above do not leak as tracebacks: their
messages are added to that one line as the cause.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hearth.config import ConfigError, Settings, load_settings
from hearth.db.session import Database
from hearth.errors import HearthError
from hearth.services import bootstrap, permissions
from hearth.services.permissions import Actor


def fail(message: str, status: int = 1) -> typer.Exit:
    """Print ``hearth: <message>`` on stderr; raise the returned exception to exit with ``status``."""
    typer.echo(f"hearth: {message}", err=True)
    return typer.Exit(status)


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}", 2) from None


def reason(exc: BaseException) -> str:
    """The first line of what went wrong (a DBAPI error's own message, not SQLAlchemy's wrapping)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def shown_url(url: str) -> str:
    """A database URL fit to print: its password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "the database URL"


class _Causes(logging.Handler):
    """Collects the messages of error records (no tracebacks) to explain a failure in one line."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message}: {record.exc_info[1]}"
        self.messages.append(message)


@contextmanager
def _collect_causes() -> Iterator[_Causes]:
    logger = logging.getLogger("hearth")
    handler = _Causes()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@contextmanager
def connect(config: Settings | None = None) -> Iterator[tuple[Database, Session]]:
    """The database and a session that commits on success; domain errors exit 1."""
    config = config or settings()
    database = Database(config.database_url)
    try:
        with _collect_causes() as causes, database.session() as db:
            try:
                initialised = bootstrap.default_user_id(db) is not None
            except (SQLAlchemyError, OSError) as exc:
                shown = shown_url(config.database_url)
                raise fail(
                    f"cannot open the database ({shown}): {reason(exc)}; see `hearth doctor`", 2
                ) from None
            if not initialised:
                raise fail("the instance is not initialised; run `hearth init`", 2)
            try:
                yield database, db
            except HearthError as exc:
                because = f" ({'; '.join(causes.messages)})" if causes.messages else ""
                raise fail(f"{exc.text}{because}") from None
    finally:
        database.dispose()


@contextmanager
def session(config: Settings | None = None) -> Iterator[Session]:
    with connect(config) as (_database, db):
        yield db


def acting_admin(db: Session) -> Actor:
    """The first admin, who acts for commands that go through permission-checking services."""
    admin = bootstrap.first_admin(db)
    default_id = bootstrap.default_user_id(db)
    if admin is None or default_id is None:
        raise fail("the instance has no admin user; create one with `hearth user create --admin`")
    return permissions.actor_for(db, admin, default_id)

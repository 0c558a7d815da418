# SPDX-License-Identifier: GPL-3.0-or-later
"""Copying a whole instance's database to another database (``hearth admin migrate-db``).

The usual move is from the embedded SQLite to PostgreSQL when a team outgrows one process. The
target must be empty (no table of Hearth's holding a row); its schema is made by the migrations,
so it ends at the same revision as the source. Then, in one transaction on the target, every
table is copied in dependency order in batches; a column referring to its own table
(``repositories.fork_id``, ``repo_groups.parent_id``) is copied as NULL first and set in a second
pass, so no row waits for a parent that comes later. Afterwards each identity sequence is moved
past the largest copied id, and the row count of every table is compared: a difference fails the
move (and the transaction, so the target stays empty). The source is only read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Integer, Table, func, inspect, select, text, update
from sqlalchemy.engine import Connection

from hearth.db import migrate
from hearth.db.models import Base
from hearth.db.session import Database

BATCH = 2000


class CopyError(Exception):
    """The move cannot be made or did not check out; the message says why."""


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)


def _self_columns(table: Table) -> list[str]:
    return [
        fk.parent.name
        for fk in table.foreign_keys
        if fk.column.table is table and fk.parent.nullable
    ]


def _non_empty(conn: Connection) -> list[str]:
    present = set(inspect(conn).get_table_names())
    return [
        t.name
        for t in Base.metadata.sorted_tables
        if t.name in present and conn.execute(select(func.count()).select_from(t)).scalar()
    ]


def copy_instance(
    source: Database, target: Database, progress: Callable[[str, int], None] | None = None
) -> CopyReport:
    """Copy every table of ``source`` into the empty ``target`` (see the module docstring)."""
    notify = progress or (lambda table, rows: None)
    if migrate.pending(source):
        raise CopyError("the source database is not at the newest schema: run `hearth init` first")
    with target.engine.connect() as conn:
        busy = _non_empty(conn)
    if busy:
        raise CopyError(f"the target database is not empty (rows in {', '.join(busy)})")
    migrate.upgrade(target)
    report = CopyReport()
    tables = Base.metadata.sorted_tables
    with source.engine.connect() as reader, target.engine.begin() as writer:
        for table in tables:
            report.rows[table.name] = _copy_table(reader, writer, table)
            notify(table.name, report.rows[table.name])
        if target.engine.dialect.name == "postgresql":
            for table in tables:
                _move_sequence(writer, table)
        for table in tables:
            copied = writer.execute(select(func.count()).select_from(table)).scalar()
            expected = reader.execute(select(func.count()).select_from(table)).scalar()
            if copied != expected:
                raise CopyError(f"{table.name}: {expected} rows in the source, {copied} copied")
    return report


def _copy_table(reader: Connection, writer: Connection, table: Table) -> int:
    later = _self_columns(table)
    keys = list(table.primary_key.columns)
    rows = reader.execution_options(stream_results=True).execute(select(table).order_by(*keys))
    count = 0
    deferred: list[dict[str, object]] = []
    while batch := rows.fetchmany(BATCH):
        values = [dict(row._mapping) for row in batch]
        for row in values:
            if any(row.get(name) is not None for name in later):
                deferred.append({k.name: row[k.name] for k in keys} | {n: row[n] for n in later})
                for name in later:
                    row[name] = None
        writer.execute(table.insert(), values)
        count += len(values)
    for row in deferred:
        condition = [key == row[key.name] for key in keys]
        writer.execute(update(table).where(*condition).values({n: row[n] for n in later}))
    return count


def _move_sequence(writer: Connection, table: Table) -> None:
    keys = list(table.primary_key.columns)
    if len(keys) != 1 or not isinstance(keys[0].type, Integer):
        return
    column = keys[0]
    sequence = writer.execute(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": table.name, "column": column.name},
    ).scalar()
    if sequence is None:
        return
    highest = writer.execute(select(func.max(column))).scalar()
    writer.execute(
        text("SELECT setval(:seq, :value, :called)"),
        {"seq": sequence, "value": highest or 1, "called": highest is not None},
    )

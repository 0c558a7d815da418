# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth doctor``: check the configuration (and that every whitelist entry names a view), database,
migrations, ``git``/``hg`` versions and the repository directory; print what is wrong and how to fix it (issue 7). Exit status 1 on a problem."""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import typer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from hearth.cli.admin_context import reason, shown_url
from hearth.cli.admin_output import JsonFlag, print_json, show, table
from hearth.config import ConfigError, Settings, load_settings
from hearth.db import migrate
from hearth.db.session import Database
from hearth.services import bootstrap, sysinfo, viewnames


@dataclass(frozen=True)
class Check:
    check: str
    ok: bool
    detail: str
    fix: str | None = None


_DB_FIX = (
    "check HEARTH_DATABASE_URL: for SQLite the directory must exist and be writable; for "
    "PostgreSQL the server must run and accept this user and database"
)


def _database_checks(settings: Settings) -> list[Check]:
    shown = shown_url(settings.database_url)
    if settings.is_sqlite:
        path = make_url(settings.database_url).database
        if path and path != ":memory:" and not Path(path).is_file():
            return [
                Check(
                    "database",
                    False,
                    f"no database file at {path}",
                    "run `hearth init` to create it, or point HEARTH_DATABASE_URL at the right file",
                )
            ]
    try:
        database = Database(settings.database_url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        return [Check("database", False, f"cannot use {shown}: {reason(exc)}", _DB_FIX)]
    try:
        try:
            with database.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            return [Check("database", False, f"cannot open {shown}: {reason(exc)}", _DB_FIX)]
        checks = [Check("database", True, shown)]
        todo = migrate.pending(database)
        if todo:
            checks.append(
                Check(
                    "migrations",
                    False,
                    f"{len(todo)} not applied: {', '.join(todo)}",
                    "run `hearth init` (it upgrades the schema and is safe to run again)",
                )
            )
            return checks
        checks.append(Check("migrations", True, "the schema is current"))
        with database.sessions() as db:
            initialised = bootstrap.default_user_id(db) is not None
        checks.append(
            Check("initialised", True, "the default and admin users exist")
            if initialised
            else Check("initialised", False, "the instance has no users yet", "run `hearth init`")
        )
        return checks
    finally:
        database.dispose()


def _git_check(settings: Settings) -> Check:
    version = sysinfo.git_version(settings.git_path)
    if version:
        return Check("git", True, f"git {version} ({settings.git_path})")
    return Check(
        "git",
        False,
        f"cannot run `{settings.git_path} --version`",
        "install git, or set git_path (HEARTH_GIT_PATH) to the git binary",
    )


def _hg_check() -> Check:
    version = sysinfo.hg_version()
    if version:
        return Check("mercurial", True, f"Mercurial {version}")
    return Check(
        "mercurial",
        False,
        "Mercurial cannot be imported by Hearth",
        "install Mercurial into Hearth's environment (`pip install mercurial`)",
    )


def _repos_check(repos: Path) -> Check:
    if not repos.exists():
        return Check(
            "repositories",
            False,
            f"{repos} does not exist",
            f"run `hearth init` or `mkdir -p {repos}`, or point HEARTH_REPOS at the right directory",
        )
    if not repos.is_dir():
        return Check(
            "repositories",
            False,
            f"{repos} is not a directory",
            "move that file away, or point HEARTH_REPOS at a directory",
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".hearth-doctor-", dir=repos)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return Check(
            "repositories",
            False,
            f"{repos} is not writable: {exc.strerror or exc}",
            "let the user running Hearth write there (chown or chmod)",
        )
    return Check("repositories", True, f"{repos} is writable")


def _whitelist_check(settings: Settings) -> Check:
    entries = settings.api_access_controllers_whitelist
    problems = viewnames.unmatched(entries)
    if problems:
        return Check(
            "whitelist",
            False,
            "; ".join(p.warning for p in problems),
            "correct HEARTH_API_ACCESS_CONTROLLERS_WHITELIST (or api_access_controllers_whitelist "
            "in hearth.toml) where `hearth serve` reads it, then restart the server",
        )
    if not entries:
        return Check("whitelist", True, "empty: only the feeds take an API key")
    return Check("whitelist", True, f"{len(entries)} entries, each matches a view")


def doctor_checks() -> list[Check]:
    """Every check, in order; later checks are skipped when the configuration does not load."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        return [
            Check(
                "configuration",
                False,
                str(exc),
                "correct that setting in hearth.toml (path in HEARTH_CONFIG) or its HEARTH_* variable",
            )
        ]
    return [
        Check("configuration", True, f"home {settings.home}"),
        _whitelist_check(settings),
        *_database_checks(settings),
        _git_check(settings),
        _hg_check(),
        _repos_check(settings.repos),
    ]


def doctor(json_output: JsonFlag = False) -> None:
    """Check the configuration, database, migrations, git, Mercurial and the repository directory."""
    checks = doctor_checks()
    problems = [c for c in checks if not c.ok]
    if json_output:
        print_json({"ok": not problems, "checks": [asdict(c) for c in checks]})
    else:
        shown = table("check", "status", "detail")
        for c in checks:
            shown.add_row(c.check, "ok" if c.ok else "[red]problem[/red]", c.detail)
        show(shown)
        for c in problems:
            typer.echo(f"problem: {c.check}: {c.detail}")
            typer.echo(f"  fix: {c.fix}")
        typer.echo(f"{len(problems)} problem(s) found." if problems else "All checks passed.")
    if problems:
        raise typer.Exit(1)

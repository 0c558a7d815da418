# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth``: set up, serve and administer an instance.

Every command reads the same settings as the server (``hearth.toml`` and ``HEARTH_*``). Secrets that
are shown once (API keys, a generated admin password) are printed alone on their own line.

Groups: ``user`` (create, list, set-password, activate, deactivate), ``api-key`` (create, list,
revoke) and ``doctor``; each takes ``--json`` for scripts (pure JSON on stdout) and prints tables for
people otherwise. ``hearth admin …`` (``api-key USER``, ``create-user``, ``set-password``, ``ip-rule``)
is the older spelling and stays. The decisions live in ``services/``; this module parses and prints.
Repository commands will come with the repository service.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hearth.config import ConfigError, Settings, load_settings
from hearth.db import migrate
from hearth.db.models import UserIpRule
from hearth.db.session import Database
from hearth.errors import HearthError
from hearth.render import epoch_iso
from hearth.services import accounts, bootstrap, keys, lookup, sysinfo, users
from hearth.services.ipaccess import normalise_rule

app = typer.Typer(
    help="Administer a Hearth instance.", no_args_is_help=True, pretty_exceptions_enable=False
)
admin_app = typer.Typer(help="User and key administration.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
user_app = typer.Typer(
    help="Users: create, list, set a password, (de)activate.", no_args_is_help=True
)
app.add_typer(user_app, name="user")
key_app = typer.Typer(
    help="API keys: create (shown once), list (by hint), revoke.", no_args_is_help=True
)
app.add_typer(key_app, name="api-key")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(f"hearth: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _connect() -> Iterator[tuple[Database, Session]]:
    """The database and a session that commits on success; domain errors exit 1."""
    settings = _settings()
    database = Database(settings.database_url)
    try:
        with database.session() as db:
            if bootstrap.default_user_id(db) is None:
                typer.echo("hearth: the instance is not initialised; run `hearth init`", err=True)
                raise typer.Exit(2)
            yield database, db
    except HearthError as exc:
        typer.echo(f"hearth: {exc.text}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()


@contextmanager
def _session() -> Iterator[Session]:
    with _connect() as (_database, db):
        yield db


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def _table(*columns: str) -> Table:
    table = Table(header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")  # wrap long values, never cut them
    return table


def _show(table: Table) -> None:
    Console().print(table)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@app.command()
def init() -> None:
    """Create or upgrade the database and the first users (safe to run again)."""
    settings = _settings()
    database = Database(settings.database_url)
    try:
        result = bootstrap.initialise(database, settings)
    finally:
        database.dispose()
    if not result.created:
        typer.echo(f"Hearth instance at {settings.home} is up to date.")
        return
    typer.echo(f"Initialised Hearth instance at {settings.home}")
    typer.echo(f"Admin user: {result.admin_username}")
    if result.admin_password:
        typer.echo(f"Admin password (shown once): {result.admin_password}")
    typer.echo("Admin API key (shown once):")
    typer.echo(result.admin_key)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (setting host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (setting port).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Serve the API, clone/push and web views."""
    import uvicorn

    from hearth.logs import log_config

    settings = _settings()
    database = Database(settings.database_url)
    try:
        with database.sessions() as db:
            initialised = bootstrap.default_user_id(db) is not None
    except Exception as exc:
        typer.echo(f"hearth: cannot open the database ({settings.database_url}): {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        database.dispose()
    if not initialised:
        typer.echo("hearth: the instance is not initialised; run `hearth init`", err=True)
        raise typer.Exit(2)
    uvicorn.run(
        "hearth.asgi:app",
        factory=True,
        host=host or settings.host,
        port=settings.port if port is None else port,
        workers=workers or settings.workers,
        loop="uvloop",
        http="httptools",
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        timeout_keep_alive=30,
        # client addresses come from the TCP peer unless setting remote_addr_header says otherwise
        proxy_headers=False,
    )


@admin_app.command("api-key")
def api_key(
    username: str,
    description: Annotated[str, typer.Option(help="What the key is for.")] = "hearth admin api-key",
    role: Annotated[str, typer.Option(help="all, api, http, vcs or feed.")] = "all",
) -> None:
    """Create a new API key for USERNAME and print it alone on the last line."""
    _check_role(role)
    with _session() as db:
        user = lookup.user(db, username)
        key = keys.create_key(db, user.user_id, description=description, role=role)
    typer.echo(key)


def _check_role(role: str) -> None:
    if role not in keys.ROLES:
        typer.echo(f"hearth: --role must be one of {', '.join(keys.ROLES)}", err=True)
        raise typer.Exit(2)


@admin_app.command("create-user")
def create_user(
    username: str,
    email: Annotated[str, typer.Option(help="Primary e-mail address.")],
    password: Annotated[str, typer.Option(help="Password; empty = no password login.")] = "",
    admin: Annotated[bool, typer.Option(help="Make the user a super-admin.")] = False,
    firstname: str = "",
    lastname: str = "",
) -> None:
    """Create a user."""
    _create_user(username, email, password, admin, firstname, lastname, json_output=False)


def _create_user(
    username: str,
    email: str,
    password: str,
    admin: bool,
    firstname: str,
    lastname: str,
    *,
    json_output: bool,
) -> None:
    with _session() as db:
        user = users.create_user(
            db,
            username=username,
            email=email,
            password=password,
            admin=admin,
            firstname=firstname,
            lastname=lastname,
        )
        summary = accounts.user_summary(user)
    if json_output:
        _print_json(summary)
    else:
        typer.echo(f"created new user `{summary['username']}` (ID {summary['user_id']})")


@admin_app.command("set-password")
def set_password(
    username: str,
    password: Annotated[
        str | None, typer.Option(help="New password; read from stdin when omitted.")
    ] = None,
) -> None:
    """Set a user's password."""
    _set_password(username, password, json_output=False)


def _set_password(username: str, password: str | None, *, json_output: bool) -> None:
    if password is None:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        typer.echo("hearth: the password must not be empty", err=True)
        raise typer.Exit(2)
    with _session() as db:
        user = lookup.user(db, username)
        accounts.set_password(user, password)
        name = user.username
    if json_output:
        _print_json({"username": name, "password_changed": True})
    else:
        typer.echo(f"password of `{name}` changed")


ip_app = typer.Typer(help="IP rules of a user (the default user's apply to everybody).")
admin_app.add_typer(ip_app, name="ip-rule")


@ip_app.command("add")
def ip_rule_add(username: str, cidr: str) -> None:
    """Allow USERNAME's keys from CIDR (a user with no rules may connect from anywhere)."""
    try:
        rule = normalise_rule(cidr)
    except ValueError:
        typer.echo(f"hearth: not an IP address or CIDR range: {cidr}", err=True)
        raise typer.Exit(2) from None
    with _session() as db:
        user = lookup.user(db, username)
        db.add(UserIpRule(user_id=user.user_id, ip_addr=rule))
    typer.echo(f"added {rule} for `{username}`")


@ip_app.command("remove")
def ip_rule_remove(username: str, cidr: str) -> None:
    """Remove a rule of USERNAME."""
    with _session() as db:
        user = lookup.user(db, username)
        rule = normalise_rule(cidr)
        removed = db.execute(
            delete(UserIpRule).where(UserIpRule.user_id == user.user_id, UserIpRule.ip_addr == rule)
        ).rowcount  # type: ignore[attr-defined]
    if not removed:
        typer.echo(f"hearth: `{username}` has no rule {rule}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed {rule} for `{username}`")


# --- hearth user … ------------------------------------------------------------------------------


@user_app.command("create")
def user_create(
    username: str,
    email: Annotated[str, typer.Option(help="Primary e-mail address.")],
    password: Annotated[str, typer.Option(help="Password; empty = no password login.")] = "",
    admin: Annotated[bool, typer.Option(help="Make the user a super-admin.")] = False,
    firstname: str = "",
    lastname: str = "",
    json_output: JsonFlag = False,
) -> None:
    """Create a user (with a main API key, never shown; issue one with `hearth api-key create`)."""
    _create_user(username, email, password, admin, firstname, lastname, json_output=json_output)


@user_app.command("list")
def user_list(json_output: JsonFlag = False) -> None:
    """List users (all but `default`), by username."""
    with _connect() as (database, db):
        found = [accounts.user_summary(u) for u in users.list_users(db, database.codepoint)]
    if json_output:
        _print_json(found)
        return
    table = _table("ID", "username", "e-mail", "name", "admin", "active", "last login")
    for user in found:
        name = f"{user['firstname']} {user['lastname']}".strip()
        table.add_row(
            str(user["user_id"]),
            user["username"],
            user["email"],
            name,
            _yes(user["admin"]),
            _yes(user["active"]),
            user["last_login"] or "never",
        )
    _show(table)


@user_app.command("set-password")
def user_set_password(
    username: str,
    password: Annotated[
        str | None, typer.Option(help="New password; read from stdin when omitted.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Set a user's password."""
    _set_password(username, password, json_output=json_output)


def _set_active(username: str, active: bool, json_output: bool) -> None:
    with _session() as db:
        user = accounts.set_active(db, lookup.user(db, username), active)
        summary = accounts.user_summary(user)
    if json_output:
        _print_json(summary)
    else:
        word = "activated" if active else "deactivated"
        typer.echo(f"{word} user `{summary['username']}`")


@user_app.command("deactivate")
def user_deactivate(username: str, json_output: JsonFlag = False) -> None:
    """Deactivate a user: their keys and password stop working at once; nothing is deleted."""
    _set_active(username, False, json_output)


@user_app.command("activate")
def user_activate(username: str, json_output: JsonFlag = False) -> None:
    """Activate a deactivated user again."""
    _set_active(username, True, json_output)


# --- hearth api-key … ---------------------------------------------------------------------------


def _expiry(info: accounts.KeyInfo) -> str:
    if info.expires == -1:
        return "never"
    when = epoch_iso(info.expires, whole_seconds=True) or ""
    return f"{when} (expired)" if info.expired else when


@key_app.command("create")
def key_create(
    username: str,
    description: Annotated[str, typer.Option(help="What the key is for.")] = "hearth api-key",
    role: Annotated[str, typer.Option(help="all, api, http, vcs or feed.")] = "all",
    expires_in: Annotated[
        float | None, typer.Option(help="Days until the key expires (default: never).", min=0)
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create a new API key for USERNAME; the key is printed once, alone on the last line."""
    _check_role(role)
    with _session() as db:
        user = lookup.user(db, username)
        key, info = accounts.issue_key(
            db, user, description=description, role=role, expires_in_days=expires_in
        )
    if json_output:
        _print_json({**info.as_json(), "key": key})
        return
    typer.echo(
        f"created key {info.key_id} for `{info.username}` (role {info.role}, "
        f"expires {_expiry(info)}); it is shown only now:",
        err=True,
    )
    typer.echo(key)


@key_app.command("list")
def key_list(
    username: Annotated[
        str | None, typer.Argument(help="Whose keys (default: everybody's).")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """List API keys by ID and hint (their last 4 characters); keys themselves are never shown."""
    with _session() as db:
        user = lookup.user(db, username) if username is not None else None
        found = accounts.key_infos(db, user)
    if json_output:
        _print_json([info.as_json() for info in found])
        return
    table = _table("ID", "user", "key", "role", "description", "expires", "main")
    for info in found:
        table.add_row(
            str(info.key_id),
            info.username,
            f"…{info.hint}",
            info.role,
            info.description,
            _expiry(info),
            _yes(info.is_main),
        )
    _show(table)


@key_app.command("revoke")
def key_revoke(username: str, key_id: int, json_output: JsonFlag = False) -> None:
    """Revoke USERNAME's key KEY_ID (see `hearth api-key list`); it stops working at once."""
    with _session() as db:
        info = accounts.revoke_key(db, lookup.user(db, username), key_id)
    if info is None:
        typer.echo(f"hearth: `{username}` has no API key with ID {key_id}", err=True)
        raise typer.Exit(1)
    if json_output:
        _print_json({**info.as_json(), "revoked": True})
    else:
        typer.echo(f"revoked key {info.key_id} (…{info.hint}) of `{info.username}`")


# --- hearth doctor -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    check: str
    ok: bool
    detail: str
    fix: str | None = None


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "the database URL"


_DB_FIX = (
    "check HEARTH_DATABASE_URL: for SQLite the directory must exist and be writable; for "
    "PostgreSQL the server must run and accept this user and database"
)


def _database_checks(settings: Settings) -> list[Check]:
    shown = _shown_url(settings.database_url)
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
        return [Check("database", False, f"cannot use {shown}: {_reason(exc)}", _DB_FIX)]
    try:
        try:
            with database.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            return [Check("database", False, f"cannot open {shown}: {_reason(exc)}", _DB_FIX)]
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
        *_database_checks(settings),
        _git_check(settings),
        _hg_check(),
        _repos_check(settings.repos),
    ]


@app.command()
def doctor(json_output: JsonFlag = False) -> None:
    """Check the configuration, database, migrations, git, Mercurial and the repository directory."""
    checks = doctor_checks()
    problems = [c for c in checks if not c.ok]
    if json_output:
        _print_json({"ok": not problems, "checks": [asdict(c) for c in checks]})
    else:
        table = _table("check", "status", "detail")
        for c in checks:
            table.add_row(c.check, "ok" if c.ok else "[red]problem[/red]", c.detail)
        _show(table)
        for c in problems:
            typer.echo(f"problem: {c.check}: {c.detail}")
            typer.echo(f"  fix: {c.fix}")
        typer.echo(f"{len(problems)} problem(s) found." if problems else "All checks passed.")
    if problems:
        raise typer.Exit(1)


def main() -> None:
    app()

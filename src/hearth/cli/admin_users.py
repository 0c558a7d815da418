# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth user …``: create, list, set a password, (de)activate (``services/users.py``,
``services/accounts.py``). ``create_user`` and ``set_password`` also serve ``hearth admin``'s older
spellings."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from hearth.cli.admin_context import connect, session
from hearth.cli.admin_output import JsonFlag, print_json, show, table, yes
from hearth.services import accounts, lookup, users

user_app = typer.Typer(
    help="Users: create, list, set a password, (de)activate.", no_args_is_help=True
)


def create_user(
    username: str,
    email: str,
    password: str,
    admin: bool,
    firstname: str,
    lastname: str,
    *,
    json_output: bool,
) -> None:
    with session() as db:
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
        print_json(summary)
    else:
        typer.echo(f"created new user `{summary['username']}` (ID {summary['user_id']})")


def set_password(username: str, password: str | None, *, json_output: bool) -> None:
    if password is None:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        typer.echo("hearth: the password must not be empty", err=True)
        raise typer.Exit(2)
    with session() as db:
        user = lookup.user(db, username)
        accounts.set_password(user, password)
        name = user.username
    if json_output:
        print_json({"username": name, "password_changed": True})
    else:
        typer.echo(f"password of `{name}` changed")


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
    create_user(username, email, password, admin, firstname, lastname, json_output=json_output)


@user_app.command("list")
def user_list(json_output: JsonFlag = False) -> None:
    """List users (all but `default`), by username."""
    with connect() as (database, db):
        found = [accounts.user_summary(u) for u in users.list_users(db, database.codepoint)]
    if json_output:
        print_json(found)
        return
    shown = table("ID", "username", "e-mail", "name", "admin", "active", "last login")
    for user in found:
        name = f"{user['firstname']} {user['lastname']}".strip()
        shown.add_row(
            str(user["user_id"]),
            user["username"],
            user["email"],
            name,
            yes(user["admin"]),
            yes(user["active"]),
            user["last_login"] or "never",
        )
    show(shown)


@user_app.command("set-password")
def user_set_password(
    username: str,
    password: Annotated[
        str | None, typer.Option(help="New password; read from stdin when omitted.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Set a user's password."""
    set_password(username, password, json_output=json_output)


def _set_active(username: str, active: bool, json_output: bool) -> None:
    with session() as db:
        user = accounts.set_active(db, lookup.user(db, username), active)
        summary = accounts.user_summary(user)
    if json_output:
        print_json(summary)
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

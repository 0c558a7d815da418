# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth admin …``: the older spellings (``api-key USER``, ``create-user``, ``set-password``),
IP rules of a user (``ip-rule add|remove``) and ``purge-deleted`` (``web-and-vcs.md`` §7)."""

from __future__ import annotations

from typing import Annotated

import typer

from hearth.cli.admin_context import fail, session, settings
from hearth.cli.admin_keys import check_role
from hearth.cli.admin_output import JsonFlag, plain, print_json, show, table
from hearth.cli.admin_users import create_user, set_password
from hearth.errors import HearthError
from hearth.services import ipaccess, keys, lookup, purge

admin_app = typer.Typer(
    help="User and key administration; purging deleted repositories.", no_args_is_help=True
)


@admin_app.command("api-key")
def api_key(
    username: str,
    description: Annotated[str, typer.Option(help="What the key is for.")] = "hearth admin api-key",
    role: Annotated[str, typer.Option(help="all, api, http, vcs or feed.")] = "all",
) -> None:
    """Create a new API key for USERNAME and print it alone on the last line."""
    check_role(role)
    with session() as db:
        user = lookup.user(db, username)
        key = keys.create_key(db, user.user_id, description=description, role=role)
    typer.echo(key)


@admin_app.command("create-user")
def admin_create_user(
    username: str,
    email: Annotated[str, typer.Option(help="Primary e-mail address.")],
    password: Annotated[str, typer.Option(help="Password; empty = no password login.")] = "",
    admin: Annotated[bool, typer.Option(help="Make the user a super-admin.")] = False,
    firstname: str = "",
    lastname: str = "",
) -> None:
    """Create a user."""
    create_user(username, email, password, admin, firstname, lastname, json_output=False)


@admin_app.command("set-password")
def admin_set_password(
    username: str,
    password: Annotated[
        str | None, typer.Option(help="New password; read from stdin when omitted.")
    ] = None,
) -> None:
    """Set a user's password."""
    set_password(username, password, json_output=False)


ip_app = typer.Typer(help="IP rules of a user (the default user's apply to everybody).")
admin_app.add_typer(ip_app, name="ip-rule")


def _not_a_rule(cidr: str) -> typer.Exit:
    typer.echo(f"hearth: not an IP address or CIDR range: {cidr}", err=True)
    return typer.Exit(2)


@ip_app.command("add")
def ip_rule_add(username: str, cidr: str) -> None:
    """Allow USERNAME's keys from CIDR (a user with no rules may connect from anywhere)."""
    try:
        with session() as db:
            rule = ipaccess.add_rule(db, lookup.user(db, username).user_id, cidr)
    except ValueError:
        raise _not_a_rule(cidr) from None
    typer.echo(f"added {rule} for `{username}`")


@ip_app.command("remove")
def ip_rule_remove(username: str, cidr: str) -> None:
    """Remove a rule of USERNAME."""
    try:
        with session() as db:
            rule, removed = ipaccess.remove_rule(db, lookup.user(db, username).user_id, cidr)
    except ValueError:
        raise _not_a_rule(cidr) from None
    if not removed:
        typer.echo(f"hearth: `{username}` has no rule {rule}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed {rule} for `{username}`")


def _deleted(item: purge.Deleted) -> dict[str, str]:
    return {
        "path": item.path,
        "repo_name": item.repo_name,
        "deleted_on": item.deleted_on.isoformat(timespec="seconds"),
    }


@admin_app.command("purge-deleted")
def purge_deleted(
    older_than: Annotated[
        str, typer.Option(help="Only those deleted longer ago than this: 30d, 12h, 90m, 0d …")
    ] = "30d",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be removed; remove nothing.")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Remove deleted repositories' directories (`rm__<time>__<name>`) for good."""
    try:
        age = purge.parse_age(older_than)
    except HearthError as exc:
        raise fail(exc.text, 2) from None
    root = settings().repos
    try:
        result = purge.purge(root, age, dry_run=dry_run)
    except HearthError as exc:
        raise fail(exc.text) from None
    if json_output:
        print_json(
            {
                "dry_run": dry_run,
                "older_than": older_than,
                "root": str(root),
                "removed": [_deleted(item) for item in result.removed],
                "kept": [_deleted(item) for item in result.kept],
                "failed": [{**_deleted(item), "error": why} for item, why in result.failed],
            }
        )
    else:
        if result.removed:
            shown = table("directory", "repository", "deleted on (UTC)")
            for item in result.removed:
                shown.add_row(plain(item.path), plain(item.repo_name), _deleted(item)["deleted_on"])
            show(shown)
        verb = "Would remove" if dry_run else "Removed"
        typer.echo(
            f"{verb} {len(result.removed)} deleted repositories older than {older_than} "
            f"in {root}; kept {len(result.kept)} newer ones."
        )
    for item, why in result.failed:
        typer.echo(f"hearth: cannot remove {root / item.path}: {why}", err=True)
    if result.failed:
        raise typer.Exit(1)

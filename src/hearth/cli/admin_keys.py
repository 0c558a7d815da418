# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth api-key …``: create (shown once), list (by hint), revoke (``services/accounts.py``).
``check_role`` also serves ``hearth admin api-key``."""

from __future__ import annotations

from typing import Annotated

import typer

from hearth.cli.admin_context import session
from hearth.cli.admin_output import JsonFlag, print_json, show, table, yes
from hearth.render import epoch_iso
from hearth.services import accounts, keys, lookup

key_app = typer.Typer(
    help="API keys: create (shown once), list (by hint), revoke.", no_args_is_help=True
)


def check_role(role: str) -> None:
    if role not in keys.ROLES:
        typer.echo(f"hearth: --role must be one of {', '.join(keys.ROLES)}", err=True)
        raise typer.Exit(2)


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
    check_role(role)
    with session() as db:
        user = lookup.user(db, username)
        key, info = accounts.issue_key(
            db, user, description=description, role=role, expires_in_days=expires_in
        )
    if json_output:
        print_json({**info.as_json(), "key": key})
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
    with session() as db:
        user = lookup.user(db, username) if username is not None else None
        found = accounts.key_infos(db, user)
    if json_output:
        print_json([info.as_json() for info in found])
        return
    shown = table("ID", "user", "key", "role", "description", "expires", "main")
    for info in found:
        shown.add_row(
            str(info.key_id),
            info.username,
            f"…{info.hint}",
            info.role,
            info.description,
            _expiry(info),
            yes(info.is_main),
        )
    show(shown)


@key_app.command("revoke")
def key_revoke(username: str, key_id: int, json_output: JsonFlag = False) -> None:
    """Revoke USERNAME's key KEY_ID (see `hearth api-key list`); it stops working at once."""
    with session() as db:
        info = accounts.revoke_key(db, lookup.user(db, username), key_id)
    if info is None:
        typer.echo(f"hearth: `{username}` has no API key with ID {key_id}", err=True)
        raise typer.Exit(1)
    if json_output:
        print_json({**info.as_json(), "revoked": True})
    else:
        typer.echo(f"revoked key {info.key_id} (…{info.hint}) of `{info.username}`")

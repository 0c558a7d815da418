# SPDX-License-Identifier: GPL-3.0-or-later
"""SSH from the command line (issue 16; ``docs/ssh.md``):

* ``hearth user ssh-key add USER FILE|-`` / ``list USER`` / ``remove USER FINGERPRINT`` —
  users' public keys (``services/sshkeys.py``);
* ``hearth ssh-keys USER [KEY]`` — OpenSSH's ``AuthorizedKeysCommand %u %k``: the
  ``restrict,command="… ssh-serve KEY_ID"`` line of that key, read from the database at each
  login, so nothing is regenerated when keys change;
* ``hearth ssh-authorized-keys [--write]`` — the same lines for every key as an
  ``authorized_keys`` file (setting ``ssh_authorized_keys_file``, rewritten whenever keys are
  added or removed): sshd then starts one process per connection instead of three;
* ``hearth ssh-serve KEY_ID`` — the forced command: reads ``SSH_ORIGINAL_COMMAND`` and runs it
  through ``services/sshaccess.py``, the same rules and the same bookkeeping as the built-in
  server (``ssh/server.py``) and, through ``vcsauth``, as smart HTTP.

sshd starts both with an empty environment, so ``ssh-keys`` writes the ``HEARTH_*`` variables
it was started with into the forced command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from hearth.cli.admin_context import fail, session, settings
from hearth.cli.admin_output import JsonFlag, plain, print_json, show, table
from hearth.db.session import Database
from hearth.services import bootstrap, lookup, sshaccess, sshkeys

ssh_key_app = typer.Typer(help="SSH keys: add, list, remove.", no_args_is_help=True)


@ssh_key_app.command("add")
def key_add(
    username: str,
    file: Annotated[str, typer.Argument(help="The public key file (id_*.pub), or - for stdin.")],
    description: Annotated[
        str, typer.Option(help="What the key is for (default: its comment).")
    ] = "",
    json_output: JsonFlag = False,
) -> None:
    """Add a public key to USERNAME; it works at the next SSH connection."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}") from None
    config = settings()
    with session(config) as db:
        info = sshkeys.add(db, config, lookup.user(db, username), text, description)
    if json_output:
        print_json(info.as_json())
    else:
        typer.echo(f"added {info.key_type} key {info.fingerprint} to `{info.username}`")


@ssh_key_app.command("list")
def key_list(username: str, json_output: JsonFlag = False) -> None:
    """List USERNAME's public keys with their SHA256 fingerprints and last use."""
    with session() as db:
        found = sshkeys.list_for(db, lookup.user(db, username))
    if json_output:
        print_json([info.as_json() for info in found])
        return
    shown = table("fingerprint", "type", "comment", "description", "added", "last used")
    for info in found:
        shown.add_row(
            info.fingerprint,
            info.key_type,
            plain(info.comment),
            plain(info.description),
            info.created_on.isoformat(timespec="seconds"),
            info.last_used.isoformat(timespec="seconds") if info.last_used else "never",
        )
    show(shown)


@ssh_key_app.command("remove")
def key_remove(username: str, fingerprint: str, json_output: JsonFlag = False) -> None:
    """Remove USERNAME's key FINGERPRINT (SHA256:…); it stops working at the next connection."""
    config = settings()
    with session(config) as db:
        info = sshkeys.remove(db, config, lookup.user(db, username), fingerprint)
    if json_output:
        print_json({**info.as_json(), "removed": True})
    else:
        typer.echo(f"removed key {info.fingerprint} of `{info.username}`")


def ssh_keys(
    user: Annotated[str, typer.Argument(help="The system user logging in (sshd's %u).")],
    key: Annotated[
        str | None, typer.Argument(help="The key's base64 (sshd's %k); default: every key.")
    ] = None,
) -> None:
    """AuthorizedKeysCommand: print the authorized_keys line of KEY, if a user of this
    instance has it; nothing for another system USER than setting ssh_user."""
    config = settings()
    if user != config.ssh_user:
        return
    with session(config) as db:
        lines = list(sshkeys.authorized_lines(db, sshkeys.hearth_argv(), sshkeys.hearth_env(), key))
    for line in lines:
        typer.echo(line)


def ssh_authorized_keys(
    write: Annotated[
        bool, typer.Option("--write", help="Write the file (else print its lines).")
    ] = False,
    path: Annotated[
        Path | None, typer.Option(help="The file (default: setting ssh_authorized_keys_file).")
    ] = None,
) -> None:
    """Print, or --write, an authorized_keys file for sshd with every user's key and its
    forced command; with setting ssh_authorized_keys_file it is also rewritten whenever keys
    are added or removed."""
    config = settings()
    with session(config) as db:
        if not write:
            for line in sshkeys.file_lines(db):
                typer.echo(line)
            return
        target = path or config.ssh_authorized_keys_file
        if target is None:
            raise fail("give --path or set ssh_authorized_keys_file", 2)
        count = sshkeys.write_authorized_keys(db, config, target.absolute())
    typer.echo(f"wrote {count} keys to {target}")


def _client_address() -> str:
    for name in ("SSH_CONNECTION", "SSH_CLIENT"):
        words = os.environ.get(name, "").split()
        if words:
            return words[0]
    return ""


def ssh_serve(key_id: Annotated[int, typer.Argument(help="The key sshd authenticated.")]) -> None:
    """Forced command of OpenSSH: run SSH_ORIGINAL_COMMAND if it is a clone or push the key's
    user may do (see docs/ssh.md)."""
    config = settings()
    database = Database(config.database_url)
    try:
        try:
            with database.session() as db:
                default_user_id = bootstrap.default_user_id(db)
                if default_user_id is None:
                    raise sshaccess.Refused("the instance is not initialised")
                plan = sshaccess.prepare(
                    db,
                    config,
                    key_id=key_id,
                    command=os.environ.get("SSH_ORIGINAL_COMMAND"),
                    address=_client_address(),
                    default_user_id=default_user_id,
                    git_protocol=os.environ.get("GIT_PROTOCOL"),
                )
        except sshaccess.Refused as refused:
            typer.echo(str(refused), err=True)
            raise typer.Exit(1) from None
        for notice in plan.notices:
            typer.echo(notice, err=True)
        try:
            status = subprocess.run(plan.argv, env=plan.env, check=False).returncode
        except BaseException:
            sshaccess.discard(plan)
            raise
        with database.session() as db:
            sshaccess.finish(db, config, plan, status)
    finally:
        database.dispose()
    raise typer.Exit(status if status >= 0 else 1)

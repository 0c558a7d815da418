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
it was started with into the forced command. Both run in ``cli/sshlean.py``, which
``cli/entry.py`` calls before typer loads when sshd starts them; here they are registered for
``--help`` and usage errors.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hearth.cli import sshlean
from hearth.cli.admin_context import fail, session, settings
from hearth.cli.admin_output import JsonFlag, plain, print_json, show, table
from hearth.services import lookup, sshkeys

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
    status = sshlean.ssh_keys(user, key)
    if status:
        raise typer.Exit(status)


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


def ssh_serve(key_id: Annotated[int, typer.Argument(help="The key sshd authenticated.")]) -> None:
    """Forced command of OpenSSH: run SSH_ORIGINAL_COMMAND if it is a clone or push the key's
    user may do (see docs/ssh.md)."""
    raise typer.Exit(sshlean.ssh_serve(key_id))

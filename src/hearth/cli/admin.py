# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth``: set up, serve and administer an instance.

Every command reads the same settings as the server (``hearth.toml`` and ``HEARTH_*``). Secrets that
are shown once (API keys, a generated admin password) are printed alone on their own line.

This module is the ``hearth`` command itself: ``init``, ``serve`` and the wiring of the groups, each
in a module of its own —

* ``user`` (create, list, set-password, activate, deactivate): ``cli/admin_users.py``;
* ``api-key`` (create, list, revoke): ``cli/admin_keys.py``;
* ``repo`` (create, list, set-default-branch, rescan, delete; also spelled ``hearth admin repo``):
  ``cli/admin_repos.py``;
* ``group`` (repository groups: create, list, delete) and ``user-group`` (create, list, add,
  remove, delete): ``cli/admin_groups.py``;
* ``admin`` (``api-key USER``, ``create-user``, ``set-password``, ``ip-rule``: the older spellings,
  which stay; ``purge-deleted``): ``cli/admin_admin.py``;
* ``admin import-kallithea``: ``cli/admin_import.py``;
* ``perms explain USER OBJECT`` (the permission explainer): ``cli/admin_perms.py``;
* ``doctor``: ``cli/doctor.py``;
* ``user ssh-key`` (add, list, remove), ``ssh-keys`` and ``ssh-serve`` (OpenSSH's
  ``AuthorizedKeysCommand`` and forced command): ``cli/admin_ssh.py``.
* ``worker`` (Celery's worker, options passed through): ``cli/worker.py``;
* ``admin migrate-db --to postgresql://…`` (move the database): ``cli/migrate_db.py``.

Each takes ``--json`` for scripts (pure JSON on stdout) and prints tables for people otherwise; a
failure is one line on stderr and a non-zero exit status (``cli/admin_context.py``). The decisions
live in ``services/``; these modules parse and print.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hearth.cli.admin_admin import admin_app
from hearth.cli.admin_context import fail, settings, shown_url
from hearth.cli.admin_groups import group_app, user_group_app
from hearth.cli.admin_import import import_kallithea
from hearth.cli.admin_keys import key_app
from hearth.cli.admin_perms import perms_app
from hearth.cli.admin_repos import repo_app
from hearth.cli.admin_ssh import ssh_authorized_keys, ssh_key_app, ssh_keys, ssh_serve
from hearth.cli.admin_users import user_app
from hearth.cli.doctor import doctor
from hearth.cli.migrate_db import migrate_db
from hearth.cli.worker import WORKER_CONTEXT, worker
from hearth.db.session import Database
from hearth.services import bootstrap, viewnames

app = typer.Typer(
    help="Administer a Hearth instance.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(admin_app, name="admin")
app.add_typer(user_app, name="user")
app.add_typer(key_app, name="api-key")
app.add_typer(repo_app, name="repo")
app.add_typer(group_app, name="group")
app.add_typer(user_group_app, name="user-group")
app.add_typer(perms_app, name="perms")
admin_app.add_typer(repo_app, name="repo")  # the spelling of web-and-vcs.md §7
user_app.add_typer(ssh_key_app, name="ssh-key")
app.command("ssh-keys")(ssh_keys)
app.command("ssh-serve")(ssh_serve)
app.command("ssh-authorized-keys")(ssh_authorized_keys)
admin_app.command("import-kallithea")(import_kallithea)


@app.command()
def init() -> None:
    """Create or upgrade the database and the first users (safe to run again)."""
    config = settings()
    database = Database(config.database_url)
    try:
        result = bootstrap.initialise(database, config)
    finally:
        database.dispose()
    if not result.created:
        typer.echo(f"Hearth instance at {config.home} is up to date.")
        return
    typer.echo(f"Initialised Hearth instance at {config.home}")
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
    from hearth.logs import log_config
    from hearth.server import PortTaken, ServeOptions
    from hearth.server import serve as run_server

    config = settings()
    database = Database(config.database_url)
    try:
        with database.sessions() as db:
            initialised = bootstrap.default_user_id(db) is not None
    except Exception as exc:
        raise fail(
            f"cannot open the database ({shown_url(config.database_url)}): {exc}", 2
        ) from None
    finally:
        database.dispose()
    if not initialised:
        raise fail("the instance is not initialised; run `hearth init`", 2)
    for problem in viewnames.unmatched(config.api_access_controllers_whitelist):
        typer.echo(f"hearth: warning: {problem.warning}", err=True)
    options = ServeOptions(
        host=host or config.host,
        port=config.port if port is None else port,
        workers=workers or config.workers,
        log_level=config.log_level,
        log_config=log_config(config.log_level, config.log_format),
        home=config.home,
        shutdown_grace=config.shutdown_grace,
        ssh_port=config.ssh_port,
    )
    try:
        run_server(options)
    except OSError as exc:
        port = exc.port if isinstance(exc, PortTaken) else options.port
        raise fail(f"cannot listen on {options.host}:{port}: {exc.strerror or exc}", 2) from None


app.command()(doctor)
app.command(context_settings=WORKER_CONTEXT)(worker)
admin_app.command("migrate-db")(migrate_db)


def main() -> None:
    app()

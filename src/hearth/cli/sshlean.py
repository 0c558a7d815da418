# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth ssh-keys`` and ``hearth ssh-serve``, the two commands sshd runs at every login,
written to start fast: no typer, and only what each needs is imported (``cli/entry.py``
dispatches here; ``cli/admin_ssh.py`` registers the same functions with typer for ``--help``).

* ``ssh-keys`` reads the settings and asks ``services/sshlogin.py``, which queries through a
  bare DBAPI connection: neither SQLAlchemy nor the models are loaded (sshd runs it twice per
  login);
* ``ssh-serve`` hands the session to the running server (``hearth/sshwire.py``), which has the
  permission rules loaded; only without one does it import SQLAlchemy and the models itself.

Both return the exit status; messages go to stderr as ``hearth: …``, as the other commands'.
"""

from __future__ import annotations

import os
import sys

from hearth.config import ConfigError, Settings, load_settings


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _settings() -> Settings | None:
    try:
        return load_settings()
    except ConfigError as exc:
        _say(f"hearth: configuration error: {exc}")
        return None


def ssh_keys(user: str, key: str | None) -> int:
    """AuthorizedKeysCommand ``%u %k``: the ``authorized_keys`` line of ``key`` if a user of
    this instance has it; nothing for another system user than setting ``ssh_user``."""
    from hearth.services import sshlogin

    config = _settings()
    if config is None:
        return 2
    if user != config.ssh_user:
        return 0
    argv, env = sshlogin.hearth_argv(), sshlogin.hearth_env()
    try:
        lines = sshlogin.authorized_lines(config.database_url, argv, env, key)
    except Exception as exc:  # the DBAPI's own errors (sqlite3, psycopg): one line, no trace
        _say(f"hearth: cannot read the SSH keys: {exc}".splitlines()[0])
        return 2
    if lines is None:  # a database URL only SQLAlchemy knows
        from hearth.cli.admin_context import session
        from hearth.services import sshkeys

        with session(config) as db:
            lines = list(sshkeys.authorized_lines(db, argv, env, key))
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def _client_address() -> str:
    for name in ("SSH_CONNECTION", "SSH_CLIENT"):
        words = os.environ.get(name, "").split()
        if words:
            return words[0]
    return ""


def ssh_serve(key_id: int) -> int:
    """Forced command of OpenSSH: run ``SSH_ORIGINAL_COMMAND`` if it is a clone or push the
    key's user may do (``docs/ssh.md``); the exit status of git or hg. A running server takes
    the session (``hearth/sshwire.py``); without one, this process decides and runs it."""
    from hearth import sshwire

    config = _settings()
    if config is None:
        return 2
    request = {
        "key_id": key_id,
        "command": os.environ.get("SSH_ORIGINAL_COMMAND"),
        "address": _client_address(),
        "git_protocol": os.environ.get("GIT_PROTOCOL"),
    }
    if config.ssh_handoff:
        status = sshwire.hand_over(sshwire.socket_path(config.home), request, [0, 1, 2])
        if status is not None:
            return status
    return _serve_here(config, key_id)


def _serve_here(config: Settings, key_id: int) -> int:
    import subprocess

    from hearth.db.session import Database
    from hearth.services import bootstrap, sshaccess

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
            _say(str(refused))
            return 1
        for notice in plan.notices:
            _say(notice)
        try:
            status = subprocess.run(plan.argv, env=plan.env, check=False).returncode
        except BaseException:
            sshaccess.discard(plan)
            raise
        with database.session() as db:
            sshaccess.finish(db, config, plan, status)
    finally:
        database.dispose()
    return status if status >= 0 else 1

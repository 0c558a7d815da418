# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``hearth`` command's entry point (``pyproject.toml`` ``[project.scripts]``,
``python -m hearth``).

``hearth ssh-keys USER [KEY]`` and ``hearth ssh-serve KEY_ID`` are started by sshd, three times
for every SSH login (``docs/ssh.md``), so they go to ``cli/sshlean.py`` before typer, rich and
the other commands are imported: those alone cost more CPU than the whole lookup. Anything
else — another command, an option such as ``--help``, a wrong number of arguments — goes to
the typer application (``cli/admin.py``), which also answers usage errors of these two.
"""

from __future__ import annotations

import sys


def lean(args: list[str]) -> bool:
    """Whether ``args`` is a plain call of one of the two commands sshd runs."""
    if not args or any(word.startswith("-") for word in args[1:]):
        return False
    if args[0] == "ssh-keys":
        return 2 <= len(args) <= 3
    return args[0] == "ssh-serve" and len(args) == 2 and args[1].isdigit()


def main() -> None:
    args = sys.argv[1:]
    if lean(args):
        from hearth.cli import sshlean

        if args[0] == "ssh-keys":
            sys.exit(sshlean.ssh_keys(args[1], args[2] if len(args) > 2 else None))
        sys.exit(sshlean.ssh_serve(int(args[1])))
    from hearth.cli.admin import main as admin

    admin()

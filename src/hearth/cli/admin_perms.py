# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth perms explain USER OBJECT``: the permission explainer of the API's
``explain_permission`` (``services/explainer.py``), asked as the first admin.

OBJECT is ``repo:NAME`` (or a bare repository name), ``group:NAME`` (a repository group) or
``usergroup:NAME``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hearth.cli.admin_context import acting_admin, connect
from hearth.cli.admin_output import JsonFlag, plain, print_json, show, table
from hearth.services import explainer

perms_app = typer.Typer(help="Permissions: explain who may do what, and why.", no_args_is_help=True)


@perms_app.command("explain")
def explain(
    user: Annotated[str, typer.Argument(help="The username (or id) asked about.")],
    target: Annotated[
        str,
        typer.Argument(metavar="OBJECT", help="repo:NAME (or NAME), group:NAME or usergroup:NAME."),
    ],
    json_output: JsonFlag = False,
) -> None:
    """Show USER's effective permission on OBJECT and every rule behind it."""
    object_type, name = explainer.parse_object(target)
    refs: dict[str, str | None] = {"repoid": None, "repogroupid": None, "usergroupid": None}
    key = {"repository": "repoid", "repository_group": "repogroupid", "user_group": "usergroupid"}
    refs[key[object_type]] = name
    with connect() as (_database, db):
        answer = explainer.explain_permission(db, acting_admin(db), user, **refs)
    if json_output:
        print_json(answer.as_json())
        return
    typer.echo(f"{answer.user} on {answer.object_type} `{answer.object_name}`: {answer.permission}")
    shown = table("", "rule", "permission", "via", "inherited from")
    for b in answer.because:
        shown.add_row(
            "*" if b.effective else "",
            b.rule,
            b.permission,
            plain(b.via),
            plain(b.inherited_from or ""),
        )
    show(shown)

# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth group …`` (repository groups) and ``hearth user-group …`` (user groups).

The commands act as the first admin and call the services the API's ``*_repo_group`` and
``*_user_group`` methods call (``services/repogroups.py``, ``services/usergroups.py``), so the
rules, the order of checks and the error texts are the API's (``methods.md`` §3, §6); ``--json``
prints the API's results.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hearth.cli.admin_context import acting_admin, connect, settings
from hearth.cli.admin_output import JsonFlag, plain, print_json, show, table, yes
from hearth.services import repogroups, usergroups
from hearth.shapes import repo_group, user_group

group_app = typer.Typer(
    help="Repository groups: create, list, delete (empty ones).", no_args_is_help=True
)
user_group_app = typer.Typer(
    help="User groups: create, list, add and remove members, delete.", no_args_is_help=True
)

Owner = Annotated[str | None, typer.Option(help="The owner's username (default: the first admin).")]


def _say(json_output: bool, result: dict[str, Any]) -> None:
    if json_output:
        print_json(result)
    else:
        typer.echo(result["msg"])


# --- hearth group -------------------------------------------------------------------------------


@group_app.command("create")
def group_create(
    name: Annotated[str, typer.Argument(help="Full path (`parent/name`); the parent must exist.")],
    description: Annotated[
        str, typer.Option(help="Description (default: the last part of the name).")
    ] = "",
    owner: Owner = None,
    copy_permissions: Annotated[
        bool, typer.Option("--copy-permissions", help="Copy the parent group's permissions.")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Create a repository group (and its directory), as the API's create_repo_group does."""
    config = settings()
    new = repogroups.NewGroup(name, description, owner, None, copy_permissions)
    with connect(config) as (_database, db):
        group = repogroups.create_group(db, acting_admin(db), config.repos, new)
        shape = repo_group(repogroups.view(db, group))
    _say(json_output, {"msg": f"created new repo group `{name}`", "repo_group": shape})


@group_app.command("list")
def group_list(json_output: JsonFlag = False) -> None:
    """List every repository group, as the API's get_repo_groups does."""
    with connect() as (_database, db):
        found = [repo_group(v) for v in repogroups.list_all(db)]
    if json_output:
        print_json(found)
        return
    shown = table("ID", "name", "owner", "repositories", "description")
    for group in found:
        shown.add_row(
            str(group["group_id"]),
            plain(group["group_name"]),
            plain(group["owner"]),
            str(len(group["repositories"])),
            plain(group["group_description"]),
        )
    show(shown)


@group_app.command("delete")
def group_delete(
    name: Annotated[str, typer.Argument(help="Full path or ID of an empty group.")],
    json_output: JsonFlag = False,
) -> None:
    """Delete an empty repository group and its directory, as the API's delete_repo_group does."""
    config = settings()
    with connect(config) as (_database, db):
        ident, path = repogroups.delete_group(db, acting_admin(db), config.repos, name)
    _say(json_output, {"msg": f"deleted repo group ID:{ident} {path}", "repo_group": None})


# --- hearth user-group --------------------------------------------------------------------------


def _user_group_shape(db: Any, group: Any) -> dict[str, Any]:
    return user_group(usergroups.details(db, [group])[0])


@user_group_app.command("create")
def user_group_create(
    name: Annotated[str, typer.Argument(help="The group's name.")],
    description: Annotated[str, typer.Option(help="Description.")] = "",
    owner: Owner = None,
    active: Annotated[
        bool, typer.Option("--active/--inactive", help="Whether its permissions apply.")
    ] = True,
    json_output: JsonFlag = False,
) -> None:
    """Create a user group, as the API's create_user_group does."""
    with connect() as (_database, db):
        group = usergroups.create(
            db, acting_admin(db), name=name, description=description, owner=owner, active=active
        )
        shape = _user_group_shape(db, group)
    msg = f"created new user group `{shape['group_name']}`"
    _say(json_output, {"msg": msg, "user_group": shape, "users_group": shape})


@user_group_app.command("list")
def user_group_list(json_output: JsonFlag = False) -> None:
    """List every user group with its members, as the API's get_user_groups does."""
    with connect() as (_database, db):
        groups = usergroups.list_visible(db, acting_admin(db))
        found = [user_group(d) for d in usergroups.details(db, groups)]
    if json_output:
        print_json(found)
        return
    shown = table("ID", "name", "owner", "active", "members", "description")
    for group in found:
        shown.add_row(
            str(group["users_group_id"]),
            plain(group["group_name"]),
            plain(group["owner"]),
            yes(group["active"]),
            plain(", ".join(m["username"] for m in group["members"])),
            plain(group["group_description"]),
        )
    show(shown)


@user_group_app.command("add")
def user_group_add(
    group: Annotated[str, typer.Argument(help="Group name or ID.")],
    user: Annotated[str, typer.Argument(help="Username or ID.")],
    json_output: JsonFlag = False,
) -> None:
    """Add USER to GROUP, as the API's add_user_to_user_group does."""
    with connect() as (_database, db):
        change = usergroups.add_member(db, acting_admin(db), group, user)
        answer = usergroups.membership_answer(change, added=True)
    _say(json_output, answer)


@user_group_app.command("remove")
def user_group_remove(
    group: Annotated[str, typer.Argument(help="Group name or ID.")],
    user: Annotated[str, typer.Argument(help="Username or ID.")],
    json_output: JsonFlag = False,
) -> None:
    """Remove USER from GROUP, as the API's remove_user_from_user_group does."""
    with connect() as (_database, db):
        change = usergroups.remove_member(db, acting_admin(db), group, user)
        answer = usergroups.membership_answer(change, added=False)
    _say(json_output, answer)


@user_group_app.command("delete")
def user_group_delete(
    group: Annotated[str, typer.Argument(help="Group name or ID.")],
    json_output: JsonFlag = False,
) -> None:
    """Delete a user group, as the API's delete_user_group does (refused while it holds
    permissions on repositories)."""
    with connect() as (_database, db):
        ident, name = usergroups.delete_group(db, acting_admin(db), group)
    _say(json_output, {"msg": f"deleted user group ID:{ident} {name}", "user_group": None})

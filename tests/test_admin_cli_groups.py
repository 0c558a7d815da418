# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth group …`` and ``hearth user-group …``, and how ``hearth`` prints (issue 12 item 6):
tables into a pipe keep whole rows, ``--help`` shows no ``<bool>`` for flags.

The commands run in process (``tests/test_admin_cli.py`` ``hearth``) against a live instance;
what they did is checked through the API.
"""

from __future__ import annotations

import re

from tests.live import LiveServer, unique
from tests.test_admin_cli import as_json, hearth


def test_group_create_list_delete(server: LiveServer) -> None:
    env = server.env
    parent = unique("grp")
    done = hearth(env, "group", "create", parent, "--description", "naïve [team]")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"created new repo group `{parent}`\n"
    child = f"{parent}/{unique('sub')}"
    created = as_json(hearth(env, "group", "create", child, "--json"))
    assert created["msg"] == f"created new repo group `{child}`"
    groups = {g["group_name"]: g for g in server.ok("get_repo_groups")}
    assert created["repo_group"] == groups[child]
    shown = server.ok("get_repo_group", repogroupid=child)
    assert (shown["group_name"], shown["parent_group"], shown["owner"]) == (child, parent, "admin")
    assert (server.home / "repos" / child).is_dir()

    listed = as_json(hearth(env, "group", "list", "--json"))
    assert listed == server.ok("get_repo_groups")
    table = hearth(env, "group", "list")
    row = next(line for line in table.stdout.splitlines() if f" {parent} " in line)
    assert " admin " in row and "naïve [team]" in row  # brackets are not markup

    # the API's refusals and texts
    done = hearth(env, "group", "create", child)
    assert (done.returncode, done.stderr) == (1, f"hearth: repo group `{child}` already exist\n")
    done = hearth(env, "group", "create", f"{unique('nope')}/x")
    assert done.returncode == 1 and "does not exist" in done.stderr
    done = hearth(env, "group", "delete", parent)
    assert done.returncode == 1 and "it still contains 0 repositories and 1" in done.stderr

    deleted = as_json(hearth(env, "group", "delete", child, "--json"))
    assert deleted == {
        "msg": f"deleted repo group ID:{shown['group_id']} {child}",
        "repo_group": None,
    }
    done = hearth(env, "group", "delete", parent)
    assert done.returncode == 0 and done.stdout.startswith("deleted repo group ID:")
    assert parent not in [g["group_name"] for g in server.ok("get_repo_groups")]
    assert not (server.home / "repos" / parent).exists()


def test_user_group_create_list_add_remove_delete(server: LiveServer) -> None:
    env = server.env
    user, _ = server.new_user()
    name = unique("ug")
    created = as_json(hearth(env, "user-group", "create", name, "--description", "d", "--json"))
    assert created["msg"] == f"created new user group `{name}`"
    assert created["user_group"] == created["users_group"]
    assert created["user_group"] == server.ok("get_user_group", usergroupid=name)

    done = hearth(env, "user-group", "add", name, user["username"])
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"added member `{user['username']}` to user group `{name}`\n"
    again = as_json(hearth(env, "user-group", "add", name, user["username"], "--json"))
    assert again == {"success": False, "msg": "User is already in that group"}
    members = server.ok("get_user_group", usergroupid=name)["members"]
    assert [m["username"] for m in members] == [user["username"]]

    listed = as_json(hearth(env, "user-group", "list", "--json"))
    assert next(g for g in listed if g["group_name"] == name) == server.ok(
        "get_user_group", usergroupid=name
    )
    table = hearth(env, "user-group", "list")
    row = next(line for line in table.stdout.splitlines() if f" {name} " in line)
    assert f" {user['username']} " in row and " yes " in row

    removed = as_json(hearth(env, "user-group", "remove", name, user["username"], "--json"))
    assert removed == {
        "success": True,
        "msg": f"removed member `{user['username']}` from user group `{name}`",
    }
    done = hearth(env, "user-group", "remove", name, user["username"])
    assert done.stdout == "User wasn't in group\n"
    done = hearth(env, "user-group", "add", name, "ghost-nobody")
    assert (done.returncode, done.stderr) == (1, "hearth: user `ghost-nobody` does not exist\n")

    group_id = created["user_group"]["users_group_id"]
    done = hearth(env, "user-group", "delete", name)
    assert (done.returncode, done.stdout) == (0, f"deleted user group ID:{group_id} {name}\n")
    assert server.err("get_user_group", usergroupid=name) == f"user group `{name}` does not exist"
    done = hearth(env, "user-group", "delete", name)
    assert (done.returncode, done.stderr) == (1, f"hearth: user group `{name}` does not exist\n")


def test_tables_into_a_pipe_keep_whole_rows(server: LiveServer) -> None:
    """The runner's stdout is not a terminal: however wide, a row stays on one line (the
    runner sets COLUMNS=250; these rows are wider)."""
    name = f"{unique('wide')}/{'hgtool' * 8}"
    description = "admin@example.com " * 12
    server.ok("create_repo", repo_name=name, repo_type="hg", description=description)
    table = hearth(server.env, "repo", "list")
    assert table.returncode == 0, table.stderr
    rows = [line for line in table.stdout.splitlines() if name in line]
    assert len(rows) == 1 and description.strip() in rows[0], table.stdout
    assert len(rows[0]) > 250


def test_help_shows_no_bool_for_flags(server: LiveServer) -> None:
    for command in ([], ["repo"], ["user", "create"], ["group", "create"], ["user-group", "list"]):
        done = hearth(server.env, *command, "--help")
        assert done.returncode == 0, done.stderr
        assert "--help" in done.stdout and "<bool>" not in done.stdout, done.stdout
    done = hearth(server.env, "user", "create", "--help")
    assert re.search(r"--json +Print JSON for scripts", done.stdout)
    assert re.search(r"--email +<str>", done.stdout)  # options with a value keep their type

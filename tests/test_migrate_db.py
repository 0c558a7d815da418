# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth admin migrate-db --to postgresql://…`` (issue 18, "Operations"): an instance on SQLite
with users, keys, groups, permissions, repositories (git and hg, a fork), gists and journal is moved
to a fresh PostgreSQL database and checked through the API of a server started on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import _require_postgres
from tests.live import LiveServer, create_pg_database, drop_pg_database
from tests.vcs_clients import PASSWORD, Clients, journal, repo_url


def snapshot(live: LiveServer) -> Any:
    """Everything the API shows an admin about the instance (its own address written BASE)."""
    repos = live.ok("get_repos")
    shown = {
        "users": live.ok("get_users"),
        "user_groups": live.ok("get_user_groups"),
        "repos": repos,
        "repo": {r["repo_name"]: live.ok("get_repo", repoid=r["repo_name"]) for r in repos},
        "groups": live.ok("get_repo_groups"),
        "gists": live.ok("get_gists"),
        "journal": {r["repo_name"]: journal(live, r["repo_name"]) for r in repos},
    }
    host = live.url.split("://", 1)[1]
    return json.loads(json.dumps(shown).replace(host, "BASE"))


def test_move_an_instance_from_sqlite_to_postgresql(tmp_path: Path) -> None:
    _require_postgres()
    home = tmp_path / "instance"
    live = LiveServer(home, f"sqlite:///{home / 'hearth.db'}").start()
    target = create_pg_database()
    try:
        user, user_key = live.new_user("dev", password=PASSWORD)
        login = user["username"]
        group = live.ok("create_user_group", group_name="devs")["user_group"]
        live.ok("add_user_to_user_group", usergroupid="devs", userid=login)
        live.ok("create_repo_group", group_name="team")
        live.ok("create_repo_group", group_name="team/inner")
        live.ok(
            "grant_user_permission_to_repo_group",
            repogroupid="team",
            userid=login,
            perm="group.write",
        )
        clients = Clients(tmp_path / "clients")
        heads = {}
        for kind in ("git", "hg"):
            name = f"team/inner/{kind}-repo"
            live.ok("create_repo", repo_name=name, repo_type=kind, private=True)
            live.ok("grant_user_permission", repoid=name, userid=login, perm="repository.write")
            live.ok(
                "grant_user_group_permission",
                repoid=name,
                usergroupid="devs",
                perm="repository.read",
            )
            work = clients.seeded(kind)
            clients.push(kind, work, repo_url(live, name, login, PASSWORD))
            heads[name] = clients.tip(kind, work)
        live.ok("fork_repo", repoid="team/inner/git-repo", fork_name="forks/git-fork")
        live.ok("fork_repo", repoid="forks/git-fork", fork_name="forks/fork-of-fork")
        live.ok("create_gist", files={"a.txt": {"content": "hello"}}, description="g1")
        live.ok("create_gist", user_key, files={"b.txt": {"content": "bye"}}, gist_type="private")
        live.ok("add_user_to_user_group", usergroupid=group["users_group_id"], userid="admin")
        before = snapshot(live)
        live.stop()

        moved = live.cli("admin", "migrate-db", "--to", target)
        assert "row counts checked" in moved.stdout
        assert "repositories: 4 rows" in moved.stdout

        again = live.cli("admin", "migrate-db", "--to", target, check=False)
        assert again.returncode == 1
        assert "the target database is not empty" in again.stderr

        after_server = LiveServer(home, target)
        after_server.log = home / "server-pg.log"
        after_server.start()
        try:
            after = snapshot(after_server)
            assert after == before
            # keys, passwords, permissions moved: the user's old key and password still work
            assert after_server.ok("get_user", user_key)["username"] == login
            for name, head in heads.items():
                kind = "git" if "git" in name else "hg"
                clone = clients.clone(kind, repo_url(after_server, name, login, PASSWORD))
                assert clients.tip(kind, clone.dest) == head
            # the sequences were moved past the copied ids: new rows get new ids
            fresh = after_server.ok("create_repo", repo_name="after-move", repo_type="git")["repo"]
            assert fresh["repo_id"] > max(r["repo_id"] for r in before["repos"])
            after_server.new_user("later")
            after_server.ok("create_repo_group", group_name="later-group")
        finally:
            after_server.stop()
    finally:
        live.stop()
        drop_pg_database(target)

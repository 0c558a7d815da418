# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository listing and creation at scale.

Builds 10,000 repositories (database rows written in bulk, plus a sample created on disk through the
API), 1,000 users and 100 user groups, on a real Hearth server. A non-admin reaches most repositories
through user-group rows; a third of the repositories are private. Then prints:

- ``get_repos`` wall time for the admin and for that non-admin (targets: < 150 ms each),
- ``get_repo`` latency (target p50 < 2 ms) and ``create_repo`` latency (target p50 < 20 ms),
- as the same-run floor, the time to fetch the same rows with the raw ``sqlite3`` module and encode
  them with orjson — what listing costs with no framework at all.

    .venv/bin/python bench/repos.py [--repos 10000] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live import LiveServer, create_pg_database, drop_pg_database  # noqa: E402

from hearth.db.models import (  # noqa: E402
    Follower,
    Repository,
    RepoUserGroupPerm,
    RepoUserPerm,
    User,
    UserGroup,
    UserGroupMember,
)
from hearth.db.session import Database  # noqa: E402


def populate(url: str, repos: int, users: int, groups: int) -> None:
    database = Database(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with database.session() as db:
        db.bulk_insert_mappings(  # type: ignore[arg-type]
            User,
            [
                {"username": f"user{i}", "username_lower": f"user{i}", "password": "",
                 "email": f"user{i}@example.com", "firstname": "", "lastname": "", "active": True,
                 "admin": False, "extern_type": "internal", "extern_name": "", "description": "",
                 "force_password_change": False, "created_on": now}
                for i in range(users)
            ],
        )  # fmt: skip
        ids = dict(db.query(User.username, User.user_id).all())
        owner = ids["admin"]
        db.bulk_insert_mappings(  # type: ignore[arg-type]
            UserGroup,
            [{"group_name": f"team{i}", "description": "", "active": True, "owner_id": owner,
              "created_on": now} for i in range(groups)],
        )  # fmt: skip
        group_ids = [
            g for (g,) in db.query(UserGroup.users_group_id).order_by(UserGroup.users_group_id)
        ]
        db.bulk_insert_mappings(  # type: ignore[arg-type]
            UserGroupMember,
            [
                {"users_group_id": group_ids[i % groups], "user_id": ids[f"user{i}"]}
                for i in range(users)
            ],
        )
        cache = {"short_id": "a" * 12, "raw_id": "a" * 40, "revision": 41, "message": "message\n",
                 "date": 1700000000.0, "author": "A U <a@example.com>"}  # fmt: skip
        db.bulk_insert_mappings(  # type: ignore[arg-type]
            Repository,
            [{"repo_name": f"bulk/g{i % 50}/repo{i}", "repo_type": "git" if i % 2 else "hg",
              "private": i % 3 == 0, "description": f"repository {i}", "created_on": now,
              "updated_on": now, "owner_id": owner, "landing_rev": "rev:tip",
              "enable_statistics": False, "enable_downloads": False, "enable_locking": False,
              "changeset_cache": cache, "state": "ready"} for i in range(repos)],
        )  # fmt: skip
        repo_ids = [
            r for (r,) in db.query(Repository.repo_id).filter(Repository.repo_name.like("bulk/%"))
        ]
        default_id = ids["default"]
        db.bulk_insert_mappings(  # type: ignore[arg-type]
            RepoUserPerm,
            [{"repo_id": r, "user_id": default_id, "level": 0 if i % 3 == 0 else 1}
             for i, r in enumerate(repo_ids)],
        )  # fmt: skip
        # every group reads a slice of the repositories; the bench user's group reads 5,000
        db.bulk_insert_mappings(  # type: ignore[arg-type]
            RepoUserGroupPerm,
            [{"repo_id": r, "users_group_id": group_ids[i % groups], "level": 3}
             for i, r in enumerate(repo_ids)]
            + [{"repo_id": r, "users_group_id": group_ids[1], "level": 1}
               for i, r in enumerate(repo_ids[: repos // 2]) if i % groups != 1],
        )  # fmt: skip
        db.bulk_insert_mappings(  # type: ignore[arg-type]
            Follower, [{"repo_id": r, "user_id": owner, "follows_from": now} for r in repo_ids]
        )
    if not database.is_sqlite:
        # Bulk-inserted tables have no statistics until autovacuum's next ANALYZE (within a
        # minute on a live server); without them the planner expects 11 repositories and loops
        # over 10,000 x 1,000 rows (870 ms instead of ~100 ms). Do now what autovacuum does.
        with database.engine.connect() as conn:
            conn.exec_driver_sql("COMMIT")
            conn.exec_driver_sql("ANALYZE")
    database.dispose()


def timed(client: httpx.Client, body: dict, runs: int) -> tuple[list[float], object]:
    payload = json.dumps(body)
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        response = client.post(
            "/_admin/api", content=payload, headers={"content-type": "text/plain"}
        )
        # request sent to last byte received; decoding the 6 MB answer is the client's cost
        times.append((time.perf_counter() - started) * 1000)
        reply = orjson.loads(response.content)
        if reply["error"] is not None:
            raise RuntimeError(reply["error"])
        result = reply["result"]
    return times, result


def floor_ms(db_file: Path) -> float:
    """Fetch the same columns with raw sqlite3 and encode them: listing with no framework."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        conn = sqlite3.connect(db_file)
        rows = conn.execute(
            "SELECT r.repo_id, r.repo_name, r.repo_type, r.clone_uri, r.private, r.created_on, "
            "r.description, r.landing_rev, u.username, r.enable_statistics, r.enable_downloads, "
            "r.changeset_cache, r.enable_locking FROM repositories r JOIN users u ON u.user_id = r.owner_id "
            "ORDER BY r.repo_id"
        ).fetchall()
        orjson.dumps(
            [dict(zip(range(13), row, strict=True)) for row in rows], option=orjson.OPT_NON_STR_KEYS
        )
        conn.close()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repos", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp())
    pg_url = create_pg_database() if args.postgres else None
    url = pg_url or f"sqlite:///{home / 'hearth.db'}"
    server = LiveServer(home, url, log_level="warning")
    server.start()
    try:
        server.stop()  # populate with the server down, then start it again
        started = time.perf_counter()
        populate(url, args.repos, args.users, args.groups)
        print(f"populated {args.repos} repositories, {args.users} users, {args.groups} groups "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        server.client = httpx.Client(base_url=server.url, timeout=120)
        server._spawn()
        user_key = server.cli("admin", "api-key", "user1").stdout.strip().splitlines()[-1]
        # a sample of real repositories on disk, created through the API (create_repo latency)
        create_ms, _ = [], None
        for i in range(30):
            t, _ = timed(server.client, {"id": 1, "api_key": server.admin_key, "method": "create_repo",
                                         "args": {"repo_name": f"disk/sample{i}", "repo_type": "git" if i % 2 else "hg"}}, 1)  # fmt: skip
            create_ms += t
        admin_ms, admin_list = timed(
            server.client,
            {"id": 1, "api_key": server.admin_key, "method": "get_repos", "args": {}},
            5,
        )
        user_ms, user_list = timed(
            server.client, {"id": 1, "api_key": user_key, "method": "get_repos", "args": {}}, 5
        )
        repo_ms, _ = timed(
            server.client,
            {
                "id": 1,
                "api_key": server.admin_key,
                "method": "get_repo",
                "args": {"repoid": "bulk/g7/repo7"},
            },
            200,
        )
        print(
            f"get_repos admin:     {statistics.median(admin_ms):7.1f} ms median for {len(admin_list)} repositories (target < 150 ms)"
        )  # type: ignore[arg-type]
        print(
            f"get_repos non-admin: {statistics.median(user_ms):7.1f} ms median for {len(user_list)} repositories via groups (target < 150 ms)"
        )  # type: ignore[arg-type]
        print(
            f"get_repo  p50 {statistics.median(repo_ms):6.2f} ms  p99 {sorted(repo_ms)[197]:6.2f} ms (target p50 < 2 ms)"
        )
        print(
            f"create_repo p50 {statistics.median(create_ms):6.1f} ms  max {max(create_ms):6.1f} ms (target p50 < 20 ms)"
        )
        if not pg_url:
            floor = floor_ms(home / "hearth.db")
            print(f"floor (raw sqlite3 + orjson, same rows): {floor:.1f} ms; get_repos admin / floor = "
                  f"{statistics.median(admin_ms) / floor:.2f}x")  # fmt: skip
        print("reference Kallithea: 70 ms to list 210 repositories, 44 ms to create one")
    finally:
        server.stop()
        if pg_url:
            drop_pg_database(pg_url)


if __name__ == "__main__":
    main()

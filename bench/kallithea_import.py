# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth admin import-kallithea`` at scale, against a plain copy of the repositories.

Generates a Kallithea 0.7 instance from the test fixture (``tests/fixtures/``): its database
schema and catalogue as Kallithea made them, plus ``--users`` users (one bcrypt hash shared, so
generation does not spend minutes hashing), ``--repos`` repositories (half git, half hg, each a
copy of a small repository with three commits, spread over 20 repository groups), a ``default``
row and a user row per repository, one extra key per ten users and a journal entry per
repository. Then, in the same run:

- the floor: ``shutil.copytree`` of the whole repository root (what moving the data costs), once
  before and once after the import (the faster counts: other work on the machine comes and goes);
- the import into a fresh instance (``hearth init``), as a process, the way an operator runs it;

and prints both times and their ratio. Nothing is asserted: figures only.

    .venv/bin/python bench/kallithea_import.py [--users 1000] [--repos 2000] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live import LiveServer, create_pg_database, drop_pg_database  # noqa: E402
from tests.vcs_fixtures import HG, clean_env  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "kallithea-0.7-instance.tar.gz"
GROUPS = 20


def _run(argv: list[str], cwd: Path) -> None:
    subprocess.run(argv, cwd=cwd, env=clean_env(cwd), check=True, capture_output=True)


def templates(tmp: Path) -> dict[str, Path]:
    """One small bare git and one hg repository with three commits each."""
    work = tmp / "work-git"
    _run(["git", "init", "-q", "-b", "master", str(work)], tmp)
    for i in range(3):
        (work / f"f{i}.txt").write_text(f"file {i}\n" * 50)
        _run(["git", "add", "."], work)
        _run(["git", "-c", "user.name=B", "-c", "user.email=b@x", "commit", "-qm", f"c{i}"], work)
    _run(["git", "clone", "-q", "--bare", str(work), str(tmp / "tpl-git")], tmp)
    hg = tmp / "tpl-hg"
    _run([HG, "init", str(hg)], tmp)
    for i in range(3):
        (hg / f"f{i}.txt").write_text(f"file {i}\n" * 50)
        _run([HG, "commit", "-q", "-A", "-u", "B <b@x>", "-m", f"c{i}"], hg)
    _run([HG, "update", "-q", "null"], hg)
    return {"git": tmp / "tpl-git", "hg": hg}


def generate(tmp: Path, users: int, repos: int) -> Path:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp, filter="data")
    instance = tmp / "kallithea-0.7-instance"
    root = instance / "repos"
    tpl = templates(tmp)
    conn = sqlite3.connect(instance / "kallithea.db")
    perm = dict(conn.execute("SELECT permission_name, permission_id FROM permissions"))
    password = conn.execute("SELECT password FROM users WHERE username = 'alice'").fetchone()[0]
    now = datetime(2026, 1, 1).isoformat(" ")
    first_user = 1000
    conn.executemany(
        "INSERT INTO users (user_id, username, password, active, admin, firstname, lastname, "
        "email, extern_type, api_key, created_on) VALUES (?, ?, ?, 1, 0, 'Gen', ?, ?, "
        "'internal', ?, ?)",
        [
            (first_user + i, f"gen{i}", password, str(i), f"gen{i}@example.com",
             f"{i:040x}", now)
            for i in range(users)
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO user_api_keys (user_id, api_key, description, expires, created_on) "
        "VALUES (?, ?, 'generated', -1, ?)",
        [(first_user + i, f"{i + 10**9:040x}", now) for i in range(0, users, 10)],
    )
    for g in range(GROUPS):
        conn.execute(
            "INSERT INTO groups (group_id, group_name, group_description, user_id, created_on) "
            "VALUES (?, ?, 'generated', 2, ?)",
            (100 + g, f"gen-group-{g}", now),
        )
        conn.execute(
            "INSERT INTO user_repo_group_to_perm (user_id, group_id, permission_id) "
            "VALUES (1, ?, ?)",
            (100 + g, perm["group.read"]),
        )
    rows, perms, logs = [], [], []
    for r in range(repos):
        repo_type = "git" if r % 2 else "hg"
        name = f"gen-group-{r % GROUPS}/repo-{r}"
        owner = first_user + r % max(users, 1) if users else 2
        rows.append(
            (1000 + r, name, repo_type, owner, now, now, 100 + r % GROUPS)
        )  # fmt: skip
        perms.append((1, 1000 + r, perm["repository.read"]))
        if users:
            perms.append((first_user + (r * 7) % users, 1000 + r, perm["repository.write"]))
        logs.append((owner, f"gen{owner - first_user}", 1000 + r, name, now))
        shutil.copytree(tpl[repo_type], root / name, symlinks=True)
    conn.executemany(
        "INSERT INTO repositories (repo_id, repo_name, repo_state, repo_type, user_id, private, "
        "statistics, downloads, description, created_on, updated_on, landing_revision, group_id) "
        "VALUES (?, ?, 'repo_state_created', ?, ?, 0, 0, 0, 'generated', ?, ?, 'rev:tip', ?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO repo_to_perm (user_id, repository_id, permission_id) VALUES (?, ?, ?)", perms
    )
    conn.executemany(
        "INSERT INTO user_logs (user_id, username, repository_id, repository_name, user_ip, "
        "action, action_date) VALUES (?, ?, ?, ?, '127.0.0.1', 'user_created_repo', ?)",
        logs,
    )
    conn.commit()
    conn.close()
    return instance


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repos", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        started = time.monotonic()
        instance = generate(tmp, args.users, args.repos)
        print(f"generated {args.users} users, {args.repos} repositories in "
              f"{time.monotonic() - started:.1f} s")  # fmt: skip

        def plain_copy(into: str) -> float:
            started = time.monotonic()
            shutil.copytree(instance / "repos", tmp / into, symlinks=True)
            return time.monotonic() - started

        floors = [plain_copy("plain-copy-1")]

        pg_url = create_pg_database() if args.postgres else None
        url = pg_url or f"sqlite:///{tmp / 'hearth' / 'hearth.db'}"
        target = LiveServer(tmp / "hearth", url)
        (tmp / "hearth").mkdir()
        target.cli("init")
        try:
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "hearth", "admin", "import-kallithea",
                 "--db", f"sqlite:///{instance / 'kallithea.db'}",
                 "--repos", str(instance / "repos"), "--json"],
                env=target.env, capture_output=True, text=True,
            )  # fmt: skip
            took = time.monotonic() - started
        finally:
            target.client.close()
            if pg_url:
                drop_pg_database(pg_url)
        floors.append(plain_copy("plain-copy-2"))  # after too: the machine's load changes
        floor = min(floors)
        report = json.loads(proc.stdout)
        counts = report["counts"]
        print(f"target: {'PostgreSQL' if pg_url else 'SQLite'}; exit {proc.returncode}; "
              f"{counts['users']} users, {counts['repositories']} repositories, "
              f"{counts['permissions']} permissions, {counts['journal']} journal entries, "
              f"{len(report['skipped'])} skipped")  # fmt: skip
        print(f"plain copy of the repositories: {floor:.2f} s  (before: {floors[0]:.2f} s, "
              f"after: {floors[1]:.2f} s)")  # fmt: skip
        print(f"import (process, wall):         {took:.2f} s  (in the service: "
              f"{report['seconds']:.2f} s)")  # fmt: skip
        print(f"ratio import / plain copy:      {took / floor:.1f}x")


if __name__ == "__main__":
    main()

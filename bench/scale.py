# SPDX-License-Identifier: GPL-3.0-or-later
"""Scaling out: API and clone throughput with 1, 2 and 4 server processes on PostgreSQL.

One PostgreSQL database and one repository store; for each process count the same instance is
served by ``hearth serve --workers N`` (each process its own ``SO_REUSEPORT`` socket) and measured:

* ``get_repo`` requests per second with 8 and 32 concurrent keep-alive clients (``bench/api.py``'s
  asyncio load generator);
* clones per second with 8 concurrent ``git clone`` of a 5 MB repository.

Figures are printed as ratios against one process in the same run (the baseline), since absolute
numbers depend on the machine; the load generator and git run on the same cores as the servers,
so on a 2-core machine the ratios show how much the processes share, not a cluster's gain.

    .venv/bin/python bench/scale.py [--seconds 5] [--processes 1,2,4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import measure  # noqa: E402
from tests.live import LiveServer, create_pg_database, drop_pg_database, free_port  # noqa: E402


def clone_rate(url: str, base: Path, clones: int = 8, rounds: int = 3) -> float:
    """Clones per second with ``clones`` concurrent ``git clone`` runs, over ``rounds`` rounds."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(base), "GIT_TERMINAL_PROMPT": "0"}
    started = time.perf_counter()
    for round_no in range(rounds):
        dests = [base / f"c{round_no}-{n}" for n in range(clones)]
        procs = [
            subprocess.Popen(["git", "clone", "-q", "--bare", url, str(d)], env=env) for d in dests
        ]
        for proc in procs:
            if proc.wait() != 0:
                raise RuntimeError("clone failed")
        for dest in dests:
            shutil.rmtree(dest)
    return clones * rounds / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--processes", default="1,2,4")
    options = parser.parse_args()
    counts = [int(n) for n in options.processes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="hearth-scale-"))
    database = create_pg_database()
    try:
        home = tmp / "home"
        setup = LiveServer(home, database).start()
        setup.ok("create_repo", repo_name="bench", repo_type="git")
        work = tmp / "work"
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp)}
        subprocess.run(["git", "init", "-q", "-b", "master", str(work)], check=True, env=env)
        (work / "data.bin").write_bytes(os.urandom(5 << 20))
        subprocess.run(["git", "-C", str(work), "add", "-A"], check=True, env=env)
        subprocess.run(
            ["git", "-C", str(work), "-c", "user.name=b", "-c", "user.email=b@x", "commit",
             "-q", "-m", "data"], check=True, env=env,
        )  # fmt: skip
        subprocess.run(
            ["git", "--git-dir", str(home / "repos" / "bench"), "fetch", "-q", str(work),
             "master:main"], check=True, env=env,
        )  # fmt: skip
        key = setup.admin_key
        setup.stop()
        body = json.dumps(
            {"id": 1, "api_key": key, "method": "get_repo", "args": {"repoid": "bench"}}
        ).encode()
        results: dict[int, dict[str, float]] = {}
        for count in counts:
            live = LiveServer(home, database, workers=count)
            live.port = free_port()
            live.url = f"http://127.0.0.1:{live.port}"
            live.env["HEARTH_PORT"] = str(live.port)
            live._spawn()
            time.sleep(2 + count)  # every process listening
            try:
                row = {}
                for clients in (8, 32):
                    row[f"api{clients}"] = measure(live.port, body, clients, options.seconds)["rps"]
                row["clone8"] = clone_rate(f"{live.url}/bench", tmp)
                results[count] = row
            finally:
                live.stop()
        base = results[counts[0]]
        print(
            f"{'processes':>9} {'get_repo 8 cl':>16} {'get_repo 32 cl':>16} {'clones/s 8 cl':>16}"
        )
        for count, row in results.items():
            cells = [
                f"{row[k]:8.1f} ({row[k] / base[k]:.2f}x)" for k in ("api8", "api32", "clone8")
            ]
            print(f"{count:>9} " + " ".join(f"{c:>16}" for c in cells))
        print(f"cores: {os.cpu_count()}; ratios against {counts[0]} process(es) in this run")
    finally:
        drop_pg_database(database)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

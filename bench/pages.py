# SPDX-License-Identifier: GPL-3.0-or-later
"""Page latency of the web interface (issue 13), warm p50, against baselines in the same run.

Builds, on a real Hearth server (``hearth serve`` in a subprocess, SQLite):

- 10,000 repositories as database rows (bulk-written, readable by anonymous), for the home page;
- one real git repository with a 200-changeset history (``git fast-import``), a 5,000-line Python
  file and one changeset whose diff has 2,000 changed lines (1,000 removed, 1,000 added);

then fetches, over one keep-alive connection, as a browser (``Accept: text/html``), anonymous:

==========================  ====================================================  ===================
page                        URL                                                   baseline (same data)
==========================  ====================================================  ===================
home, first page            ``/``                                                 —
file view, 5,000 lines      ``/<repo>/files/<rev>/big.py``                       ``git show rev:big.py``
changeset, 2,000-line diff  ``/<repo>/changeset/<rev>``                           ``git show <rev>``
changelog                   ``/<repo>/changelog``                                 ``git log -n 20``
pull request, 201 csets     ``/<repo>/pull-request/<id>``                         ``git log`` + ``git diff``
==========================  ====================================================  ===================

The pull request (issue 15) proposes everything after the first commit: 201 changesets whose diff
holds the 5,000-line file and the 1,000-line one; it carries one general and one inline comment.

and, as the floor of any page, ``/_static/hearth.css`` (a bare Starlette route of the same server,
no database, no template). Each figure is the median of ``--runs`` fetches after one warm-up
fetch (the first fetch, "cold", is reported too: it highlights and renders, later ones hit the
caches keyed by blob and changeset id). "CPU ms" is the server process's CPU time per warm fetch
(from ``/proc``): on a machine busy with other work the wall times grow, this one does not. Targets (issue 13): home and changelog < 20 ms, file view
and changeset < 50 ms.

    .venv/bin/python bench/pages.py [--runs 30] [--repos 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live import LiveServer  # noqa: E402

from hearth.db.models import Repository, RepoUserPerm, User  # noqa: E402
from hearth.db.session import Database  # noqa: E402

ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
HTML = {"accept": "text/html"}


def sh(*args: str | Path, cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=ENV, input=stdin, capture_output=True, check=True
    )
    return done.stdout


def big_python(lines: int, variant: int = 0) -> str:
    """Ordinary-looking Python: functions with docstrings, comments, strings and numbers."""
    out = []
    n = 0
    while len(out) < lines:
        out += [
            f"def function_{n}(value, factor={n + variant}):",
            f'    """Return the value scaled by {n} (variant {variant})."""',
            f"    # a comment on line {len(out) + 3}",
            f"    return value * factor + {n * 3} - len('text {n}')",
            "",
        ]
        n += 1
    return "\n".join(out[:lines]) + "\n"


def build_history(git_dir: Path, commits: int) -> None:
    """``commits`` small linear commits on master, written with ``git fast-import``."""
    sh("git", "init", "-q", "--bare", "-b", "master", git_dir)
    stream = []
    for n in range(commits):
        data = f"change {n}\n".encode()
        message = f"history commit {n}\n\nbody of commit {n}\n".encode()
        stamp = 1_700_000_000 + n * 60
        stream += [
            b"commit refs/heads/master\n",
            b"mark :%d\n" % (n + 1),
            b"author Bench <bench@example.com> %d +0000\n" % stamp,
            b"committer Bench <bench@example.com> %d +0000\n" % stamp,
            b"data %d\n%s" % (len(message), message),
        ]
        if n:
            stream.append(b"from :%d\n" % n)
        stream.append(
            b"M 100644 inline notes/file%d.txt\ndata %d\n%s\n" % (n % 40, len(data), data)
        )
    sh("git", "--git-dir", git_dir, "fast-import", "--quiet", stdin=b"".join(stream))


def add_code(git_dir: Path, work: Path) -> tuple[str, str]:
    """Commit the 5,000-line file, then a changeset rewriting 1,000 lines of another file (a
    2,000-line diff). Returns (file commit, diff commit)."""
    sh("git", "clone", "-q", git_dir, work)
    (work / "big.py").write_text(big_python(5000))
    (work / "changed.py").write_text(big_python(1000))
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-q", "-m", "add the big files", cwd=work)
    first = sh("git", "rev-parse", "HEAD", cwd=work).decode().strip()
    (work / "changed.py").write_text(big_python(1000, variant=7))
    sh("git", "commit", "-q", "-am", "rewrite changed.py (a 2,000-line diff)", cwd=work)
    second = sh("git", "rev-parse", "HEAD", cwd=work).decode().strip()
    sh("git", "push", "-q", "origin", "master", cwd=work)
    return first, second


def populate(url: str, repos: int) -> None:
    """``repos`` repository rows in 50 groups' worth of names, readable by anonymous."""
    database = Database(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    cache = {"short_id": "a" * 12, "raw_id": "a" * 40, "revision": 41, "message": "message\n",
             "date": 1700000000.0, "author": "A U <a@example.com>"}  # fmt: skip
    with database.session() as db:
        ids = dict(db.query(User.username, User.user_id).all())
        db.bulk_insert_mappings(  # type: ignore[arg-type]
            Repository,
            [{"repo_name": f"bulk{i % 50}-repo{i}", "repo_type": "git" if i % 2 else "hg",
              "private": False, "description": f"repository {i}", "created_on": now,
              "updated_on": now, "owner_id": ids["admin"], "landing_rev": "rev:tip",
              "enable_statistics": False, "enable_downloads": False, "enable_locking": False,
              "changeset_cache": cache, "state": "ready"} for i in range(repos)],
        )  # fmt: skip
        repo_ids = [
            r for (r,) in db.query(Repository.repo_id).filter(Repository.repo_name.like("bulk%"))
        ]
        db.bulk_insert_mappings(  # type: ignore[arg-type]
            RepoUserPerm, [{"repo_id": r, "user_id": ids["default"], "level": 1} for r in repo_ids]
        )
    database.dispose()


def inline_comment(server: LiveServer, pr_id: int) -> None:
    """An inline comment on line 10 of changed.py, made as the pages make it."""
    from hearth.config import load_settings
    from hearth.services import lookup, permissions, pullrequests

    settings = load_settings(environ=server.env, config_file=server.home / "no-such-file")
    database = Database(server.database_url)
    with database.session() as db:
        admin = lookup.user(db, "admin")
        actor = permissions.actor_for(db, admin, lookup.user(db, "default").user_id)
        new = pullrequests.NewComment(text="why?", f_path="changed.py", line_no="n10")
        pullrequests.comment(db, actor, settings, pr_id, new)
    database.dispose()


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_ms(pid: int) -> float:
    """CPU time the server has used (the supervisor ``pid`` and its worker processes, all
    threads, and children they waited for), in ms: what a page costs the server, whatever else
    the machine is busy with. The pages are answered by the workers, not by ``pid`` itself."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(_stat(int(entry.name))[1]) == pid:
                    pids.append(int(entry.name))
    ticks = 0
    for each in pids:
        with contextlib.suppress(OSError):
            fields = _stat(each)
            ticks += sum(int(fields[n]) for n in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def fetch_ms(
    client: httpx.Client, path: str, runs: int, pid: int
) -> tuple[float, float, float, int]:
    """(cold ms, warm p50 ms, server CPU ms per warm fetch, body bytes): the first fetch, then
    ``runs`` more."""
    started = time.perf_counter()
    first = client.get(path, headers=HTML)
    cold = (time.perf_counter() - started) * 1000
    if first.status_code != 200:
        raise SystemExit(f"{path}: {first.status_code} {first.text[-1500:]}")
    times = []
    cpu_before = cpu_ms(pid)
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=HTML)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    cpu = (cpu_ms(pid) - cpu_before) / runs
    return cold, statistics.median(times), cpu, len(first.content)


def command_ms(args: list[str | Path], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        sh(*args)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--repos", type=int, default=10_000)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="hearth-pages-"))
    url = f"sqlite:///{home / 'hearth.db'}"
    server = LiveServer(home, url, log_level="warning")
    server.start()
    try:
        server.ok("create_repo", repo_name="bench-code", repo_type="git")
        git_dir = home / "repos" / "bench-code"
        subprocess.run(["rm", "-rf", str(git_dir)], check=True)
        build_history(git_dir, 200)
        file_rev, diff_rev = add_code(git_dir, home / "work")
        root = sh("git", "--git-dir", git_dir, "rev-list", "--max-parents=0", "master").split()[0]
        sh("git", "--git-dir", git_dir, "branch", "pr-base", root.decode())
        server.stop()  # bulk rows with the server down, then start it again
        populate(url, args.repos)
        server.client = httpx.Client(base_url=server.url, timeout=120)
        server._spawn()
        client = httpx.Client(base_url=server.url, timeout=120)
        pr_id = server.ok(
            "create_pull_request",
            source_repo="bench-code",
            target_repo="bench-code",
            source_ref="master",
            target_ref="pr-base",
        )["pull_request_id"]
        server.ok("comment_pullrequest", pull_request_id=pr_id, comment_msg="a *general* comment")
        inline_comment(server, pr_id)
        rows = [
            ("floor: /_static/hearth.css", "/_static/hearth.css", None),
            (f"home, {args.repos} repositories", "/", None),
            (
                "file view, 5,000 lines",
                f"/bench-code/files/{file_rev}/big.py",
                ["git", "--git-dir", git_dir, "show", f"{file_rev}:big.py"],
            ),
            (
                "changeset, 2,000-line diff",
                f"/bench-code/changeset/{diff_rev}",
                ["git", "--git-dir", git_dir, "show", diff_rev],
            ),
            (
                "changelog",
                "/bench-code/changelog",
                ["git", "--git-dir", git_dir, "log", "-n", "20", "master"],
            ),
            (
                "pull request, 201 changesets",
                f"/bench-code/pull-request/{pr_id}",
                [
                    "sh",
                    "-c",
                    f"git --git-dir {git_dir} log pr-base..master >/dev/null && "
                    f"git --git-dir {git_dir} diff pr-base master",
                ],
            ),
        ]
        assert server.process is not None
        pid = server.process.pid
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(
            f"{'page':32} {'cold ms':>9} {'p50 ms':>8} {'CPU ms':>7} {'KiB':>6}"
            f" {'baseline p50':>13} {'ratio':>6}"
        )
        for name, path, baseline in rows:
            cold, warm, cpu, size = fetch_ms(client, path, args.runs, pid)
            line = f"{name:32} {cold:9.1f} {warm:8.1f} {cpu:7.1f} {size / 1024:6.0f}"
            if baseline is not None:
                base = command_ms(baseline, args.runs)
                line += f" {base:10.1f} ms {warm / base:6.2f}"
            print(line)
        print(
            "targets: home and changelog < 20 ms, file view and changeset < 50 ms, "
            "pull request < 100 ms (warm p50)"
        )
        print("reference Kallithea 0.7: changelog 34 ms, file view 286 ms, changeset 169-1,345 ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

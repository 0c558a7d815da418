# SPDX-License-Identifier: GPL-3.0-or-later
"""Raw-file and archive throughput of the web views, against ``git show`` / ``git archive`` run directly.

Builds one git repository (a large file, many small ones), serves it from a real Hearth server
(``hearth serve`` in a subprocess, SQLite) and fetches, over one keep-alive HTTP connection:

- a small and a large raw file (``/<repo>/raw/tip/<path>``) vs ``git show tip:<path>`` (its output read
  whole through a pipe, as the HTTP client reads the answer);
- the archive of tip as zip, tar.gz and tar.bz2: **cold** (the cache emptied before each fetch: build +
  stream) vs ``git archive`` producing the same format (``--format=zip``, ``--format=tar.gz``,
  ``--format=tar | bzip2``), and **warm** (served from the cache) vs the same ``git archive`` run.

Each figure is the median of ``--runs`` runs; the ratio is Hearth's time over the direct command's
(target at most 1.2x).

    .venv/bin/python bench/views.py [--runs 5] [--files 2000] [--big-mb 16]
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live import LiveServer  # noqa: E402

ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def sh(*args: str | Path, cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=ENV, input=stdin, capture_output=True, check=True
    )
    return done.stdout


def build_repo(work: Path, files: int, big_mb: int) -> None:
    """A working repository: ``files`` small text files in 20 directories, one large text file."""
    sh("git", "init", "-q", "-b", "master", work)
    for n in range(files):
        path = work / f"dir{n % 20}" / f"file{n}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            "".join(f"line {i} of file {n}: some ordinary source text\n" for i in range(80))
        )
    with (work / "big.txt").open("wb") as out:  # base64 text: compresses about as source does not
        for _ in range(big_mb * 16):
            out.write(base64.encodebytes(random.randbytes(48 * 1024)))
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-q", "-m", "bench tree", cwd=work)


class RawClient:
    """GETs over one keep-alive connection, the body read into a reused buffer.

    Python's HTTP clients spend more per megabyte than the server does (httpx: ~15 ms of a
    16 MB file), which would be charged to Hearth; ``git show`` on the other side is read
    through a pipe, as here through a socket.
    """

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray(64 << 20)

    def get(self, path: str) -> int:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        view = memoryview(self.buffer)
        got = 0
        while (end := self.buffer.find(b"\r\n\r\n", 0, got)) < 0:
            got += self.sock.recv_into(view[got:])
        head = bytes(self.buffer[:end]).split(b"\r\n")
        assert head[0].split()[1] == b"200", head[0]
        length = next(
            int(line.split(b":", 1)[1])
            for line in head
            if line.lower().startswith(b"content-length:")
        )
        total = end + 4 + length
        while got < total:
            got += self.sock.recv_into(view[got:])
        return length


def median_seconds(
    action: Callable[[], object], runs: int, before: Callable[[], None] | None = None
) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row(label: str, ours: float, theirs: float, size: int, floor_label: str) -> float:
    ratio = ours / theirs
    mb = size / (1 << 20)
    print(
        f"  {label:<24} hearth {ours * 1000:8.1f} ms ({mb / ours:7.1f} MB/s)   "
        f"{floor_label:<26} {theirs * 1000:8.1f} ms ({mb / theirs:7.1f} MB/s)   ratio {ratio:5.2f}x"
        f"{'' if ratio <= 1.2 else '   (over 1.2x)'}"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--big-mb", type=int, default=16)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hearth-bench-views-") as tmp:
        base = Path(tmp)
        work = base / "work"
        build_repo(work, options.files, options.big_mb)
        server = LiveServer(base / "home", f"sqlite:///{base / 'hearth.db'}", log_level="warning")
        server.start()
        try:
            name = "bench/views"
            server.ok("create_repo", repo_name=name, repo_type="git", enable_downloads=True)
            bare = server.home / "repos" / name
            sh("git", "push", "-q", bare, "master", cwd=work)
            tip = sh("git", "rev-parse", "HEAD", cwd=work).decode().strip()
            client = server.client
            ratios: list[float] = []

            raw_client = RawClient(server.port)

            def fetch_raw(url: str) -> Callable[[], int]:
                return lambda: raw_client.get(url)

            def fetch(url: str) -> Callable[[], int]:
                def run() -> int:
                    response = client.get(url)
                    assert response.status_code == 200, response.text
                    return len(response.content)

                return run

            def git_direct(*args: str, pipe_to: list[str] | None = None) -> Callable[[], int]:
                def run() -> int:
                    cmd = ["git", "--git-dir", str(bare), *args]
                    if pipe_to is None:
                        return len(sh(*cmd))
                    first = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE)
                    second = subprocess.run(
                        pipe_to, stdin=first.stdout, capture_output=True, check=True
                    )
                    first.wait()
                    return len(second.stdout)

                return run

            print(
                f"repository: {options.files} small files + big.txt ({options.big_mb} MB), "
                f"median of 200 (small raw file), 20 (big raw file) and {options.runs} runs "
                "(archives), one keep-alive connection"
            )
            print("raw files:")
            # a small file takes milliseconds: a handful of runs would measure warm-up, so
            # raw files get many more runs than the archives
            for path, runs in (("dir3/file3.txt", 200), ("big.txt", 20)):
                runs = max(runs, options.runs)
                ours, theirs = (
                    fetch_raw(f"/{name}/raw/tip/{path}"),
                    git_direct("show", f"master:{path}"),
                )
                size = ours()
                assert size == theirs()
                ratios.append(
                    row(
                        path,
                        median_seconds(ours, runs),
                        median_seconds(theirs, runs),
                        size,
                        "git show",
                    )
                )

            cache = server.home / "repos" / ".hearth" / "archives"

            def empty_cache() -> None:
                shutil.rmtree(cache, ignore_errors=True)

            prefix = f"--prefix=bench_views-{tip[:12]}/"
            direct = {
                ".zip": (git_direct("archive", "--format=zip", prefix, tip), "git archive zip"),
                ".tar.gz": (
                    git_direct("archive", "--format=tar.gz", prefix, tip),
                    "git archive tar.gz",
                ),
                ".tar.bz2": (
                    git_direct("archive", "--format=tar", prefix, tip, pipe_to=["bzip2", "-c"]),
                    "git archive tar | bzip2",
                ),
            }
            print("archives, cold (cache emptied before each fetch):")
            timings: dict[str, float] = {}
            for ext, (theirs, label) in direct.items():
                ours = fetch(f"/{name}/archive/tip{ext}")
                empty_cache()
                size = ours()
                timings[ext] = median_seconds(theirs, options.runs)
                ratios.append(
                    row(
                        ext,
                        median_seconds(ours, options.runs, empty_cache),
                        timings[ext],
                        size,
                        label,
                    )
                )
            print("archives, warm (served from the cache):")
            for ext, (_theirs, label) in direct.items():
                ours = fetch(f"/{name}/archive/tip{ext}")
                size = ours()
                ratios.append(
                    row(ext, median_seconds(ours, options.runs), timings[ext], size, label)
                )
            worst = max(ratios)
            print(
                f"worst ratio {worst:.2f}x ({'within' if worst <= 1.2 else 'over'} the 1.2x target)"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()

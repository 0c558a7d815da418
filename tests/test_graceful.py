# SPDX-License-Identifier: GPL-3.0-or-later
"""Graceful shutdown and reload of ``hearth serve`` (issue 18, "Operations"): a SIGTERM during a
100 MB clone lets the clone finish; a SIGHUP replaces every worker without dropping a connection.

The clone goes through a throttling TCP relay (about 15 MB/s), so it is still running when the
signal arrives; the tests check that it was.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer, descendants
from tests.test_serve import wait_until
from tests.vcs_clients import Clients, repo_dir
from tests.vcs_fixtures import clean_env, git, run

MB = 1 << 20


class Throttle:
    """A TCP relay to ``target`` whose answers flow at about ``rate`` bytes a second."""

    def __init__(self, target: int, rate: int = 15 * MB) -> None:
        self.target, self.rate = target, rate
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, self.rate), daemon=True
            ).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, rate: int | None) -> None:
        chunk = 64 * 1024
        try:
            while data := source.recv(chunk):
                sink.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


def big_repository(live: LiveServer, tmp_path: Path, name: str, size: int = 100 * MB) -> str:
    """A git repository of ``size`` bytes of incompressible content in the store.

    One commit of four random files, written by ``git fast-import`` straight into the store's
    repository onto the branch HEAD of a new repository names (``main``), not pushed. The pack is
    stored uncompressed and without deltas: random bytes neither compress nor delta, so deflating
    them for a working copy and again for a fetch was CPU spent on nothing — the clone carries the
    same hundred megabytes either way."""
    live.ok("create_repo", repo_name=name, repo_type="git")
    stream: list[bytes] = []
    for index in range(4):
        blob = os.urandom(size // 4)
        stream.append(b"blob\nmark :%d\ndata %d\n%s\n" % (index + 1, len(blob), blob))
    stream.append(b"commit refs/heads/main\nmark :5\n")
    stream.append(b"author Tester <tester@example.com> 1700000000 +0000\n")
    stream.append(b"committer Tester <tester@example.com> 1700000000 +0000\n")
    stream.append(b"data 4\nbig\n")
    stream.extend(b"M 100644 :%d blob%d.bin\n" % (index + 1, index) for index in range(4))
    store = str(repo_dir(live, name))
    subprocess.run(
        ["git", "-c", "pack.compression=0", "-c", "core.bigFileThreshold=1m",
         "--git-dir", store, "fast-import", "--quiet"],
        input=b"".join(stream), env=clean_env(tmp_path), check=True,
    )  # fmt: skip
    return run(["git", "--git-dir", store, "rev-parse", "main"], env=clean_env(tmp_path)).strip()


@pytest.fixture
def throttle() -> Iterator[Callable[[int], Throttle]]:
    made: list[Throttle] = []

    def make(port: int) -> Throttle:
        made.append(Throttle(port))
        return made[-1]

    yield make
    for each in made:
        each.close()


def received(dest: Path) -> int:
    """Bytes of pack the clone in ``dest`` has written so far."""
    total = 0
    for path in dest.rglob("*pack*"):
        try:
            total += path.stat().st_size
        except OSError:
            pass
    return total


def test_sigterm_lets_a_running_clone_finish(
    make_server: Callable[..., LiveServer], tmp_path: Path, throttle: Callable[[int], Throttle]
) -> None:
    live = make_server(shutdown_grace=120)
    head = big_repository(live, tmp_path, "big")
    relay = throttle(live.port)
    clients = Clients(tmp_path / "clients")
    dest = tmp_path / "clone"
    proc = clients.popen(["git", "clone", "-q", f"http://127.0.0.1:{relay.port}/big", str(dest)])
    assert wait_until(lambda: received(dest) > 5 * MB, 120), (
        proc.stderr.read() if proc.stderr else ""
    )
    assert live.process is not None
    os.kill(live.process.pid, signal.SIGTERM)  # the parent only, as systemd's stop does
    assert proc.poll() is None, "the clone ended before the signal: the test proves nothing"

    # the server stops accepting while the clone goes on
    def refused() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", live.port), timeout=1) as probe:
                probe.sendall(b"GET /_admin/health HTTP/1.1\r\nHost: x\r\n\r\n")
                return probe.recv(100) == b""
        except OSError:
            return True

    assert wait_until(refused, 30)
    assert proc.poll() is None, "the clone did not survive the stop of accepting"
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert git(dest, "rev-parse", "HEAD").strip() == head
    run(["git", "-C", str(dest), "fsck", "--no-progress"])
    assert (dest / "blob3.bin").stat().st_size == 25 * MB
    live.process.wait(60)  # and then the server exits


def test_sighup_replaces_the_workers_without_dropping_a_connection(
    make_server: Callable[..., LiveServer], tmp_path: Path, throttle: Callable[[int], Throttle]
) -> None:
    live = make_server(workers=2, shutdown_grace=120)
    head = big_repository(live, tmp_path, "big", 60 * MB)
    assert live.process is not None
    parent = live.process.pid

    def workers() -> set[int]:
        """The server processes (not git children, not multiprocessing's resource tracker)."""
        found = set()
        for pid in descendants(parent):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                found.add(pid)
        return found

    assert wait_until(lambda: len(workers()) >= 2)
    before = workers()
    relay = throttle(live.port)
    clients = Clients(tmp_path / "clients")
    dest = tmp_path / "clone"
    proc = clients.popen(["git", "clone", "-q", f"http://127.0.0.1:{relay.port}/big", str(dest)])
    assert wait_until(lambda: received(dest) > 5 * MB, 120)

    failures: list[str] = []
    answered = 0
    done = threading.Event()

    def keep_asking() -> None:
        nonlocal answered
        body = {"id": 1, "api_key": live.admin_key, "method": "get_ip", "args": {}}
        while not done.is_set():
            try:
                with httpx.Client(base_url=live.url, timeout=60) as fresh:  # new connection
                    reply = fresh.post("/_admin/api", json=body)
                    assert reply.status_code == 200 and reply.json()["error"] is None
                    answered += 1
            except Exception as exc:  # a dropped or refused connection
                failures.append(repr(exc))

    askers = [threading.Thread(target=keep_asking) for _ in range(4)]
    for asker in askers:
        asker.start()
    os.kill(parent, signal.SIGHUP)
    try:
        assert wait_until(lambda: not (workers() & before) and len(workers()) >= 2, 120), (
            before,
            workers(),
        )
        # the old workers are gone; the clone they were serving was allowed to finish first
        _, err = proc.communicate(timeout=300)
        time.sleep(1)
    finally:
        done.set()
        for asker in askers:
            asker.join()
    assert proc.returncode == 0, err
    assert git(dest, "rev-parse", "HEAD").strip() == head
    assert failures == [], failures[:5]
    assert answered > 20
    assert live.ok("get_ip")["server_ip_addr"] == "127.0.0.1"

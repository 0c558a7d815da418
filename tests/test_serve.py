# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth serve``: worker processes that share the load, stop together and report a taken port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.live import LiveServer, descendants, free_port


def established_inodes(port: int, state: str = "01") -> set[str]:
    """Inodes of the server side of TCP sockets on ``port`` in ``state`` (01 established,
    0A listening)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_workers_share_keep_alive_connections(make_server: Callable[..., LiveServer]) -> None:
    """Each worker listens on a socket of its own (``SO_REUSEPORT``), so the kernel spreads
    connections over them; with one shared socket, busy keep-alive clients piled onto whichever
    worker woke first (bench/api.py: half the throughput)."""
    live = make_server(workers=2)
    assert live.process is not None
    pid = live.process.pid

    def listeners() -> dict[int, set[str]]:
        listening = established_inodes(live.port, "0A")
        owned = {child: socket_inodes(child) & listening for child in descendants(pid)}
        return {child: inodes for child, inodes in owned.items() if inodes}

    # the server answers as soon as one worker listens; the other may still be starting
    assert wait_until(lambda: len(listeners()) == 2), listeners()
    owners = listeners()
    assert all(len(inodes) == 1 for inodes in owners.values()), owners
    first, second = owners.values()
    assert first != second, "the workers share one listening socket"
    clients = [httpx.Client(base_url=live.url, timeout=30) for _ in range(16)]
    try:
        for client in clients:
            body = f'{{"id":1,"api_key":"{live.admin_key}","method":"get_ip","args":{{}}}}'
            reply = client.post("/_admin/api", content=body).json()
            assert reply["error"] is None
        connections = established_inodes(live.port)
        workers = [pid for pid in descendants(live.process.pid) if socket_inodes(pid) & connections]
        assert len(connections) >= 16
        assert len(workers) == 2, "every connection landed on the same worker"
    finally:
        for client in clients:
            client.close()


def test_sigterm_to_the_parent_stops_every_worker(make_server: Callable[..., LiveServer]) -> None:
    live = make_server(workers=2)
    assert live.process is not None
    assert wait_until(lambda: len(descendants(live.process.pid)) >= 2)
    children = descendants(live.process.pid)
    os.kill(live.process.pid, signal.SIGTERM)  # the parent only, as a service manager does
    live.process.wait(40)
    assert wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children))


def test_a_dead_worker_is_replaced(make_server: Callable[..., LiveServer]) -> None:
    live = make_server(workers=2)
    assert live.process is not None
    assert wait_until(lambda: len(descendants(live.process.pid)) >= 2)
    before = descendants(live.process.pid)
    victim = max(before)
    os.kill(victim, signal.SIGKILL)
    assert wait_until(lambda: len(descendants(live.process.pid) - before) >= 1)
    assert live.ok("get_ip")["server_ip_addr"] == "127.0.0.1"


def test_a_taken_port_is_one_clear_line(
    tmp_path: Path, make_server: Callable[..., LiveServer]
) -> None:
    live = make_server()
    port = free_port()
    holder = socket.socket()
    holder.bind(("127.0.0.1", port))
    holder.listen()
    try:
        for workers in ("1", "2"):
            env = {**live.env, "HEARTH_PORT": str(port), "HEARTH_WORKERS": workers}
            result = subprocess.run(
                [sys.executable, "-m", "hearth", "serve"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 2, result.stderr
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], lines
    finally:
        holder.close()


def test_a_port_taken_by_a_shared_listener_is_refused_too(
    make_server: Callable[..., LiveServer],
) -> None:
    """Our own listeners carry SO_REUSEPORT, so Linux would let a second server bind beside one
    of them and split the connections (an SSH server answering HTTP): both the HTTP port and
    the SSH port are refused instead."""
    live = make_server()
    port = free_port()
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind(("127.0.0.1", port))
    holder.listen()
    try:
        for name, other in (("HEARTH_PORT", {}), ("HEARTH_SSH_PORT", {"HEARTH_PORT": "0"})):
            env = {**live.env, **other, name: str(port)}
            result = subprocess.run(
                [sys.executable, "-m", "hearth", "serve"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 2, (name, result.stderr)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], lines
    finally:
        holder.close()

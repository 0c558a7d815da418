# SPDX-License-Identifier: GPL-3.0-or-later
"""Running uvicorn, in one process or in several that each own a ``SO_REUSEPORT`` socket.

uvicorn's own ``--workers`` shares one listening socket between its workers, and whichever
worker wakes first accepts: API clients keep their connections alive, so a handful of busy
clients ended up on one worker while the other idled (``bench/api.py``, 2 workers, 8 clients:
``get_user`` served 1,590 requests/s with one worker at 40 % CPU and the other at 3 %). Here
every worker binds its own socket to the same address with ``SO_REUSEPORT``, and the kernel
spreads new connections across them evenly.

The parent makes those sockets (one per worker slot, listening) and hands each to its worker, so
an address in use is reported at start with one clear line, and a socket outlives the worker
using it. It then supervises:

* a worker that dies is started again on its slot's socket;
* SIGTERM/SIGINT: the parent closes its copies of the sockets and every worker stops accepting
  (uvicorn's graceful shutdown), lets running requests — clones and pushes included — finish
  for up to ``shutdown_grace`` seconds, and exits;
* SIGHUP: a rolling restart without dropping a connection. For each slot a new worker (new
  code, new settings) starts on the same socket, and once it listens the old one is stopped
  gracefully. The socket and its queue of not-yet-accepted connections never close, so a client
  connecting meanwhile waits in that queue instead of being reset (closing a ``SO_REUSEPORT``
  socket would reset the connections queued on it).

``--workers 1`` is one worker under the same parent, so it reloads the same way.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKER_GRACE = 30.0
"""Seconds a new worker gets to start listening during a reload before the old one stops anyway,
and the default of setting ``shutdown_grace``."""


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    log_level: str
    log_config: dict[str, Any]
    home: Path | None = None  # for the metrics directory
    shutdown_grace: float = WORKER_GRACE
    ssh_port: int = 0  # the built-in SSH server's, which every worker binds itself


def prepare_metrics(home: Path) -> None:
    """Point prometheus-client's multi-process mode at an empty directory before any server
    process imports it (``hearth/metrics.py``): the counts of a previous run must not be added
    to this one's. An operator's own ``PROMETHEUS_MULTIPROC_DIR`` is used (and emptied) as is."""
    target = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or home / "metrics")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(target)


def _config(options: ServeOptions) -> Any:
    import uvicorn

    return uvicorn.Config(
        "hearth.asgi:app",
        factory=True,
        host=options.host,
        port=options.port,
        loop="uvloop",
        http="hearth.smarthttp.direct:DirectProtocol",
        log_config=options.log_config,
        log_level=options.log_level,
        access_log=False,  # hearth.access writes the line, with the client as the rules see it
        timeout_keep_alive=30,
        # SIGTERM: stop accepting, let running requests (a long clone) finish for this long
        timeout_graceful_shutdown=max(1, round(options.shutdown_grace)),
        # client addresses come from the TCP peer unless setting remote_addr_header says so
        proxy_headers=False,
    )


def _socket(host: str, port: int, *, reuse_port: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def announcement(host: str, port: int) -> str:
    """The line printed once the server listens (uvicorn prints none for sockets it was given)."""
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"Hearth serving on http://{netloc} (API: http://{netloc}/_admin/api)"


def _worker(options: ServeOptions, sock: socket.socket, ready: Any, announced: Any) -> None:
    """One uvicorn on ``sock``. The first worker to accept prints :func:`announcement` before it
    handles a connection; ``announced`` (a flag shared by the workers, set from then on, so
    replacements stay quiet) decides which one: with several sockets the kernel may hand the first
    connection to any worker, so the first one up must be the one that speaks."""
    import threading

    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                with announced.get_lock():
                    if not announced.value:
                        print(announcement(options.host, sock.getsockname()[1]), flush=True)
                        announced.value = 1

    server = Server(_config(options))

    def signal_ready() -> None:  # the parent stops the worker this one replaces once it listens
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        ready.set()

    threading.Thread(target=signal_ready, daemon=True).start()
    server.run(sockets=[sock])


def _listening(host: str, port: int) -> socket.socket:
    sock = _socket(host, port)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class PortTaken(OSError):
    """:func:`claim` found ``port`` taken (the HTTP port or the SSH one)."""

    def __init__(self, errno: int | None, strerror: str | None, port: int) -> None:
        super().__init__(errno, strerror)
        self.port = port


def claim(host: str, port: int) -> None:
    """Raise OSError (address in use) if anything listens on ``host:port``.

    The listening sockets carry ``SO_REUSEPORT`` so that several workers share a port, and
    Linux lets *any* process of the same user bind such a port beside them: a second
    ``hearth serve`` on a taken port (or a test server handed a port another just took) would
    start without a word and get half the connections — an SSH server answering HTTP
    requests. A plain bind, without the option, fails on any listener, so it is tried first.
    """
    if port == 0:
        return
    try:
        probe = _socket(host, port, reuse_port=False)
    except OSError as exc:
        raise PortTaken(exc.errno, exc.strerror, port) from exc
    probe.close()


def serve(options: ServeOptions) -> None:
    """Serve until SIGTERM/SIGINT (see the module docstring). Raises OSError when an address
    cannot be bound."""
    claim(options.host, options.port)
    if options.ssh_port:
        claim(options.host, options.ssh_port)
    sockets = [_listening(options.host, options.port)]
    sockets += [_listening(options.host, options.port) for _ in range(options.workers - 1)]
    if options.home is not None:
        prepare_metrics(options.home)
    context = multiprocessing.get_context("spawn")
    stopping = False
    reloads = 0

    announced = context.Value("b", 0)

    def start(slot: int) -> Any:
        ready = context.Event()
        process = context.Process(target=_worker, args=(options, sockets[slot], ready, announced))
        process.start()
        process.ready = ready  # type: ignore[attr-defined]
        return process

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    def reload(signum: int, _frame: Any) -> None:
        nonlocal reloads
        reloads += 1

    handlers = {signal.SIGTERM: stop, signal.SIGINT: stop, signal.SIGHUP: reload}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    processes = [start(slot) for slot in range(options.workers)]
    retiring: list[Any] = []
    try:
        while not stopping:
            time.sleep(0.2)
            if reloads:
                reloads = 0
                for slot, old in enumerate(processes):
                    new = start(slot)
                    new.ready.wait(WORKER_GRACE)
                    processes[slot] = new
                    _terminate(old)
                    retiring.append(old)
            retiring = [p for p in retiring if p.is_alive()]
            for slot, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    processes[slot] = start(slot)
    finally:
        for sock in sockets:
            sock.close()  # the workers' copies stay open until each has stopped accepting
        for process in [*processes, *retiring]:
            _terminate(process)
        deadline = time.monotonic() + options.shutdown_grace + 5
        for process in [*processes, *retiring]:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _terminate(process: Any) -> None:
    if process.is_alive() and process.pid is not None:
        os.kill(process.pid, signal.SIGTERM)

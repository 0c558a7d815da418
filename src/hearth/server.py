# SPDX-License-Identifier: GPL-3.0-or-later
"""Running uvicorn, in one process or in several that each own a ``SO_REUSEPORT`` socket.

uvicorn's own ``--workers`` shares one listening socket between its workers, and whichever
worker wakes first accepts: API clients keep their connections alive, so a handful of busy
clients ended up on one worker while the other idled (``bench/api.py``, 2 workers, 8 clients:
``get_user`` served 1,590 requests/s with one worker at 40 % CPU and the other at 3 %). Here
every worker binds its own socket to the same address with ``SO_REUSEPORT``, and the kernel
spreads new connections across them evenly.

The parent binds the address first (without listening), so an address in use is reported at
start with one clear line; it then supervises: a worker that dies is started again, and
SIGTERM/SIGINT stop every worker gracefully.
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
"""Seconds a worker gets to finish its requests after SIGTERM before it is killed."""


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    log_level: str
    log_config: dict[str, Any]
    home: Path | None = None  # for the metrics directory


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
        timeout_keep_alive=30,
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


def _worker(options: ServeOptions) -> None:
    import uvicorn

    sock = _socket(options.host, options.port)
    sock.listen(2048)
    sock.set_inheritable(True)
    uvicorn.Server(_config(options)).run(sockets=[sock])


def serve(options: ServeOptions) -> None:
    """Serve until interrupted. Raises OSError when the address cannot be bound."""
    if options.home is not None:
        prepare_metrics(options.home)
    if options.workers <= 1:
        import uvicorn

        sock = _socket(options.host, options.port, reuse_port=False)
        sock.listen(2048)
        uvicorn.Server(_config(options)).run(sockets=[sock])
        return
    guard = _socket(options.host, options.port)  # fails now if the address is taken
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> Any:
        process = context.Process(target=_worker, args=(options,), daemon=False)
        process.start()
        return process

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    processes = [start() for _ in range(options.workers)]
    try:
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    processes[index] = start()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + WORKER_GRACE
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        guard.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

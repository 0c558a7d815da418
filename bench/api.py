# SPDX-License-Identifier: GPL-3.0-or-later
"""API latency and throughput: ``get_user`` and ``get_ip`` with 1 and 8 concurrent clients.

Starts a real Hearth server (SQLite, or PostgreSQL with ``--postgres``) and, as the baseline measured in
the same run, a bare uvicorn app that answers a constant JSON body: the floor of the HTTP stack on this
machine. The load generator is a small asyncio client over keep-alive connections, so it costs the two
cores as little as possible. Prints p50/p99 latency, requests per second and the ratio to the floor.

    .venv/bin/python bench/api.py [--seconds 5] [--workers 2] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live import LiveServer, create_pg_database, drop_pg_database, free_port  # noqa: E402

FLOOR_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    body = b'{"id":1,"result":{"user_id":2,"username":"admin"},"error":null}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""


async def _client(port: int, request: bytes, stop_at: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if b'"error":null' not in body and b'"error": null' not in body:
                raise RuntimeError(f"unexpected reply: {body[:200]!r}")
    finally:
        writer.close()


def measure(port: int, body: bytes, clients: int, seconds: float) -> dict[str, float]:
    request = (
        b"POST /_admin/api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    latencies: list[float] = []

    async def run() -> None:
        # warm-up
        await _client(port, request, time.perf_counter() + 0.5, [])
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, request, stop_at, latencies) for _ in range(clients)))

    asyncio.run(run())
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def start_floor(workers: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    folder = Path(tempfile.mkdtemp())
    (folder / "floor_app.py").write_text(FLOOR_APP)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "floor_app:app", "--port", str(port), "--workers", str(workers),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
        cwd=folder,
    )  # fmt: skip
    time.sleep(2.0)
    return proc, port, folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp())
    pg_url = create_pg_database() if args.postgres else None
    url = pg_url or f"sqlite:///{home / 'hearth.db'}"
    server = LiveServer(home, url, workers=args.workers, log_level="warning")
    server.start()
    floor, floor_port, _ = start_floor(args.workers)
    try:
        user, _ = server.new_user("bench")
        key = server.admin_key
        calls = {
            "get_user": {
                "id": 1,
                "api_key": key,
                "method": "get_user",
                "args": {"userid": user["user_id"]},
            },
            "get_ip": {"id": 1, "api_key": key, "method": "get_ip", "args": {}},
        }
        backend = "PostgreSQL" if pg_url else "SQLite"
        print(
            f"Hearth API bench: {backend}, {args.workers} worker(s), {args.seconds:.0f} s per run, {os.cpu_count()} cores"
        )
        print(
            f"{'call':<10} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'floor req/s':>12} {'ratio':>6}"
        )
        for clients in (1, 8):
            floor_result = measure(floor_port, b'{"id":1}', clients, args.seconds)
            for name, request in calls.items():
                result = measure(server.port, json.dumps(request).encode(), clients, args.seconds)
                print(
                    f"{name:<10} {clients:>7} {result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f} "
                    f"{result['rps']:>8.0f} {floor_result['rps']:>12.0f} {floor_result['rps'] / result['rps']:>5.2f}x"
                )
        print(
            "targets: get_user p50 < 2 ms and > 2,000 req/s (reference Kallithea: about 90 req/s)"
        )
    finally:
        server.stop()
        floor.terminate()
        floor.wait()
        if pg_url:
            drop_pg_database(pg_url)


if __name__ == "__main__":
    main()

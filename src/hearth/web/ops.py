# SPDX-License-Identifier: GPL-3.0-or-later
"""``/_admin/health`` and ``/_admin/metrics``: what a load balancer and Prometheus ask.

Health needs no key (a load balancer has none) and says little: each check's name, whether it
passed and its error text; 200 when all pass, else 503. Metrics are answered to loopback
addresses, and to the CIDR ranges of setting ``metrics_allowed_ips``; anyone else gets 403. The
client address is the one every other rule uses (``remote_addr_header`` behind a proxy).
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from hearth.metrics import MULTIPROC_ENV
from hearth.services import health

if TYPE_CHECKING:
    from hearth.runtime import Runtime

LOOPBACK = ("127.0.0.0/8", "::1/128")


async def _send(send: Any, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Health:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        found = await run_in_threadpool(health.checks, self.runtime.database, self.runtime.settings)
        ok = all(check.ok for check in found)
        body = {
            "status": "ok" if ok else "failing",
            "checks": {check.name: check.as_dict() for check in found},
        }
        await _send(send, 200 if ok else 503, json.dumps(body).encode(), "application/json")


class Metrics:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        ranges = (*LOOPBACK, *runtime.settings.metrics_allowed_ips)
        self.allowed = [ipaddress.ip_network(r, strict=False) for r in ranges]

    def permitted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.allowed if net.version == ip.version)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not self.permitted(self.runtime.client_address(scope)):
            await _send(send, 403, b"Forbidden\n", "text/plain; charset=utf-8")
            return
        body, content_type = await run_in_threadpool(self._render)
        await _send(send, 200, body, content_type)

    def _render(self) -> tuple[bytes, str]:
        from prometheus_client import (
            CONTENT_TYPE_LATEST,
            REGISTRY,
            CollectorRegistry,
            generate_latest,
            multiprocess,
        )

        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = REGISTRY
        text = generate_latest(registry) + generate_latest(_Shared(self.runtime))
        return text, CONTENT_TYPE_LATEST


class _Shared:
    """The metrics every process reads alike from the database (a registry of one collector)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        with self.runtime.database.sessions() as db:
            counts = health.task_counts(db)
            ages = health.mirror_ages(db)
        tasks = GaugeMetricFamily(
            "hearth_tasks",
            "Background tasks of the last 7 days by state",
            labels=["method", "state"],
        )
        for (method, state), count in sorted(counts.items()):
            tasks.add_metric([method, state], count)
        yield tasks
        depth = GaugeMetricFamily("hearth_task_queue_depth", "Tasks queued, not yet running")
        depth.add_metric([], sum(n for (_, state), n in counts.items() if state == "queued"))
        yield depth
        mirrors = GaugeMetricFamily(
            "hearth_mirror_last_success_age_seconds",
            "Seconds since a mirror's last successful scheduled pull (-1: never)",
            labels=["repository"],
        )
        for name, age in sorted(ages.items()):
            mirrors.add_metric([name], -1.0 if age is None else age)
        yield mirrors

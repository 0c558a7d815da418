# SPDX-License-Identifier: GPL-3.0-or-later
"""``/_admin/health`` and ``/_admin/metrics`` (issue 18, "Operations") on live servers."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx

from tests.live import free_port, unique
from tests.vcs_clients import Clients, repo_url


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text ``text`` (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_health_ok_and_failing_store(make_server) -> None:
    live = make_server()
    answer = live.client.get("/_admin/health")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "status": "ok",
        "checks": {"database": {"ok": True, "error": None}, "store": {"ok": True, "error": None}},
    }
    store = live.home / "repos"
    store.rename(live.home / "elsewhere")
    try:
        answer = live.client.get("/_admin/health")
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "failing"
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["store"]["ok"] is False
        assert "is not a directory" in body["checks"]["store"]["error"]
    finally:
        (live.home / "elsewhere").rename(store)
    assert live.client.get("/_admin/health").status_code == 200


def test_health_reports_an_unreachable_broker(make_server) -> None:
    live = make_server(broker_url=f"redis://127.0.0.1:{free_port()}/0")
    answer = live.client.get("/_admin/health")
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"]["ok"] and checks["store"]["ok"]
    assert checks["broker"]["ok"] is False and checks["broker"]["error"]


def test_metrics_add_up_across_server_processes(make_server, tmp_path: Path) -> None:
    live = make_server(workers=2)
    name = unique("m")
    live.ok("create_repo", repo_name=name, repo_type="git")
    calls = 40
    for _ in range(calls):  # a new connection each time: the kernel spreads them over both
        with httpx.Client(base_url=live.url) as fresh:
            reply = fresh.post(
                "/_admin/api",
                json={
                    "id": 1,
                    "api_key": live.admin_key,
                    "method": "get_repo",
                    "args": {"repoid": name},
                },
            )
            assert reply.json()["error"] is None
    clients = Clients(tmp_path)
    work = clients.seeded("git")
    clients.push("git", work, repo_url(live, name, "admin", "admin-secret-1"))
    clients.clone("git", repo_url(live, name))
    assert live.client.get(f"/{name}/raw/master/").status_code in (200, 404)

    answer = live.client.get("/_admin/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    # every process's counts, whichever process answers
    assert (
        sample(text, "hearth_requests_total", kind="api", method="get_repo", status="200") == calls
    )
    assert sample(text, "hearth_requests_total", kind="api", method="create_repo") == 1
    assert sample(text, "hearth_vcs_operations_total", vcs="git", operation="push") == 1
    assert sample(text, "hearth_vcs_operations_total", vcs="git", operation="clone") == 1
    assert (
        sample(text, "hearth_vcs_bytes_total", vcs="git", operation="push", direction="received")
        > 100
    )
    assert (
        sample(text, "hearth_vcs_bytes_total", vcs="git", operation="clone", direction="sent") > 100
    )
    assert sample(text, "hearth_requests_total", kind="git") >= 4
    assert sample(text, "hearth_requests_total", kind="view") >= 1
    assert sample(text, "hearth_request_duration_seconds_count", kind="api") >= calls + 1
    assert "hearth_task_queue_depth 0.0" in text
    # a second scrape through another connection sees the same counts
    with httpx.Client(base_url=live.url) as fresh:
        again = fresh.get("/_admin/metrics").text
    assert (
        sample(again, "hearth_requests_total", kind="api", method="get_repo", status="200") == calls
    )


def test_metrics_loopback_only_unless_allowed(make_server) -> None:
    closed = make_server(remote_addr_header="X-Forwarded-For")
    assert closed.client.get("/_admin/metrics").status_code == 200  # loopback
    outside = {"X-Forwarded-For": "203.0.113.7"}
    answer = closed.client.get("/_admin/metrics", headers=outside)
    assert answer.status_code == 403
    assert "hearth_" not in answer.text
    opened = make_server(remote_addr_header="X-Forwarded-For", metrics_allowed_ips="203.0.113.0/24")
    assert opened.client.get("/_admin/metrics", headers=outside).status_code == 200
    other = {"X-Forwarded-For": "198.51.100.1"}
    assert opened.client.get("/_admin/metrics", headers=other).status_code == 403


def test_json_access_log(make_server) -> None:
    live = make_server(log_format="json", log_level="info", remote_addr_header="X-Real-IP")
    live.client.post(
        "/_admin/api?api_key=secret-in-query",
        json={"id": 1, "api_key": live.admin_key, "method": "get_ip", "args": {}},
        headers={"X-Real-IP": "192.0.2.44"},
    )
    live.client.get("/_admin/health")

    def access_lines() -> list[dict]:
        text = live.log.read_text()
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        return [line for line in lines if line["logger"] == "hearth.access"]

    # the line is written once the answer is out: wait for it a little
    deadline = time.monotonic() + 10
    while len(access_lines()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    access = access_lines()
    api = [line for line in access if line.get("api_method") == "get_ip"]
    assert len(api) == 1, access
    assert api[0]["client"] == "192.0.2.44"
    assert api[0]["status"] == 200 and api[0]["kind"] == "api"
    assert api[0]["user"] == "admin" and api[0]["repository"] is None
    assert api[0]["request"] == "POST /_admin/api?api_key=*****"
    assert isinstance(api[0]["duration"], float) and api[0]["bytes"] > 0
    assert any(line["request"] == "GET /_admin/health" for line in access)
    text = live.log.read_text()
    assert "secret-in-query" not in text and live.admin_key not in text

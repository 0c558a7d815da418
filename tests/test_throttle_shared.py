# SPDX-License-Identifier: GPL-3.0-or-later
"""The authentication-failure throttle counts across server processes and restarts (issue 18,
item 3): failures are rows in the database, not one process's memory. Delays are checked as
lower bounds only."""

from __future__ import annotations

import time

import httpx

from tests.live import LiveServer


def failed_call(live: LiveServer) -> float:
    """One wrong-key API call on a new connection (any process may take it); its duration."""
    started = time.monotonic()
    with httpx.Client(base_url=live.url, timeout=60) as fresh:
        reply = fresh.post(
            "/_admin/api", json={"id": 1, "api_key": "wrong", "method": "get_user", "args": {}}
        )
    assert reply.json()["error"] == "Invalid API key"
    return time.monotonic() - started


def test_failures_are_counted_by_every_process_and_survive_a_restart(make_server) -> None:
    live = make_server(workers=2, auth_failure_delay_max=2)
    durations = [failed_call(live) for _ in range(8)]
    # the 6th, 7th and 8th failures from this address wait 0.1, 0.2, 0.4 s, whichever process
    # answered each (counted per process, two processes would let 10 through undelayed)
    assert durations[5] >= 0.1 and durations[6] >= 0.2 and durations[7] >= 0.4, durations
    live.stop()
    live.client = httpx.Client(base_url=live.url, timeout=60)
    live._spawn()
    assert failed_call(live) >= 0.8  # the 9th, after a restart: not forgotten
    assert live.ok("get_user")["username"] == "admin"

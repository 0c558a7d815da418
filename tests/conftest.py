# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures: one live server per database backend, shared by the suite.

Tests that use ``server`` run once on SQLite and once on PostgreSQL. Without a reachable PostgreSQL the
PostgreSQL run is skipped, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import compileall
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live import IN_CI, LiveServer, drop_pg_database, new_server, postgres_available

os.environ.setdefault("TZ", "UTC")
time.tzset()


def pytest_configure(config: pytest.Config) -> None:
    """Compile Hearth's modules to bytecode once, before the first test (in the process that starts
    the others): every ``hearth`` process the suite starts (a ``hearth serve`` is two, its
    supervisor and a worker) imports them, and where ``PYTHONDONTWRITEBYTECODE`` is set no process
    writes the cache, so each one compiled all of Hearth again — about 0.2 s of CPU a process, for
    a few hundred processes.
    The cache goes where Python puts it (``__pycache__``, ignored by git)."""
    if not hasattr(config, "workerinput"):
        import hearth

        compileall.compile_dir(Path(hearth.__file__).parent, quiet=1)


def _require_postgres() -> None:
    if postgres_available():
        return
    if IN_CI:
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is required under CI=true")
    pytest.skip("PostgreSQL is not reachable")


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    backend = request.param
    if backend == "postgres":
        _require_postgres()
    live, pg_url = new_server(tmp_path_factory.mktemp(f"hearth-{backend}"), backend)
    yield live
    live.stop()
    if pg_url:
        drop_pg_database(pg_url)


@pytest.fixture
def make_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LiveServer]]:
    """A server with particular settings (SQLite), stopped after the test."""
    started: list[LiveServer] = []

    def make(**settings: Any) -> LiveServer:
        live, _ = new_server(tmp_path_factory.mktemp("hearth-custom"), "sqlite", **settings)
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()


@pytest.fixture(scope="session")
def repo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("repos")


from tests.browser import chromium, page, shots, web_server  # noqa: E402, F401  (browser fixtures)

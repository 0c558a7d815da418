# SPDX-License-Identifier: GPL-3.0-or-later
"""What ``hearth serve`` tells its operator at start (issue 12 items 4-5): the URL it serves and the
API's, once it listens; a whitelist entry that matches no view name, with the closest name (also
in ``hearth doctor``)."""

from __future__ import annotations

from collections.abc import Callable

from tests.live import LiveServer
from tests.test_admin_cli import as_json, hearth


def announced(live: LiveServer) -> list[str]:
    return [line for line in live.log.read_text().splitlines() if "Hearth serving on" in line]


def test_the_server_prints_where_it_serves_once_it_listens(
    make_server: Callable[..., LiveServer],
) -> None:
    for workers in (1, 2):
        live = make_server(workers=workers)
        # the line is printed before the first connection is handled, so after an answer it is there
        assert live.ok("get_ip")["server_ip_addr"] == "127.0.0.1"
        url = f"http://127.0.0.1:{live.port}"
        assert announced(live) == [f"Hearth serving on {url} (API: {url}/_admin/api)"], workers


TYPO = "FilesControler:raw"


def test_a_whitelist_typo_is_a_warning_at_start_and_in_doctor(
    make_server: Callable[..., LiveServer],
) -> None:
    whitelist = f"ChangesetController:changeset_patch, {TYPO}, files:arch*, Nothing*Here"
    live = make_server(api_access_controllers_whitelist=whitelist)
    assert live.ok("get_ip")
    warnings = [line for line in live.log.read_text().splitlines() if "warning:" in line]
    assert warnings == [
        f"hearth: warning: api_access_controllers_whitelist: `{TYPO}` matches no view name and "
        "enables nothing; did you mean `FilesController:raw`?",
        "hearth: warning: api_access_controllers_whitelist: `Nothing*Here` matches no view name "
        "and enables nothing; did you mean `changeset:raw`?",
    ]

    done = hearth(live.env, "doctor", "--json")
    assert done.returncode == 1
    report = as_json(done)
    check = next(c for c in report["checks"] if c["check"] == "whitelist")
    assert check["ok"] is False
    assert f"`{TYPO}` matches no view name" in check["detail"]
    assert "did you mean `FilesController:raw`" in check["detail"]
    assert "restart the server" in check["fix"]
    done = hearth(live.env, "doctor")
    assert f"problem: whitelist: api_access_controllers_whitelist: `{TYPO}`" in done.stdout


def test_a_whitelist_without_typos_starts_quietly(make_server: Callable[..., LiveServer]) -> None:
    live = make_server(
        api_access_controllers_whitelist="ChangesetController:*, FilesController:raw, feed:*"
    )
    assert live.ok("get_ip")
    assert "warning:" not in live.log.read_text()
    report = as_json(hearth(live.env, "doctor", "--json"))
    check = next(c for c in report["checks"] if c["check"] == "whitelist")
    assert (check["ok"], check["detail"]) == (True, "3 entries, each matches a view")

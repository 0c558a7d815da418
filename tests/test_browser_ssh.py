# SPDX-License-Identifier: GPL-3.0-or-later
"""An SSH key's whole life in a real headless Chromium (``tests/browser.py``) against a live
server with the built-in SSH server on (issue 16): pasted on My account (a broken paste refused
beside the form with the text kept), the summary's SSH clone URL used by the real ``git`` over
``ssh``, the last use shown, the key removed and the next clone refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import shot, sign_in
from tests.live import LiveServer, free_port, new_server, unique
from tests.ssh_clients import SshClients, fingerprint, make_key, require_ssh_client, wait_for_port
from tests.vcs_clients import ADMIN, Clients, repo_url

PASSWORD = "pw-Secret-42"


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's browser server has SSH on (the ``page`` fixture uses it)."""
    require_ssh_client()
    port = free_port()
    live, _ = new_server(tmp_path_factory.mktemp("hearth-web-ssh"), "sqlite", ssh_port=port)
    live.ssh_port = port  # type: ignore[attr-defined]
    try:
        wait_for_port(port, live.process)
        yield live
    finally:
        live.stop()


def test_ssh_key_added_used_and_removed(
    page: Any, web_server: LiveServer, shots: Path, tmp_path: Path
) -> None:
    port: int = web_server.ssh_port  # type: ignore[attr-defined]
    name = unique("bsk")
    web_server.ok("create_user", username=name, email=f"{name}@example.com", password=PASSWORD)
    repo = unique("sshrepo")
    web_server.ok("create_repo", repo_name=repo, repo_type="git", owner=name, private=True)
    http = Clients(tmp_path / "http")
    work = http.seeded("git")
    http.push("git", work, repo_url(web_server, repo, *ADMIN))
    key = make_key(tmp_path / "keys", name)
    public = Path(f"{key}.pub").read_text()

    sign_in(page, name, PASSWORD, "/_admin/my_account")
    page.wait_for_url(re.compile("/_admin/my_account"))
    assert "You have no SSH keys." in page.locator("#ssh-keys").inner_text()
    broken = public.replace("AAAA", "BBBB", 1)
    page.get_by_label("Public key").fill(broken)
    page.get_by_label("Note (optional)").fill("laptop")
    page.get_by_role("button", name="Add SSH key").click()
    assert "Invalid SSH public key" in page.locator("#ssh-key-error").inner_text()
    assert page.get_by_label("Public key").input_value() == broken  # kept, to be fixed
    assert page.get_by_label("Note (optional)").input_value() == "laptop"
    assert page.js_errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    page.js_errors.clear()  # that 400 was the refusal itself
    page.get_by_label("Public key").fill(public)
    page.get_by_role("button", name="Add SSH key").click()
    page.wait_for_url(re.compile("done=ssh_key_added"))
    row = page.locator("#ssh-key-table tbody tr", has_text=fingerprint(key))
    assert "laptop" in row.inner_text() and "ssh-ed25519" in row.inner_text()
    assert row.locator("td").nth(4).inner_text() == "never"
    shot(page, shots, "my-account-ssh-keys")

    page.goto(f"/{repo}")
    ssh_url = page.locator("#clone-ssh").input_value()
    assert ssh_url == f"ssh://hearth@127.0.0.1:{port}/{repo}"
    assert page.locator("button[data-copy='#clone-ssh']").is_visible()
    person = SshClients(tmp_path / "ssh", key, port)
    clone = person.clone("git", ssh_url)
    assert person.tip("git", clone.dest) == http.tip("git", work)

    page.goto("/_admin/my_account")
    row = page.locator("#ssh-key-table tbody tr", has_text=fingerprint(key))
    assert row.locator("td").nth(4).inner_text() != "never"  # the last use is shown
    row.get_by_role("button", name="Remove").click()
    page.wait_for_url(re.compile("done=ssh_key_removed"))
    assert page.locator("#ssh-key-table").count() == 0
    refused = person.clone("git", ssh_url, False)
    assert refused.returncode != 0 and "Permission denied (publickey)" in refused.stderr
    assert page.js_errors == [], page.js_errors

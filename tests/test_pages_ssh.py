# SPDX-License-Identifier: GPL-3.0-or-later
"""SSH on the pages (issue 16), over plain HTTP against live servers: the SSH keys of My account
(listed with their SHA256 fingerprint as ``ssh-keygen -l`` prints it, added by pasting, refused
with the reason beside the form and the pasted text kept, removed; CSRF-checked; one user cannot
remove another's key) on both database backends, and the SSH clone URL of the summary page and
of ``get_repo`` — absent with SSH off, and with SSH on the URL a real ``git``/``hg`` clones from.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveServer, free_port, new_server, unique
from tests.pagecheck import csrf_of, page_of, signed_in
from tests.ssh_clients import SshClients, fingerprint, make_key, require_ssh_client, wait_for_port
from tests.vcs_clients import ADMIN, Clients, repo_url

PASSWORD = "pw-Secret-42"
ADD = "/_admin/my_account/ssh_keys"
REMOVE = "/_admin/my_account/ssh_keys/delete"


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_ssh_client()
    return tmp_path_factory.mktemp("page-ssh-keys")


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, int]]:
    """A server with the built-in SSH server on (setting ``ssh_port``)."""
    require_ssh_client()
    port = free_port()
    live, _ = new_server(tmp_path_factory.mktemp("hearth-page-ssh"), "sqlite", ssh_port=port)
    try:
        wait_for_port(port, live.process)
        yield live, port
    finally:
        live.stop()


def _person(server: LiveServer) -> str:
    name = unique("sk")
    server.ok("create_user", username=name, email=f"{name}@example.com", password=PASSWORD)
    return name


def _pub(key: Path) -> str:
    return Path(f"{key}.pub").read_text()


def _rows(text: str) -> list[str]:
    table = re.search(r'<table class="list" id="ssh-key-table">.*?</table>', text, re.S)
    return re.findall(r"<tr data-fingerprint.*?</tr>", table.group(0), re.S) if table else []


def test_ssh_keys_added_listed_refused_and_removed(server: LiveServer, keydir: Path) -> None:
    name, other = _person(server), _person(server)
    browser = signed_in(server, name, PASSWORD)
    text = page_of(browser, "/_admin/my_account")
    assert 'id="ssh-keys"' in text and "You have no SSH keys." in text
    token = csrf_of(text)
    key = make_key(keydir, f"page-{name}")

    # without the form's token nothing is added
    stale = browser.post(ADD, data={"_csrf": "forged", "public_key": _pub(key)})
    assert stale.status_code == 403
    assert server.ok("get_ssh_keys", userid=name) == []

    added = browser.post(ADD, data={"_csrf": token, "public_key": _pub(key), "description": ""})
    assert added.status_code == 303
    assert added.headers["location"] == "/_admin/my_account?done=ssh_key_added#ssh-keys"
    text = page_of(browser, "/_admin/my_account?done=ssh_key_added")
    assert "The SSH key was added" in text
    [row] = _rows(text)
    assert fingerprint(key) in row and "ssh-ed25519" in row
    assert f"page-{name}@test" in row  # the comment is the description when none is given
    assert row.count("<time") == 1 and "never" in row  # added now, never used
    assert [k["fingerprint"] for k in server.ok("get_ssh_keys", userid=name)] == [fingerprint(key)]

    # refusals: the reason beside the form, what was typed still in it, nothing stored
    weak = make_key(keydir, f"weak-{name}", "rsa", 1024)
    junk = "ssh-ed25519 AAAAnotakey <b>mine</b>"
    cases = [
        (junk, "the key data is not a valid ssh-ed25519 key"),
        (_pub(weak), "RSA keys need at least 2048 bits, this one has 1024"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP x", "DSA keys are not accepted"),
        (_pub(key), f"SSH key {fingerprint(key)} is already in use"),
    ]
    for pasted, reason in cases:
        refused = browser.post(
            ADD, data={"_csrf": token, "public_key": pasted, "description": "my <laptop>"}
        )
        assert refused.status_code == 400, pasted
        error = re.search(r'id="ssh-key-error">([^<]*)</p>', refused.text)
        assert error is not None and reason in html.unescape(error.group(1)), refused.text[-3000:]
        area = re.search(r'<textarea id="ssh-public-key"[^>]*>([^<]*)</textarea>', refused.text)
        assert area is not None and html.unescape(area.group(1)) == pasted
        assert 'value="my &lt;laptop&gt;"' in refused.text
    assert len(server.ok("get_ssh_keys", userid=name)) == 1
    # the same key is someone else's too: refused for the other user as well
    theirs = signed_in(server, other, PASSWORD)
    other_token = csrf_of(page_of(theirs, "/_admin/my_account"))
    taken = theirs.post(ADD, data={"_csrf": other_token, "public_key": _pub(key)})
    assert taken.status_code == 400 and "is already in use" in taken.text

    # another user cannot remove my key; I can
    foreign = theirs.post(
        REMOVE, data={"_csrf": other_token, "del_public_key_fingerprint": fingerprint(key)}
    )
    assert foreign.status_code == 400 and "has no SSH key with fingerprint" in foreign.text
    assert len(server.ok("get_ssh_keys", userid=name)) == 1
    forged = browser.post(REMOVE, data={"del_public_key_fingerprint": fingerprint(key)})
    assert forged.status_code == 403
    removed = browser.post(
        REMOVE, data={"_csrf": token, "del_public_key_fingerprint": fingerprint(key)}
    )
    assert removed.status_code == 303
    assert "The SSH key was removed" in page_of(browser, removed.headers["location"])
    assert server.ok("get_ssh_keys", userid=name) == []


def test_no_ssh_url_with_ssh_off(server: LiveServer) -> None:
    repo = server.new_repo("git")
    assert "ssh_url" not in server.ok("get_repo", repoid=repo["repo_name"])
    text = page_of(signed_in(server, *ADMIN), f"/{repo['repo_name']}")
    assert 'id="clone-ssh"' not in text and "ssh://" not in text


@pytest.mark.parametrize("kind", ["git", "hg"])
def test_summary_and_get_repo_give_the_ssh_url_that_clones(
    ssh_server: tuple[LiveServer, int], tmp_path: Path, kind: str
) -> None:
    server, port = ssh_server
    name = f"{unique('sshg')}/{unique('sshurl' + kind)}"
    server.ok("create_repo_group", group_name=name.split("/")[0])
    server.ok("create_repo", repo_name=name, repo_type=kind)
    http = Clients(tmp_path / "http")
    work = http.seeded(kind)
    http.push(kind, work, repo_url(server, name, *ADMIN))

    expected = f"ssh://hearth@127.0.0.1:{port}/{name}"
    got = server.ok("get_repo", repoid=name)
    assert list(got)[-1] == "ssh_url" and got["ssh_url"] == expected  # the last extra key
    text = page_of(signed_in(server, *ADMIN), f"/{name}")
    assert f'<input id="clone-ssh" type="text" readonly value="{expected}">' in text
    assert 'data-copy="#clone-ssh"' in text

    person = _person(server)
    key = make_key(tmp_path / "keys", person)
    browser = signed_in(server, person, PASSWORD)
    token = csrf_of(page_of(browser, "/_admin/my_account"))
    assert browser.post(ADD, data={"_csrf": token, "public_key": _pub(key)}).status_code == 303
    clone = SshClients(tmp_path / "ssh", key, port).clone(kind, expected)
    assert http.tip(kind, work) == http.tip(kind, clone.dest)
    [row] = _rows(page_of(browser, "/_admin/my_account"))
    assert row.count("<time") == 2  # added, and now used

# SPDX-License-Identifier: GPL-3.0-or-later
"""Users' SSH keys through the API and ``hearth user ssh-key`` (issue 16 item 1), on both
database backends: accepted kinds, SHA256 fingerprints as ``ssh-keygen -l`` prints them,
comments kept, one key for one user, clear errors, and who may manage whose keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.live import LiveServer
from tests.ssh_clients import fingerprint, make_key, require_ssh_client


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_ssh_client()
    return tmp_path_factory.mktemp("sshkeys")


def _pub(key: Path) -> str:
    return Path(f"{key}.pub").read_text()


@pytest.mark.parametrize(("kind", "bits"), [("ed25519", 0), ("ecdsa", 256), ("rsa", 3072)])
def test_keys_of_each_kind_are_added_listed_and_removed(
    server: LiveServer, keydir: Path, kind: str, bits: int
) -> None:
    user, api_key = server.new_user("k")
    key = make_key(keydir, f"{kind}-{user['username']}", kind, bits)
    added = server.ok("add_ssh_key", api_key, public_key=_pub(key), description="laptop")
    shown = added["ssh_key"]
    assert shown["fingerprint"] == fingerprint(key)
    assert shown["comment"] == f"{kind}-{user['username']}@test"
    assert shown["description"] == "laptop"
    assert shown["username"] == user["username"]
    assert shown["last_used"] is None
    assert _pub(key).startswith(shown["public_key"])
    listed = server.ok("get_ssh_keys", api_key)
    assert [k["fingerprint"] for k in listed] == [fingerprint(key)]
    # admins see and manage anyone's keys
    assert server.ok("get_ssh_keys", userid=user["username"]) == listed
    server.ok("delete_ssh_key", api_key, fingerprint=fingerprint(key))
    assert server.ok("get_ssh_keys", api_key) == []


def test_bad_keys_get_clear_errors(server: LiveServer, keydir: Path) -> None:
    _user, api_key = server.new_user("kb")
    weak = make_key(keydir, f"weak-{_user['username']}", "rsa", 1024)
    err = server.err("add_ssh_key", api_key, public_key=_pub(weak))
    assert err == "Invalid SSH public key: RSA keys need at least 2048 bits, this one has 1024"
    err = server.err("add_ssh_key", api_key, public_key="ssh-ed25519 AAAAnotakey x")
    assert err.startswith("Invalid SSH public key: the key data is not a valid ssh-ed25519 key")
    err = server.err("add_ssh_key", api_key, public_key="ssh-dss AAAAB3NzaC1kc3MAAACBAP x")
    assert err == "Invalid SSH public key: DSA keys are not accepted: use ed25519, ECDSA or RSA"
    err = server.err("add_ssh_key", api_key, public_key="")
    assert err == "Invalid SSH public key: no key given"
    good = make_key(keydir, f"two-{_user['username']}")
    err = server.err("add_ssh_key", api_key, public_key=_pub(good) + _pub(weak))
    assert err == "Invalid SSH public key: give one key, on one line"
    # an ed25519 blob labelled as RSA
    blob = _pub(good).split()[1]
    err = server.err("add_ssh_key", api_key, public_key=f"ssh-rsa {blob}")
    assert err.startswith("Invalid SSH public key:")
    assert server.ok("get_ssh_keys", api_key) == []


def test_one_key_belongs_to_one_user(server: LiveServer, keydir: Path) -> None:
    first, first_key = server.new_user("k1")
    _second, second_key = server.new_user("k2")
    key = make_key(keydir, f"shared-{first['username']}")
    server.ok("add_ssh_key", first_key, public_key=_pub(key))
    expected = f"SSH key {fingerprint(key)} is already in use"
    assert server.err("add_ssh_key", second_key, public_key=_pub(key)) == expected
    assert server.err("add_ssh_key", first_key, public_key=_pub(key)) == expected
    assert server.ok("get_ssh_keys", second_key) == []


def test_users_manage_only_their_own_keys(server: LiveServer, keydir: Path) -> None:
    owner, owner_key = server.new_user("ko")
    _other, other_key = server.new_user("kx")
    key = make_key(keydir, f"own-{owner['username']}")
    denied = "userid is not the same as your user"
    name = owner["username"]
    assert server.err("add_ssh_key", other_key, userid=name, public_key=_pub(key)) == denied
    server.ok("add_ssh_key", userid=name, public_key=_pub(key))  # the admin for them
    assert server.err("get_ssh_keys", other_key, userid=name) == denied
    assert (
        server.err("delete_ssh_key", other_key, userid=name, fingerprint=fingerprint(key)) == denied
    )
    assert server.err("delete_ssh_key", other_key, fingerprint=fingerprint(key)) == (
        f"user `{_other['username']}` has no SSH key with fingerprint `{fingerprint(key)}`"
    )
    assert len(server.ok("get_ssh_keys", owner_key)) == 1


def test_cli_adds_lists_and_removes(server: LiveServer, keydir: Path) -> None:
    user, _ = server.new_user("kc")
    name = user["username"]
    key = make_key(keydir, f"cli-{name}")
    added = server.cli("user", "ssh-key", "add", name, f"{key}.pub")
    assert f"added ssh-ed25519 key {fingerprint(key)} to `{name}`" in added.stdout
    from_stdin = make_key(keydir, f"cli2-{name}", "ecdsa", 384)
    server.cli("user", "ssh-key", "add", name, "-", "--description", "ci", input=_pub(from_stdin))
    listed = json.loads(server.cli("user", "ssh-key", "list", name, "--json").stdout)
    assert [k["fingerprint"] for k in listed] == [fingerprint(key), fingerprint(from_stdin)]
    assert listed[1]["description"] == "ci"
    again = server.cli("user", "ssh-key", "add", name, f"{key}.pub", check=False)
    assert again.returncode == 1
    assert f"hearth: SSH key {fingerprint(key)} is already in use" in again.stderr
    removed = server.cli("user", "ssh-key", "remove", name, fingerprint(key))
    assert f"removed key {fingerprint(key)} of `{name}`" in removed.stdout
    missing = server.cli("user", "ssh-key", "remove", name, fingerprint(key), check=False)
    assert missing.returncode == 1 and "has no SSH key" in missing.stderr
    listed = json.loads(server.cli("user", "ssh-key", "list", name, "--json").stdout)
    assert [k["fingerprint"] for k in listed] == [fingerprint(from_stdin)]


def test_ssh_keys_command_reads_both_databases_without_sqlalchemy(
    server: LiveServer, keydir: Path
) -> None:
    """``hearth ssh-keys`` (sshd's AuthorizedKeysCommand) queries through a bare DBAPI
    connection on SQLite and PostgreSQL alike (``services/sshlogin.py``), answering what the
    SQLAlchemy query answers: an active user's key, nothing for an inactive one's."""
    user, api_key = server.new_user("kl")
    key = make_key(keydir, f"lean-{user['username']}")
    added = server.ok("add_ssh_key", api_key, public_key=_pub(key))["ssh_key"]
    blob = added["public_key"].split()[1]
    line = server.cli("ssh-keys", "hearth", blob).stdout
    assert line.endswith(f' ssh-serve {added["key_id"]}" {added["public_key"]}\n')
    assert line.startswith('restrict,command="') and line.count("\n") == 1
    every = server.cli("ssh-keys", "hearth").stdout
    assert line in every
    server.ok("update_user", userid=user["username"], active=False)
    assert server.cli("ssh-keys", "hearth", blob).stdout == ""
    assert line not in server.cli("ssh-keys", "hearth").stdout
    # --help and usage errors are typer's
    assert "AuthorizedKeysCommand" in server.cli("ssh-keys", "--help").stdout
    assert server.cli("ssh-serve", "x", check=False).returncode == 2

# SPDX-License-Identifier: GPL-3.0-or-later
"""The real ``ssh``, ``git`` and ``hg`` clients over SSH, for the SSH tests (issue 16).

Each person gets an ed25519 key made by ``ssh-keygen`` and a :class:`SshClients`: the
``Clients`` of ``vcs_clients.py`` whose git and hg reach the server through
``ssh -i <key>`` (``GIT_SSH_COMMAND``; hg's ``ui.ssh`` in an hgrc of its own), with no known-hosts
file, no agent and no prompt.
"""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.live import IN_CI, LiveServer
from tests.vcs_clients import Clients

SSH = shutil.which("ssh")
SSH_KEYGEN = shutil.which("ssh-keygen")


def require_ssh_client() -> None:
    if SSH and SSH_KEYGEN:
        return
    if IN_CI:
        pytest.fail("the OpenSSH client (ssh, ssh-keygen) is required under CI=true")
    pytest.skip("the OpenSSH client is not installed")


def make_key(directory: Path, name: str, kind: str = "ed25519", bits: int = 0) -> Path:
    """A new private key file (no passphrase); its public half is ``<file>.pub``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    argv = [str(SSH_KEYGEN), "-q", "-t", kind, "-N", "", "-C", f"{name}@test", "-f", str(path)]
    if bits:
        argv += ["-b", str(bits)]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return path


def fingerprint(key: Path) -> str:
    out = subprocess.run(
        [str(SSH_KEYGEN), "-l", "-E", "sha256", "-f", f"{key}.pub"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return out.split()[1]


def ssh_argv(key: Path, port: int) -> list[str]:
    return [
        str(SSH),
        "-p",
        str(port),
        "-i",
        str(key),
        "-F",
        "/dev/null",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=30",
    ]


class SshClients(Clients):
    """git and hg of one person over SSH with their key."""

    def __init__(self, root: Path, key: Path, port: int) -> None:
        super().__init__(root)
        self.key = key
        self.port = port
        command = " ".join(shlex.quote(word) for word in ssh_argv(key, port))
        self.env["GIT_SSH_COMMAND"] = command
        self.env.pop("SSH_AUTH_SOCK", None)
        hgrc = root / "hgrc"
        hgrc.write_text(f"[ui]\nssh = {command}\n")
        self.env["HGRCPATH"] = str(hgrc)

    def ssh(self, user: str, command: str | None, timeout: float = 60) -> Any:
        """``ssh user@127.0.0.1 [command]`` as this person (stdin empty)."""
        argv = [*ssh_argv(self.key, self.port), f"{user}@127.0.0.1"]
        if command is not None:
            argv.append(command)
        return self.run(argv, check=False, timeout=timeout)


def url(port: int, name: str, user: str = "hearth") -> str:
    return f"ssh://{user}@127.0.0.1:{port}/{name}"


def wait_for_port(port: int, process: Any = None, timeout: float = 30) -> None:
    """Until something accepts on 127.0.0.1:``port`` (the SSH server starts with the app)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError("the server exited before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def add_key(server: LiveServer, username: str, key: Path, api_key: str | None = None) -> Any:
    return server.ok(
        "add_ssh_key", api_key, userid=username, public_key=Path(f"{key}.pub").read_text()
    )

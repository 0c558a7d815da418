# SPDX-License-Identifier: GPL-3.0-or-later
"""How ``hearth ssh-serve`` hands its session to the running server (issue 16, ``docs/ssh.md``).

sshd starts ``hearth ssh-serve KEY_ID`` for every login. Deciding the session in that process
means importing SQLAlchemy, the models and pygit2 each time — most of a second of CPU, more
than a small clone costs git itself. A running ``hearth serve`` has all of that loaded, so the
forced command only connects to the server's Unix socket (:func:`socket_path`), sends one
request (key id, ``SSH_ORIGINAL_COMMAND``, client address, ``GIT_PROTOCOL``) together with its
own stdin, stdout and stderr (``SCM_RIGHTS``), and waits for the exit status. The server runs
the same permission check and the same git / hg child as the built-in SSH server, writing
straight into sshd's pipes, so nothing is relayed. Without a server listening, ``ssh-serve``
does the work itself (``cli/sshlean.py``).

Only the standard library is imported here: this module is on the path of every login.

Wire format: the client sends one JSON object (UTF-8, at most :data:`MAX_REQUEST` bytes) with
three file descriptors in the same message; the server answers with one JSON line
``{"status": N}`` once the command has exited. The socket is mode 0600 in a 0700 directory,
and the server also checks the peer's uid (``SO_PEERCRED``): a key id is a claim only the
system user sshd runs Hearth as may make.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from pathlib import Path
from typing import Any

MAX_REQUEST = 64 * 1024
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with its NUL
LOST = 255
"""The exit status when the server went away during a session (as ssh's own for a lost link)."""


def socket_path(home: Path) -> Path:
    return home / "run" / "ssh-serve.sock"


def encode(request: dict[str, Any]) -> bytes:
    return json.dumps(request, separators=(",", ":")).encode()


def decode(data: bytes) -> dict[str, Any]:
    value = json.loads(data.decode())
    if not isinstance(value, dict):
        raise ValueError("the request is not an object")
    return value


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def hand_over(path: Path, request: dict[str, Any], fds: list[int]) -> int | None:
    """Run the session in the server listening on ``path``; its exit status, or ``None`` when
    no server listens there (nothing was sent: the caller may do the work itself)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(os.fspath(path))
        except (FileNotFoundError, ConnectionRefusedError, OSError):
            return None
        try:
            socket.send_fds(sock, [encode(request)], fds)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server closed before it took the request: nothing ran
            return None
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except OSError:
            return LOST
        try:
            return int(decode(answer)["status"])
        except (ValueError, KeyError, TypeError):
            return LOST
    finally:
        sock.close()

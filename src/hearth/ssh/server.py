# SPDX-License-Identifier: GPL-3.0-or-later
"""The built-in SSH server of ``hearth serve`` (setting ``ssh_port``; issue 16).

For the embedded default there is no sshd to configure: each ``hearth serve`` worker also
listens on ``host:ssh_port`` (``SO_REUSEPORT``, like the HTTP sockets of ``server.py``) with
asyncssh, on the same event loop as the HTTP side.

* **Host key**: ``$HEARTH_HOME/ssh_host_ed25519_key``, generated on first start
  (:func:`host_key`); written to a temporary file and linked into place, so two workers
  starting together end up with one key.
* **Authentication**: public key only, whatever user name the client gives (clone URLs carry
  setting ``ssh_user``). The key must be one of an active user's keys (``sshkeys.find``); no
  password, keyboard-interactive or host-based login is offered, so a client with no known key
  prints ``Permission denied (publickey)``.
* **Sessions**: only exec requests; no shell, pty, forwarding or subsystem. The command goes to
  ``services/sshaccess.py`` exactly as ``hearth ssh-serve`` hands it ``SSH_ORIGINAL_COMMAND``;
  the plan it returns is run as a child process whose stdin, stdout and stderr are relayed to
  the channel, and its bookkeeping runs after the child exited, in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh

from hearth.metrics import SSH_SESSIONS
from hearth.services import sshaccess, sshkeys
from hearth.services.sshaccess import Plan, Refused

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger(__name__)

HOST_KEY_NAME = "ssh_host_ed25519_key"
CHUNK = 256 * 1024
KILL_GRACE = 5.0


def host_key(home: Path) -> asyncssh.SSHKey:
    """The server's host key under ``home``, created (ed25519, mode 0600) if missing."""
    path = home / HOST_KEY_NAME
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519", comment="hearth host key")
        fd, tmp = tempfile.mkstemp(prefix=".ssh-host-key-", dir=home)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(key.export_private_key())
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):  # another worker was first
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
        pub = home / (HOST_KEY_NAME + ".pub")
        if not pub.exists():
            with contextlib.suppress(OSError):
                pub.write_bytes(asyncssh.read_private_key(path).export_public_key())
    return asyncssh.read_private_key(path)


class _Connection(asyncssh.SSHServer):
    """One client connection: public-key authentication against Hearth's keys."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.key_id: int | None = None
        self.address = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.address = peer[0] if peer else ""
        conn.set_extra_info(hearth=self)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        line = key.export_public_key("openssh").decode("ascii")

        def look_up() -> sshkeys.KeyOwner | None:
            with self.runtime.database.sessions() as db:
                return sshkeys.find(db, line)

        owner = await asyncio.to_thread(look_up)
        if owner is None:
            return False
        self.key_id = owner.key_id  # the last key accepted is the one the client signs with
        return True


async def _pump_out(reader: asyncio.StreamReader | None, writer: Any) -> None:
    if reader is None:
        return
    while True:
        data = await reader.read(CHUNK)
        if not data:
            return
        writer.write(data)
        await writer.drain()


async def _pump_in(reader: Any, child: asyncio.subprocess.Process) -> None:
    stdin = child.stdin
    assert stdin is not None
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            stdin.write(data)
            await stdin.drain()
    except (BrokenPipeError, ConnectionResetError, asyncssh.BreakReceived):
        pass
    except asyncssh.TerminalSizeChanged:
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            stdin.close()


async def _run(process: asyncssh.SSHServerProcess[bytes], plan: Plan) -> int:
    """Run the plan's child with the channel as its stdio; its exit status."""
    child = await asyncio.create_subprocess_exec(
        *plan.argv,
        env=plan.env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    feeding = asyncio.ensure_future(_pump_in(process.stdin, child))
    try:
        await asyncio.gather(
            _pump_out(child.stdout, process.stdout), _pump_out(child.stderr, process.stderr)
        )
        return await child.wait()
    except BaseException:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
            try:
                await asyncio.wait_for(child.wait(), KILL_GRACE)
            except (TimeoutError, asyncio.CancelledError):
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
        raise
    finally:
        feeding.cancel()


class SshServer:
    """The listening server; :meth:`start` and :meth:`close` from the app's lifespan."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._server: asyncssh.SSHAcceptor | None = None

    async def start(self) -> None:
        settings = self.runtime.settings
        key = await asyncio.to_thread(host_key, settings.home)
        self._server = await asyncssh.create_server(
            lambda: _Connection(self.runtime),
            settings.host,
            settings.ssh_port,
            server_host_keys=[key],
            process_factory=self._session,
            encoding=None,
            allow_pty=False,
            agent_forwarding=False,
            x11_forwarding=False,
            reuse_port=True,
            reuse_address=True,
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _session(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        """One exec request: refuse it or run it; the bookkeeping after the client has its
        exit status (as over HTTP after the answer)."""
        plan: Plan | None = None
        try:
            status, plan = await self._serve(process)
        except (asyncssh.Error, BrokenPipeError, ConnectionResetError):
            status = 255
        except Exception:
            log.exception("SSH session failed")
            status = 255
        with contextlib.suppress(Exception):
            process.exit(status)
        if plan is None:
            return
        runtime = self.runtime
        done = plan

        def finish() -> None:
            with runtime.database.session() as db:
                sshaccess.finish(db, runtime.settings, done, status)

        try:
            await asyncio.to_thread(finish)
        except Exception:
            log.exception("bookkeeping after an SSH session on %s failed", plan.repo_name)

    async def _serve(self, process: asyncssh.SSHServerProcess[bytes]) -> tuple[int, Plan | None]:
        connection: _Connection = process.get_extra_info("hearth")
        runtime = self.runtime
        command = process.command
        if process.subsystem or command is None or connection.key_id is None:
            process.stderr.write(b"Hearth serves only git and hg commands; no shell.\n")
            return 1, None
        key_id = connection.key_id
        protocol = process.env.get("GIT_PROTOCOL") if process.env else None
        if isinstance(protocol, bytes):
            protocol = protocol.decode("ascii", "replace")

        def prepare() -> Plan:
            with runtime.database.session() as db:
                return sshaccess.prepare(
                    db,
                    runtime.settings,
                    key_id=key_id,
                    command=command,
                    address=connection.address,
                    default_user_id=runtime.default_user_id(),
                    git_protocol=protocol,
                )

        try:
            plan = await asyncio.to_thread(prepare)
        except Refused as refused:
            process.stderr.write(f"{refused}\n".encode())
            return 1, None
        try:
            for notice in plan.notices:
                process.stderr.write(f"{notice}\n".encode())
            SSH_SESSIONS.labels("builtin", plan.service).inc()
            return await _run(process, plan), plan
        except (asyncssh.Error, OSError):
            return 255, plan  # the client left: what the child did is still booked
        except BaseException:
            sshaccess.discard(plan)
            raise

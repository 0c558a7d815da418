# SPDX-License-Identifier: GPL-3.0-or-later
"""The server's end of ``hearth ssh-serve``'s hand-over (``hearth/sshwire.py`` says why).

Every ``hearth serve`` worker binds a socket of its own and renames it onto
:func:`sshwire.socket_path`, so the newest worker takes new sessions and a worker that stops
leaves the path to whoever replaced it (it removes the path only while it is still its own).
Sessions run in threads, as the CLI would run them: the permission check in a database
session (``sshaccess.prepare``), the plan's child with sshd's descriptors as its stdin, stdout
and stderr, the exit status to ``ssh-serve``, then the bookkeeping (``sshaccess.finish``), as the
built-in server does it: after the client has its answer. On
shutdown the worker stops taking sessions and waits up to ``shutdown_grace`` for those
running, so a push in flight during a restart is still booked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import threading
import time
from typing import TYPE_CHECKING

from hearth import sshwire
from hearth.metrics import SSH_SESSIONS
from hearth.services import sshaccess
from hearth.services.sshaccess import Plan, Refused

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger(__name__)


class HandoffServer:
    """Accepts ``ssh-serve`` hand-overs on a Unix socket; :meth:`start` / :meth:`close` from
    the app's lifespan (both blocking: run them in a thread)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.path = sshwire.socket_path(runtime.settings.home)
        self._listener: socket.socket | None = None
        self._inode: int | None = None
        self._sessions: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def start(self) -> bool:
        """Listen; ``False`` (logged) when the socket cannot be made, e.g. a path too long for
        a Unix socket: ``ssh-serve`` then does its sessions itself."""
        path = self.path
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        if len(os.fsencode(temporary)) > sshwire.MAX_SOCKET_PATH:
            log.warning("no SSH hand-over socket: %s is too long for a Unix socket", path)
            return False
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            old_mask = os.umask(0o177)
            try:
                listener.bind(os.fspath(temporary))
            finally:
                os.umask(old_mask)
            listener.listen(64)
            os.replace(temporary, path)
            self._inode = path.stat().st_ino
        except OSError as exc:
            listener.close()
            with contextlib.suppress(OSError):
                temporary.unlink()
            log.warning("no SSH hand-over socket at %s: %s", path, exc)
            return False
        self._listener = listener
        threading.Thread(target=self._accept, name="ssh-handoff", daemon=True).start()
        return True

    def close(self) -> None:
        self._closing.set()
        listener, self._listener = self._listener, None
        if listener is None:
            return
        with contextlib.suppress(OSError):  # the path may be a newer worker's by now
            if self.path.stat().st_ino == self._inode:
                self.path.unlink()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        listener.close()
        deadline = time.monotonic() + self.runtime.settings.shutdown_grace
        for session in list(self._sessions):
            session.join(max(0.0, deadline - time.monotonic()))

    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._closing.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            thread = threading.Thread(target=self._session, args=(conn,), daemon=True)
            with self._lock:
                self._sessions.add(thread)
            thread.start()

    def _session(self, conn: socket.socket) -> None:
        fds: list[int] = []
        try:
            with conn:
                if sshwire.peer_uid(conn) not in (os.getuid(), 0):
                    return  # not the user sshd runs Hearth as: no answer, nothing run
                request, fds = _receive(conn)
                status, plan = self._serve(request, fds)
                with contextlib.suppress(OSError):
                    conn.sendall(sshwire.encode({"status": status}) + b"\n")
            if plan is not None:  # as the built-in server: after the client has its status
                self._finish(plan, status)
        except Exception:
            log.exception("SSH hand-over failed")
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            with self._lock:
                self._sessions.discard(threading.current_thread())

    def _serve(self, request: dict[str, object], fds: list[int]) -> tuple[int, Plan | None]:
        """Decide and run one session; closes ``fds``. Its exit status, and the plan whose
        bookkeeping is left to do."""
        runtime = self.runtime
        stdin, stdout, stderr = fds
        plan: Plan | None = None
        try:
            try:
                with runtime.database.session() as db:
                    plan = sshaccess.prepare(
                        db,
                        runtime.settings,
                        key_id=int(str(request["key_id"])),
                        command=_text(request.get("command")),
                        address=_text(request.get("address")) or "",
                        default_user_id=runtime.default_user_id(),
                        git_protocol=_text(request.get("git_protocol")),
                    )
            except Refused as refused:
                _write(stderr, f"{refused}\n")
                return 1, None
            for notice in plan.notices:
                _write(stderr, f"{notice}\n")
            try:
                child = subprocess.Popen(
                    plan.argv, env=plan.env, stdin=stdin, stdout=stdout, stderr=stderr
                )
            except OSError:
                sshaccess.discard(plan)
                raise
            SSH_SESSIONS.labels("sshd", plan.service).inc()
        finally:
            for fd in fds:  # the child has its own copies; holding ours would delay sshd's EOF
                with contextlib.suppress(OSError):
                    os.close(fd)
            fds.clear()  # closed once: the number may be another thread's a moment later
        status = child.wait()
        return (status if status >= 0 else 1), plan

    def _finish(self, plan: Plan, status: int) -> None:
        runtime = self.runtime
        try:
            with runtime.database.session() as db:
                sshaccess.finish(db, runtime.settings, plan, status)
        except Exception:
            log.exception("bookkeeping after an SSH session on %s failed", plan.repo_name)


def _receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, sshwire.MAX_REQUEST, 3)
    try:
        if len(fds) != 3:
            raise ValueError(f"{len(fds)} descriptors instead of 3")
        while len(data) < sshwire.MAX_REQUEST and (more := conn.recv(sshwire.MAX_REQUEST)):
            data += more
        return sshwire.decode(data), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _write(fd: int, text: str) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, text.encode())

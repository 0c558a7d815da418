# SPDX-License-Identifier: GPL-3.0-or-later
"""Git's smart HTTP protocol, relayed to the real ``git`` binaries (spec ``web-and-vcs.md`` §3).

This module is transport only: it decides what a request under a repository URL asks for
(:func:`parse_git_request`) and serves it (:func:`serve_git`). Who may do it, locking and
post-push bookkeeping live in the caller (``smarthttp/git.py``), which runs its checks between
the two calls and gets a :class:`GitResult` back (or through ``on_complete``).

The wire format is git's own, documented in ``Documentation/technical/http-protocol.txt``,
``pack-protocol.txt`` and ``protocol-v2.txt``; ``git http-backend`` is the reference
implementation and its behaviour is what we copy:

* ``GET info/refs?service=git-upload-pack|git-receive-pack`` runs
  ``git <service> --stateless-rpc --advertise-refs`` and, for protocol v0/v1 only, prefixes the
  ``# service=…`` pkt-line and a flush packet.
* ``POST git-upload-pack|git-receive-pack`` runs ``git <service> --stateless-rpc`` with the
  request body on its stdin (gzip inflated) and its stdout as the response body.
* The client's ``Git-Protocol`` header travels to the child as ``GIT_PROTOCOL`` (protocol v2).

Why a raw ASGI responder rather than a framework response class: the request body must be
fed to git *while* git's output is streamed back (receive-pack answers only at the end, but
upload-pack may start answering early, and neither side may buffer a whole pack), and
Starlette's ``StreamingResponse`` calls ``receive()`` itself to watch for disconnects, which
steals body messages from the task feeding git. Here one task owns ``receive()``: it feeds the
body, then waits for ``http.disconnect`` and kills the child if the client goes away first.
Memory stays constant: every pipe is drained with backpressure in 256 KiB pieces.

Under ``hearth serve`` (``smarthttp/direct.py``) the answer to ``POST git-upload-pack`` (the
pack of a clone or fetch) is not relayed at all: git gets the client's socket as its stdout and
writes the pack there itself, after a close-delimited response head. Elsewhere (another ASGI
server, TLS) every answer takes the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
import zlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from hearth.services.gitpush import child_env
from hearth.smarthttp import answers, childproc, direct
from hearth.smarthttp.answers import send_text

log = logging.getLogger(__name__)


Service = Literal["git-upload-pack", "git-receive-pack"]
Access = Literal["pull", "push"]

SERVICES: tuple[Service, ...] = ("git-upload-pack", "git-receive-pack")
#: The view parts (after the repository) that belong to git's smart protocol.
SMART_PATHS = ("info/refs", "git-upload-pack", "git-receive-pack")

CHUNK = 256 * 1024
"""Inflate granularity: large enough that Python's per-chunk cost is noise."""
KILL_GRACE = 5.0
"""Seconds between SIGTERM and SIGKILL."""
RECEIVE_PACK_GRACE = 60.0
"""Seconds a receive-pack whose client left may take to finish on its own before SIGTERM.

A signal kills receive-pack without removing its quarantine directory
(``objects/tmp_objdir-incoming-*``, git 2.39), while end-of-file on stdin makes it fail the
unpack, report, and clean up. If the whole body had arrived, the push is completed as if the
client had waited; ref updates are atomic either way."""


@dataclass(frozen=True, slots=True)
class GitRequest:
    """What a smart-HTTP request asks for; ``access`` is what the caller must authorise."""

    service: Service
    advertise: bool
    """True for ``GET info/refs`` (ref advertisement), False for the ``POST`` RPC."""

    @property
    def access(self) -> Access:
        return "push" if self.service == "git-receive-pack" else "pull"

    @property
    def command(self) -> str:
        """The git subcommand: ``upload-pack`` or ``receive-pack``."""
        return self.service.removeprefix("git-")


@dataclass(frozen=True, slots=True)
class GitResult:
    """How a served request ended, for post-push bookkeeping and logging.

    ``returncode`` is git's exit status (``None`` if git never started). receive-pack exits 0
    even when it rejected some refs (non-fast-forward, hook refusal per ref); callers that need
    per-ref outcomes compare refs before and after.
    """

    request: GitRequest
    returncode: int | None
    disconnected: bool
    bytes_in: int
    """Request body bytes fed to git, after gzip inflation."""
    bytes_out: int | None
    """Response body bytes sent, including the ``# service=`` preamble; None when git wrote
    the body to the client's socket itself (``smarthttp/direct.py``), which is not counted."""
    stderr: bytes
    """The last few KiB git wrote to stderr."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.disconnected


OnComplete = Callable[[GitResult], Awaitable[None] | None]


def split_git_path(path: str) -> tuple[str, str] | None:
    """Split ``grp/name.git/info/refs`` into ``("grp/name.git", "info/refs")``.

    Lets a router find the repository part of a smart-HTTP URL without a longest-prefix scan.
    Returns None when the path does not end in one of :data:`SMART_PATHS` (dumb protocol,
    web pages): those are not git's smart protocol.
    """
    path = path.strip("/")
    for tail in SMART_PATHS:
        if path.endswith("/" + tail):
            repo = path[: -len(tail) - 1].strip("/")
            if repo:
                return repo, tail
    return None


def parse_git_request(method: str, rest: str, query_string: bytes | str) -> GitRequest | None:
    """Classify the view part of a repository URL; None means "answer 404".

    ``rest`` is what follows the repository name (``info/refs``, ``git-upload-pack``, …).
    Everything that is not the smart protocol answers None, including the dumb protocol
    (``info/refs`` without ``service``, ``HEAD``, ``objects/…``), which we do not serve, and the
    right path with the wrong method.
    """
    rest = rest.strip("/")
    if rest == "info/refs":
        if method not in ("GET", "HEAD"):
            return None
        if isinstance(query_string, bytes):
            query_string = query_string.decode("latin-1")
        services = parse_qs(query_string).get("service", [])
        if len(services) != 1 or services[0] not in SERVICES:
            return None
        return GitRequest(services[0], advertise=True)  # type: ignore[arg-type]
    if rest in SERVICES and method == "POST":
        return GitRequest(rest, advertise=False)  # type: ignore[arg-type]
    return None


def protocol_version(git_protocol: str | None) -> int:
    """The highest ``version=N`` in a ``Git-Protocol`` header, as git's server reads it."""
    version = 0
    for item in (git_protocol or "").split(":"):
        key, _, value = item.partition("=")
        if key == "version" and value.isdigit():
            version = max(version, int(value))
    return version


def pkt_line(data: bytes) -> bytes:
    """One pkt-line: four hex digits of length (including themselves), then the data."""
    return b"%04x%s" % (len(data) + 4, data)


def _header(scope: Scope, name: str) -> str | None:
    """All values of header ``name`` joined with commas (RFC 9110 §5.3), or None."""
    values = Headers(scope=scope).getlist(name)
    return ",".join(values).strip() if values else None


def _inflate(inflater: Any, data: bytes) -> Iterator[bytes]:
    """Inflate one body piece in bounded outputs, so a gzip bomb costs CPU, not memory."""
    out = inflater.decompress(data, CHUNK)
    if out:
        yield out
    while inflater.unconsumed_tail:
        out = inflater.decompress(inflater.unconsumed_tail, CHUNK)
        if out:
            yield out


class _Exchange:
    """The state of one request/child pair, shared by the tasks that serve it."""

    def __init__(
        self,
        proc: childproc.Child,
        stdin: asyncio.StreamWriter | None,
        *,
        graceful: bool,
    ) -> None:
        self.proc = proc
        self.stdin = stdin
        self.graceful = graceful
        self.timer: asyncio.TimerHandle | None = None
        self.disconnected = False
        self.response_done = False
        self.bad_body = False
        self.killed = False
        self.bytes_in = 0
        self.stderr = bytearray()

    def kill(self) -> None:
        """SIGTERM the child's whole process group (pack-objects, index-pack too).

        The group id stays valid until we reap the leader, so this cannot hit a stranger.
        """
        if self.proc.returncode is None and not self.killed:
            self.killed = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    async def reap(self) -> int:
        """Wait for the child; escalate to SIGKILL if it ignores SIGTERM."""
        if self.killed:
            try:
                return await asyncio.wait_for(asyncio.shield(self.proc.wait()), KILL_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
        return await self.proc.wait()

    async def pump_request(self, receive: Receive, inflater: Any | None) -> None:
        """Own ``receive()``: feed the body to git's stdin, then watch for the client leaving."""
        stdin = self.stdin
        body_done = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if self.response_done:
                    return
                self.disconnected = True
                if not self.graceful:
                    self.kill()
                    return
                if stdin is not None:
                    stdin.close()  # receive-pack sees a truncated pack and gives up cleanly
                loop = asyncio.get_running_loop()
                self.timer = loop.call_later(RECEIVE_PACK_GRACE, self.kill)
                return
            if body_done:
                continue
            data = message.get("body", b"")
            if data and stdin is not None:
                try:
                    for piece in _inflate(inflater, data) if inflater else (data,):
                        stdin.write(piece)
                        self.bytes_in += len(piece)
                        await stdin.drain()
                except zlib.error:
                    self.bad_body = True
                    self.kill()
                    stdin = None
                except (BrokenPipeError, ConnectionResetError):
                    stdin = None  # git stopped reading; its answer will say why
            if not message.get("more_body", False):
                body_done = True
                if stdin is not None:
                    try:
                        if inflater:
                            tail = inflater.flush()
                            if tail:
                                stdin.write(tail)
                                self.bytes_in += len(tail)
                        stdin.close()
                        await stdin.wait_closed()
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    stdin = None

    async def drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(CHUNK):
            self.stderr += chunk
            del self.stderr[: -childproc.STDERR_TAIL]


async def _relay_buffered(
    stdout: childproc.PipeReader, send: Send, start: Message, preamble: bytes
) -> tuple[bool, int]:
    """git's stdout through the event loop and uvicorn's transport (the portable path).

    Returns whether the response started and the bytes sent."""
    started = False
    bytes_out = 0
    while chunk := await childproc.read_batch(stdout):
        if not started:
            started = True
            chunk = preamble + chunk
            await send(start)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        bytes_out += len(chunk)
    return started, bytes_out


async def serve_git(
    scope: Scope,
    receive: Receive,
    send: Send,
    repo_path: Path,
    request: GitRequest,
    *,
    git: str = "git",
    extra_env: Mapping[str, str] | None = None,
    on_complete: OnComplete | None = None,
) -> GitResult:
    """Serve one smart-HTTP request for the bare repository at ``repo_path``, as raw ASGI.

    The caller has already resolved the repository and authorised ``request.access``. A
    relayed response starts only once git has written something (or exited), so a git that
    dies at once becomes an HTTP 500 rather than a truncated 200; a handed-over one (the pack
    of ``upload-pack``) starts before git does, and a git that fails then shows the client an
    empty answer, which git reports as the remote end hanging up. When the client disconnects
    first, git's process group is terminated and reaped before this returns.

    ``on_complete`` (sync or async) receives the :class:`GitResult` after the last byte has been
    sent, so bookkeeping never delays the client; the same result is also returned.
    """
    git_protocol = _header(scope, "git-protocol")
    version = protocol_version(git_protocol)
    name = request.command
    inflater = None
    if request.advertise:
        argv = [git, name, "--stateless-rpc", "--advertise-refs", str(repo_path)]
        content_type = f"application/x-git-{name}-advertisement"
        preamble = b""
        if version < 2:
            preamble = pkt_line(b"# service=%s\n" % request.service.encode()) + b"0000"
    else:
        argv = [git, name, "--stateless-rpc", str(repo_path)]
        content_type = f"application/x-git-{name}-result"
        preamble = b""
        encoding = (_header(scope, "content-encoding") or "").lower()
        if encoding in ("gzip", "x-gzip"):
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding not in ("", "identity"):
            await send_text(send, 415, f"Unsupported Content-Encoding: {encoding}\n")
            return GitResult(request, None, False, 0, 0, b"")

    channel = direct.channel_of(scope)
    rpc = not request.advertise
    hand_over = channel is not None and rpc and name == "upload-pack"
    headers = answers.base_headers(content_type)
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    socket_fd = -1
    if hand_over:
        assert channel is not None
        handed = await channel.hand_over(200, headers)
        if handed is None:
            return GitResult(request, None, True, 0, 0, b"")
        socket_fd = handed
    in_w, out_r, err_r, popen = childproc.spawn(
        argv, child_env(git_protocol, extra_env), with_stdin=rpc, stdout_fd=socket_fd
    )
    stdout_transport: asyncio.BaseTransport | None = None
    stdout: childproc.PipeReader | None = None
    try:
        proc = await childproc.watch_stderr(popen, err_r)
        stdin: asyncio.StreamWriter | None = None
        if rpc:
            stdin = await childproc.stdin_writer(in_w)
            in_w = -1
        if out_r >= 0:
            stdout_transport, stdout = await childproc.stdout_reader(out_r)
            out_r = -1
    except BaseException:
        for fd in (in_w, out_r):
            if fd >= 0:
                os.close(fd)
        popen.kill()
        popen.wait()
        raise
    graceful = name == "receive-pack" and rpc
    ex = _Exchange(proc, stdin, graceful=graceful)
    tasks = [
        asyncio.create_task(ex.pump_request(receive, inflater)),
        asyncio.create_task(ex.drain_stderr()),
    ]
    try:
        if stdout is not None:
            started, bytes_out = await _relay_buffered(stdout, send, start, preamble)
        else:
            started, bytes_out = True, None  # git writes to the socket itself
        returncode = await ex.reap()
        # stderr reaches EOF once the whole group has exited; keep its tail for the log.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(tasks[1]), KILL_GRACE)
        ex.response_done = True
        if started:
            if not hand_over and not ex.disconnected:  # a handed-over body ends with the connection
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif returncode == 0:  # e.g. the flush-only probe git sends before a chunked push
            await send(start)
            await send({"type": "http.response.body", "body": preamble, "more_body": False})
            bytes_out = len(preamble)
        elif ex.bad_body:
            await send_text(send, 400, "Request body is not valid gzip\n")
        elif not ex.disconnected:
            await send_text(send, 500, f"git {name} failed\n")
    finally:
        ex.response_done = True
        if hand_over:
            assert channel is not None
            channel.end_hand_over()
        if ex.timer is not None:
            ex.timer.cancel()
        ex.kill()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if stdin is not None:
            stdin.close()
        if stdout_transport is not None:
            stdout_transport.close()
        if proc.returncode is None:
            await ex.reap()
    if returncode != 0 and not ex.disconnected:
        log.warning(
            "git %s %s exited %s: %s",
            name,
            repo_path,
            returncode,
            bytes(ex.stderr).decode("utf-8", "replace").strip(),
        )
    result = GitResult(
        request, returncode, ex.disconnected, ex.bytes_in, bytes_out, bytes(ex.stderr)
    )
    if on_complete is not None:
        outcome = on_complete(result)
        if inspect.isawaitable(outcome):
            await outcome
    return result

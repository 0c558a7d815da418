# SPDX-License-Identifier: GPL-3.0-or-later
"""uvicorn's HTTP protocol, able to hand a request's socket to git for the body of its answer.

Relayed through ASGI, every byte of a clone passes through Python: the pipe read, joins,
uvicorn's chunk framing, the socket write, an event-loop round trip per piece. ``bench/clone.py`` measured 95-130 ms of server CPU per 43 MB clone on a 2-core
machine, where that CPU is taken from git itself, and clones 1.15-1.3x slower than ``file://``.
``splice(2)`` from git's pipe into the socket cost as much (the loopback copy remains, and
Python still handled every chunk). What removes the relay is to let ``git upload-pack`` write
its answer to the client's socket itself, as it writes to a pipe for ``file://``: the response
is close-delimited (``Connection: close``, neither ``Content-Length`` nor chunks, as HTTP/1.1
allows), its head written here, its body by git, and the connection closed when git exits.
Server CPU per clone fell to ~7 ms.

Pushes still pass through the application: git sends their bodies chunked, and git cannot
read HTTP chunks. (Letting uvicorn buffer 1 MiB of body instead of 64 KiB before the
application reads it made no measurable difference to the push.)

Every plain-TCP request carries a :class:`DirectChannel` in
``scope["extensions"]["hearth.direct"]``. An application that finds none (TLS, another
server, the transport tests' plain uvicorn) takes the portable ASGI path;
``smarthttp/gitproto.py`` has both.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import struct
import termios
from http import HTTPStatus
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from hearth.metrics import DIRECT_SENT, DIRECT_STATUS

EXTENSION = "hearth.direct"
HEAD_TIMEOUT = 10.0
"""Seconds a client may leave the response head unread before the connection is dropped."""


class DirectChannel:
    """One request's direct access to its connection (see the module docstring)."""

    def __init__(self, protocol: DirectProtocol) -> None:
        self._protocol = protocol
        self._cycle: Any = None  # this request's, once handed over (a pipelined one may follow)

    async def hand_over(self, status: int, headers: list[tuple[bytes, bytes]]) -> int | None:
        """Send a close-delimited response head and hand the socket over for the body.

        Returns a duplicate of the socket descriptor for a child process to write the body to
        (it is non-blocking: git polls on EAGAIN), or None when the client is gone already (the
        connection is then closed and the request is over). uvicorn is told the response has
        started, so it sends nothing itself, and keeps delivering ``receive()`` (the request
        body, then ``http.disconnect``). :meth:`end_hand_over` closes the connection, which is
        what ends the body for the client. The head is uvicorn's (its default headers, its
        access-log line) plus ``Connection: close``; a client waiting for ``100 Continue`` gets
        it first.
        """
        protocol = self._protocol
        cycle = protocol.cycle
        transport = protocol.transport
        if cycle.response_started or transport.get_write_buffer_size():
            raise RuntimeError("the response has already started")
        sock = None if transport.is_closing() else transport.get_extra_info("socket")
        if sock is None:
            return None
        lines = [b"HTTP/1.1 %d %s" % (status, HTTPStatus(status).phrase.encode())]
        for name, value in [*cycle.default_headers, *headers, (b"connection", b"close")]:
            lines.append(b"%s: %s" % (name, value))
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        if cycle.waiting_for_100_continue:
            cycle.waiting_for_100_continue = False
            head = b"HTTP/1.1 100 Continue\r\n\r\n" + head
        cycle.response_started = True
        cycle.keep_alive = False
        cast(dict[str, Any], cycle.scope)[DIRECT_STATUS] = status  # the head skips ASGI send
        self._cycle = cycle
        if cycle.access_log:
            cycle.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(cycle.scope),
                cycle.scope["method"],
                get_path_with_query_string(cycle.scope),
                cycle.scope["http_version"],
                status,
            )
        fd = os.dup(sock.fileno())
        try:
            await _write_all(fd, head)
        except OSError:  # the client left (or never read): nothing more to say to it
            os.close(fd)
            self.end_hand_over()
            return None
        return fd

    def end_hand_over(self) -> None:
        """The body is complete: close the connection and release a pending ``receive()``."""
        cycle = self._cycle if self._cycle is not None else self._protocol.cycle
        sent = _bytes_sent(self._protocol.transport.get_extra_info("socket"))
        if sent is not None:
            cast(dict[str, Any], cycle.scope)[DIRECT_SENT] = sent  # what git wrote (metrics)
        cycle.response_complete = True
        cycle.message_event.set()
        self._protocol.transport.close()


class DirectProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, offering a :class:`DirectChannel` to each plain-TCP request."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.scheme == "http" and self.transport.get_extra_info("socket") is not None:
            self.scope["extensions"] = {EXTENSION: {"channel": DirectChannel(self)}}


def _bytes_sent(sock: Any) -> int | None:
    """Bytes written to a TCP socket so far: acknowledged by the peer (``tcpi_bytes_acked`` of
    Linux's ``tcp_info``, at offset 120) plus those still queued (``TIOCOUTQ``). None when the
    system does not tell."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
        if len(info) < 128:
            return None
        acked = struct.unpack_from("Q", info, 120)[0]
        queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
    except (OSError, AttributeError, ValueError):
        return None
    return int(acked + queued)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _write_all(fd: int, data: bytes) -> None:
    """A few hundred bytes into a socket that has nothing queued: one write, in practice."""
    view = memoryview(data)
    loop = asyncio.get_running_loop()
    while view:
        try:
            view = view[os.write(fd, view) :]
            continue
        except BlockingIOError:
            pass
        writable: asyncio.Future[None] = loop.create_future()
        loop.add_writer(fd, _settle, writable)
        try:
            await asyncio.wait_for(writable, HEAD_TIMEOUT)
        finally:
            loop.remove_writer(fd)


def channel_of(scope: Any) -> DirectChannel | None:
    """The request's :class:`DirectChannel`, or None when the server offers none."""
    extension = (scope.get("extensions") or {}).get(EXTENSION)
    channel = extension.get("channel") if isinstance(extension, dict) else None
    return channel if isinstance(channel, DirectChannel) else None

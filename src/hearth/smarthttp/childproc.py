# SPDX-License-Identifier: GPL-3.0-or-later
"""git children for the smart-HTTP relay: started with ``Popen`` on big pipes, watched on the event
loop (``smarthttp/gitproto.py`` speaks the protocol over them).

* :func:`spawn` starts git in a session of its own, stdin and stdout on pipes of
  :data:`PIPE_SIZE`; :func:`watch_stderr`, :func:`stdout_reader` and :func:`stdin_writer` wrap
  our ends for the loop; :class:`Child` awaits the exit through a pidfd.
* :class:`PipeReader` is git's stdout as a queue of reads with backpressure, :func:`read_batch`
  gathers them towards :data:`BATCH` bytes before a send.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import os
import subprocess
from typing import Any

PIPE_LIMIT = 1024 * 1024
"""Bytes of git's output we hold before we stop reading its pipe; bounds memory per transfer."""
BATCH = 256 * 1024
BATCH_WAIT = 0.001
"""upload-pack writes its pack in 8 KiB pieces, so reading as data arrives means thousands of
8 KiB sends per clone (43 MB: ~5,000), each a trip through the event loop and a small TCP
write. When a read brings less than :data:`BATCH`, we wait this long (seconds) for more,
a few times at most, before sending. Measured on 8.5 MB: curl received it in 0.09 s
without batching, in 0.05 s with it (``git upload-pack`` to a pipe: 0.04 s)."""
PIPE_SIZE = 1024 * 1024
"""Kernel buffer of git's stdin and stdout pipes (Linux ``F_SETPIPE_SZ``; default 64 KiB).

Bigger pipes mean bigger reads and fewer wake-ups for git and for us: on a 2-core machine
the relay competes with pack-objects and index-pack for CPU."""
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
STDERR_TAIL = 8192


class PipeReader(asyncio.Protocol):
    """git's stdout as a queue of the byte strings the event loop read, with backpressure.

    ``StreamReader`` copies every read into a bytearray and slices it out again (and shifts
    the remainder down); here each read is handed on as it came, or joined once when several
    are waiting. Reading stops above :data:`PIPE_LIMIT` queued bytes.
    """

    def __init__(self) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._eof = False
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self.transport: asyncio.ReadTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._queued += len(data)
        if self._queued > PIPE_LIMIT and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def at_eof(self) -> bool:
        return self._eof and not self._chunks

    async def read(self) -> bytes:
        """Everything read so far (at least one byte), or b"" at end of file."""
        while not self._chunks and not self._eof:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            self._waiter = None
        return self.read_nowait()

    def read_nowait(self) -> bytes:
        """Everything read so far, possibly nothing."""
        if not self._chunks:
            return b""
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._queued = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data


async def read_batch(stdout: PipeReader) -> bytes:
    """At least one byte of git's output (b"" at its end), batched up towards BATCH bytes."""
    chunk = await stdout.read()
    parts = [chunk]
    size = len(chunk)
    for _ in range(4):
        if size >= BATCH or stdout.at_eof():
            break
        await asyncio.sleep(BATCH_WAIT)
        more = stdout.read_nowait()
        if not more:
            break
        parts.append(more)
        size += len(more)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    with contextlib.suppress(OSError):  # not Linux, or above fs.pipe-max-size: keep 64 KiB
        fcntl.fcntl(write_fd, _F_SETPIPE_SZ, PIPE_SIZE)
    return read_fd, write_fd


class Child:
    """A git child started with ``subprocess.Popen`` and awaited through a pidfd.

    uvloop starts children with libuv's plain ``fork()``, which copies the page tables of the
    whole server (100 MB and more) while the event loop waits: 5.5 ms per git request against
    2.8 ms for ``Popen``'s ``vfork``, and three requests per clone. The exit is watched with
    ``pidfd_open`` on the loop (a worker thread where there is no pidfd), and ``Popen.wait``
    reaps it.
    """

    def __init__(self, popen: subprocess.Popen[bytes], stderr: asyncio.StreamReader) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.stderr = stderr
        loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = loop.create_future()
        self._pidfd = -1
        try:
            self._pidfd = os.pidfd_open(popen.pid)
        except (AttributeError, OSError):
            waiter = loop.run_in_executor(None, popen.wait)
            waiter.add_done_callback(lambda _: self._done())
        else:
            loop.add_reader(self._pidfd, self._reap)

    @property
    def returncode(self) -> int | None:
        """None until the child has been reaped (so its process group id is still ours)."""
        return self._popen.returncode

    def _reap(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = -1
        self._popen.wait()  # it has exited: this only collects the status
        self._done()

    def _done(self) -> None:
        if not self._exited.done():
            self._exited.set_result(self._popen.returncode)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)


def spawn(
    argv: list[str], env: dict[str, str], *, with_stdin: bool, stdout_fd: int = -1
) -> tuple[int, int, int, subprocess.Popen[bytes]]:
    """Start git in a session of its own, its stdin and stdout on big pipes.

    Returns our ends (stdin's write end, -1 for GETs; stdout's and stderr's read ends) and the
    process; the caller wraps them for the event loop. With ``stdout_fd`` git writes there
    instead (it is closed here, and stdout's read end is -1).
    """
    out_r, out_w, in_r, in_w, err_r, err_w = -1, stdout_fd, -1, -1, -1, -1
    try:
        if stdout_fd < 0:
            out_r, out_w = _pipe()
        if with_stdin:
            in_r, in_w = _pipe()
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        popen = subprocess.Popen(
            argv,
            stdin=in_r if with_stdin else subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            env=env,
            start_new_session=True,
        )
    except BaseException:
        for fd in (out_r, in_w, err_r):
            if fd >= 0:
                os.close(fd)
        raise
    finally:
        for fd in (out_w, in_r, err_w):
            if fd >= 0:
                os.close(fd)
    return in_w, out_r, err_r, popen


def _pipe_file(fd: int, mode: str) -> Any:
    """A file object for ``connect_*_pipe`` through which ``fd`` is closed exactly once.

    uvloop closes the descriptor itself when the transport closes, and a file object owning it
    closed it a second time when collected; by then the number may belong to someone else. Seen
    in the test suite: a concurrent ``Popen``'s error pipe closed under it (EBADF), the clone's
    answer lost. asyncio's own loops close only through the file object.
    """
    closes_itself = type(asyncio.get_running_loop()).__module__.startswith("uvloop")
    return os.fdopen(fd, mode, buffering=0, closefd=not closes_itself)


async def watch_stderr(popen: subprocess.Popen[bytes], err_r: int) -> Child:
    loop = asyncio.get_running_loop()
    stderr = asyncio.StreamReader(limit=STDERR_TAIL * 2)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stderr), _pipe_file(err_r, "rb")
    )
    return Child(popen, stderr)


async def stdout_reader(out_r: int) -> tuple[asyncio.BaseTransport, PipeReader]:
    loop = asyncio.get_running_loop()
    return await loop.connect_read_pipe(PipeReader, _pipe_file(out_r, "rb"))


async def stdin_writer(in_w: int) -> asyncio.StreamWriter:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader()),
        _pipe_file(in_w, "wb"),
    )
    return asyncio.StreamWriter(transport, protocol, None, loop)

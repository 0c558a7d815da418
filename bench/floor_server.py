# SPDX-License-Identifier: GPL-3.0-or-later
"""The least a git smart-HTTP server can do: the floor ``bench/clone.py`` measures Hearth against.

One thread per connection, blocking sockets, no authentication, no database, no hooks, no
bookkeeping. ``GET info/refs`` runs ``git <service> --advertise-refs``; a POST feeds the body
(``Content-Length`` or chunked, the framing taken off here) to ``git <service>
--stateless-rpc`` while git writes its answer straight into the socket after a close-delimited
head. Whatever this server costs over ``file://`` or a local push is what git's HTTP client
(git-remote-http and curl, one more process and pipe, the request round trips) costs, which no
server can take away. Not for use outside the benchmark: it trusts every byte it is sent.

Run: ``python bench/floor_server.py <repositories root> <port>``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import zlib
from pathlib import Path


class Connection:
    def __init__(self, sock: socket.socket, root: Path) -> None:
        self.sock = sock
        self.root = root
        self.buf = b""

    def _more(self) -> None:
        data = self.sock.recv(256 * 1024)
        if not data:
            raise EOFError
        self.buf += data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._more()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exactly(self, size: int, out: int) -> None:
        while size:
            if not self.buf:
                self._more()
            piece, self.buf = self.buf[:size], self.buf[size:]
            os.write(out, piece)
            size -= len(piece)

    def _body(self, headers: dict[bytes, bytes], out: int) -> None:
        if headers.get(b"content-encoding") == b"gzip":  # git gzips fetch requests over 1 KiB
            read_end, write_end = os.pipe()
            reader = threading.Thread(target=_gunzip, args=(read_end, out))
            reader.start()
            try:
                self._plain_body(headers, write_end)
            finally:
                os.close(write_end)
                reader.join()
                os.close(read_end)
        else:
            self._plain_body(headers, out)

    def _plain_body(self, headers: dict[bytes, bytes], out: int) -> None:
        if headers.get(b"transfer-encoding") != b"chunked":
            self._exactly(int(headers.get(b"content-length", b"0")), out)
            return
        while size := int(self._line().split(b";")[0], 16):
            self._exactly(size, out)
            self._line()
        while self._line():  # trailers
            pass

    def serve(self) -> None:
        try:
            while self.request():
                pass
        except (EOFError, ConnectionError):
            pass
        finally:
            self.sock.close()

    def request(self) -> bool:
        """One request; False when the connection is to be closed."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        method, target, _version = lines[0].split(b" ")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        path, _, query = target.decode().partition("?")
        if method == b"GET":
            repo, service = path.strip("/").rsplit("/info/refs", 1)[0], query.split("=", 1)[1]
            refs = subprocess.run(
                ["git", service[4:], "--stateless-rpc", "--advertise-refs", self.root / repo],
                capture_output=True,
                check=True,
            ).stdout
            line = b"# service=%s\n" % service.encode()
            body = b"%04x%s0000" % (len(line) + 4, line) + refs
            kind = b"application/x-%s-advertisement" % service.encode()
            self.sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
                % (kind, len(body), body)
            )
            return True
        repo, _, service = path.strip("/").rpartition("/")
        if headers.get(b"expect") == b"100-continue":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        kind = b"application/x-%s-result" % service.encode()
        self.sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n" % kind
        )
        read_end, write_end = os.pipe()
        git = subprocess.Popen(
            ["git", service[4:], "--stateless-rpc", self.root / repo],
            stdin=read_end,
            stdout=self.sock.fileno(),
        )
        os.close(read_end)
        try:
            self._body(headers, write_end)
        finally:
            os.close(write_end)
            git.wait()
        return False


def _gunzip(source: int, out: int) -> None:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    while data := os.read(source, 256 * 1024):
        os.write(out, inflater.decompress(data))
    os.write(out, inflater.flush())


def main() -> None:
    root, port = Path(sys.argv[1]), int(sys.argv[2])
    listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=Connection(sock, root).serve, daemon=True).start()


if __name__ == "__main__":
    main()

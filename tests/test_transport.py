# SPDX-License-Identifier: GPL-3.0-or-later
"""Wire tests of the git and hg transport against the real clients and a live uvicorn.

The server is uvicorn (uvloop + httptools, as in production) in a thread, serving a tiny
router (:class:`TransportApp`) that maps ``/<name>`` to repositories under a temporary root
with nothing but ``hearth.smarthttp``. ``bench/clone.py`` serves the same router.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from hearth.smarthttp import (
    GitRequest,
    GitResult,
    HgWebHost,
    parse_git_request,
    parse_hg_request,
    send_text,
    serve_git,
    split_git_path,
)
from hearth.smarthttp.hgproto import PUSH_COMMANDS
from tests.live import proc_table

HG = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "hg")
if not os.access(HG, os.X_OK):
    HG = shutil.which("hg") or "hg"


# --- the router under test -------------------------------------------------------------------


def _is_git(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def _is_hg(path: Path) -> bool:
    return (path / ".hg").is_dir()


class TransportApp:
    """Test-only router: ``/<name>[.git]/…`` → the git or hg repository ``<root>/<name>``.

    ``readonly`` names refuse pushes, ``no_stream`` names refuse hg stream clones; every
    request's method, path and headers and every git result are recorded for assertions.
    """

    def __init__(self, root: Path, host: HgWebHost | None = None) -> None:
        self.root = root
        self.host = host or HgWebHost(workers=8)
        self.readonly: set[str] = set()
        self.no_stream: set[str] = set()
        self.hg_user: str | None = "alice"
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.results: list[tuple[str, GitResult]] = []

    def resolve(self, path: str) -> tuple[str, str, str, Path] | None:
        """(name, url part, rest, directory) for the longest prefix naming a repository."""
        parts = [p for p in path.split("/") if p]
        for i in range(len(parts), 0, -1):
            url_part = "/".join(parts[:i])
            for name in (url_part, url_part.removesuffix(".git")):
                if name and ".." not in name.split("/"):
                    directory = self.root / name
                    if _is_git(directory) or _is_hg(directory):
                        return name, url_part, "/".join(parts[i:]), directory
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests.append((scope["method"], scope["path"], headers))
        found = self.resolve(scope["path"])
        if found is None:
            await send_text(send, 404, "Repository not found")
            return
        name, url_part, rest, directory = found
        if _is_git(directory):
            request = parse_git_request(scope["method"], rest, scope["query_string"])
            if request is None:
                await send_text(send, 404, "Not Found")
                return
            if request.access == "push" and name in self.readonly:
                await send_text(send, 403, "Push access denied")
                return

            def record(result: GitResult) -> None:
                self.results.append((name, result))

            await serve_git(scope, receive, send, directory, request, on_complete=record)
            return
        app = self.host.app(
            directory,
            allow_push=name not in self.readonly,
            stream_clones=name not in self.no_stream,
            push_user=self.hg_user,
            repo_name=name,
            url_prefix="/" + url_part,
        )
        await app(scope, receive, send)


def app_from_env() -> TransportApp:
    """uvicorn factory for a server in a subprocess (``bench/clone.py``)."""
    return TransportApp(Path(os.environ["HEARTH_TRANSPORT_ROOT"]))


class TransportServer:
    """uvicorn with uvloop and httptools in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: TransportApp) -> None:
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, loop="uvloop", http="httptools", lifespan="off", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for key, value in {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_TERMINAL_PROMPT": "0",
        "HGRCPATH": "",
        "HGPLAIN": "1",
        "HGUSER": "Test <test@example.com>",
        "HGENCODING": "utf-8",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GIT_PROTOCOL", raising=False)


@pytest.fixture
def transport(tmp_path: Path) -> Iterator[TransportServer]:
    """A fresh server per test (the suite-wide ``server`` fixture is the whole application)."""
    root = tmp_path / "repos"
    root.mkdir()
    live = TransportServer(TransportApp(root))
    yield live
    live.stop()


def run(*args: str | Path, cwd: Path | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a client command; fail the test with its output if it fails."""
    kw.setdefault("text", True)
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, timeout=300, **kw)
    if proc.returncode != 0:
        pytest.fail(f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def git(*args: str | Path, **kw: Any) -> str:
    return run("git", *args, **kw).stdout.strip()


def fast_import(
    repo: Path,
    commits: int,
    size: int,
    *,
    ref: str = "refs/heads/main",
    tags: bool = False,
    start: int = 0,
    files_per_commit: int = 1,
) -> None:
    """Append ``commits`` commits of random (incompressible) files to ``ref`` in one process.

    ``git fast-import`` builds thousands of commits per second, where ``git commit`` would
    take minutes; ``tags`` adds a lightweight tag ``t<n>`` on every commit.
    """
    # Random data does not compress: storing it (level 0, no delta search) is 3x faster.
    argv = ["git", "-C", str(repo), "-c", "core.compression=0", "fast-import", "--quiet"]
    argv.append("--big-file-threshold=64k")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    w = proc.stdin
    mark = 0
    for i in range(start, start + commits):
        blobs = []
        for j in range(files_per_commit):
            mark += 1
            data = os.urandom(size) if size else b"%d.%d\n" % (i, j)
            w.write(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))
            blobs.append((mark, b"d%d/f%d-%d.bin" % (i % 50, i, j)))
        mark += 1
        message = b"commit %d\n" % i
        w.write(b"commit %s\nmark :%d\n" % (ref.encode(), mark))
        w.write(b"committer Test <test@example.com> %d +0000\n" % (1_600_000_000 + i))
        w.write(b"data %d\n%s" % (len(message), message))
        if i == start and start:
            w.write(b"from %s^0\n" % ref.encode())
        for blob, path in blobs:
            w.write(b"M 100644 :%d %s\n" % (blob, path))
        w.write(b"\n")
        if tags:
            w.write(b"reset refs/tags/t%d\nfrom :%d\n\n" % (i, mark))
    w.close()
    assert proc.wait() == 0


def bare_repo(root: Path, name: str, commits: int = 3, size: int = 0, **kw: Any) -> Path:
    path = root / name
    path.mkdir(parents=True)
    git("init", "-q", "--bare", "-b", "main", path)
    if commits:
        fast_import(path, commits, size, **kw)
    return path


def refs(repo: Path) -> dict[str, str]:
    out = git("-C", repo, "for-each-ref", "--format=%(objectname) %(refname)")
    return {ref: sha for sha, ref in (line.split() for line in out.splitlines())}


def fsck(repo: Path) -> None:
    git("-C", repo, "fsck", "--strict", "--no-progress")


def server_children() -> set[int]:
    """Processes the in-process server spawned: git children of this process living in a
    session of their own, and their descendants. Live Hearth servers other test modules keep
    running (subprocesses in sessions of their own too) are not git and do not count."""
    table = proc_table()
    mine = os.getsid(0)
    found: set[int] = set()
    frontier = {
        p
        for p, row in table.items()
        if row[0] == os.getpid() and row[2] != mine and row[3].startswith("git")
    }
    found |= frontier
    while frontier:
        frontier = {p for p, row in table.items() if row[0] in frontier} - found
        found |= frontier
    return {p for p in found if table[p][2] != mine}


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace").replace("\0", " ")
    except OSError:
        return ""


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def assert_gone(pids: set[int]) -> None:
    """Every pid has exited and been reaped (no zombies left behind)."""

    def gone() -> bool:
        table = proc_table()
        return not any(pid in table for pid in pids)

    deadline = time.monotonic() + 20
    while not gone():
        if time.monotonic() > deadline:
            table = proc_table()
            left = {pid: table[pid] for pid in pids if pid in table}
            pytest.fail(f"git processes left behind (pid: ppid, state, sid, comm): {left}")
        time.sleep(0.05)


def raw_request(port: int, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(head.encode("latin-1"))
    return sock


def read_response_head(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the response head"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest


def abort(sock: socket.socket) -> None:
    """Close like a killed process with unread data: the kernel answers with a reset."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


# --- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "rest", "query", "expected"),
    [
        ("GET", "info/refs", "service=git-upload-pack", ("git-upload-pack", True, "pull")),
        ("GET", "info/refs", "service=git-receive-pack", ("git-receive-pack", True, "push")),
        ("POST", "git-upload-pack", "", ("git-upload-pack", False, "pull")),
        ("POST", "git-receive-pack", "", ("git-receive-pack", False, "push")),
        ("GET", "info/refs", "", None),  # dumb protocol
        ("GET", "info/refs", "service=git-upload-archive", None),
        ("GET", "info/refs", "service=git-upload-pack&service=git-receive-pack", None),
        ("GET", "HEAD", "", None),
        ("GET", "objects/info/packs", "", None),
        ("GET", "objects/ab/cdef0123", "", None),
        ("GET", "git-upload-pack", "", None),
        ("POST", "info/refs", "service=git-upload-pack", None),
        ("GET", "", "", None),
    ],
)
def test_parse_git_request(
    method: str, rest: str, query: str, expected: tuple[str, bool, str] | None
) -> None:
    request = parse_git_request(method, rest, query.encode())
    if expected is None:
        assert request is None
    else:
        assert request is not None
        assert (request.service, request.advertise, request.access) == expected


def test_split_git_path() -> None:
    assert split_git_path("/grp/sub/name.git/info/refs") == ("grp/sub/name.git", "info/refs")
    assert split_git_path("name/git-receive-pack") == ("name", "git-receive-pack")
    assert split_git_path("name/objects/info/packs") is None
    assert split_git_path("info/refs") is None


def _hgarg_headers(args: str, size: int = 30) -> list[tuple[bytes, bytes]]:
    parts = [args[i : i + size] for i in range(0, len(args), size)]
    return [(b"X-HgArg-%d" % (n + 1), part.encode()) for n, part in enumerate(parts)]


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        ("cmd=capabilities", [], ("capabilities", (), "pull")),
        ("cmd=getbundle", [], ("getbundle", (), "pull")),
        ("cmd=listkeys", [(b"X-HgArg-1", b"namespace=bookmarks")], ("listkeys", (), "pull")),
        ("cmd=unbundle", [], ("unbundle", (), "push")),
        ("cmd=pushkey", [], ("pushkey", (), "push")),
        ("cmd=batch&cmds=heads+%3Bknown+nodes%3D", [], ("batch", ("heads", "known"), "pull")),
        ("cmd=batch&cmds=heads+%3Bpushkey+key%3Dx", [], ("batch", ("heads", "pushkey"), "push")),
        (
            "cmd=batch",
            _hgarg_headers("cmds=heads+%3Bknown+nodes%3D%3Bunbundle+heads%3D"),
            ("batch", ("heads", "known", "unbundle"), "push"),
        ),
        (
            "cmd=batch",
            _hgarg_headers("cmds=heads+%3Bknown+nodes%3Dabc%2Cdef"),
            ("batch", ("heads", "known"), "pull"),
        ),
        ("cmd=batch", [(b"X-HgArgs-Post", b"120")], ("batch", (), "push")),
        ("", [(b"Accept", b"application/mercurial-0.1")], (None, (), "pull")),
        ("cmd=changelog", [], ("changelog", (), "pull")),  # hgweb's own page, read-only
        ("", [(b"Accept", b"text/html")], None),
        ("style=raw", [], None),
    ],
)
def test_parse_hg_request(
    query: str, headers: list[tuple[bytes, bytes]], expected: tuple[Any, ...] | None
) -> None:
    request = parse_hg_request(query.encode(), headers)
    if expected is None:
        assert request is None
    else:
        assert request is not None
        assert (request.cmd, request.batch, request.access) == expected


def test_push_commands_match_mercurial() -> None:
    """Our list of writing commands is Mercurial's own permission table, not a guess."""
    from mercurial import wireprotov1server

    theirs = {
        name.decode()
        for name, entry in wireprotov1server.commands.items()
        if entry.permission == b"push"
    }
    assert theirs == PUSH_COMMANDS


# --- git --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 2])
def test_git_clone_fetch_push(transport: TransportServer, tmp_path: Path, version: int) -> None:
    origin = bare_repo(transport.app.root, "grp/sub/proj", commits=5, size=1000)
    proto = ["-c", f"protocol.version={version}"]
    trace = tmp_path / "trace"
    work = tmp_path / "work"
    run(
        "git", *proto, "clone", "-q", f"{transport.url}/grp/sub/proj.git", work,
        env={**os.environ, "GIT_TRACE_PACKET": str(trace)},
    )  # fmt: skip
    assert ("version 2" in trace.read_text()) == (version == 2)
    assert git("-C", work, "rev-parse", "HEAD") == refs(origin)["refs/heads/main"]

    (work / "new.txt").write_text("hello\n")
    git("-C", work, "add", "new.txt")
    git("-C", work, "commit", "-q", "-m", "new")
    git("-C", work, *proto, "push", "-q", "origin", "main")
    assert refs(origin)["refs/heads/main"] == git("-C", work, "rev-parse", "HEAD")
    name, pushed = transport.app.results[-1]
    assert name == "grp/sub/proj"
    assert pushed.request.access == "push" and pushed.ok and pushed.bytes_in > 0

    other = tmp_path / "other"
    run("git", *proto, "clone", "-q", f"{transport.url}/grp/sub/proj", other)
    (other / "second.txt").write_text("again\n")
    git("-C", other, "add", "second.txt")
    git("-C", other, "commit", "-q", "-m", "second")
    git("-C", other, *proto, "push", "-q", "origin", "main")
    git("-C", work, *proto, "fetch", "-q", "origin")
    assert git("-C", work, "rev-parse", "origin/main") == refs(origin)["refs/heads/main"]
    fsck(origin)


@pytest.mark.parametrize("version", [0, 2])
def test_git_shallow_clone(transport: TransportServer, tmp_path: Path, version: int) -> None:
    bare_repo(transport.app.root, "shallow", commits=20)
    work = tmp_path / "work"
    run(
        "git", "-c", f"protocol.version={version}", "clone", "-q", "--depth", "1",
        f"{transport.url}/shallow", work,
    )  # fmt: skip
    assert git("-C", work, "rev-list", "--count", "HEAD") == "1"
    assert (work / ".git" / "shallow").is_file()
    git("-C", work, "fetch", "-q", "--deepen", "5")
    assert git("-C", work, "rev-list", "--count", "HEAD") == "6"


def test_git_large_push_is_chunked(transport: TransportServer, tmp_path: Path) -> None:
    origin = bare_repo(transport.app.root, "big", commits=1)
    work = tmp_path / "work"
    run("git", "clone", "-q", f"{transport.url}/big", work)
    for i in range(3):
        (work / f"blob{i}.bin").write_bytes(os.urandom(1024 * 1024))
    git("-C", work, "add", ".")
    git("-C", work, "commit", "-q", "-m", "three MiB of noise")
    git("-C", work, "push", "-q", "origin", "main")

    posts = [
        h for m, p, h in transport.app.requests if m == "POST" and p.endswith("/git-receive-pack")
    ]
    assert any(h.get("transfer-encoding") == "chunked" for h in posts), posts
    assert refs(origin)["refs/heads/main"] == git("-C", work, "rev-parse", "HEAD")
    assert max(r.bytes_in for _, r in transport.app.results) > 3 * 1024 * 1024
    fsck(origin)
    check = tmp_path / "check"
    run("git", "clone", "-q", f"{transport.url}/big", check)
    assert (check / "blob2.bin").read_bytes() == (work / "blob2.bin").read_bytes()


@pytest.mark.parametrize("version", [0, 2])
def test_git_gzip_request_body(transport: TransportServer, tmp_path: Path, version: int) -> None:
    origin = bare_repo(transport.app.root, "tagged", commits=200, tags=True)
    work = tmp_path / "work"
    run("git", "-c", f"protocol.version={version}", "clone", "-q", f"{transport.url}/tagged", work)
    posts = [
        h for m, p, h in transport.app.requests if m == "POST" and p.endswith("/git-upload-pack")
    ]
    assert any(h.get("content-encoding") == "gzip" for h in posts), posts
    assert len(git("-C", work, "tag").split()) == 200

    fast_import(origin, 5, 0, start=200, tags=True)
    git("-C", work, "-c", f"protocol.version={version}", "fetch", "-q", "--tags", "origin")
    assert len(git("-C", work, "tag").split()) == 205
    assert git("-C", work, "rev-parse", "origin/main") == refs(origin)["refs/heads/main"]


def test_git_headers_and_v2_preamble(transport: TransportServer) -> None:
    bare_repo(transport.app.root, "hdr", commits=1)
    with httpx.Client(base_url=transport.url) as client:
        v0 = client.get("/hdr/info/refs", params={"service": "git-upload-pack"})
        assert v0.status_code == 200
        assert v0.headers["content-type"] == "application/x-git-upload-pack-advertisement"
        assert "no-cache" in v0.headers["cache-control"]
        assert v0.content.startswith(b"001e# service=git-upload-pack\n0000")

        v2 = client.get(
            "/hdr/info/refs",
            params={"service": "git-upload-pack"},
            headers={"Git-Protocol": "version=2"},
        )
        assert v2.content.startswith(b"000eversion 2\n")

        push = client.get("/hdr/info/refs", params={"service": "git-receive-pack"})
        assert push.headers["content-type"] == "application/x-git-receive-pack-advertisement"
        assert push.content.startswith(b"001f# service=git-receive-pack\n0000")

        rpc = client.post(
            "/hdr/git-upload-pack",
            content=b"0014command=ls-refs\n0000",
            headers={"Git-Protocol": "version=2"},
        )
        assert rpc.status_code == 200
        assert rpc.headers["content-type"] == "application/x-git-upload-pack-result"
        assert "no-cache" in rpc.headers["cache-control"]
        assert b"refs/heads/main" in rpc.content

        bad = client.post(
            "/hdr/git-upload-pack", content=b"garbage", headers={"Content-Encoding": "gzip"}
        )
        assert bad.status_code == 400
        odd = client.post("/hdr/git-upload-pack", content=b"", headers={"Content-Encoding": "br"})
        assert odd.status_code == 415


def test_git_dumb_protocol_is_404(transport: TransportServer, tmp_path: Path) -> None:
    bare_repo(transport.app.root, "dumb", commits=1)
    git("-C", transport.app.root / "dumb", "update-server-info")  # dumb files exist on disk
    with httpx.Client(base_url=transport.url) as client:
        for path in (
            "/dumb/info/refs",
            "/dumb.git/info/refs",
            "/dumb/HEAD",
            "/dumb/objects/info/packs",
            "/dumb/git-upload-pack",
            "/dumb/info/refs?service=git-upload-archive",
            "/nothing/info/refs?service=git-upload-pack",
        ):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert "no-cache" in answer.headers["cache-control"]
    proc = subprocess.run(
        ["git", "clone", "-q", f"{transport.url}/dumb", str(tmp_path / "w")],
        capture_output=True,
        env={**os.environ, "GIT_SMART_HTTP": "0"},
    )
    assert proc.returncode != 0


def test_git_failure_before_output_is_500(tmp_path: Path) -> None:
    """A child that dies without a byte becomes a clean 500, and the result says so."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": [], "query_string": b""}
    request = GitRequest("git-upload-pack", advertise=True)
    # on a thread of its own: a browser test earlier in this process leaves Playwright's event
    # loop running on the main thread, where asyncio.run refuses to start another
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        coroutine = serve_git(scope, receive, send, tmp_path / "missing", request)
        result = pool.submit(asyncio.run, coroutine).result()
    assert sent[0]["status"] == 500
    assert result.returncode not in (0, None) and not result.ok
    assert b"missing" in result.stderr


def test_git_client_gone_mid_clone(transport: TransportServer) -> None:
    origin = bare_repo(transport.app.root, "huge", commits=24, size=1024 * 1024)
    head = refs(origin)["refs/heads/main"]
    body = b"%s0000" % (b"0032want %s\n" % head.encode()) + b"0009done\n"
    sock = raw_request(
        transport.port,
        f"POST /huge/git-upload-pack HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: application/x-git-upload-pack-request\r\n"
        f"Content-Length: {len(body)}\r\n\r\n",
    )
    sock.sendall(body)
    status, _ = read_response_head(sock)
    assert status == 200
    sock.recv(65536)
    pids = wait_for(server_children, what="upload-pack to be running")
    abort(sock)
    assert_gone(pids)
    wait_for(lambda: transport.app.results, what="the result")
    name, result = transport.app.results[-1]
    assert name == "huge" and result.disconnected and not result.ok
    assert result.bytes_out < 24 * 1024 * 1024
    fsck(origin)


def test_git_client_gone_mid_push(transport: TransportServer, tmp_path: Path) -> None:
    origin = bare_repo(transport.app.root, "target", commits=2)
    before = refs(origin)
    work = tmp_path / "work"
    git("clone", "-q", origin, work)
    fast_import(work, 20, 1024 * 1024, start=2)
    new = git("-C", work, "rev-parse", "main")
    pack = run(
        "git", "-C", work, "pack-objects", "--stdout", "--revs", "-q",
        input=f"{new}\n^{before['refs/heads/main']}\n".encode(), text=False,
    ).stdout  # fmt: skip
    command = b"%s %s refs/heads/main\0report-status\n" % (
        before["refs/heads/main"].encode(),
        new.encode(),
    )
    sock = raw_request(
        transport.port,
        "POST /target/git-receive-pack HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/x-git-receive-pack-request\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
    )
    payload = b"%04x%s0000" % (len(command) + 4, command) + pack[: len(pack) // 2]
    for i in range(0, len(payload), 256 * 1024):
        piece = payload[i : i + 256 * 1024]
        sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
    wait_for(
        lambda: any(re.search("index-pack|unpack-objects", cmdline(p)) for p in server_children()),
        what="receive-pack to be unpacking",
    )
    pids = server_children()
    abort(sock)
    assert_gone(pids)
    assert refs(origin) == before
    fsck(origin)
    assert not list((origin / "objects").glob("tmp_objdir-incoming-*"))
    _, result = wait_for(lambda: transport.app.results and transport.app.results[-1])
    assert result.request.access == "push" and result.disconnected

    git("-C", work, "push", "-q", f"{transport.url}/target", "main")
    assert refs(origin)["refs/heads/main"] == new
    fsck(origin)


def test_git_real_client_killed_mid_clone(transport: TransportServer, tmp_path: Path) -> None:
    origin = bare_repo(transport.app.root, "killme", commits=24, size=1024 * 1024)
    client = subprocess.Popen(
        ["git", "clone", "-q", "--bare", f"{transport.url}/killme", str(tmp_path / "w")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: any(h for m, p, h in transport.app.requests if m == "POST"),
            what="the upload-pack POST",
        )
        pids = wait_for(server_children, what="upload-pack to be running")
    finally:
        client.kill()
        client.wait()
    assert_gone(pids)
    fsck(origin)


def test_git_push_refused_when_readonly(transport: TransportServer, tmp_path: Path) -> None:
    origin = bare_repo(transport.app.root, "ro", commits=1)
    transport.app.readonly.add("ro")
    work = tmp_path / "work"
    run("git", "clone", "-q", f"{transport.url}/ro", work)
    git("-C", work, "commit", "-q", "--allow-empty", "-m", "nope")
    proc = subprocess.run(
        ["git", "-C", str(work), "push", "origin", "main"], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "403" in proc.stderr
    assert refs(origin)["refs/heads/main"] != git("-C", work, "rev-parse", "HEAD")


# --- mercurial --------------------------------------------------------------------------------


def hg(*args: str | Path, **kw: Any) -> str:
    return run(HG, *args, **kw).stdout


def hg_repo(root: Path, name: str, commits: int = 3) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    hg("init", path)
    for i in range(commits):
        (path / f"f{i}.txt").write_text(f"line {i}\n" * 100)
        hg("-R", path, "commit", "-q", "-A", "-m", f"commit {i}")
    return path


def hg_commit(work: Path, name: str, text: str) -> None:
    (work / name).write_text(text)
    hg("-R", work, "commit", "-q", "-A", "-m", f"add {name}")


def tip(repo: Path) -> str:
    return hg("-R", repo, "log", "-r", "tip", "-T", "{node}")


def test_hg_clone_pull_push(transport: TransportServer, tmp_path: Path) -> None:
    origin = hg_repo(transport.app.root, "grp/sub/hgproj")
    seen = tmp_path / "hook-url"
    (origin / ".hg" / "hgrc").write_text(
        f'[hooks]\npretxnchangegroup.who = echo "$HG_URL" > "{seen}"\n'
    )
    url = f"{transport.url}/grp/sub/hgproj"
    work = tmp_path / "work"
    hg("clone", "-q", url, work)
    assert tip(work) == tip(origin)

    other = tmp_path / "other"
    hg("clone", "-q", url, other)  # warms the server's cached repository
    hg_commit(work, "new.txt", "hello\n")
    hg("-R", work, "push", "-q", url)
    assert tip(origin) == tip(work)
    assert seen.read_text().strip() == "remote:http:127.0.0.1:alice"

    out = hg("-R", other, "pull", "-u", url)  # the push is visible to the next request
    assert "added 1 changesets" in out
    assert tip(other) == tip(origin)
    hg_commit(other, "second.txt", "again\n")
    hg("-R", other, "push", "-q", url)
    hg("-R", work, "pull", "-q", "-u", url)
    assert tip(work) == tip(origin)
    hg("-R", origin, "verify", "-q")


def test_hg_push_refused(transport: TransportServer, tmp_path: Path) -> None:
    origin = hg_repo(transport.app.root, "hgro")
    transport.app.readonly.add("hgro")
    work = tmp_path / "work"
    hg("clone", "-q", f"{transport.url}/hgro", work)
    hg_commit(work, "x.txt", "x\n")
    proc = subprocess.run(
        [HG, "-R", str(work), "push", f"{transport.url}/hgro"], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "HTTP Error 403" in proc.stdout + proc.stderr
    assert len(hg("-R", origin, "log", "-T", "{rev}\n").split()) == 3
    hg("-R", origin, "verify", "-q")


def test_hg_refused_by_hgweb_itself(tmp_path: Path) -> None:
    """Even if a push slipped past the classifier, hgweb's own allow-push is empty."""
    host = HgWebHost(workers=1)
    origin = hg_repo(tmp_path, "inner", commits=1)
    web = host._hgweb((str(origin), False, True, "inner"))
    with web._obtainrepo() as repo:
        assert repo.ui.configlist(b"web", b"allow-push") == []
        assert repo.ui.configlist(b"web", b"deny_push") == [b"*"]


def test_hg_stream_clone(transport: TransportServer, tmp_path: Path) -> None:
    origin = hg_repo(transport.app.root, "streamy", commits=5)
    out = hg("clone", "--stream", f"{transport.url}/streamy", tmp_path / "s")
    assert "streaming all changes" in out
    assert tip(tmp_path / "s") == tip(origin)
    hg("-R", tmp_path / "s", "verify", "-q")

    transport.app.no_stream.add("streamy")
    transport.app.host.clear()
    out = hg("clone", "--stream", f"{transport.url}/streamy", tmp_path / "b")
    assert "streaming all changes" not in out
    assert tip(tmp_path / "b") == tip(origin)
    hg("-R", tmp_path / "b", "verify", "-q")


def test_hg_web_ui_under_prefix(transport: TransportServer) -> None:
    hg_repo(transport.app.root, "grp/web", commits=1)
    with httpx.Client(base_url=transport.url) as client:
        page = client.get("/grp/web/")
        assert page.status_code == 200
        assert 'href="/grp/web/' in page.text
        caps = client.get("/grp/web", params={"cmd": "capabilities"})
        assert caps.status_code == 200
        assert caps.headers["content-type"] == "application/mercurial-0.1"
        assert b"unbundle" in caps.content
        raw = client.get("/grp/web/raw-rev/tip")
        assert raw.status_code == 200 and "commit 0" in raw.text


def test_no_server_children_left(transport: TransportServer, tmp_path: Path) -> None:
    """After ordinary traffic, every git the server started has been reaped."""
    bare_repo(transport.app.root, "tidy", commits=3)
    for _ in range(3):
        shutil.rmtree(tmp_path / "w", ignore_errors=True)
        run("git", "clone", "-q", f"{transport.url}/tidy", tmp_path / "w")
    assert not server_children()
    zombies = [p for p, row in proc_table().items() if row[0] == os.getpid() and row[1] == "Z"]
    assert not zombies


_PIPES_SCRIPT = """
import asyncio, os, sys
import uvloop
from hearth.smarthttp import childproc

async def scenario():
    out_r, out_w = os.pipe()
    in_r, in_w = os.pipe()
    reader_transport, _ = await childproc.stdout_reader(out_r)
    writer = await childproc.stdin_writer(in_w)
    print(out_r, in_w, flush=True)
    os.close(out_w)  # end of file: the transport closes itself
    writer.close()
    await asyncio.sleep(0.1)
    reader_transport.close()
    await asyncio.sleep(0.1)
    os.close(in_r)

(uvloop.run if sys.argv[1] == "uvloop" else asyncio.run)(scenario())
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_pipe_descriptors_are_closed_exactly_once(loop: str, tmp_path: Path) -> None:
    """git's pipes, handed to the event loop, are closed once. uvloop closes a descriptor
    itself; a file object owning it too closed it again, and when another thread had reused the
    number in between, that was someone else's descriptor: in the suite, a concurrent Popen's
    error pipe (EBADF), and a clone's answer was lost."""
    trace = tmp_path / "trace"
    proc = subprocess.run(
        ["strace", "-f", "-e", "trace=close", "-o", str(trace), sys.executable, "-c",
         _PIPES_SCRIPT, loop],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    fds = proc.stdout.split()
    closes = [line for line in trace.read_text().splitlines() if "close(" in line]
    for fd in fds:
        mine = [line for line in closes if f"close({fd})" in line]
        assert mine and not any("EBADF" in line for line in mine), mine

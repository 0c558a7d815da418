# SPDX-License-Identifier: GPL-3.0-or-later
"""Clone and push over Hearth against the local floor (figures, no asserts).

By default runs the whole Hearth application (``hearth serve``: routing, the database lookup
of the repository, HTTP Basic authentication of the admin against a private repository, git
writing clone answers to the socket itself, the post-push bookkeeping); ``--app transport``
serves the bare router of ``tests/test_transport.py`` under plain uvicorn instead, which relays
every answer through the ASGI application. Both run uvicorn (uvloop + httptools) in a
subprocess; compared, with the median of ``--runs`` runs in rotating order:

* ``git clone --bare`` over HTTP vs ``file://`` (target ≤ 1.10x), and, when lighttpd is
  installed, git's own ``git http-backend`` under lighttpd as the native reference,
* a push of the whole history to an empty bare repository over HTTP vs locally (≤ 1.10x),
* for both, the same over ``bench/floor_server.py``, the least a smart-HTTP server can do:
  its ratio is what git's HTTP client costs whatever the server, Hearth's ratio against it
  what Hearth costs,
* ``hg clone -U`` (bundle and ``--stream``) over hgweb vs ``hg serve`` (≤ 1.00x),
* the server's peak RSS growth while one client clones a big repository (< 50 MB).

Repositories hold random bytes so packs cannot shrink: ``git`` 2,000 commits / 40 MB,
``hg`` 500 commits / 20 MB, the big one ``--big-mb`` (400) MB. ``--small`` shrinks all of it
for a quick look. Run: ``.venv/bin/python bench/clone.py [--small]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tests.test_transport as tt  # noqa: E402  (the router and repository builders under test)

PY = sys.executable


def sh(*args: str | Path, **kw: object) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True, **kw)  # type: ignore[call-overload]


def compare(
    ours: Callable[[], None],
    floor: Callable[[], None],
    runs: int,
    reset: Callable[[], None] | None = None,
) -> tuple[float, float]:
    """Median wall times of ``ours`` and ``floor``, run alternately so load drift hits both.

    ``reset`` runs untimed before every timed run (remove the clone, make an empty target).
    """
    medians = compare_all([ours, floor], runs, reset)
    return medians[0], medians[1]


def compare_all(
    fns: list[Callable[[], None]], runs: int, reset: Callable[[], None] | None = None
) -> list[float]:
    """Median wall time of each of ``fns``, the order rotated every run."""
    times: list[list[float]] = [[] for _ in fns]
    for i in range(runs):
        order = list(range(len(fns)))
        shift = i % len(fns)
        for slot in order[shift:] + order[:shift]:
            if reset:
                reset()
            start = time.perf_counter()
            fns[slot]()
            times[slot].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    """A port nothing listens on now, for a server started next to bind itself."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return port


def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


class Process:
    """A server the benchmark started as a subprocess (``self.proc``)."""

    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


class Server(Process):
    """uvicorn serving ``test_transport.TransportApp`` over ``root`` in a subprocess."""

    label = "transport"

    def __init__(self, root: Path) -> None:
        sock = free_socket()
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [PY, "-m", "uvicorn", "tests.test_transport:app_from_env", "--factory"]
        argv += ["--app-dir", str(ROOT), "--loop", "uvloop", "--http", "httptools"]
        argv += ["--fd", str(sock.fileno()), "--log-level", "warning", "--no-access-log"]
        env = {**os.environ, "HEARTH_TRANSPORT_ROOT": str(root)}
        self.proc = subprocess.Popen(argv, env=env, pass_fds=[sock.fileno()])
        sock.close()
        wait_port(self.port, self.proc)

    def status(self, key: str) -> int:
        """A ``/proc/<pid>/status`` figure in bytes (VmRSS, VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(key)

    def reset_peak(self) -> None:
        """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5); ignored where refused."""
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        except OSError:
            pass

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def repo_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    def register(self, name: str, repo_type: str = "git") -> None:
        """Make a repository built under the root servable (the transport serves any)."""


class HearthServer(Server):
    """``hearth serve`` (one worker) over ``root``: the application as deployed, on SQLite.

    Repositories built under ``root`` are registered with the API (``rescan_repos``) and made
    private, and every URL carries the admin's password: each request is authenticated.
    """

    label = "hearth"
    PASSWORD = "bench-admin-pw"

    def __init__(self, root: Path) -> None:
        home = root.parent / f"hearth-home-{root.name}"
        home.mkdir(exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HEARTH_HOME": str(home),
            "HEARTH_REPOS": str(root),
            "HEARTH_DATABASE_URL": f"sqlite:///{home / 'hearth.db'}",
            "HEARTH_PORT": str(self.port),
            "HEARTH_WORKERS": "1",
            "HEARTH_ADMIN_PASSWORD": self.PASSWORD,
            "HEARTH_LOG_LEVEL": "warning",
        }
        subprocess.run([PY, "-m", "hearth", "init"], env=self.env, check=True, capture_output=True)
        self.key = self._admin_key()
        self.proc = subprocess.Popen([PY, "-m", "hearth", "serve"], env=self.env)
        wait_port(self.port, self.proc)
        import httpx

        self.client = httpx.Client(base_url=self.url, timeout=600)

    def _admin_key(self) -> str:
        code = (
            "import sys; from hearth.config import load_settings; "
            "from hearth.db.session import Database; from hearth.services import accounts, lookup; "
            "db = Database(load_settings().database_url)\n"
            "with db.session() as s: print(accounts.issue_key(s, lookup.user(s, 'admin'), "
            "description='bench')[0])"
        )
        out = subprocess.run([PY, "-c", code], env=self.env, check=True, capture_output=True)
        return out.stdout.decode().strip().splitlines()[-1]

    def api(self, method: str, **args: object) -> object:
        reply = self.client.post(
            "/_admin/api",
            json={"id": 1, "api_key": self.key, "method": method, "args": args},
        ).json()
        if reply["error"] is not None:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def stop(self) -> None:
        self.client.close()
        super().stop()

    def repo_url(self, name: str) -> str:
        return f"http://admin:{self.PASSWORD}@127.0.0.1:{self.port}/{name}"

    def register(self, name: str, repo_type: str = "git") -> None:
        """git: private, so every request authenticates the admin. hg: public, because stream
        clones are offered only when the ``default`` user may read (``web-and-vcs.md`` §4)."""
        self.api("rescan_repos")
        if repo_type == "git":
            self.api("update_repo", repoid=name, private=True)


class NativeServer(Process):
    """``git http-backend`` (CGI) under lighttpd: git's own HTTP server, the native reference.

    Serves every repository under ``root`` anonymously; clone only (lighttpd refuses the
    chunked bodies of pushes to CGI with 411). None when lighttpd is not installed.
    """

    @classmethod
    def start(cls, root: Path, work: Path) -> NativeServer | None:
        lighttpd = shutil.which("lighttpd") or shutil.which("lighttpd", path="/usr/sbin")
        backend = (
            Path(
                subprocess.run(
                    ["git", "--exec-path"], capture_output=True, text=True, check=True
                ).stdout.strip()
            )
            / "git-http-backend"
        )
        if lighttpd is None or not backend.exists():
            return None
        return cls(lighttpd, backend, root, work)

    def __init__(self, lighttpd: str, backend: Path, root: Path, work: Path) -> None:
        self.port = free_port()
        conf = work / "lighttpd.conf"
        conf.write_text(
            f'server.document-root = "{work}"\n'
            f"server.port = {self.port}\n"
            'server.bind = "127.0.0.1"\n'
            'server.modules = ("mod_alias", "mod_cgi", "mod_setenv")\n'
            "server.stream-request-body = 2\n"
            "server.stream-response-body = 2\n"
            f'alias.url = ("/git/" => "{backend}/")\n'
            '$HTTP["url"] =~ "^/git/" {\n'
            '  cgi.assign = ("" => "")\n'
            f'  setenv.add-environment = ("GIT_PROJECT_ROOT" => "{root}",'
            ' "GIT_HTTP_EXPORT_ALL" => "")\n'
            "}\n"
        )
        self.proc = subprocess.Popen([lighttpd, "-D", "-f", str(conf)])
        wait_port(self.port, self.proc)

    def repo_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/git/{name}"


class FloorServer(Process):
    """``bench/floor_server.py`` over ``root``: the least a smart-HTTP server can do, so what
    it costs is git's HTTP client's share, which no server can take away."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        script = ROOT / "bench" / "floor_server.py"
        self.proc = subprocess.Popen([PY, str(script), str(root), str(self.port)])
        wait_port(self.port, self.proc)

    def repo_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


def build_git(path: Path, commits: int, total_mb: float) -> Path:
    sh("git", "init", "-q", "--bare", "-b", "main", path)
    size = max(1, int(total_mb * 1024 * 1024 / commits))
    tt.fast_import(path, commits, size)
    return path


def build_hg(path: Path, commits: int, total_mb: float) -> Path:
    """An hg repository of random files, committed in-process (``hg commit`` is ~0.2 s each)."""
    from mercurial import context, hg
    from mercurial import ui as uimod

    repo = hg.repository(uimod.ui.load(), os.fsencode(path), create=True)
    size = max(1, int(total_mb * 1024 * 1024 / commits))
    parent = repo.nullid
    with repo.wlock(), repo.lock(), repo.transaction(b"bench"):
        for i in range(commits):
            data = os.urandom(size)
            name = b"d%d/f%d.bin" % (i % 20, i)

            def filectx(r: object, ctx: object, p: bytes, data: bytes = data) -> object:
                return context.memfilectx(r, ctx, p, data)

            ctx = context.memctx(
                repo, (parent, repo.nullid), b"commit %d" % i, [name], filectx,
                user=b"bench <bench@example.com>", date=(1_600_000_000 + i, 0),
            )  # fmt: skip
            parent = ctx.commit()
    return path


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def row(label: str, ours: float, floor: float, floor_label: str, target: str) -> None:
    print(
        f"  {label:<34} {ours:7.2f} s   {floor_label:<18} {floor:7.2f} s"
        f"   ratio {ours / floor:5.2f}x   (target {target})"
    )


def bench_git(work: Path, server: Server, runs: int, commits: int, mb: float) -> None:
    src = build_git(server_root(work) / "gitsrc", commits, mb)
    server.register("gitsrc")
    print(f"git repository: {commits} commits, {du_mb(src):.0f} MB on disk")
    dest = work / "clone.git"

    def clean() -> None:
        shutil.rmtree(dest, ignore_errors=True)

    def clone(url: str) -> Callable[[], None]:
        return lambda: sh("git", "clone", "-q", "--bare", url, dest)

    counter = iter(range(1_000_000))
    target: list[Path] = []

    def fresh() -> None:
        path = server_root(work) / f"empty{next(counter)}"
        sh("git", "init", "-q", "--bare", "-b", "main", path)
        server.register(path.name)
        target[:] = [path]

    def push(url: Callable[[str], str]) -> Callable[[], None]:
        return lambda: sh("git", "-C", src, "push", "-q", url(target[0].name), "main")

    with contextlib.ExitStack() as references:
        floor = FloorServer(server_root(work))
        references.callback(floor.stop)
        native = NativeServer.start(server_root(work), work)
        if native is not None:
            references.callback(native.stop)
        clones = [
            clone(server.repo_url("gitsrc")),
            clone(f"file://{src}"),
            clone(floor.repo_url("gitsrc")),
        ]
        if native is not None:
            clones.append(clone(native.repo_url("gitsrc")))
        medians = compare_all(clones, runs, clean)
        http, local, least = compare_all(
            [push(server.repo_url), push(lambda name: str(server_root(work) / name)),
             push(floor.repo_url)],
            runs,
            fresh,
        )  # fmt: skip
    row("git clone --bare over HTTP", medians[0], medians[1], "file://", "<= 1.10x")
    row("  floor: bench/floor_server.py", medians[2], medians[1], "file://", "reference")
    row("  Hearth against the floor", medians[0], medians[2], "floor", "-")
    if native is not None:
        row("  reference: git http-backend", medians[3], medians[1], "file://", "lighttpd")
    else:
        print("  (no lighttpd: no native reference row)")
    row("git push (whole history) over HTTP", http, local, "local push", "<= 1.10x")
    row("  floor: bench/floor_server.py", least, local, "local push", "reference")
    row("  Hearth against the floor", http, least, "floor", "-")
    clean()
    bench_relay(work, server, runs, src, fresh, target)


def bench_relay(
    work: Path,
    server: Server,
    runs: int,
    src: Path,
    fresh: Callable[[], None],
    target: list[Path],
) -> None:
    """The server alone: curl posts the bytes git would, vs ``cat body | git <service>``.

    Separates what the relay costs from what git's HTTP client (git-remote-http, one more
    process and pipe in the client's chain) costs in the rows above.
    """
    head = subprocess.run(
        ["git", "-C", str(src), "rev-parse", "main"], capture_output=True, text=True, check=True
    ).stdout.strip()
    want = b"want %s ofs-delta side-band-64k\n" % head.encode()
    fetch = work / "fetch.req"
    fetch.write_bytes(b"%04x%s00000009done\n" % (len(want) + 4, want))
    command = b"%s %s refs/heads/main\0report-status\n" % (b"0" * 40, head.encode())
    pack = subprocess.run(
        ["git", "-C", str(src), "pack-objects", "--stdout", "--revs", "-q"],
        input=head.encode() + b"\n",
        capture_output=True,
        check=True,
    ).stdout
    push = work / "push.req"
    push.write_bytes(b"%04x%s0000" % (len(command) + 4, command) + pack)
    del pack

    def curl(path: str, body: Path, service: str) -> None:
        sh(
            "curl", "-sf", "-o", "/dev/null", "--data-binary", f"@{body}",
            "-H", f"Content-Type: application/x-git-{service}-request",
            f"{server.repo_url(path)}/git-{service}",
        )  # fmt: skip

    def pipe(repo: Path, body: Path, service: str) -> None:
        script = 'cat "$1" | git "$2" --stateless-rpc "$3" > /dev/null'
        sh("sh", "-c", script, "sh", body, service, repo)

    http, local = compare(
        lambda: curl(src.name, fetch, "upload-pack"),
        lambda: pipe(src, fetch, "upload-pack"),
        runs,
    )
    row("upload-pack answering curl", http, local, "cat|upload-pack", "(server alone)")
    http, local = compare(
        lambda: curl(target[0].name, push, "receive-pack"),
        lambda: pipe(target[0], push, "receive-pack"),
        runs,
        fresh,
    )
    row("receive-pack fed by curl", http, local, "cat|receive-pack", "(server alone)")


def bench_hg(work: Path, server: Server, runs: int, commits: int, mb: float) -> None:
    t0 = time.perf_counter()
    src = build_hg(server_root(work) / "hgsrc", commits, mb)
    server.register("hgsrc", "hg")
    took = time.perf_counter() - t0
    print(f"hg repository: {commits} commits, {du_mb(src):.0f} MB on disk ({took:.0f} s to build)")
    port = free_port()
    serve = subprocess.Popen(
        [tt.HG, "serve", "-R", str(src), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, serve)  # type: ignore[arg-type]
        dest = work / "hgclone"

        def clean() -> None:
            shutil.rmtree(dest, ignore_errors=True)

        for extra in ([], ["--stream"]):

            def clone(url: str, extra: list[str] = extra) -> Callable[[], None]:
                return lambda: sh(tt.HG, "clone", "-q", "-U", *extra, url, dest)

            ours, ref = compare(
                clone(server.repo_url("hgsrc")), clone(f"http://127.0.0.1:{port}/"), runs, clean
            )
            label = " ".join(["hg clone -U", *extra, "over hgweb"])
            row(label, ours, ref, "hg serve", "<= 1.00x")
        clean()
    finally:
        serve.terminate()
        serve.wait(30)


def bench_rss(work: Path, mb: float, make: Callable[[Path], Server]) -> None:
    root = work / "rss"
    root.mkdir()
    t0 = time.perf_counter()
    src = build_git(root / "big", max(200, int(mb / 2)), mb)
    took = time.perf_counter() - t0
    print(f"big git repository: {du_mb(src):.0f} MB on disk ({took:.0f} s to build)")
    server = make(root)
    dest = work / "big-clone.git"
    try:
        server.register("big")
        sh("git", "-c", "protocol.version=2", "ls-remote", server.repo_url("big"))  # warm up
        server.reset_peak()  # VmHWM would otherwise include start-up and the rescan
        base = server.status("VmRSS")
        cpu0 = server.cpu_seconds()
        peak = base
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, server.status("VmRSS"))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        start = time.perf_counter()
        sh("git", "clone", "-q", "--bare", server.repo_url("big"), dest)
        http = time.perf_counter() - start
        done.set()
        sampler.join()
        cpu = server.cpu_seconds() - cpu0
        peak = max(peak, server.status("VmHWM"))
        shutil.rmtree(dest)
        start = time.perf_counter()
        sh("git", "clone", "-q", "--bare", f"file://{src}", dest)
        local = time.perf_counter() - start
        shutil.rmtree(dest)
    finally:
        server.stop()
    row(f"git clone --bare, {du_mb(src):.0f} MB, 1 run", http, local, "file://", "<= 1.10x")
    print(
        f"  server RSS {base / 2**20:.0f} MB before, peak {peak / 2**20:.0f} MB: growth"
        f" {(peak - base) / 2**20:.1f} MB (target < 50 MB); server CPU {cpu:.2f} s"
    )


def server_root(work: Path) -> Path:
    return work / "repos"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="small repositories, quick run")
    parser.add_argument("--big-mb", type=float, default=None, help="size of the RSS repository")
    parser.add_argument("--runs", type=int, default=9, help="runs per figure (median)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument(
        "--app",
        choices=("hearth", "transport"),
        default="hearth",
        help="the whole application (default) or the bare transport router",
    )
    args = parser.parse_args()
    git_commits, git_mb, hg_commits, hg_mb, big_mb = (
        (400, 8.0, 100, 4.0, 60.0) if args.small else (2000, 40.0, 500, 20.0, 400.0)
    )
    big_mb = args.big_mb or big_mb

    work = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    home = work / "home"
    home.mkdir()
    os.environ.update(
        HOME=str(home), GIT_CONFIG_NOSYSTEM="1", HGRCPATH="", HGPLAIN="1",
        HGUSER="bench <bench@example.com>", GIT_TERMINAL_PROMPT="0",
    )  # fmt: skip
    server_root(work).mkdir()
    make: Callable[[Path], Server] = HearthServer if args.app == "hearth" else Server
    print(
        f"scratch: {work}   cores: {os.cpu_count()}   runs per figure: {args.runs} (median)"
        f"   served by: {args.app}"
    )
    server = make(server_root(work))
    try:
        bench_git(work, server, args.runs, git_commits, git_mb)
        bench_hg(work, server, args.runs, hg_commits, hg_mb)
    finally:
        server.stop()
    bench_rss(work, big_mb, make)
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: GPL-3.0-or-later
"""Debian's nginx, with the server configuration ``docs/deploy.md`` gives, in front of two
``hearth serve`` processes (PostgreSQL, Redis, one store): git and hg clone and push of 100 MB
through it over TLS, the API, a raw file view, and the client address the servers log and use for
IP rules is the real client's (``remote_addr_header = X-Real-IP``).

nginx reaches the servers from 127.0.0.9 (``proxy_bind``, as if it ran on another host), the
client from 127.0.0.1, so the two addresses differ. Without nginx at /usr/sbin/nginx the test is
skipped, except under ``CI=true``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster import Cluster, require_services
from tests.live import IN_CI, free_port
from tests.vcs_clients import PASSWORD, Clients

NGINX = "/usr/sbin/nginx"
DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"
MB = 1 << 20
PROXY_ADDRESS = "127.0.0.9"


def site_config() -> str:
    """The ```nginx block of docs/deploy.md."""
    blocks = re.findall(r"```nginx\n(.*?)```", DEPLOY.read_text(), re.S)
    assert len(blocks) == 1, "docs/deploy.md must hold exactly one nginx block"
    return blocks[0]


def substituted(site: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in site, f"docs/deploy.md's nginx block no longer has {old!r}"
        site = site.replace(old, new)
    return site


class Nginx:
    def __init__(self, base: Path, upstreams: list[int]) -> None:
        base.mkdir(parents=True)
        self.base = base
        self.https_port, self.http_port = free_port(), free_port()
        cert, key = base / "cert.pem", base / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        site = substituted(
            site_config(),
            {
                "server 127.0.0.1:5000;": f"server 127.0.0.1:{upstreams[0]};",
                "server 127.0.0.1:5001;": f"server 127.0.0.1:{upstreams[1]};",
                "listen 443 ssl;": f"listen 127.0.0.1:{self.https_port} ssl;",
                "listen 80;": f"listen 127.0.0.1:{self.http_port};",
                "/etc/ssl/hearth/fullchain.pem": str(cert),
                "/etc/ssl/hearth/privkey.pem": str(key),
            },
        )
        # Debian's /etc/nginx/nginx.conf reduced to what a test can own (paths, no daemon)
        (base / "nginx.conf").write_text(
            f"""
user root;
worker_processes 2;
pid {base}/nginx.pid;
error_log {base}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log {base}/access.log;
    client_body_temp_path {base}/body;
    proxy_temp_path {base}/proxy;
    fastcgi_temp_path {base}/fastcgi;
    uwsgi_temp_path {base}/uwsgi;
    scgi_temp_path {base}/scgi;
    proxy_bind {PROXY_ADDRESS};
{site}
}}
"""
        )
        test = subprocess.run(
            [NGINX, "-t", "-p", str(base), "-c", str(base / "nginx.conf")], capture_output=True
        )
        assert test.returncode == 0, test.stderr.decode()
        self.process = subprocess.Popen(
            [NGINX, "-p", str(base), "-c", str(base / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(base / "stderr.log").open("wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start")

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGQUIT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def front(tmp_path: Path) -> Iterator[tuple[Cluster, Nginx]]:
    if not os.access(NGINX, os.X_OK):
        if IN_CI:
            pytest.fail(f"{NGINX} is required under CI=true")
        pytest.skip("nginx is not installed")
    require_services()
    cluster = Cluster(tmp_path / "cluster", remote_addr_header="X-Real-IP", log_level="info")
    cluster.start()
    nginx = None
    try:
        nginx = Nginx(tmp_path / "nginx", [s.port for s in cluster.servers])
        yield cluster, nginx
    finally:
        if nginx is not None:
            nginx.stop()
        cluster.stop()


def big_work(clients: Clients, kind: str, size: int = 100 * MB) -> Path:
    """A working copy with one commit of ``size`` random bytes in four files. git's copy stores
    objects uncompressed (``core.compression=0``, so the pushed pack is too): random bytes do not
    compress, deflating them only cost CPU, and the same hundred megabytes go through nginx."""
    work = clients.path("big")
    if kind == "git":
        clients.git("init", "-q", "-b", "master", str(work))
        clients.git("config", "core.compression", "0", cwd=work)
    else:
        clients.hg("init", str(work))
    for index in range(4):
        (work / f"blob{index}.bin").write_bytes(os.urandom(size // 4))
    if kind == "git":
        clients.git("add", "-A", cwd=work)
        clients.git("commit", "-q", "-m", "big", cwd=work)
    else:
        clients.hg("commit", "-q", "-A", "-m", "big", cwd=work)
    return work


def test_behind_nginx(front: tuple[Cluster, Nginx], tmp_path: Path) -> None:
    cluster, nginx = front
    one = cluster.servers[0]
    clients = Clients(tmp_path / "clients")
    clients.env["GIT_SSL_NO_VERIFY"] = "1"
    user, key = one.new_user("dev", password=PASSWORD)
    login = user["username"]
    base = f"https://{login}:{PASSWORD}@localhost:{nginx.https_port}"
    api = httpx.Client(base_url=nginx.url, verify=False, timeout=120)

    def call(method: str, api_key: str = one.admin_key, **args: object) -> dict:
        reply = api.post(
            "/_admin/api", json={"id": 1, "api_key": api_key, "method": method, "args": args}
        )
        assert reply.status_code == 200, reply.text
        return reply.json()

    # the API through nginx; the client's address, not nginx's, is the one seen
    assert call("get_ip")["result"]["server_ip_addr"] == "127.0.0.1"
    for kind in ("git", "hg"):
        name = f"big-{kind}"
        assert call("create_repo", repo_name=name, repo_type=kind)["error"] is None
        call("grant_user_permission", repoid=name, userid=login, perm="repository.write")
        work = big_work(clients, kind)
        insecure = () if kind == "git" else ("--insecure",)
        if kind == "git":
            clients.git("push", "-q", f"{base}/{name}", "HEAD:refs/heads/master", cwd=work)
        else:
            clients.hg("push", *insecure, f"{base}/{name}", cwd=work)
        head = clients.tip(kind, work)
        clone = clients.clone(kind, f"{base}/{name}", True, *insecure)
        assert clients.tip(kind, clone.dest) == head
        assert (clone.dest / "blob3.bin").stat().st_size == 25 * MB
        assert call("get_repo", repoid=name)["result"]["last_changeset"]["raw_id"] == head

    # a raw file view through nginx
    small = clients.seeded("git")
    (small / "hello.txt").write_text("hello through nginx\n")
    clients.git("add", "hello.txt", cwd=small)
    clients.git("commit", "-q", "-m", "hello", cwd=small)
    call("create_repo", repo_name="small", repo_type="git")
    call("grant_user_permission", repoid="small", userid=login, perm="repository.write")
    clients.git("push", "-q", f"{base}/small", "HEAD:refs/heads/master", cwd=small)
    raw = api.get("/small/raw/master/hello.txt")
    assert raw.status_code == 200 and raw.text == "hello through nginx\n"

    # IP rules see the real client: a rule for 127.0.0.1 lets the key in, one for nginx's does not
    one.cli("admin", "ip-rule", "add", login, "127.0.0.1/32")
    assert call("get_user", key)["result"]["username"] == login
    rules = call("get_ip", userid=login)["result"]["user_ips"]
    one.cli("admin", "ip-rule", "remove", login, rules[0]["ip_addr"])
    one.cli("admin", "ip-rule", "add", login, f"{PROXY_ADDRESS}/32")
    assert call("get_user", key)["error"] is not None

    # the servers' access logs name the client, never nginx
    logs = "".join(s.log.read_text(errors="replace") for s in cluster.servers)
    assert re.search(r'127\.0\.0\.1 "POST /_admin/api" 200', logs)
    assert re.search(r'127\.0\.0\.1 "(GET|POST) /big-git[^"]*" 200', logs)
    push = (
        rf'127\.0\.0\.1 "POST /big-git/git-receive-pack" 200 \d+ [\d.]+s user={login} repo=big-git'
    )
    assert re.search(push, logs), "the push's access line names the user and the repository"
    assert PROXY_ADDRESS not in logs
    assert key not in logs and one.admin_key not in logs
    # both servers took part
    assert all('"POST /_admin/api"' in s.log.read_text(errors="replace") for s in cluster.servers)

# SPDX-License-Identifier: GPL-3.0-or-later
"""The real ``git`` and ``hg`` clients against a live Hearth, for the clone/push tests.

Clients run with a temporary ``HOME``, no system configuration and no prompts, so a test never
hangs on a password question and never reads the developer's settings. Credentials travel in
the URL (``http://user:secret@host/repo``), percent-encoded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import text

from hearth.db.session import Database, make_engine
from hearth.services import accounts, lookup
from tests.live import LiveServer, unique

HG = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "hg")
if not os.access(HG, os.X_OK):
    HG = shutil.which("hg") or "hg"

PASSWORD = "pw-Secret-42"
ADMIN = ("admin", "admin-secret-1")


class Clients:
    """``git`` and ``hg`` with an isolated environment, run in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        home = root / "home"
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "/bin/false",
            "SSH_ASKPASS": "/bin/false",
            "GIT_AUTHOR_NAME": "Tester",
            "GIT_AUTHOR_EMAIL": "tester@example.com",
            "GIT_COMMITTER_NAME": "Tester",
            "GIT_COMMITTER_EMAIL": "tester@example.com",
            "HGRCPATH": "",
            "HGPLAIN": "1",
            "HGUSER": "Tester <tester@example.com>",
            "HGENCODING": "utf-8",
            "LC_ALL": "C",
        }
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_CONFIG_COUNT", "GIT_PROTOCOL"):
            self.env.pop(name, None)

    def path(self, prefix: str = "w") -> Path:
        return self.root / unique(prefix)

    def run(
        self, argv: list[str], cwd: Path | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    def git(self, *args: str, cwd: Path | None = None, check: bool = True) -> Any:
        return self.run(["git", *args], cwd=cwd, check=check)

    def hg(self, *args: str, cwd: Path | None = None, check: bool = True) -> Any:
        return self.run([HG, "--config", "ui.interactive=false", *args], cwd=cwd, check=check)

    def popen(self, argv: list[str], cwd: Path | None = None) -> subprocess.Popen[str]:
        if argv[0] == "hg":
            argv = [HG, "--config", "ui.interactive=false", *argv[1:]]
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    # -- working copies -------------------------------------------------------------------------
    def commit(self, repo_type: str, work: Path, name: str = "", data: str = "") -> None:
        """One new changeset touching a file of its own in the working copy ``work``."""
        name = name or unique("f")
        (work / name).write_text(data or f"{name}\n")
        if repo_type == "git":
            self.git("add", name, cwd=work)
            self.git("commit", "-q", "-m", f"add {name}", cwd=work)
        else:
            self.hg("commit", "-q", "-A", "-m", f"add {name}", cwd=work)

    def tip(self, repo_type: str, work: Path) -> str:
        if repo_type == "git":
            return self.git("rev-parse", "HEAD", cwd=work).stdout.strip()
        return self.hg("log", "-r", ".", "-T", "{node}", cwd=work).stdout.strip()

    def clone(self, repo_type: str, url: str, check: bool = True, *extra: str) -> Any:
        dest = self.path("c")
        if repo_type == "git":
            proc = self.git("clone", *extra, url, str(dest), check=check)
        else:
            proc = self.hg("clone", *extra, url, str(dest), check=check)
        proc.dest = dest
        return proc

    def push(
        self, repo_type: str, work: Path, url: str, check: bool = True, branch: str = "master"
    ) -> Any:
        """git: ``HEAD`` to ``branch``; hg: everything, new heads allowed."""
        if repo_type == "git":
            return self.git("push", url, f"HEAD:refs/heads/{branch}", cwd=work, check=check)
        return self.hg("push", "-f", url, cwd=work, check=check)

    def pull(self, repo_type: str, work: Path, url: str, check: bool = True) -> Any:
        if repo_type == "git":
            return self.git("pull", "-q", "--no-rebase", url, "master", cwd=work, check=check)
        return self.hg("pull", url, cwd=work, check=check)

    def seeded(self, repo_type: str) -> Path:
        """A fresh local working copy with one changeset, to push from."""
        work = self.path("seed")
        if repo_type == "git":
            self.git("init", "-q", "-b", "master", str(work))
        else:
            self.hg("init", str(work))
        self.commit(repo_type, work)
        return work


def repo_url(
    server: LiveServer, name: str, login: str | None = None, secret: str | None = None
) -> str:
    """``http://[login:secret@]host/name`` with the credentials percent-encoded."""
    host = server.url.split("://", 1)[1]
    auth = ""
    if login is not None:
        auth = quote(login, safe="") + (":" + quote(secret, safe="") if secret else "") + "@"
    return f"http://{auth}{host}/{name}"


def repo_dir(server: LiveServer, name: str) -> Path:
    return server.home / "repos" / name


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Bookkeeping runs just after the client got its answer: poll briefly for it."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def journal(server: LiveServer, repo_name: str) -> list[dict[str, Any]]:
    """The journal rows of a repository, oldest first (no API method reads the journal)."""
    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT username, action, detail, ip_addr FROM journal "
                    "WHERE repo_name = :name ORDER BY entry_id"
                ),
                {"name": repo_name},
            )
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()


def verify(server: LiveServer, repo_type: str, name: str) -> None:
    """``git fsck`` / ``hg verify`` on the server's copy: the repository is valid."""
    path = repo_dir(server, name)
    env = {**os.environ, "HGRCPATH": "", "GIT_CONFIG_NOSYSTEM": "1"}
    if repo_type == "git":
        argv = ["git", "--git-dir", str(path), "fsck", "--strict", "--no-progress"]
    else:
        argv = [HG, "verify", "-q", "-R", str(path)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def has_changeset(server: LiveServer, repo_type: str, name: str, raw_id: str) -> bool:
    """Whether the server's copy of ``name`` contains ``raw_id`` (read on disk, no HTTP)."""
    path = repo_dir(server, name)
    env = {**os.environ, "HGRCPATH": "", "GIT_CONFIG_NOSYSTEM": "1"}
    if repo_type == "git":
        argv = ["git", "--git-dir", str(path), "cat-file", "-e", f"{raw_id}^{{commit}}"]
    else:
        argv = [HG, "log", "-q", "-R", str(path), "-r", raw_id]
    return subprocess.run(argv, env=env, capture_output=True, timeout=60).returncode == 0


def new_key(server: LiveServer, username: str, role: str = "all") -> str:
    """A new API key of ``username`` through the service ``hearth api-key`` uses (no process)."""
    database = Database(server.database_url)
    try:
        with database.session() as db:
            user = lookup.user(db, username)
            return accounts.issue_key(db, user, description="vcs test", role=role)[0]
    finally:
        database.engine.dispose()


@dataclass
class World:
    """Users and shared repositories on one server; the repositories have one changeset."""

    server: LiveServer
    clients: Clients
    logins: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    repos: dict[tuple[str, bool], str] = field(default_factory=dict)  # (type, private) -> name

    @classmethod
    def make(cls, server: LiveServer, clients: Clients) -> World:
        """Users ``reader``, ``writer``, ``writer2`` and ``outsider`` with a password; ``admin``."""
        world = cls(server, clients)
        world.logins = {"anonymous": None, "admin": ADMIN}
        world.usernames["admin"] = "admin"
        for who in ("reader", "writer", "writer2", "outsider"):
            username = unique(who)
            server.ok(
                "create_user", username=username, email=f"{username}@example.com", password=PASSWORD
            )
            world.usernames[who] = username
            world.logins[who] = (username, PASSWORD)
        return world

    def url(self, name: str, who: str) -> str:
        login = self.logins[who]
        return repo_url(self.server, name) if login is None else repo_url(self.server, name, *login)

    def new_repo(self, repo_type: str, *, private: bool = False, seed: bool = True, **args) -> str:
        name = args.pop("repo_name", None) or unique(f"{repo_type}r")
        self.server.ok("create_repo", repo_name=name, repo_type=repo_type, private=private, **args)
        grants = (
            ("reader", "repository.read"),
            ("writer", "repository.write"),
            ("writer2", "repository.write"),
        )
        for who, perm in grants:
            self.server.ok(
                "grant_user_permission", repoid=name, userid=self.usernames[who], perm=perm
            )
        if seed:
            work = self.clients.seeded(repo_type)
            self.clients.push(repo_type, work, self.url(name, "admin"))
        return name

# SPDX-License-Identifier: GPL-3.0-or-later
"""``rescan_repos`` and ``pull`` (``methods.md`` §1, ``web-and-vcs.md`` §7) against live servers,
with repositories made by the real ``git`` and ``hg`` and remotes served over real HTTP."""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hearth.config import load_settings
from hearth.db.session import Database
from hearth.services import bootstrap, rescan
from tests.live import LiveServer, free_port, unique
from tests.vcs_fixtures import HG, clean_env, git, hg, run

EMPTY = "0" * 40
DEFAULT_ROW = [{"name": "default", "type": "user", "permission": "repository.read"}]


# --- real repositories on disk ---------------------------------------------------------------------


class Remote:
    """A repository to pull from: ``path`` is what a pull names; ``commit`` adds a changeset."""

    def __init__(self, kind: str, base: Path) -> None:
        self.kind = kind
        base.mkdir(parents=True, exist_ok=True)
        self.work = base / f"{kind}-work"
        self.count = 0
        if kind == "git":
            self.path = base / "remote.git"
            run(["git", "init", "-q", "-b", "master", str(self.work)], env=clean_env(base))
            run(["git", "init", "-q", "--bare", str(self.path)], env=clean_env(base))
        else:
            self.path = self.work
            hg(base, "init", str(self.work))

    def commit(self, message: str = "") -> str:
        self.count += 1
        (self.work / f"file{self.count}.txt").write_text(f"content {self.count}\n")
        message = message or f"change {self.count}"
        if self.kind == "git":
            git(self.work, "add", "-A")
            git(self.work, "commit", "-q", "-m", message)
            git(self.work, "push", "-q", str(self.path), "HEAD:refs/heads/master")
            git(self.path, "update-server-info")  # for the dumb HTTP server below
            return git(self.work, "rev-parse", "HEAD").strip()
        hg(self.work, "commit", "-A", "-q", "-m", message, "-u", "Alice <alice@example.com>")
        return hg(self.work, "log", "-r", "tip", "-T", "{node}")


@pytest.fixture
def serve_http() -> Iterator[Callable[[Remote], str]]:
    """Serve a remote over real HTTP: git by plain static files (dumb protocol), hg by
    ``hg serve``. Returns its URL."""
    stops: list[Callable[[], None]] = []

    def serve(remote: Remote) -> str:
        if remote.kind == "git":
            handler = functools.partial(
                http.server.SimpleHTTPRequestHandler, directory=str(remote.path.parent)
            )
            httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=httpd.serve_forever, daemon=True).start()
            stops.append(httpd.shutdown)
            return f"http://127.0.0.1:{httpd.server_address[1]}/{remote.path.name}"
        port = free_port()
        proc = subprocess.Popen(
            [HG, "serve", "-R", str(remote.path), "-a", "127.0.0.1", "-p", str(port)],
            env=clean_env(remote.path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def stop() -> None:
            proc.terminate()
            proc.wait(10)

        stops.append(stop)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return f"http://127.0.0.1:{port}/"
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("hg serve did not start")

    yield serve
    for stop in stops:
        stop()


def bare_git(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    run(["git", "init", "-q", "--bare", str(path)], env=clean_env(path.parent))


def hg_repo(path: Path, *, commit: bool = False, description: str | None = None) -> str | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    hg(path.parent, "init", str(path))
    if description is not None:
        (path / ".hg" / "hgrc").write_text(f"[web]\ndescription = {description}\n")
    if commit:
        (path / "a.txt").write_text("a\n")
        hg(path, "commit", "-A", "-q", "-m", "first", "-u", "Alice <alice@example.com>")
        return hg(path, "log", "-r", "tip", "-T", "{node}")
    return None


def last(server: LiveServer, name: str) -> str:
    return server.ok("get_repo", repoid=name)["last_changeset"]["raw_id"]


# --- rescan ----------------------------------------------------------------------------------------


def test_rescan_registers_what_is_on_disk(make_server) -> None:
    live = make_server()
    assert live.ok("rescan_repos") == {"added": [], "removed": [], "obsolete": [], "task": None}
    root = live.home / "repos"
    bare_git(root / "plain-git")
    bare_git(root / "described-git")
    (root / "described-git" / "description").write_text("Told by the description file\n")
    head = hg_repo(root / "plain-hg", commit=True)
    hg_repo(root / "described-hg", description="Told by hgrc")
    bare_git(root / "grp" / "sub" / "nested")
    hg_repo(root / "grp" / "nested-hg")
    # not registered: dot and rm__ directories, a non-bare checkout and what lies inside it,
    # a repository inside a repository, and a name Hearth does not allow
    bare_git(root / ".hidden" / "secret")
    bare_git(root / "rm__20240101_000000_000000__gone")
    run(["git", "init", "-q", str(root / "checkout")], env=clean_env(root))
    bare_git(root / "checkout" / "inside")
    bare_git(root / "plain-hg" / "inner")
    bare_git(root / "bad name")
    (root / "just-a-dir" / "empty").mkdir(parents=True)

    result = live.ok("rescan_repos")
    added = [
        "described-git", "described-hg", "grp/nested-hg", "grp/sub/nested", "plain-git",
        "plain-hg",
    ]  # fmt: skip
    assert result == {"added": added, "removed": [], "obsolete": [], "task": None}

    repos = {r["repo_name"]: r for r in live.ok("get_repos")}
    assert sorted(repos) == added
    expected = {
        "plain-git": ("git", "plain-git repository"),
        "described-git": ("git", "Told by the description file"),
        "plain-hg": ("hg", "plain-hg repository"),
        "described-hg": ("hg", "Told by hgrc"),
        "grp/sub/nested": ("git", "grp/sub/nested repository"),
        "grp/nested-hg": ("hg", "grp/nested-hg repository"),
    }
    for name, (kind, description) in expected.items():
        repo = repos[name]
        assert (repo["repo_type"], repo["description"]) == (kind, description), name
        assert repo["owner"] == "admin" and repo["private"] is False
        assert repo["fork_of"] is None and repo["clone_uri"] is None
        assert repo["landing_rev"] == ["rev", "tip"]
    assert repos["plain-hg"]["last_changeset"]["raw_id"] == head
    assert repos["plain-git"]["last_changeset"]["raw_id"] == EMPTY
    detail = live.ok("get_repo", repoid="grp/sub/nested")
    assert detail["members"] == DEFAULT_ROW
    assert [f["username"] for f in detail["followers"]] == ["admin"]

    # the missing groups were created
    assert [r["repo_name"] for r in live.ok("get_repos", root="grp/sub")] == ["grp/sub/nested"]
    assert sorted(r["repo_name"] for r in live.ok("get_repos", root="grp")) == [
        "grp/nested-hg",
        "grp/sub/nested",
    ]
    for group in ("grp", "grp/sub"):
        assert live.err("create_repo", repo_name=group) == f"repo group `{group}` already exist"

    # a second rescan finds nothing new; repositories made through the API are not "added"
    live.ok("create_repo", repo_name="via-api", repo_type="git")
    assert live.ok("rescan_repos") == {"added": [], "removed": [], "obsolete": [], "task": None}


def test_rescan_applies_the_defaults(make_server) -> None:
    live = make_server(
        default_repo_private="true",
        default_repo_enable_downloads="true",
        default_repo_enable_locking="true",
    )
    bare_git(live.home / "repos" / "defaults")
    assert live.ok("rescan_repos", remove_obsolete="false")["added"] == ["defaults"]
    repo = live.ok("get_repo", repoid="defaults")
    assert repo["private"] is True and repo["enable_downloads"] is True
    assert repo["enable_locking"] is True and repo["enable_statistics"] is False
    assert repo["members"] == [{"name": "default", "type": "user", "permission": "repository.none"}]


def test_rescan_obsolete_then_removed_and_forks_detached(make_server) -> None:
    live = make_server()
    live.ok("create_repo", repo_name="parent", repo_type="git")
    live.ok("create_repo", repo_name="stays", repo_type="hg")
    live.ok("fork_repo", repoid="parent", fork_name="child")
    live.ok("create_repo", repo_name="deep/er/gone", repo_type="hg")
    root = live.home / "repos"
    shutil.rmtree(root / "parent")
    shutil.rmtree(root / "deep" / "er" / "gone")

    # README #24: without remove_obsolete nothing is removed; the rows are reported as obsolete
    assert live.ok("rescan_repos") == {
        "added": [],
        "removed": [],
        "obsolete": ["deep/er/gone", "parent"],
        "task": None,
    }
    assert live.ok("get_repo", repoid="child")["fork_of"] == "parent"

    assert live.ok("rescan_repos", remove_obsolete=True) == {
        "added": [],
        "removed": ["deep/er/gone", "parent"],
        "obsolete": [],
        "task": None,
    }
    assert live.err("get_repo", repoid="parent") == "repository `parent` does not exist"
    assert live.err("get_repo", repoid="deep/er/gone") == "repository `deep/er/gone` does not exist"
    assert live.ok("get_repo", repoid="child")["fork_of"] is None
    assert sorted(r["repo_name"] for r in live.ok("get_repos")) == ["child", "stays"]
    assert (root / "child").is_dir() and (root / "stays" / ".hg").is_dir()
    assert (root / "deep" / "er").is_dir()  # the disk is not touched

    # the directory coming back registers the repository anew
    bare_git(root / "parent")
    assert live.ok("rescan_repos", remove_obsolete=True)["added"] == ["parent"]


def test_rescan_refuses_a_missing_root(make_server) -> None:
    live = make_server()
    live.ok("create_repo", repo_name="kept", repo_type="git")
    root = live.home / "repos"
    aside = live.home / "repos-away"
    root.rename(aside)
    try:
        text = "Error occurred during rescan repositories action"
        assert live.err("rescan_repos", remove_obsolete=True) == text
    finally:
        aside.rename(root)
    assert live.ok("get_repo", repoid="kept")["repo_name"] == "kept"
    assert live.ok("rescan_repos")["obsolete"] == []


def test_rescan_is_admin_only(server: LiveServer) -> None:
    _, key = server.new_user("rs")
    assert server.err("rescan_repos", key=key) == "Access was denied to this resource."
    assert server.err("rescan_repos", remove_obsolete="perhaps") == (
        'Invalid value for `remove_obsolete`: expected a boolean, got "perhaps"'
    )


# --- pull ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["git", "hg"])
def test_pull_from_a_local_path(server: LiveServer, tmp_path: Path, kind: str) -> None:
    remote = Remote(kind, tmp_path)
    first = remote.commit()
    name = unique("pl")
    server.ok("create_repo", repo_name=name, repo_type=kind)
    assert last(server, name) == EMPTY

    assert server.ok("pull", repoid=name, clone_uri=str(remote.path)) == {
        "msg": f"Pulled from `{name}`",
        "repository": name,
        "task": None,
    }
    assert last(server, name) == first
    second = remote.commit("second change")
    # the seed's spellings: `repo` and RhodeCode's `remote_uri`
    assert server.ok("pull", repo=name, remote_uri=str(remote.path))["msg"] == (
        f"Pulled from `{name}`"
    )
    changeset = server.ok("get_repo", repoid=name)["last_changeset"]
    assert changeset["raw_id"] == second and changeset["revision"] == 1
    assert changeset["message"].rstrip("\n") == "second change"
    # the arg does not become the stored remote
    assert server.ok("get_repo", repoid=name)["clone_uri"] is None


@pytest.mark.parametrize("kind", ["git", "hg"])
def test_pull_from_the_stored_remote(
    server: LiveServer, tmp_path: Path, serve_http: Callable[[Remote], str], kind: str
) -> None:
    remote = Remote(kind, tmp_path)
    first = remote.commit()
    url = serve_http(remote)
    name = unique("st")
    server.ok("create_repo", repo_name=name, repo_type=kind, clone_uri=url)
    assert last(server, name) == first
    second = remote.commit()
    repo_id = server.ok("get_repo", repoid=name)["repo_id"]
    assert server.ok("pull", repoid=repo_id) == {
        "msg": f"Pulled from `{name}`",
        "repository": name,
        "task": None,
    }
    assert last(server, name) == second


def test_pull_into_a_fork_from_its_parent(server: LiveServer, tmp_path: Path) -> None:
    remote = Remote("git", tmp_path)
    first = remote.commit()
    parent, fork = unique("pa"), unique("fk")
    server.ok("create_repo", repo_name=parent, repo_type="git")
    server.ok("pull", repoid=parent, clone_uri=str(remote.path))
    server.ok("fork_repo", repoid=parent, fork_name=fork)
    assert last(server, fork) == first
    second = remote.commit()
    server.ok("pull", repoid=parent, clone_uri=str(remote.path))
    assert last(server, fork) == first
    assert server.ok("pull", repoid=fork)["msg"] == f"Pulled from `{fork}`"
    assert last(server, fork) == second


def test_pull_failures(server: LiveServer, tmp_path: Path) -> None:
    remote = Remote("git", tmp_path / "g")
    head = remote.commit()
    hg_remote = Remote("hg", tmp_path / "h")
    hg_remote.commit()
    name = unique("bad")
    server.ok("create_repo", repo_name=name, repo_type="git")
    server.ok("pull", repoid=name, clone_uri=str(remote.path))
    text = f"Unable to pull changes from `{name}`"

    assert server.err("pull", repoid=name) == text  # no stored remote, not a fork
    secret = "pw" + unique("s")
    for source in (
        f"http://someone:{secret}@127.0.0.1:{free_port()}/nothing.git",  # nobody listens
        str(tmp_path / "no-such-dir"),
        str(tmp_path),  # a directory, not a repository
        str(hg_remote.path),  # the other VCS
        "--upload-pack=touch /tmp/hearth-pwned",  # would be an option
    ):
        assert server.err("pull", repoid=name, clone_uri=source) == text, source
        assert last(server, name) == head  # refs untouched
    assert not Path("/tmp/hearth-pwned").exists()
    # the password of a URL never reaches an answer or the log
    assert secret not in server.log.read_text(errors="replace")

    missing = unique("nope")
    assert server.err("pull", repoid=missing) == f"repository `{missing}` does not exist"
    assert server.err("pull", repoid=name, repo=name) == (
        "Conflicting `repoid` and `repo` args in JSON DATA"
    )
    assert server.err("pull") == "Missing non optional `repoid` arg in JSON DATA"


def test_pull_is_admin_only(server: LiveServer, tmp_path: Path) -> None:
    user, key = server.new_user("pu")
    name = unique("own")
    server.ok("create_repo", repo_name=name, repo_type="git", owner=user["username"])
    assert server.err("pull", key=key, repoid=name) == "Access was denied to this resource."
    assert server.err("pull", key=key, repoid=name, clone_uri=str(tmp_path)) == (
        "Access was denied to this resource."
    )


def test_pull_hg_fork_and_wrong_type(server: LiveServer, tmp_path: Path) -> None:
    remote = Remote("hg", tmp_path / "h")
    remote.commit()
    git_remote = Remote("git", tmp_path / "g")
    git_remote.commit()
    parent, fork = unique("hp"), unique("hf")
    server.ok("create_repo", repo_name=parent, repo_type="hg")
    server.ok("pull", repoid=parent, clone_uri=str(remote.path))
    server.ok("fork_repo", repoid=parent, fork_name=fork)
    newest = remote.commit()
    server.ok("pull", repoid=parent, clone_uri=str(remote.path))
    server.ok("pull", repoid=fork)
    assert last(server, fork) == newest
    assert server.err("pull", repoid=fork, clone_uri=str(git_remote.path)) == (
        f"Unable to pull changes from `{fork}`"
    )
    assert last(server, fork) == newest


def test_rescan_service_reports_progress(tmp_path: Path) -> None:
    """The service the CLI and the admin page call: the same rules, with a progress callback
    (in process) whose counts are real: directories examined, then each phase's done of total."""
    settings = load_settings(environ={"HEARTH_HOME": str(tmp_path)}, config_file=tmp_path / "none")
    database = Database(settings.database_url)
    try:
        bootstrap.initialise(database, settings)
        bare_git(settings.repos / "one")
        hg_repo(settings.repos / "g" / "two")
        bare_git(settings.repos / "bad name")
        (settings.repos / "g" / "plain").mkdir()
        events: list[tuple[str, str]] = []
        stages: list[tuple[str, tuple[int, int | None]]] = []

        def record(event: str, name: str, counts: rescan.Counts) -> None:
            events.append((event, name))
            stages.append((counts.phase, counts.stage))

        with database.session() as db:
            run = rescan.Run(settings, progress=record)
            run.walk()
            assert (run.counts.examined, run.counts.found) == (5, 3)
            run.plan(db)
            assert (run.counts.phase, run.counts.to_register, run.counts.gone) == (
                "registering", 3, 0,
            )  # fmt: skip
            assert run.work(db) is True and run.counts.phase == "finished"
            result = run.result
        assert result == rescan.RescanResult(added=["g/two", "one"], skipped=["bad name"])
        assert run.counts.skipped == ["bad name"]
        walked = [name for event, name in events if event == "examined"]
        assert walked == ["bad name", "g", "g/plain", "g/two", "one"]
        assert [e for e in events if e[0] != "examined"] == [
            ("skipped", "bad name"), ("added", "g/two"), ("added", "one"),
        ]  # fmt: skip
        assert stages[:5] == [("scanning", (n, None)) for n in range(1, 6)]
        assert stages[5:] == [("registering", (n, 3)) for n in range(1, 4)]

        shutil.rmtree(settings.repos / "one")
        events.clear()
        with database.session() as db:
            result = rescan.rescan(db, settings, remove_obsolete=True, invalidate_caches=True,
                                   progress=lambda e, n, c: events.append((e, n)))  # fmt: skip
        assert result == rescan.RescanResult(removed=["one"], skipped=["bad name"], invalidated=1)
        assert [e for e in events if e[0] != "examined"] == [
            ("skipped", "bad name"), ("removed", "one"), ("refreshed", "g/two"),
        ]  # fmt: skip
        assert rescan.scan(settings.repos) == {"g/two": "hg", "bad name": "git"}
    finally:
        database.dispose()

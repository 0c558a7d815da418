# SPDX-License-Identifier: GPL-3.0-or-later
"""The web views a build farm fetches with an API key (``spec/web-and-vcs.md`` §8), against live servers.

Two servers: the session ``server`` (both database backends, default whitelist: only the feeds take a
key) and a ``farm`` server (SQLite, logging at info) whose ``api_access_controllers_whitelist`` names
views in all three spellings and with a glob. Every view is fetched for git and Mercurial, on a public
and a private repository, without a key, with a key in each of its three places, and with keys that must
be ignored (expired, wrong role, a user without read, garbage). Contents are checked against the real
binaries: patches and diffs are applied with ``git apply`` / ``hg import`` and give the commit's tree,
archives are unpacked and compared with a checkout.
"""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hearth.db.session import Database
from hearth.services import accounts, lookup
from tests.live import LiveServer, new_server, unique
from tests.vcs_fixtures import (
    BINARY,
    Built,
    apply_patch,
    checkout_at,
    clean_env,
    git,
    hg,
    publish,
    run,
    shared_build,
    tree_of_dir,
    unpack,
)

KINDS = ["git", "hg"]
WHITELIST = (
    "ChangesetController:changeset_raw, RepoCommitsView:repo_commit_patch, FilesController:raw, "
    "files:archive, RepoFilesView:repo_files_*"
)
# what WHITELIST enables besides the feeds; changeset:download and files:download stay disabled
FARM_ENABLED = {"changeset:raw", "changeset:patch", "files:raw", "files:archive", "files:diff"}
FEEDS = {"feed:rss", "feed:atom"}
TEXT = "text/plain; charset=utf-8"
NOT_FOUND = (404, TEXT, b"Repository not found")


# --- servers, histories, repositories -------------------------------------------------------------


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """The shared history of ``vcs_fixtures`` per backend (a copy of the run's one build)."""
    return {
        kind: shared_build(kind, tmp_path_factory, tmp_path_factory.mktemp(f"web-{kind}"))
        for kind in KINDS
    }


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live, _ = new_server(
        tmp_path_factory.mktemp("hearth-farm"),
        "sqlite",
        api_access_controllers_whitelist=WHITELIST,
        log_level="info",
    )
    yield live
    live.stop()


def issue_keys(server: LiveServer, username: str, **specs: dict[str, Any]) -> dict[str, str]:
    """New keys of ``username`` by name, each ``{"role": …, "expires_in_days": …}``: what
    ``hearth api-key create`` does, through the same service, without a process per key."""
    database = Database(server.database_url)
    try:
        with database.session() as db:
            user = lookup.user(db, username)
            return {
                name: accounts.issue_key(db, user, description="test", **spec)[0]
                for name, spec in specs.items()
            }
    finally:
        database.engine.dispose()


def new_user(server: LiveServer, prefix: str) -> tuple[str, str]:
    """A user created through the API, and a key of role ``all``."""
    name = unique(prefix)
    server.ok("create_user", username=name, email=f"{name}@example.com")
    return name, issue_keys(server, name, key={})["key"]


@dataclass
class People:
    """Keys of a reader of the private repositories, and of a user who may read nothing private."""

    reader: str
    reader_key: str
    outsider_key: str
    # keys of ``reader`` that every view but the feeds must ignore, by why
    ignored: dict[str, str] = field(default_factory=dict)
    feed_role_key: str = ""


def make_people(server: LiveServer, *, odd_keys: bool) -> People:
    reader, reader_key = new_user(server, "reader")
    _, outsider_key = new_user(server, "outsider")
    people = People(reader, reader_key, outsider_key)
    if odd_keys:
        people.ignored = issue_keys(
            server,
            reader,
            **{
                "expired": {"expires_in_days": 0},
                "role api": {"role": "api"},
                "role vcs": {"role": "vcs"},
                "role feed": {"role": "feed"},
            },
        )
        people.ignored["unknown"] = "0123456789abcdef0123456789abcdef01234567"
        people.feed_role_key = people.ignored["role feed"]
    return people


@dataclass
class Site:
    """A public and a private repository holding the shared history, on one server."""

    server: LiveServer
    kind: str
    built: Built
    public: dict[str, Any]
    private: dict[str, Any]
    people: People

    @property
    def ids(self) -> dict[str, str]:
        return self.built.ids


def make_site(server: LiveServer, kind: str, built: Built, people: People) -> Site:
    public = server.new_repo(kind, enable_downloads=True)
    private = server.new_repo(kind, enable_downloads=True, private=True)
    for repo in (public, private):
        publish(kind, built.work, server.home / "repos" / repo["repo_name"])
    server.ok(
        "grant_user_permission",
        repoid=private["repo_id"],
        userid=people.reader,
        perm="repository.read",
    )
    return Site(server, kind, built, public, private, people)


@pytest.fixture(scope="module")
def shared_people(server: LiveServer) -> People:
    return make_people(server, odd_keys=False)


@pytest.fixture(scope="module", params=KINDS)
def shared_site(
    request: pytest.FixtureRequest,
    server: LiveServer,
    histories: dict[str, Built],
    shared_people: People,
) -> Site:
    """On the session server (both backends): only the feeds take a key."""
    return make_site(server, request.param, histories[request.param], shared_people)


@pytest.fixture(scope="module")
def farm_people(farm: LiveServer) -> People:
    return make_people(farm, odd_keys=True)


@pytest.fixture(scope="module")
def farm_sites(
    farm: LiveServer, histories: dict[str, Built], farm_people: People
) -> dict[str, Site]:
    return {kind: make_site(farm, kind, histories[kind], farm_people) for kind in KINDS}


@pytest.fixture(params=KINDS)
def site(request: pytest.FixtureRequest, farm_sites: dict[str, Site]) -> Site:
    """On the farm server (the whitelist enables most views)."""
    return farm_sites[request.param]


# --- requests -------------------------------------------------------------------------------------


def view_urls(name: str, ids: dict[str, str]) -> dict[str, str]:
    """One URL per view, all at changeset c1 (the one that adds a binary file)."""
    c0, c1 = ids["c0"], ids["c1"]
    return {
        "changeset:raw": f"/{name}/changeset-diff/{c1}",
        "changeset:patch": f"/{name}/changeset-patch/{c1}",
        "changeset:download": f"/{name}/changeset-download/{c1}",
        "files:raw": f"/{name}/raw/{c1}/README.md",
        "files:download": f"/{name}/rawfile/{c1}/a/b/deep.txt",
        "files:diff": f"/{name}/diff/README.md?diff1={c0}&diff2={c1}&diff=raw",
        "files:archive": f"/{name}/archive/{c1[:12]}.zip",
        "feed:rss": f"/{name}/feed/rss",
        "feed:atom": f"/{name}/feed/atom",
    }


SPELLINGS = ["api_key", "auth_token", "bearer"]


def get(
    server: LiveServer,
    url: str,
    key: str | None = None,
    how: str = "api_key",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if key is not None and how == "bearer":
        sent["Authorization"] = f"Bearer {key}"
    elif key is not None:
        url += ("&" if "?" in url else "?") + f"{how}={key}"
    return server.client.get(url, headers=sent)


def answer(response: httpx.Response) -> tuple[int, str, bytes]:
    return response.status_code, response.headers["content-type"], response.content


def assert_safe(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"


# --- who may fetch what ---------------------------------------------------------------------------


def test_default_whitelist_only_feeds_take_a_key(server: LiveServer, shared_site: Site) -> None:
    """Session server, both backends: a reader's key opens only the feeds of the private repository;
    the public repository answers everybody, with or without a key."""
    people = shared_site.people
    public = view_urls(shared_site.public["repo_name"], shared_site.ids)
    private = view_urls(shared_site.private["repo_name"], shared_site.ids)
    for view, url in private.items():
        anonymous = get(server, public[view])
        assert anonymous.status_code == 200, (view, anonymous.text)
        assert_safe(anonymous)
        assert answer(get(server, url)) == NOT_FOUND, view
        for how in SPELLINGS:
            response = get(server, url, people.reader_key, how)
            if view in FEEDS:
                assert response.status_code == 200, (view, how, response.text)
                assert response.content.startswith(b"<?xml")
            else:  # not API-enabled here: the key is ignored
                assert answer(response) == NOT_FOUND, (view, how)
            assert_safe(response)
            keyed_public = get(server, public[view], people.reader_key, how)
            assert keyed_public.status_code == 200, (view, how)
        assert answer(get(server, url, people.outsider_key)) == NOT_FOUND, view


def test_missing_repository_answers_like_a_private_one(
    server: LiveServer, shared_site: Site
) -> None:
    private = view_urls(shared_site.private["repo_name"], shared_site.ids)
    missing = view_urls(unique("no-such-repo"), shared_site.ids)
    for view in private:
        hidden, absent = get(server, private[view]), get(server, missing[view])
        assert answer(hidden) == answer(absent) == NOT_FOUND, view
        same = {k: v for k, v in hidden.headers.items() if k != "date"}
        assert same == {k: v for k, v in absent.headers.items() if k != "date"}
        assert_safe(absent)
    head = server.client.head(missing["files:raw"])
    assert (head.status_code, head.content) == (404, b"")


def test_whitelisted_views_take_every_key_spelling(farm: LiveServer, site: Site) -> None:
    people = site.people
    private = view_urls(site.private["repo_name"], site.ids)
    public = view_urls(site.public["repo_name"], site.ids)
    for view, url in private.items():
        assert answer(get(farm, url)) == NOT_FOUND, view
        expected = get(farm, public[view])
        assert expected.status_code == 200, (view, expected.text)
        for how in SPELLINGS:
            response = get(farm, url, people.reader_key, how)
            if view in FARM_ENABLED | FEEDS:
                assert response.status_code == 200, (view, how, response.text)
                if view not in FEEDS | {"files:archive"}:  # those name their repository
                    assert response.content == expected.content, (view, how)
            else:
                assert answer(response) == NOT_FOUND, (view, how)
            assert_safe(response)
        # the key of a user who may not read the repository gives exactly the anonymous answer
        assert answer(get(farm, url, people.outsider_key)) == NOT_FOUND, view


def test_keys_that_must_be_ignored(farm: LiveServer, site: Site) -> None:
    """Expired, a role that does not admit the view, unknown: as if no key had been sent."""
    people = site.people
    private = view_urls(site.private["repo_name"], site.ids)
    public = view_urls(site.public["repo_name"], site.ids)
    for view in sorted(FARM_ENABLED | FEEDS):
        anonymous_public = answer(get(farm, public[view]))
        for why, key in people.ignored.items():
            for how in ("api_key", "bearer"):
                response = get(farm, private[view], key, how)
                if view in FEEDS and why == "role feed":
                    assert response.status_code == 200, (view, why)
                    continue
                assert answer(response) == NOT_FOUND, (view, why, how)
                if not view.startswith("feed:"):
                    assert answer(get(farm, public[view], key, how)) == anonymous_public


def test_first_key_source_wins(farm: LiveServer, site: Site) -> None:
    url = view_urls(site.private["repo_name"], site.ids)["files:raw"]
    good, bad = site.people.reader_key, site.people.ignored["unknown"]
    assert get(farm, f"{url}?api_key={good}&auth_token={bad}").status_code == 200
    assert answer(get(farm, f"{url}?api_key={bad}&auth_token={good}")) == NOT_FOUND
    assert answer(get(farm, url, good, headers={"Authorization": f"Bearer {bad}"})) == (
        200,
        TEXT,
        b"hello\nworld\nagain\n",
    )
    assert get(farm, f"{url}?auth_token={good}", headers={"Authorization": "Bearer x"}).is_success


def test_keys_never_reach_the_log(farm: LiveServer, farm_sites: dict[str, Site]) -> None:
    site = farm_sites["git"]
    people = site.people
    private = view_urls(site.private["repo_name"], site.ids)
    used = [people.reader_key, people.outsider_key, *people.ignored.values()]
    for key in used:
        assert get(farm, private["files:raw"], key, "api_key").status_code in (200, 404)
        assert get(farm, private["feed:rss"], key, "auth_token").status_code in (200, 404)
    assert get(farm, view_urls(unique("gone"), site.ids)["files:raw"], people.reader_key).is_error
    log = farm.log.read_text()
    assert "hearth.access" in log and "api_key=*****" in log and "auth_token=*****" in log
    for key in used:
        assert key not in log


# --- raw files ------------------------------------------------------------------------------------


def test_raw_file_and_download(farm: LiveServer, site: Site) -> None:
    name, ids = site.public["repo_name"], site.ids
    for rev, path, content in [
        (ids["c0"], "README.md", b"hello\nworld\n"),
        ("tip", "README.md", b"hello, world\nworld\nagain\n"),
        (ids["c1"][:12], "a/b/deep.txt", b"deep\n"),
        ("v1.0", "c/file.txt", b"c file\n"),
        (ids["c2"], "src/main.py", b"print('hi')\nprint('feature')\n"),
    ]:
        raw = get(farm, f"/{name}/raw/{rev}/{path}")
        assert answer(raw) == (200, TEXT, content), (rev, path)
        assert_safe(raw)
        assert "content-disposition" not in raw.headers
        for prefix in ("rawfile", "download"):
            down = get(farm, f"/{name}/{prefix}/{rev}/{path}")
            assert answer(down) == (200, TEXT, content)
            basename = path.rsplit("/", 1)[-1]
            assert down.headers["content-disposition"] == f"attachment; filename={basename}"
    binary = get(farm, f"/{name}/raw/{ids['c1']}/img.bin")
    assert answer(binary) == (200, "application/octet-stream", BINARY)
    head = farm.client.head(f"/{name}/raw/tip/README.md")
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "25", b"")


def test_raw_file_errors(farm: LiveServer, site: Site) -> None:
    name = site.public["repo_name"]
    missing = get(farm, f"/{name}/raw/tip/no/such.txt")
    assert answer(missing) == (404, TEXT, b"No file `no/such.txt` at revision tip")
    assert_safe(missing)
    assert answer(get(farm, f"/{name}/raw/nope/README.md")) == (
        404,
        TEXT,
        b"Unknown revision nope",
    )
    assert answer(get(farm, f"/{name}/raw/tip/docs")) == (
        404,
        TEXT,
        b"No file `docs` at revision tip",
    )
    assert get(farm, f"/{name}/no-such-view/tip").status_code == 404
    posted = farm.client.post(f"/{name}/raw/tip/README.md")
    assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")


def test_raw_files_are_never_html(farm: LiveServer, tmp_path: Path) -> None:
    """Whatever a browser could run comes back as text/plain; images and PDFs as what they are."""
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00"
    files: dict[str, bytes] = {
        "page.html": b"<html><script>alert(document.cookie)</script></html>\n",
        "pic.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>\n',
        "feed.xml": b"<?xml version='1.0'?><x/>\n",
        "app.js": b"alert(1)\n",
        "bin.html": b"<html>\x00<script>alert(1)</script>",
        "bin.svg": b"<svg>\x00</svg>",
        "logo.png": png,
        "text.png": b"not really a png\n",
        "paper.pdf": pdf,
        "blob.dat": b"\x00\x01\x02",
        "notes.txt": "caf\u00e9\n".encode(),
    }
    expected = {
        "page.html": TEXT,
        "pic.svg": TEXT,
        "feed.xml": TEXT,
        "app.js": TEXT,
        "bin.html": "text/plain",
        "bin.svg": "text/plain",
        "logo.png": "image/png",
        "text.png": TEXT,
        "paper.pdf": "application/pdf",
        "blob.dat": "application/octet-stream",
        "notes.txt": TEXT,
    }
    repo = farm.new_repo("git", enable_downloads=True)
    work = tmp_path / "mixed"
    run(["git", "init", "-q", "-b", "master", str(work)], env=clean_env(tmp_path))
    for path, content in files.items():
        (work / path).write_bytes(content)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "mixed", date=1_700_000_000)
    git(work, "push", "-q", str(farm.home / "repos" / repo["repo_name"]), "master")
    for path, content in files.items():
        for view in ("raw", "rawfile"):
            response = get(farm, f"/{repo['repo_name']}/{view}/tip/{path}")
            assert answer(response) == (200, expected[path], content), (view, path)
            assert_safe(response)


def test_big_raw_files_stream_whole_and_typed(farm: LiveServer, tmp_path: Path) -> None:
    """Files above the streaming threshold (1 MiB) arrive whole, with the right length and type,
    for GET, download and HEAD; text is told from binary by its first bytes, and a multi-byte
    character cut by the end of those bytes does not turn text into its extension's type."""
    big_text = ("é" * 300_000 + "line\n" * 200_000).encode()  # 2-byte characters first
    big_binary = bytes(range(256)) * 20_000
    fake_png = ("ü" * 700_000).encode()  # text under an image name: must stay text/plain
    files = {"big.txt": big_text, "big.bin": big_binary, "fake.png": fake_png}
    for kind in KINDS:
        repo = farm.new_repo(kind, enable_downloads=True)
        work = tmp_path / kind
        if kind == "git":
            run(["git", "init", "-q", "-b", "master", str(work)], env=clean_env(tmp_path))
        else:
            hg(tmp_path, "init", str(work))
        for path, content in files.items():
            (work / path).write_bytes(content)
        if kind == "git":
            git(work, "add", "-A")
            git(work, "commit", "-q", "-m", "big", date=1_700_000_000)
            git(work, "push", "-q", str(farm.home / "repos" / repo["repo_name"]), "master")
        else:
            hg(work, "commit", "-A", "-q", "-m", "big")
            hg(work, "push", "-q", str(farm.home / "repos" / repo["repo_name"]))
        expected = {"big.txt": TEXT, "big.bin": "application/octet-stream", "fake.png": TEXT}
        for path, content in files.items():
            response = get(farm, f"/{repo['repo_name']}/raw/tip/{path}")
            assert answer(response) == (200, expected[path], content), (kind, path)
            assert response.headers["content-length"] == str(len(content))
            assert_safe(response)
            down = get(farm, f"/{repo['repo_name']}/download/tip/{path}")
            assert down.content == content
            assert down.headers["content-disposition"] == f"attachment; filename={path}"
            head = farm.client.head(f"/{repo['repo_name']}/raw/tip/{path}")
            assert (head.status_code, head.headers["content-length"], head.content) == (
                200,
                str(len(content)),
                b"",
            )


# --- diffs and patches ----------------------------------------------------------------------------


def tree_at(built: Built, rev: str | None, dest: Path) -> dict[str, bytes]:
    checkout_at(built, rev, dest)
    return tree_of_dir(dest)


def parent_of(site: Site, name: str) -> str | None:
    return {"c0": None, "c1": "c0", "c2": "c1", "c3": "c1", "c4": "c3"}[name]


@pytest.mark.parametrize("view", ["changeset-patch", "changeset-diff"])
def test_patch_and_raw_diff_apply_to_a_clone(
    farm: LiveServer, site: Site, view: str, tmp_path: Path
) -> None:
    """c0: the root; c1: adds a binary file; c2: a deletion; c4: a merge (against its first parent).
    Each applied with ``git apply`` / ``hg import`` to its parent gives the commit's tree."""
    name, ids, built = site.public["repo_name"], site.ids, site.built
    for cs in ("c0", "c1", "c2", "c4"):
        response = get(farm, f"/{name}/{view}/{ids[cs]}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == TEXT
        assert_safe(response)
        if view == "changeset-diff" and site.kind == "hg":
            continue  # a bare diff has no header for ``hg import``; the patch view covers hg
        parent = parent_of(site, cs)
        work = tmp_path / f"{cs}-applied"
        checkout_at(built, ids[parent] if parent else None, work)
        apply_patch(built, work, response.content)
        assert tree_of_dir(work) == tree_at(built, ids[cs], tmp_path / f"{cs}-expected"), cs


def test_patch_header(farm: LiveServer, site: Site) -> None:
    name, ids = site.public["repo_name"], site.ids
    patch = get(farm, f"/{name}/changeset-patch/{ids['c4']}").content.decode()
    diff = get(farm, f"/{name}/changeset-diff/{ids['c4']}").content.decode()
    if site.kind == "git":
        header = (
            f"From {ids['c4']} 2024-01-05 00:00:00\n"
            "From: Alice Example <alice@example.com>\n"
            "Date: 2024-01-05 00:00:00\n"
            "Subject: [PATCH] merge feature\n"
            "---\n\n"
        )
    else:
        header = (
            "# HG changeset patch\n"
            "# User Alice Example <alice@example.com>\n"
            "# Date 2024-01-05 00:00:00\n"
            f"# Node ID {ids['c4']}\n"
            f"# Parent  {ids['c3']}\n"
            f"# Parent  {ids['c2']}\n"
            "merge feature\n\n"
        )
    assert patch == header + diff
    assert diff.startswith("diff --git a/docs/guide.txt b/docs/guide.txt\n")


def test_raw_diff_of_a_range(farm: LiveServer, site: Site, tmp_path: Path) -> None:
    """``c1...c3`` is the diffs of c1, c2 (the feature branch) and c3 concatenated: applied to c0 it
    gives the merge's tree."""
    name, ids, built = site.public["repo_name"], site.ids, site.built
    single = {cs: get(farm, f"/{name}/changeset-diff/{ids[cs]}").content for cs in ids}
    ranged = get(farm, f"/{name}/changeset-diff/{ids['c1']}...{ids['c3']}")
    assert answer(ranged) == (200, TEXT, single["c1"] + single["c2"] + single["c3"])
    old = get(farm, f"/{name}/raw-changeset/{ids['c1'][:12]}...{ids['c3'][:12]}")
    assert old.content == ranged.content
    one = get(farm, f"/{name}/changeset-diff/{ids['c2']}...{ids['c2']}")
    assert one.content == single["c2"]
    download = get(farm, f"/{name}/changeset-download/{ids['c1']}...{ids['c3']}")
    assert download.content == ranged.content
    if site.kind == "git":
        work = tmp_path / "range"
        checkout_at(built, ids["c0"], work)
        apply_patch(built, work, ranged.content)
        assert tree_of_dir(work) == tree_at(built, ids["c4"], tmp_path / "merge")
    backwards = get(farm, f"/{name}/changeset-diff/{ids['c3']}...{ids['c1']}")
    assert answer(backwards) == (
        400,
        TEXT,
        f"start revision {ids['c3']} is after end revision {ids['c1']}".encode(),
    )
    unknown = get(farm, f"/{name}/changeset-diff/{ids['c1']}...nope")
    assert answer(unknown) == (404, TEXT, b"Unknown revision nope")


def test_changeset_download(server: LiveServer, shared_site: Site) -> None:
    """Not whitelisted anywhere: fetched anonymously from a public repository."""
    name, ids = shared_site.public["repo_name"], shared_site.ids
    raw = get(server, f"/{name}/changeset-diff/{ids['c2']}")
    down = get(server, f"/{name}/changeset-download/{ids['c2']}")
    assert answer(down) == answer(raw)
    assert down.headers["content-disposition"] == f"attachment; filename={ids['c2'][:12]}.diff"
    assert get(server, f"/{name}/changeset-diff/nope").text == "Unknown revision nope"


def test_diff_options(farm: LiveServer, site: Site, tmp_path: Path) -> None:
    """``context=<n>`` sets the context lines, ``ignorews=1`` drops whitespace-only changes."""
    name, ids = site.public["repo_name"], site.ids
    url = f"/{name}/changeset-diff/{ids['c3']}"
    full = get(farm, url).content
    assert re.search(rb"^@@ -1,3 \+1,3 @@$", full, re.M)
    narrow = get(farm, url + "?context=0").content
    assert re.search(rb"^@@ -1(,1)? \+1(,1)? @@$", narrow, re.M) and b"\n world\n" not in narrow

    repo = farm.new_repo(site.kind, enable_downloads=True)
    dest = farm.home / "repos" / repo["repo_name"]
    if site.kind == "git":
        work = tmp_path / "ws"
        run(["git", "init", "-q", "-b", "master", str(work)], env=clean_env(tmp_path))
        built = Built("git", dest, work)
    else:
        built = Built("hg", dest, dest)
    built.commit("a", {"spaces.txt": "a b\n", "words.txt": "one\n"}, "first", 1_700_000_000)
    raw = built.commit("b", {"spaces.txt": "a   b  \n", "words.txt": "two\n"}, "ws", 1_700_000_100)
    url = f"/{repo['repo_name']}/changeset-diff/{raw}"
    assert b"spaces.txt" in get(farm, url).content
    ignoring = get(farm, url + "?ignorews=1").content
    assert b"+two" in ignoring and b"+a   b" not in ignoring


def test_file_diff(farm: LiveServer, site: Site, tmp_path: Path) -> None:
    name, ids = site.public["repo_name"], site.ids
    url = f"/{name}/diff/README.md?diff1={ids['c0']}&diff2={ids['c3']}"
    raw = get(farm, url + "&diff=raw")
    assert raw.status_code == 200 and raw.headers["content-type"] == TEXT
    assert_safe(raw)
    assert raw.content.startswith(b"diff --git a/README.md b/README.md\n")
    # the diff turns README.md at c0 into README.md at c3
    (tmp_path / "README.md").write_bytes(b"hello\nworld\n")
    (tmp_path / "readme.diff").write_bytes(raw.content)
    run(["git", "apply", "readme.diff"], cwd=tmp_path, env=clean_env(tmp_path))
    assert (tmp_path / "README.md").read_bytes() == b"hello, world\nworld\nagain\n"

    down = get(farm, url + "&diff=download")
    assert down.content == raw.content
    assert down.headers["content-disposition"] == "attachment; filename=README.md.diff"
    assert get(farm, url + "&diff=diff").status_code == 404  # the web UI page
    assert get(farm, url).status_code == 404
    added = get(farm, f"/{name}/diff/new.txt?diff1=&diff2={ids['c3']}&diff=raw").content
    assert b"new file mode" in added and b"+new\n" in added
    bad = get(farm, f"/{name}/diff/README.md?diff1=nope&diff2={ids['c3']}&diff=raw")
    assert answer(bad) == (404, TEXT, b"Unknown revision nope")


# --- archives -------------------------------------------------------------------------------------

ARCHIVES = [
    (".zip", "zip"),
    (".tar.gz", "tgz"),
    (".tar.bz2", "tbz2"),
    (".tgz", "tgz"),
    (".tbz2", "tbz2"),
]
ARCHIVE_TYPES = {
    "zip": "application/zip",
    "tgz": "application/x-gzip",
    "tbz2": "application/x-bzip2",
}


def test_archives_unpack_to_the_tree(farm: LiveServer, site: Site, tmp_path: Path) -> None:
    name, ids, built = site.public["repo_name"], site.ids, site.built
    tip = ids["c5"] if site.kind == "hg" else ids["c4"]
    expected = tree_at(built, tip, tmp_path / "tip")
    top = f"{name}-{tip[:12]}"
    for ext, kind in ARCHIVES:
        response = get(farm, f"/{name}/archive/{tip[:12]}{ext}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == ARCHIVE_TYPES[kind]
        assert response.headers["content-disposition"] == f"attachment; filename={top}{ext}"
        assert response.headers["etag"] == f'"{tip}{ext}"'
        assert_safe(response)
        entries = unpack(kind, response.content)
        assert all(path.startswith(top + "/") for path in entries), list(entries)
        assert {path[len(top) + 1 :]: data for path, data in entries.items()} == expected, ext
        if kind == "zip":  # the archive's own format, not just readable by our helper
            with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
                assert zf.testzip() is None
        else:
            assert tarfile.is_tarfile(io.BytesIO(response.content))
    # a tag or "tip" reaches the same changeset, hence the same cached file and ETag
    by_tip = get(farm, f"/{name}/archive/tip.tar.gz")
    assert by_tip.headers["etag"] == f'"{tip}.tar.gz"'
    assert by_tip.content == get(farm, f"/{name}/archive/{tip}.tar.gz").content
    older = get(farm, f"/{name}/archive/v1.0.zip")
    entries = unpack("zip", older.content)
    c1_top = f"{name}-{ids['c1'][:12]}"
    assert {p[len(c1_top) + 1 :]: d for p, d in entries.items()} == tree_at(
        built, ids["c1"], tmp_path / "c1"
    )


def test_archive_cache_and_etag(farm: LiveServer, site: Site) -> None:
    name, repo_id = site.public["repo_name"], site.public["repo_id"]
    url = f"/{name}/archive/{site.ids['c2']}.tar.bz2"
    first = get(farm, url)
    etag = first.headers["etag"]
    assert etag == f'"{site.ids["c2"]}.tar.bz2"'
    cached = list((farm.home / "repos" / ".hearth" / "archives" / str(repo_id)).iterdir())
    assert any(p.name.startswith(site.ids["c2"]) for p in cached)
    assert get(farm, url).content == first.content  # served from the cache, byte for byte
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = get(farm, url, headers={"If-None-Match": header})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert get(farm, url, headers={"If-None-Match": '"other"'}).status_code == 200
    head = farm.client.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(first.content)


def test_archive_errors(farm: LiveServer, site: Site) -> None:
    name = site.public["repo_name"]
    assert answer(get(farm, f"/{name}/archive/nope.zip")) == (
        404,
        TEXT,
        b"Unknown revision nope",
    )
    assert answer(get(farm, f"/{name}/archive/tip.rar")) == (404, TEXT, b"Unknown archive type")
    assert answer(get(farm, f"/{name}/archive/tip")) == (404, TEXT, b"Unknown archive type")
    empty = farm.new_repo(site.kind, enable_downloads=True)
    assert answer(get(farm, f"/{empty['repo_name']}/archive/tip.zip")) == (
        404,
        TEXT,
        b"Empty repository",
    )
    closed = farm.new_repo(site.kind, enable_downloads=False)
    disabled = get(farm, f"/{closed['repo_name']}/archive/tip.zip")
    assert answer(disabled) == (403, TEXT, b"Downloads disabled")
    assert_safe(disabled)
    hidden = farm.new_repo(site.kind, enable_downloads=False, private=True)
    assert answer(get(farm, f"/{hidden['repo_name']}/archive/tip.zip")) == NOT_FOUND


# --- old URLs --------------------------------------------------------------------------------------


def test_old_and_rhodecode_urls(farm: LiveServer, site: Site) -> None:
    name, c1 = site.public["repo_name"], site.ids["c1"]
    pairs = [
        (f"/{name}/changeset-diff/{c1}", f"/{name}/raw-changeset/{c1}"),
        (f"/{name}/rawfile/{c1}/README.md", f"/{name}/download/{c1}/README.md"),
    ]
    for new, old in pairs:
        assert answer(get(farm, new)) == answer(get(farm, old))
    for kind in ("rss", "atom"):
        assert (
            get(farm, f"/{name}/feed/{kind}").headers["content-type"]
            == get(farm, f"/{name}/feed-{kind}").headers["content-type"]
        )

# SPDX-License-Identifier: GPL-3.0-or-later
"""The code pages (files, annotate, changelog, changeset, compare) against a live server, for git
and hg, as an anonymous visitor, a signed-in reader of a private repository, a signed-in user who
may read nothing private, and an admin: content, the permission answer (a private repository
looks exactly like a missing one), the 404 pages of bad revisions and paths, and well-formed HTML.

The repositories hold the shared history of ``vcs_fixtures.py`` plus an image, a binary file and a
file too large to show; a fork gets one more changeset, for comparing across repositories.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import pagecheck
from tests.live import LiveServer, new_server, unique
from tests.vcs_fixtures import HG, Built, epoch, git, hg, run, shared_build

KINDS = ["git", "hg"]
PASSWORD = "correct horse battery"


def png(width: int = 3, height: int = 2) -> bytes:
    """A small valid PNG (the file view embeds images)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


BIG = "".join(f"line {n} of a file too large to show in a page\n" for n in range(25_000))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server, _ = new_server(tmp_path_factory.mktemp("hearth-code"), "sqlite")
    yield server
    server.stop()


@dataclass
class Site:
    kind: str
    server: LiveServer
    built: Built
    public: str
    private: str
    fork: str
    fork_id: str
    clients: dict[str, httpx.Client]

    @property
    def ids(self) -> dict[str, str]:
        return self.built.ids

    @property
    def main(self) -> str:
        return "master" if self.kind == "git" else "default"

    def get(self, who: str, path: str, **params: Any) -> httpx.Response:
        return self.clients[who].get(path, params=params or None)

    def page(self, who: str, path: str, status: int = 200, **params: Any) -> str:
        response = self.get(who, path, **params)
        assert response.status_code == status, (path, response.status_code, response.text[:2000])
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["x-frame-options"] == "DENY"
        assert "Traceback" not in response.text
        pagecheck.check_html(response.text)  # also: no inline script or style (the CSP)
        return response.text


def publish(kind: str, work: Path, dest: Path) -> None:
    if kind == "git":
        git(work, "push", "-q", str(dest), "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
    else:
        hg(work, "push", "-q", "--new-branch", "-r", "all()", "-B", "mark", str(dest))


@pytest.fixture(scope="module")
def people(live: LiveServer) -> dict[str, str]:
    names = {}
    for role in ("reader", "outsider", "admin"):
        name = unique(role)
        live.ok(
            "create_user",
            username=name,
            email=f"{name}@example.com",
            password=PASSWORD,
            admin=role == "admin",
        )
        names[role] = name
    return names


@pytest.fixture(scope="module", params=KINDS)
def site(
    request: pytest.FixtureRequest,
    live: LiveServer,
    people: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    kind = request.param
    base = tmp_path_factory.mktemp(f"code-{kind}")
    built = shared_build(kind, tmp_path_factory, base)
    built.commit(
        "c6",
        {"pic.png": png(), "big.txt": BIG, "blob.dat": b"\x00\x01binary\x00" * 50},
        "media and a large file",
        epoch(7),
    )
    public = unique(f"code-{kind}-")
    private = unique(f"code-{kind}-private-")
    live.ok("create_repo", repo_name=public, repo_type=kind)
    live.ok("create_repo", repo_name=private, repo_type=kind, private=True)
    for name in (public, private):
        publish(kind, built.work, live.home / "repos" / name)
    live.ok(
        "grant_user_permission", repoid=private, userid=people["reader"], perm="repository.read"
    )
    fork = unique(f"code-{kind}-fork-")
    live.ok("fork_repo", repoid=public, fork_name=fork)
    fork_work = base / "fork-work"
    fork_path = live.home / "repos" / fork
    run(
        ["git", "clone", "-q", str(fork_path), str(fork_work)]
        if kind == "git"
        else [HG, "clone", "-q", str(fork_path), str(fork_work)]
    )
    forked = Built(kind, fork_path, fork_work)
    if kind == "git":
        git(fork_work, "checkout", "-q", "master")
        forked.commit("f1", {"fork.txt": "only in the fork\n"}, "fork work", epoch(9))
    else:
        forked.commit("f1", {"fork.txt": "only in the fork\n"}, "fork work", epoch(9))
        hg(fork_work, "push", "-q", str(fork_path))
    clients = {"anonymous": pagecheck.client(live)}
    for role, name in people.items():
        clients[role] = pagecheck.signed_in(live, name, PASSWORD)
    yield Site(kind, live, built, public, private, fork, forked.ids["f1"], clients)
    for client in clients.values():
        client.close()


READERS = ["anonymous", "reader", "outsider", "admin"]


# --- files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", READERS)
def test_tree_lists_one_level_with_switcher(site: Site, who: str) -> None:
    text = site.page(who, f"/{site.public}/files/tip/")
    for name in ("README.md", "img.bin", "new.txt", "pic.png"):
        assert f">{name}</a>" in text
    assert ">src/</a>" in text and ">a/</a>" in text
    assert "deep.txt" not in text  # one level only
    assert f'<option value="{site.main}"' in text and '<option value="v1.0"' in text
    sub = site.page(who, f"/{site.public}/files/{site.main}/a/b")
    assert ">deep.txt</a>" in sub and 'aria-label="Path"' in sub


@pytest.mark.parametrize("who", READERS)
def test_file_view_highlighted_with_line_anchors(site: Site, who: str) -> None:
    text = site.page(who, f"/{site.public}/files/tip/src/main.py")
    assert 'id="L1"' in text and 'id="L2"' in text and 'href="#L2"' in text
    assert '<span class="nb">print</span>' in text  # Pygments' builtin class
    assert f"/{site.public}/raw/" in text and f"/{site.public}/rawfile/" in text
    assert "feature work" in text or "merge feature" in text  # the last change of the file
    readme = site.page(who, f"/{site.public}/files/v1.0/README.md")
    assert "again" in readme and "hello, world" not in readme  # the tag's version


def test_image_binary_and_large_files_are_not_rendered(site: Site) -> None:
    image = site.page("anonymous", f"/{site.public}/files/tip/pic.png")
    match = re.search(r'<img src="([^"]+)"', image)
    assert match and "/raw/" in match[1]
    raw = site.get("anonymous", match[1].replace("&amp;", "&"))
    assert raw.status_code == 200 and raw.content.startswith(b"\x89PNG")
    binary = site.page("anonymous", f"/{site.public}/files/tip/blob.dat")
    assert "Binary file" in binary and 'id="L1"' not in binary and "/rawfile/" in binary
    big = site.page("anonymous", f"/{site.public}/files/tip/big.txt")
    assert "too large to show" in big and 'id="L1"' not in big and "/raw/" in big
    assert "line 24999" not in big


def test_switcher_without_javascript_redirects(site: Site) -> None:
    response = site.get("anonymous", f"/{site.public}/files/tip/README.md", at="v1.0")
    assert response.status_code == 303
    assert response.headers["location"] == f"/{site.public}/files/v1.0/README.md"


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_annotate(site: Site, who: str) -> None:
    text = site.page(who, f"/{site.public}/annotate/{site.ids['c4']}/README.md")
    for name in ("c3", "c0", "c1"):
        assert site.ids[name][:8] in text
    assert 'id="L3"' in text and "master work" in text
    binary = site.page(who, f"/{site.public}/annotate/tip/blob.dat")
    assert "text files only" in binary


# --- history ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", READERS)
def test_changelog_per_branch_and_per_file(site: Site, who: str) -> None:
    text = site.page(who, f"/{site.public}/changelog")
    for message in ("initial", "feature work", "master work", "merge feature", "media and a"):
        assert message in text
    assert '<span class="label tag" title="tag">v1.0</span>' in text
    assert f'<span class="label branch" title="branch">{site.main}</span>' in text
    if site.kind == "hg":
        assert '<span class="label bookmark" title="bookmark">mark</span>' in text
    feature = site.page(who, f"/{site.public}/changelog", branch="feature")
    assert "feature work" in feature and "master work" not in feature
    readme = site.page(who, f"/{site.public}/changelog/tip/README.md")
    assert "master work" in readme and "second" in readme and "feature work" not in readme
    assert 'rel="next"' not in text  # one page
    site.page(who, f"/{site.public}/changelog", 404, page="5")


# --- changesets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", READERS)
def test_changeset_unified_and_side_by_side(site: Site, who: str) -> None:
    c1 = site.ids["c1"]
    text = site.page(who, f"/{site.public}/changeset/{c1}")
    assert "second" in text and "body line" in text and "Alice Example" in text
    assert site.ids["c0"][:12] in text  # the parent
    assert site.ids["c2"][:12] in text and site.ids["c3"][:12] in text  # the children
    assert 'class="diff unified' in text and 'class="diff sbs' not in text
    assert re.search(r"README\.md</a>.*?\+1</span>", text, re.S)
    assert "binary" in text and "img.bin" in text
    assert f"/{site.public}/changeset-diff/{c1}" in text
    assert f"/{site.public}/changeset-patch/{c1}" in text
    assert '<span class="label tag" title="tag">v1.0</span>' in text
    sbs = site.page(who, f"/{site.public}/changeset/{c1}", mode="sbs")
    assert 'class="diff sbs' in sbs and 'class="diff unified' not in sbs
    by_tag = site.page(who, f"/{site.public}/changeset/v1.0")
    assert c1 in by_tag


def test_changeset_shows_deletions_renames_and_ignores_whitespace(
    site: Site, tmp_path: Path
) -> None:
    deleted = site.page("anonymous", f"/{site.public}/changeset/{site.ids['c2']}")
    assert '<span class="status deleted">deleted</span>' in deleted and "docs/guide.txt" in deleted
    work = site.built.work
    body = "".join(f"line {n}\n" for n in range(30))
    site.built.commit("r0", {"keep/name.txt": body}, "before rename", epoch(18))
    if site.kind == "git":
        git(work, "mv", "keep/name.txt", "renamed.txt")
    else:
        hg(work, "mv", "keep/name.txt", "renamed.txt")
    site.built.commit(
        "r1", {"renamed.txt": body.replace("line 7\n", "line  7\n")}, "rename", epoch(19)
    )
    publish(site.kind, work, site.server.home / "repos" / site.public)
    renamed = site.page("anonymous", f"/{site.public}/changeset/{site.ids['r1']}")
    assert '<span class="status renamed">renamed</span>' in renamed
    assert "keep/name.txt" in renamed and "renamed.txt" in renamed
    assert re.search(r'<span class="plus">\+1</span> <span class="minus">−1</span>', renamed)
    ignoring = site.page("anonymous", f"/{site.public}/changeset/{site.ids['r1']}", ignorews="1")
    assert '<span class="plus">+0</span>' in ignoring
    assert 'id="toggle-ws"' in ignoring


# --- compare ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", READERS)
def test_compare_two_revisions(site: Site, who: str) -> None:
    ids = site.ids
    text = site.page(who, f"/{site.public}/compare/{ids['c1']}...{ids['c2']}")
    assert "1 changeset" in text and "feature work" in text
    assert "docs/guide.txt" in text and "src/main.py" in text
    named = site.page(who, f"/{site.public}/compare/branch@{site.main}...branch@feature")
    assert "0 changesets" in named  # feature is merged into the main branch
    tagged = site.page(who, f"/{site.public}/compare/tag@v1.0...rev@{ids['c3']}", merge="1")
    assert "master work" in tagged and "new.txt" in tagged and "docs/guide.txt" not in tagged


def test_compare_across_a_fork(site: Site) -> None:
    text = site.page(
        "anonymous",
        f"/{site.public}/compare/branch@{site.main}...branch@{site.main}",
        other_repo=site.fork,
    )
    assert "1 changeset" in text and "fork work" in text and "fork.txt" in text
    assert f"/{site.fork}/changeset/{site.fork_id}" in text
    # the parent was not written to: the fork's changeset is unknown there
    site.page("anonymous", f"/{site.public}/changeset/{site.fork_id}", 404)
    # a private repository named as the other side answers like a missing one
    hidden = site.get("outsider", f"/{site.public}/compare/tip...tip", other_repo=site.private)
    missing = site.get(
        "outsider", f"/{site.public}/compare/tip...tip", other_repo="no-such-repo-here"
    )
    assert hidden.status_code == missing.status_code == 404
    assert _main(hidden.text) == _main(missing.text)


# --- permissions and errors --------------------------------------------------------------------------

PAGES = [
    "files/tip/",
    "files/tip/README.md",
    "annotate/tip/README.md",
    "changelog",
    "changelog/tip/README.md",
    "changeset/tip",
    "compare/tip...tip",
]


def _main(text: str) -> str:
    """The page without what differs between any two pages (the CSRF token)."""
    return re.sub(r'name="_csrf" value="[^"]*"', "", text)


@pytest.mark.parametrize("rest", PAGES)
def test_private_repository_looks_missing(site: Site, rest: str) -> None:
    missing_name = unique("code-missing-")
    for who in ("reader", "admin"):
        site.page(who, f"/{site.private}/{rest}")
    outsider = site.get("outsider", f"/{site.private}/{rest}")
    missing = site.get("outsider", f"/{missing_name}/{rest}")
    assert outsider.status_code == missing.status_code == 404
    assert _main(outsider.text).replace(site.private, "X") == _main(missing.text).replace(
        missing_name, "X"
    )
    pagecheck.check_html(outsider.text)
    # a browser that is not signed in is sent to sign in, whether or not the repository exists
    anonymous = site.get("anonymous", f"/{site.private}/{rest}")
    anonymous_missing = site.get("anonymous", f"/{missing_name}/{rest}")
    assert anonymous.status_code == anonymous_missing.status_code == 302
    assert anonymous.headers["location"].startswith("/_admin/login?came_from=")


@pytest.mark.parametrize(
    ("rest", "text"),
    [
        ("files/no-such-rev/", "Unknown revision no-such-rev"),
        ("files/tip/no/such/file.txt", "No file `no/such/file.txt`"),
        ("annotate/tip/src", "No file `src`"),
        ("annotate/tip/", "Not Found"),
        ("changeset/zzzz", "Unknown revision zzzz"),
        ("changeset/" + "0" * 40, "Unknown revision"),
        ("changelog/tip/nothing-here", "No file `nothing-here`"),
        ("changelog?branch=no-such-branch", "Unknown branch no-such-branch"),
        ("compare/tip...no-such", "Unknown revision no-such"),
        ("compare/tip...tip?other_repo=nope-nothing", "Repository not found"),
        ("files/tip/%00", "No file"),
    ],
)
def test_bad_revisions_and_paths_are_404_pages(site: Site, rest: str, text: str) -> None:
    response = site.get("admin", f"/{site.public}/{rest}")
    assert response.status_code == 404, response.text[:1000]
    assert text in response.text.replace("&#96;", "`")
    assert "Traceback" not in response.text
    pagecheck.check_html(response.text)


def test_huge_diffs_are_cut_with_a_link_to_the_full_one(site: Site) -> None:
    from hearth.services.codeview import FILE_LINE_LIMIT

    lines = FILE_LINE_LIMIT + 10
    site.built.commit(
        "huge",
        {"huge.txt": "".join(f"row {n}\n" for n in range(lines)), "small.txt": "small\n"},
        "a huge file",
        epoch(20),
    )
    publish(site.kind, site.built.work, site.server.home / "repos" / site.public)
    rev = site.ids["huge"]
    cut = site.page("anonymous", f"/{site.public}/changeset/{rev}")
    assert "too large to show here" in cut and f"row {lines - 1}" not in cut
    assert f'<span class="plus">+{lines}</span>' in cut  # counted even when not shown
    assert ">small</" in cut or "small</" in cut  # the small file is still shown
    link = re.search(r'href="([^"]*fulldiff=1[^"]*)"', cut)
    assert link, "no link to the full diff"
    full = site.page("anonymous", link[1].replace("&amp;", "&").split("#")[0])
    assert f"row {lines - 1}" in full and "too large to show here" not in full


def test_changelog_pages(site: Site) -> None:
    for n in range(22):
        site.built.commit(
            f"p{n}", {"paged.txt": f"version {n}\n"}, f"paged commit {n}", epoch(21) + 60 * n
        )
    publish(site.kind, site.built.work, site.server.home / "repos" / site.public)
    first = site.page("anonymous", f"/{site.public}/changelog")
    # newest first, 20 a page: 21 down to 2 here, the rest on the next page
    assert "paged commit 21" in first and "paged commit 2<" in first
    assert "paged commit 1<" not in first
    older = re.search(r'rel="next" href="([^"]+)"', first)
    assert older and 'rel="prev"' not in first
    second = site.page("anonymous", older[1].replace("&amp;", "&"))
    assert "paged commit 1<" in second and "paged commit 0<" in second
    assert "paged commit 21" not in second
    assert 'rel="prev"' in second
    per_file = site.page("anonymous", f"/{site.public}/changelog/tip/paged.txt")
    assert per_file.count('class="msg"') == 20 and 'rel="next"' in per_file


def test_repository_content_is_escaped_everywhere(site: Site) -> None:
    evil = "<script>alert(1)</script>"
    name = "x<img src=y onerror=alert(2)>.py"
    site.built.commit(
        "evil",
        {name: f"print('{evil}')\n", "plain.txt": f"{evil}\n"},
        f"message {evil} <b>bold</b>",
        epoch(25),
    )
    publish(site.kind, site.built.work, site.server.home / "repos" / site.public)
    rev = site.ids["evil"]
    quoted = "x%3Cimg%20src%3Dy%20onerror%3Dalert%282%29%3E.py"
    for path in (
        f"/{site.public}/files/{rev}/",
        f"/{site.public}/files/{rev}/{quoted}",
        f"/{site.public}/files/{rev}/plain.txt",
        f"/{site.public}/annotate/{rev}/plain.txt",
        f"/{site.public}/changeset/{rev}",
        f"/{site.public}/changelog",
        f"/{site.public}/changelog/{rev}/plain.txt",
    ):
        text = site.page("anonymous", path)
        assert "<script>alert" not in text and "<img src=y" not in text, path
        assert "<b>bold" not in text, path
    changeset = site.page("anonymous", f"/{site.public}/changeset/{rev}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in changeset


def test_branch_names_with_a_slash(site: Site) -> None:
    work = site.built.work
    if site.kind == "git":
        git(work, "branch", "topic/one", site.ids["c2"])
    else:
        hg(work, "update", "-q", "-r", site.ids["c2"])
        hg(work, "branch", "-q", "topic/one")
        site.built.commit("t1", {"topic.txt": "topic\n"}, "topic work", epoch(26))
        hg(work, "update", "-q", "-C", "default")
    publish(site.kind, work, site.server.home / "repos" / site.public)
    tree = site.page("anonymous", f"/{site.public}/files/topic/one/src")
    assert ">main.py</a>" in tree and '<option value="topic/one" selected>' in tree
    text = site.page("anonymous", f"/{site.public}/files/topic%2Fone/src/main.py")
    assert "feature" in text
    # the switcher's redirect and the page's own links keep the name whole
    moved = site.get("anonymous", f"/{site.public}/files/tip/src/main.py", at="topic/one")
    assert moved.headers["location"] == f"/{site.public}/files/topic%2Fone/src/main.py"
    log = site.page("anonymous", f"/{site.public}/changelog/topic/one/src/main.py")
    assert "feature work" in log and "master work" not in log
    blame = site.page("anonymous", f"/{site.public}/annotate/topic/one/src/main.py")
    assert site.ids["c2"][:8] in blame


def test_an_empty_repository(site: Site) -> None:
    name = unique(f"code-{site.kind}-empty-")
    site.server.ok("create_repo", repo_name=name, repo_type=site.kind)
    for who in ("anonymous", "admin"):
        assert "This repository is empty" in site.page(who, f"/{name}/files/tip/")
        assert "This repository is empty" in site.page(who, f"/{name}/changelog")
        assert "Empty repository" in site.page(who, f"/{name}/changeset/tip", 404)
        assert "Empty repository" in site.page(who, f"/{name}/files/tip/README", 404)

# SPDX-License-Identifier: GPL-3.0-or-later
"""RSS 2.0 and Atom 1.0 feeds of repositories and of the journal (``spec/web-and-vcs.md`` §8).

Every document is parsed with ``xml.etree`` and checked for the elements its format requires, the
content type, the order (newest first) and the ``feed_items`` limit. Feeds always take an API key
(the session server has the default, empty whitelist), so a private repository's feed opens with a
reader's key of role ``all``, ``http`` or ``feed`` in any of the three places, and with nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest

from tests.live import LiveServer, new_server, unique
from tests.test_web_views import issue_keys, new_user
from tests.vcs_fixtures import Built, git, make_git_history, publish, run, shared_build

KINDS = ["git", "hg"]
ATOM = "{http://www.w3.org/2005/Atom}"
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
NOT_FOUND = (404, "text/plain; charset=utf-8", b"Repository not found")

# the shared history of vcs_fixtures, newest first: (name, title, added, changed, removed)
HISTORY = [
    ("c4", "merge feature", [], ["src/main.py"], ["docs/guide.txt"]),
    ("c3", "master work", ["new.txt"], ["README.md"], []),
    ("c2", "feature work", [], ["src/main.py"], ["docs/guide.txt"]),
    ("c1", "second", ["a/b/deep.txt", "c/file.txt", "img.bin"], ["README.md"], []),
    ("c0", "initial", ["README.md", "docs/guide.txt", "src/main.py"], [], []),
]


@dataclass
class Item:
    """One feed entry, the same fields whatever the format."""

    title: str
    link: str
    author: str
    date: datetime
    description: str


def parse(response: httpx.Response, kind: str) -> tuple[ET.Element, list[Item]]:
    """The document's root and its entries; fails unless the format's required elements are there."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == (RSS_TYPE if kind == "rss" else ATOM_TYPE)
    assert response.headers["x-content-type-options"] == "nosniff"
    root = ET.fromstring(response.content)
    items = []
    if kind == "rss":
        assert (root.tag, root.get("version")) == ("rss", "2.0")
        channel = root.find("channel")
        assert channel is not None
        for required in ("title", "link", "description"):
            assert channel.findtext(required), required
        for node in channel.findall("item"):
            assert node.findtext("guid")
            items.append(
                Item(
                    node.findtext("title") or "",
                    node.findtext("link") or "",
                    node.findtext("author") or "",
                    parsedate_to_datetime(node.findtext("pubDate") or ""),
                    node.findtext("description") or "",
                )
            )
    else:
        assert root.tag == f"{ATOM}feed"
        for required in ("id", "title", "updated"):
            assert root.findtext(f"{ATOM}{required}"), required
        datetime.fromisoformat(root.findtext(f"{ATOM}updated") or "")
        for node in root.findall(f"{ATOM}entry"):
            assert node.findtext(f"{ATOM}id")
            link = node.find(f"{ATOM}link")
            author = node.find(f"{ATOM}author")
            assert link is not None and author is not None and author.findtext(f"{ATOM}name")
            items.append(
                Item(
                    node.findtext(f"{ATOM}title") or "",
                    link.get("href") or "",
                    f"{author.findtext(f'{ATOM}name')} <{author.findtext(f'{ATOM}email')}>",
                    datetime.fromisoformat(node.findtext(f"{ATOM}updated") or ""),
                    node.findtext(f"{ATOM}content") or "",
                )
            )
    dates = [item.date for item in items]
    assert dates == sorted(dates, reverse=True), "newest first"
    return root, items


def feed_urls(name: str) -> dict[str, list[str]]:
    return {
        "rss": [f"/{name}/feed/rss", f"/{name}/feed-rss"],
        "atom": [f"/{name}/feed/atom", f"/{name}/feed-atom"],
    }


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    return {
        kind: shared_build(kind, tmp_path_factory, tmp_path_factory.mktemp(f"feed-{kind}"))
        for kind in KINDS
    }


@dataclass
class Hosted:
    kind: str
    public: dict[str, Any]
    private: dict[str, Any]
    ids: dict[str, str]


@pytest.fixture(scope="module")
def reader(server: LiveServer) -> dict[str, Any]:
    """A user who may read the private repositories, with keys of every role and an expired one."""
    name, key = new_user(server, "feeder")
    keys = {"all": key}
    keys |= issue_keys(
        server,
        name,
        http={"role": "http"},
        feed={"role": "feed"},
        api={"role": "api"},
        vcs={"role": "vcs"},
        expired={"expires_in_days": 0},
    )
    return {"username": name, "keys": keys}


@pytest.fixture(scope="module", params=KINDS)
def hosted(
    request: pytest.FixtureRequest,
    server: LiveServer,
    histories: dict[str, Built],
    reader: dict[str, Any],
) -> Hosted:
    kind, built = request.param, histories[request.param]
    public, private = server.new_repo(kind), server.new_repo(kind, private=True)
    for repo in (public, private):
        publish(kind, built.work, server.home / "repos" / repo["repo_name"])
    server.ok(
        "grant_user_permission",
        repoid=private["repo_id"],
        userid=reader["username"],
        perm="repository.read",
    )
    return Hosted(kind, public, private, dict(built.ids))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose feeds hold at most three entries."""
    live, _ = new_server(tmp_path_factory.mktemp("hearth-feeds"), "sqlite", feed_items=3)
    yield live
    live.stop()


# --- repository feeds -----------------------------------------------------------------------------


def test_repository_feeds(server: LiveServer, hosted: Hosted) -> None:
    name = hosted.public["repo_name"]
    history = list(HISTORY)
    if hosted.kind == "hg":
        tag = f"Added tag v1.0 for changeset {hosted.ids['c1'][:12]}"
        history.insert(0, ("c5", tag, [".hgtags"], [], []))
    for kind, urls in feed_urls(name).items():
        documents = [server.client.get(url) for url in urls]
        _, items = parse(documents[0], kind)
        assert documents[1].content == documents[0].content
        assert [item.title for item in items] == [title for _, title, *_ in history]
        for item, (cs, _title, added, changed, removed) in zip(items, history, strict=True):
            assert item.link == f"{server.url}/{name}/changeset/{hosted.ids[cs]}"
            assert "Alice Example" in item.author and "alice@example.com" in item.author
            assert item.date.tzinfo is not None and item.date.year == 2024
            listing = [f"A {p}" for p in added] + [f"M {p}" for p in changed]
            listing += [f"D {p}" for p in removed]
            for line in listing:
                assert line in item.description, (cs, line, item.description)


def test_more_changesets_than_feed_items(server: LiveServer, tmp_path: Path) -> None:
    """25 changesets: the 20 newest (setting ``feed_items``, default 20), newest first."""
    big = make_git_history(tmp_path, 25)
    repo = server.new_repo("git")
    run(["git", "--git-dir", str(big), "push", "-q", str(server.home / "repos" / repo["repo_name"]),
         "master"])  # fmt: skip
    for kind in ("rss", "atom"):
        _, items = parse(server.client.get(f"/{repo['repo_name']}/feed/{kind}"), kind)
        assert [item.title for item in items] == [f"commit {n}" for n in range(24, 4, -1)]


def test_empty_repository_feed(server: LiveServer) -> None:
    repo = server.new_repo("hg")
    for kind in ("rss", "atom"):
        _, items = parse(server.client.get(f"/{repo['repo_name']}/feed/{kind}"), kind)
        assert items == []


def test_private_repository_feed_takes_a_key(
    server: LiveServer, hosted: Hosted, reader: dict[str, Any]
) -> None:
    keys = reader["keys"]
    for kind, urls in feed_urls(hosted.private["repo_name"]).items():
        url = urls[0]
        closed = server.client.get(url)
        assert (closed.status_code, closed.headers["content-type"], closed.content) == NOT_FOUND
        for role in ("all", "http", "feed"):
            for response in (
                server.client.get(f"{url}?api_key={keys[role]}"),
                server.client.get(f"{url}?auth_token={keys[role]}"),
                server.client.get(url, headers={"Authorization": f"Bearer {keys[role]}"}),
            ):
                _, items = parse(response, kind)
                assert len(items) == (6 if hosted.kind == "hg" else 5)
        for ignored in ("api", "vcs", "expired"):
            response = server.client.get(f"{url}?api_key={keys[ignored]}")
            assert (response.status_code, response.content) == NOT_FOUND[::2], ignored


def test_feed_escapes_what_it_carries(server: LiveServer, tmp_path: Path) -> None:
    """A message with markup and characters XML cannot hold still gives a valid document."""
    repo = server.new_repo("git")
    work = tmp_path / "odd"
    run(["git", "init", "-q", "-b", "master", str(work)])
    (work / "<b>.txt").write_text("x\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "<script>alert('x')</script> & \x01 done", date=1_700_000_000)
    git(work, "push", "-q", str(server.home / "repos" / repo["repo_name"]), "master")
    for kind in ("rss", "atom"):
        _, items = parse(server.client.get(f"/{repo['repo_name']}/feed/{kind}"), kind)
        assert items[0].title.startswith("<script>alert('x')</script> & ")
        assert "A &lt;b&gt;.txt" in items[0].description


# --- journal feeds --------------------------------------------------------------------------------

PUBLIC_JOURNAL = {
    "rss": ["/_admin/public_journal/rss", "/_admin/public_journal_rss"],
    "atom": ["/_admin/public_journal/atom", "/_admin/public_journal_atom"],
}


def test_public_journal(server: LiveServer, reader: dict[str, Any]) -> None:
    hidden = server.new_repo("git", private=True)
    shown = [server.new_repo("git")["repo_name"] for _ in range(2)]
    for kind, urls in PUBLIC_JOURNAL.items():
        for url in urls:
            for key in (None, reader["keys"]["feed"], reader["keys"]["expired"]):
                got = server.client.get(url + (f"?api_key={key}" if key else ""))
                _, items = parse(got, kind)
                assert 2 <= len(items) <= 20
                titles = [item.title for item in items]
                assert titles[:2] == [
                    f"admin - [created] repository {shown[1]}",
                    f"admin - [created] repository {shown[0]}",
                ]
                assert not any(hidden["repo_name"] in title for title in titles)
                assert items[0].link == f"{server.url}/{shown[1]}"


def test_journal_of_followed_repositories(server: LiveServer) -> None:
    """The repositories a user follows (an owner follows what it owns); a user is required."""
    user, key = new_user(server, "follower")
    _, stranger_key = new_user(server, "stranger")
    mine = [server.new_repo(kind, owner=user, private=True)["repo_name"] for kind in KINDS]
    server.new_repo("git")  # followed by nobody
    expired = issue_keys(server, user, key={"expires_in_days": 0})["key"]
    for kind in ("rss", "atom"):
        url = f"/_admin/journal/{kind}"
        for response in (
            server.client.get(f"{url}?api_key={key}"),
            server.client.get(f"{url}?auth_token={key}"),
            server.client.get(url, headers={"Authorization": f"Bearer {key}"}),
        ):
            _, items = parse(response, kind)
            assert [item.title for item in items] == [
                f"admin - [created] repository {name}" for name in reversed(mine)
            ]
        _, items = parse(server.client.get(f"{url}?api_key={stranger_key}"), kind)
        assert items == []
        for sent in ("", f"?api_key={expired}", "?api_key=bogus"):
            response = server.client.get(url + sent)
            assert (response.status_code, response.text) == (401, "Login required"), sent


def test_feed_items_setting(tiny: LiveServer, tmp_path: Path) -> None:
    repo = tiny.ok("create_repo", repo_name=unique("tiny"), repo_type="git")["repo"]
    for n in range(4):
        tiny.ok("create_repo", repo_name=unique(f"tiny{n}-"), repo_type="hg")
    for kind in ("rss", "atom"):
        _, items = parse(tiny.client.get(PUBLIC_JOURNAL[kind][0]), kind)
        assert len(items) == 3 and all("tiny" in item.title for item in items)
    work = make_git_history(tmp_path, 5)
    run(["git", "--git-dir", str(work), "push", "-q", str(tiny.home / "repos" / repo["repo_name"]),
         "master"])  # fmt: skip
    for kind in ("rss", "atom"):
        _, items = parse(tiny.client.get(f"/{repo['repo_name']}/feed/{kind}"), kind)
        assert [item.title for item in items] == ["commit 4", "commit 3", "commit 2"]

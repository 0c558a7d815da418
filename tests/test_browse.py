# SPDX-License-Identifier: GPL-3.0-or-later
"""Browsing through the API against a live server: ``get_repo_nodes``, ``get_repo_refs``,
``get_repo_file`` (``spec/methods.md`` §4) and the changeset methods (§8), for git and hg.

A known history (``vcs_fixtures.py``: fixed authors and UTC dates, a branch, a tag, a merge, an hg
bookmark) is pushed with the real ``git``/``hg`` clients into a repository created through the API;
every result is compared whole (keys in order, revision numbers, dates), every error text in the
order the specification checks them, and callers without read get the hiding or K's access text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveServer
from tests.vcs_fixtures import (
    AUTHOR,
    BINARY,
    Built,
    clean_env,
    epoch,
    git,
    hg,
    hg_date,
    publish,
    run,
    shared_build,
)

KINDS = ["git", "hg"]
NULL = "0" * 40
BRIEF_KEYS = ["short_id", "raw_id", "revision", "message", "date", "author"]
DETAILED_KEYS = [
    "raw_id",
    "short_id",
    "revision",
    "date",
    "message",
    "author",
    "added",
    "changed",
    "removed",
]
R_KEYS = [*BRIEF_KEYS, "parents", "branch", "diff"]
DIFF_KEYS = ["filename", "op", "new_revision", "old_revision", "raw_diff", "stats"]

# The shared history of vcs_fixtures: name -> (day of January 2024, message, added, changed, removed)
HISTORY: dict[str, tuple[int, str, list[str], list[str], list[str]]] = {
    "c0": (1, "initial", ["README.md", "docs/guide.txt", "src/main.py"], [], []),
    "c1": (2, "second\n\nbody line", ["a/b/deep.txt", "c/file.txt", "img.bin"], ["README.md"], []),
    "c2": (3, "feature work", [], ["src/main.py"], ["docs/guide.txt"]),
    "c3": (4, "master work", ["new.txt"], ["README.md"], []),
    "c4": (5, "merge feature", [], ["src/main.py"], ["docs/guide.txt"]),  # against parent 1
    "c5": (6, "", [".hgtags"], [], []),  # hg only: the tag commit; message set per repository
}
README_AT_TIP = b"hello, world\nworld\nagain\n"


@dataclass
class Hosted:
    """A repository on the server holding the shared history."""

    kind: str
    name: str
    repo_id: int
    ids: dict[str, str]
    work: Path

    @property
    def names(self) -> list[str]:
        """Changesets in revision order (git has no tag commit)."""
        return ["c0", "c1", "c2", "c3", "c4"] + (["c5"] if self.kind == "hg" else [])

    @property
    def tip(self) -> str:
        return self.names[-1]

    def rev(self, name: str) -> int:
        return self.names.index(name)

    def message(self, name: str) -> str:
        text = HISTORY[name][1]
        if name == "c5":
            text = f"Added tag v1.0 for changeset {self.ids['c1'][:12]}"
        return text + "\n" if self.kind == "git" else text  # git keeps the trailing newline

    def brief(self, name: str, files: bool = False) -> dict[str, Any]:
        day, _message, added, changed, removed = HISTORY[name]
        out = {
            "short_id": self.ids[name][:12],
            "raw_id": self.ids[name],
            "revision": self.rev(name),
            "message": self.message(name),
            "date": f"2024-01-{day:02d}T00:00:00",
            "author": AUTHOR,
        }
        if files:
            out.update(added=added, changed=changed, removed=removed)
        return out


@pytest.fixture(scope="session")
def histories(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Built]:
    """The shared history per backend (a copy of the run's one build, ``shared_build``)."""
    built: dict[str, Built] = {}

    def get(kind: str) -> Built:
        if kind not in built:
            built[kind] = shared_build(
                kind, tmp_path_factory, tmp_path_factory.mktemp(f"browse-{kind}")
            )
        return built[kind]

    return get


@pytest.fixture(scope="module", params=KINDS)
def hosted(
    request: pytest.FixtureRequest, server: LiveServer, histories: Callable[[str], Built]
) -> Hosted:
    kind = request.param
    built = histories(kind)
    repo = server.new_repo(kind)
    publish(kind, built.work, server.home / "repos" / repo["repo_name"], ("mark",))
    return Hosted(kind, repo["repo_name"], repo["repo_id"], dict(built.ids), built.work)


@pytest.fixture(scope="module", params=KINDS)
def empty(request: pytest.FixtureRequest, server: LiveServer) -> dict[str, Any]:
    return server.new_repo(request.param)


@pytest.fixture(scope="module")
def outsider(server: LiveServer) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """A non-admin user with no rights, and a private repository they cannot read."""
    user, key = server.new_user("browser")
    private = server.new_repo("git", private=True)
    return user, key, private


def linear(kind: str, base: Path, count: int) -> Path:
    """A working repository with ``count`` linear commits (file ``n.txt``, January 1, 2, …)."""
    work = base / f"linear-{kind}"
    env = clean_env(base)
    if kind == "git":
        run(["git", "init", "-q", "-b", "master", str(work)], env=env)
    else:
        hg(base, "init", str(work))
    for n in range(count):
        (work / f"{n}.txt").write_text(f"{n}\n")
        if kind == "git":
            git(work, "add", "-A")
            git(work, "commit", "-q", "-m", f"commit {n}", date=epoch(n + 1))
        else:
            hg(
                work,
                "commit",
                "-A",
                "-q",
                "-m",
                f"commit {n}",
                "-u",
                AUTHOR,
                "-d",
                hg_date(epoch(n + 1)),
            )
    return work


# --- declarations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "args", "text"),
    [
        ("get_repo_nodes", {"repoid": "x"}, "Missing non optional `root_path` arg in JSON DATA"),
        ("get_repo_file", {"repoid": "x"}, "Missing non optional `file_path` arg in JSON DATA"),
        ("get_repo_refs", {}, "Missing non optional `repoid` arg in JSON DATA"),
        ("get_changesets", {}, "Missing non optional `repoid` arg in JSON DATA"),
        ("get_changeset", {"repoid": "x"}, "Missing non optional `raw_id` arg in JSON DATA"),
        ("get_repo_changeset", {"repoid": "x"}, "Missing non optional `revision` arg in JSON DATA"),
        ("get_repo_changesets", {"repoid": "x"}, "Missing non optional `limit` arg in JSON DATA"),
        (
            "get_changesets",
            {"repoid": "x", "start_date": "2024-01-02"},
            'Invalid value for `start_date`: expected a date like 2024-01-31T13:45:00, got "2024-01-02"',
        ),
        (
            "get_changesets",
            {"repoid": "x", "max_revisions": 1.5},
            "Invalid value for `max_revisions`: expected an integer, got 1.5",
        ),
        (
            "get_repo_nodes",
            {"repoid": "x", "revision": "tip", "root_path": "", "ret_type": 1},
            "Invalid value for `ret_type`: expected a string, got 1",
        ),
        (
            "get_changeset",
            {"repoid": "x", "raw_id": "tip", "with_comments": "maybe"},
            'Invalid value for `with_comments`: expected a boolean, got "maybe"',
        ),
        (
            "get_changesets",
            {"repoid": "x", "branch": "master"},
            "Unknown `branch` arg in JSON DATA",
        ),
    ],
)
def test_envelope_checks(server: LiveServer, method: str, args: dict[str, Any], text: str) -> None:
    assert server.err(method, **args) == text


# --- get_repo_nodes -----------------------------------------------------------------------------


def nodes(
    server: LiveServer, repo: str | int, revision: str, root: str, ret: str | None = None
) -> Any:
    args = {"ret_type": ret} if ret is not None else {}
    return server.ok("get_repo_nodes", repoid=repo, revision=revision, root_path=root, **args)


def test_nodes_example_of_the_spec(server: LiveServer, hosted: Hosted) -> None:
    # methods.md §4: the root of README.md, docs/guide.txt, src/main.py
    expected = [
        {"name": "docs", "type": "dir"},
        {"name": "src", "type": "dir"},
        {"name": "README.md", "type": "file"},
        {"name": "docs/guide.txt", "type": "file"},
        {"name": "src/main.py", "type": "file"},
    ]
    for revision in (hosted.ids["c0"], hosted.ids["c0"][:12], "0"):
        assert nodes(server, hosted.name, revision, "") == expected
    assert nodes(server, hosted.name, "0", "", "dirs") == expected[:2]
    assert nodes(server, hosted.name, "0", "", "files") == expected[2:]


def test_nodes_walk_order_at_tip(server: LiveServer, hosted: Hosted) -> None:
    # a/b/ and c/: directories a, c, src noted at the root, then a/b when a is visited
    dirs = ["a", "c", "src", "a/b"]
    files = ([".hgtags"] if hosted.kind == "hg" else []) + [
        "README.md",
        "img.bin",
        "new.txt",
        "a/b/deep.txt",
        "c/file.txt",
        "src/main.py",
    ]
    expected = [{"name": d, "type": "dir"} for d in dirs] + [
        {"name": f, "type": "file"} for f in files
    ]
    assert nodes(server, hosted.name, "tip", "") == expected
    assert nodes(server, hosted.name, "tip", "", "all") == expected
    assert nodes(server, hosted.name, hosted.ids[hosted.tip], "/", "dirs") == expected[:4]
    assert nodes(server, hosted.repo_id, "tip", "", "files") == expected[4:]
    # below a path: leading and trailing slashes ignored, the path itself not listed
    below_a = [{"name": "a/b", "type": "dir"}, {"name": "a/b/deep.txt", "type": "file"}]
    assert nodes(server, hosted.name, "tip", "/a/") == below_a
    assert nodes(server, hosted.name, "tip", "a/b") == [below_a[1]]
    # branch and tag names are revisions too
    assert nodes(server, hosted.name, "v1.0", "c", "files") == [
        {"name": "c/file.txt", "type": "file"}
    ]
    assert nodes(server, hosted.name, "feature", "", "dirs") == [
        {"name": "a", "type": "dir"},
        {"name": "c", "type": "dir"},
        {"name": "src", "type": "dir"},
        {"name": "a/b", "type": "dir"},
    ]  # docs/ went away on the feature branch


def test_nodes_errors_in_order(
    server: LiveServer,
    hosted: Hosted,
    empty: dict[str, Any],
    outsider: tuple[dict[str, Any], str, dict[str, Any]],
) -> None:
    _user, key, private = outsider
    failed = f"failed to get repo: `{hosted.name}` nodes"
    bad = {"revision": "nope", "root_path": "nope", "ret_type": "both"}
    assert server.err("get_repo_nodes", repoid="nope-repo", **bad) == (
        "repository `nope-repo` does not exist"
    )
    # hiding comes before the enum check, and looks exactly like a missing repository
    for ref in (private["repo_name"], private["repo_id"]):
        assert server.err("get_repo_nodes", key, repoid=ref, **bad) == (
            f"repository `{ref}` does not exist"
        )
    assert server.err("get_repo_nodes", repoid=hosted.name, **bad) == (
        "ret_type must be one of all,dirs,files"
    )
    for revision, root in (("nope", ""), ("tip", "docs"), ("tip", "README.md"), ("0", "a")):
        assert (
            server.err("get_repo_nodes", repoid=hosted.name, revision=revision, root_path=root)
            == failed
        )
    assert server.err(
        "get_repo_nodes", repoid=empty["repo_name"], revision="tip", root_path=""
    ) == (f"failed to get repo: `{empty['repo_name']}` nodes")


# --- get_repo_refs ------------------------------------------------------------------------------


def test_refs(server: LiveServer, hosted: Hosted, empty: dict[str, Any]) -> None:
    ids = hosted.ids
    result = server.ok("get_repo_refs", repoid=hosted.name)
    assert list(result) == ["bookmarks", "branches", "branches_closed", "tags"]
    if hosted.kind == "git":
        assert result == {
            "bookmarks": {},
            "branches": {"feature": ids["c2"], "master": ids["c4"]},
            "branches_closed": {},
            "tags": {"v1.0": ids["c1"]},  # the annotated tag, peeled to its commit
        }
    else:
        assert result == {
            "bookmarks": {"mark": ids["c2"]},
            "branches": {"default": ids["c5"], "feature": ids["c2"]},
            "branches_closed": {},
            "tags": {"tip": ids["c5"], "v1.0": ids["c1"]},
        }
    assert server.ok("get_repo_refs", repoid=hosted.repo_id) == result
    assert server.ok("get_repo_refs", repoid=empty["repo_name"]) == {
        "bookmarks": {},
        "branches": {},
        "branches_closed": {},
        "tags": {"tip": NULL} if empty["repo_type"] == "hg" else {},
    }


# --- get_repo_file ------------------------------------------------------------------------------


def repo_file(server: LiveServer, repo: str | int, commit: str, path: str, **args: Any) -> Any:
    return server.ok("get_repo_file", repoid=repo, commit_id=commit, file_path=path, **args)


def test_file_details(server: LiveServer, hosted: Hosted) -> None:
    basic = {
        "name": "README.md",
        "type": "file",
        "extension": "md",
        "mimetype": "text/x-markdown",
        "md5": hashlib.md5(README_AT_TIP).hexdigest(),
        "binary": False,
        "size": len(README_AT_TIP),
    }
    assert repo_file(server, hosted.name, "tip", "README.md") == basic
    assert repo_file(server, hosted.name, "tip", "README.md", details="basic") == basic
    full = repo_file(server, hosted.name, hosted.ids[hosted.tip], "/README.md", details="full")
    assert full == {**basic, "content": README_AT_TIP.decode(), "lines": 3}
    assert list(full) == [*basic, "content", "lines"]
    for details in ("minimal", "minimal+search"):
        assert repo_file(server, hosted.repo_id, "tip", "src/main.py", details=details) == {
            "name": "src/main.py",
            "type": "file",
        }
    # over max_file_bytes: metadata, no text
    assert repo_file(
        server, hosted.name, "tip", "README.md", details="full", max_file_bytes=10
    ) == {**basic, "content": None, "lines": 0}
    assert repo_file(
        server, hosted.name, "tip", "README.md", details="full", max_file_bytes=len(README_AT_TIP)
    ) == {**basic, "content": README_AT_TIP.decode(), "lines": 3}
    # binary: never any text
    assert repo_file(server, hosted.name, "v1.0", "img.bin", details="full", cache=False) == {
        "name": "img.bin",
        "type": "file",
        "extension": "bin",
        "mimetype": "application/octet-stream",
        "md5": hashlib.md5(BINARY).hexdigest(),
        "binary": True,
        "size": len(BINARY),
        "content": None,
        "lines": 0,
    }
    # an older revision has the file that is gone at the tip
    old = repo_file(server, hosted.name, "0", "docs/guide.txt", details="full")
    assert (old["content"], old["lines"], old["mimetype"]) == ("a guide\n", 1, "text/plain")


def test_file_errors_in_order(
    server: LiveServer,
    hosted: Hosted,
    empty: dict[str, Any],
    outsider: tuple[dict[str, Any], str, dict[str, Any]],
) -> None:
    _user, key, private = outsider
    bad = {"commit_id": "nope", "file_path": "nope", "details": "all"}
    assert server.err("get_repo_file", repoid="nope-repo", **bad) == (
        "repository `nope-repo` does not exist"
    )
    assert server.err("get_repo_file", key, repoid=private["repo_name"], **bad) == (
        f"repository `{private['repo_name']}` does not exist"
    )
    assert server.err("get_repo_file", repoid=hosted.name, **bad) == (
        "ret_type must be one of minimal,minimal+search,basic,full"
    )
    name = hosted.name

    def err(commit: str, path: str) -> str:
        return server.err("get_repo_file", repoid=name, commit_id=commit, file_path=path)

    assert err("tip", "docs/guide.txt") == (
        f"There is no file in repo: `{name}` at path `docs/guide.txt` for commit: `tip`"
    )
    assert err("nope", "README.md") == f"failed to get repo: `{name}` file at path README.md"
    assert err("tip", "src") == f"failed to get repo: `{name}` file at path src"
    assert err("tip", "/") == f"failed to get repo: `{name}` file at path /"
    # an empty repository has no file and no error
    assert repo_file(server, empty["repo_name"], "tip", "README.md") is None


# --- get_changesets -----------------------------------------------------------------------------


def changesets(server: LiveServer, hosted: Hosted, **args: Any) -> list[str]:
    """The names (c0…) of what ``get_changesets`` lists, after checking each one whole."""
    result = server.ok("get_changesets", repoid=hosted.name, **args)
    by_id = {raw: name for name, raw in hosted.ids.items()}
    names = [by_id[item["raw_id"]] for item in result]
    files = bool(args.get("with_file_list"))
    assert result == [hosted.brief(n, files) for n in names]
    return names


def test_changesets_whole(server: LiveServer, hosted: Hosted) -> None:
    result = server.ok("get_changesets", repoid=hosted.name)
    assert result == [hosted.brief(n) for n in hosted.names]
    assert [list(item) for item in result] == [BRIEF_KEYS] * len(hosted.names)
    assert [item["revision"] for item in result] == list(range(len(hosted.names)))
    assert result[0]["date"] == "2024-01-01T00:00:00"
    listed = server.ok("get_changesets", repoid=hosted.repo_id, with_file_list=True)
    assert listed == [hosted.brief(n, files=True) for n in hosted.names]
    assert list(listed[1]) == [*BRIEF_KEYS, "added", "changed", "removed"]
    assert changesets(server, hosted, reverse=True) == hosted.names[::-1]
    assert changesets(server, hosted, reverse="true", with_file_list="1") == hosted.names[::-1]


def test_changesets_max_revisions(server: LiveServer, hosted: Hosted) -> None:
    # git keeps the newest N, hg the oldest N; both still oldest first
    newest, oldest = hosted.names[-2:], hosted.names[:2]
    expected = newest if hosted.kind == "git" else oldest
    assert changesets(server, hosted, max_revisions=2) == expected
    assert changesets(server, hosted, max_revisions=2, reverse=True) == expected[::-1]
    assert changesets(server, hosted, max_revisions=100) == hosted.names
    assert changesets(server, hosted, max_revisions=0) == hosted.names  # K: 0 is "no limit"


@pytest.mark.parametrize("kind", KINDS)
def test_max_revisions_example_of_the_spec(server: LiveServer, kind: str, tmp_path: Path) -> None:
    # methods.md §8: a git repository with 3 commits, max_revisions 2 -> revisions 1 and 2
    repo = server.new_repo(kind)
    publish(kind, linear(kind, tmp_path, 3), server.home / "repos" / repo["repo_name"])
    result = server.ok("get_changesets", repoid=repo["repo_name"], max_revisions=2)
    assert [c["revision"] for c in result] == ([1, 2] if kind == "git" else [0, 1])
    assert [c["message"].strip() for c in result] == (
        ["commit 1", "commit 2"] if kind == "git" else ["commit 0", "commit 1"]
    )
    assert [c["date"] for c in result] == (
        ["2024-01-02T00:00:00", "2024-01-03T00:00:00"]
        if kind == "git"
        else ["2024-01-01T00:00:00", "2024-01-02T00:00:00"]
    )


def test_changesets_start_end(server: LiveServer, hosted: Hosted) -> None:
    ids = hosted.ids
    assert changesets(server, hosted, start="1", end="3") == ["c1", "c2", "c3"]
    assert changesets(server, hosted, start=ids["c3"]) == hosted.names[3:]
    assert changesets(server, hosted, end=ids["c1"][:12]) == ["c0", "c1"]
    assert changesets(server, hosted, start="v1.0", end="v1.0") == ["c1"]
    assert changesets(server, hosted, start=1, end=2, reverse=True) == ["c2", "c1"]
    assert server.err("get_changesets", repoid=hosted.name, start="3", end="1") == (
        "start revision is after end revision"
    )
    assert server.err("get_changesets", repoid=hosted.name, start="nope", end="0") == (
        "Changeset nope does not exist"
    )
    assert server.err("get_changesets", repoid=hosted.name, start="0", end="nope") == (
        "Changeset nope does not exist"
    )
    # a bound that the filters left out is ignored
    assert (
        changesets(server, hosted, start_date="2024-01-03T00:00:00", start="0")
        == (hosted.names[2:])
    )
    assert changesets(server, hosted, max_revisions=2, start="4", end="0") == (
        ["c4"] if hosted.kind == "git" else ["c0"]
    )


def test_changesets_branch_and_dates(server: LiveServer, hosted: Hosted) -> None:
    if hosted.kind == "git":  # reachable from the branch
        assert changesets(server, hosted, branch_name="feature") == ["c0", "c1", "c2"]
        assert changesets(server, hosted, branch_name="master") == hosted.names
    else:  # on the named branch
        assert changesets(server, hosted, branch_name="feature") == ["c2"]
        assert changesets(server, hosted, branch_name="default") == [
            "c0",
            "c1",
            "c3",
            "c4",
            "c5",
        ]
    assert server.err("get_changesets", repoid=hosted.name, branch_name="nope") == (
        "branch `nope` does not exist"
    )
    # both date bounds inclusive; dates are the commit (git: committer) dates
    assert changesets(server, hosted, start_date="2024-01-02T00:00:00") == hosted.names[1:]
    assert changesets(server, hosted, start_date="2024-01-02T00:00:01") == hosted.names[2:]
    assert changesets(server, hosted, end_date="2024-01-03T00:00:00") == ["c0", "c1", "c2"]
    assert changesets(
        server, hosted, start_date="2024-01-02T00:00:00", end_date="2024-01-04T00:00:00"
    ) == ["c1", "c2", "c3"]
    assert changesets(server, hosted, start_date="2025-01-01T00:00:00") == []
    # the steps in order: date filter, then max_revisions, then start/end, then reverse
    steps = changesets(
        server,
        hosted,
        start_date="2024-01-02T00:00:00",
        max_revisions=3,
        start="3",
        reverse=True,
        with_file_list=True,
    )
    assert steps == (["c4", "c3"] if hosted.kind == "git" else ["c3"])


def test_changesets_errors_in_order(
    server: LiveServer,
    hosted: Hosted,
    empty: dict[str, Any],
    outsider: tuple[dict[str, Any], str, dict[str, Any]],
) -> None:
    _user, key, private = outsider
    bad = {"branch_name": "nope", "start": "nope"}
    assert server.err("get_changesets", key, repoid="nope-repo", **bad) == (
        "repository `nope-repo` does not exist"
    )
    # K reveals the name of an existing repository the caller may not read, even by id
    for ref in (private["repo_name"], private["repo_id"]):
        assert server.err("get_changesets", key, repoid=ref, **bad) == (
            f"Access denied to repo {private['repo_name']}"
        )
    assert server.err("get_changesets", repoid=empty["repo_name"], **bad) == "Repository is empty"
    assert server.err("get_changesets", repoid=hosted.name, **bad) == "branch `nope` does not exist"
    assert server.err("get_changesets", repoid=hosted.name, start="nope") == (
        "Changeset nope does not exist"
    )


# --- get_changeset ------------------------------------------------------------------------------


def test_changeset_detailed(server: LiveServer, hosted: Hosted) -> None:
    ids = hosted.ids
    expected = {
        "raw_id": ids["c1"],
        "short_id": ids["c1"][:12],
        "revision": 1,
        "date": "2024-01-02T00:00:00",
        "message": hosted.message("c1"),
        "author": {"name": "Alice Example", "email": "alice@example.com"},
        "added": ["a/b/deep.txt", "c/file.txt", "img.bin"],
        "changed": ["README.md"],
        "removed": [],
    }
    for spec in (ids["c1"], ids["c1"][:12], "1", "v1.0"):
        result = server.ok("get_changeset", repoid=hosted.name, raw_id=spec)
        assert result == expected
        assert list(result) == DETAILED_KEYS
    result = server.ok(
        "get_changeset",
        repoid=hosted.repo_id,
        raw_id=ids["c1"],
        with_reviews=True,
        with_comments=True,
        with_inline_comments=True,
    )
    assert result == {**expected, "reviews": [], "comments": [], "inline_comments": []}
    assert list(result) == [*DETAILED_KEYS, "reviews", "comments", "inline_comments"]
    only = server.ok("get_changeset", repoid=hosted.name, raw_id="1", with_comments="yes")
    assert list(only) == [*DETAILED_KEYS, "comments"]
    root = server.ok("get_changeset", repoid=hosted.name, raw_id="0")
    assert (root["added"], root["changed"], root["removed"]) == (HISTORY["c0"][2], [], [])
    merge = server.ok("get_changeset", repoid=hosted.name, raw_id=ids["c4"])
    assert (merge["changed"], merge["removed"]) == (["src/main.py"], ["docs/guide.txt"])
    tip = server.ok("get_changeset", repoid=hosted.name, raw_id="tip")
    assert tip["raw_id"] == ids[hosted.tip]


def test_changeset_errors(
    server: LiveServer,
    hosted: Hosted,
    empty: dict[str, Any],
    outsider: tuple[dict[str, Any], str, dict[str, Any]],
) -> None:
    _user, key, private = outsider
    assert server.err("get_changeset", key, repoid="nope-repo", raw_id="nope") == (
        "repository `nope-repo` does not exist"
    )
    assert server.err("get_changeset", key, repoid=private["repo_id"], raw_id="nope") == (
        f"Access denied to repo {private['repo_name']}"
    )
    assert server.err("get_changeset", repoid=hosted.name, raw_id="nope") == (
        "Changeset nope does not exist"
    )
    assert server.err("get_changeset", repoid=hosted.name, raw_id="9" * 40) == (
        f"Changeset {'9' * 40} does not exist"
    )
    assert server.err("get_changeset", repoid=empty["repo_name"], raw_id="tip") == (
        "Changeset tip does not exist"
    )


# --- get_repo_changeset / get_repo_changesets ------------------------------------------------------


def git_blob(hosted: Hosted, rev: str, path: str) -> str:
    return git(hosted.work, "rev-parse", f"{hosted.ids[rev]}:{path}").strip()


def test_repo_changeset_basic(server: LiveServer, hosted: Hosted) -> None:
    ids = hosted.ids
    hg_ = hosted.kind == "hg"
    for name, parents, branch in (
        ("c0", [], "default" if hg_ else None),
        ("c1", ["c0"], "default" if hg_ else None),
        ("c2", ["c1"], "feature"),
        ("c4", ["c3", "c2"], "default" if hg_ else "master"),  # the merge: first parent first
    ):
        result = server.ok("get_repo_changeset", repoid=hosted.name, revision=ids[name])
        assert result == {
            **hosted.brief(name),
            "parents": [{"raw_id": ids[p]} for p in parents],
            "branch": branch,
            "diff": [],
        }
        assert list(result) == R_KEYS
    assert (
        server.ok("get_repo_changeset", repoid=hosted.repo_id, revision="tip")["raw_id"]
        == (ids[hosted.tip])
    )


def test_repo_changeset_extended(server: LiveServer, hosted: Hosted) -> None:
    result = server.ok(
        "get_repo_changeset", repoid=hosted.name, revision="v1.0", details="extended"
    )
    empty_stats = {"added": None, "binary": None, "deleted": None}

    def entry(path: str, op: str) -> dict[str, Any]:
        return {
            "filename": path,
            "op": op,
            "new_revision": None,
            "old_revision": None,
            "raw_diff": None,
            "stats": empty_stats,
        }

    # added, then changed, then removed
    assert result["diff"] == [
        entry("a/b/deep.txt", "A"),
        entry("c/file.txt", "A"),
        entry("img.bin", "A"),
        entry("README.md", "M"),
    ]
    assert [list(item) for item in result["diff"]] == [DIFF_KEYS] * 4
    assert "refs" not in result
    removal = server.ok("get_repo_changeset", repoid=hosted.name, revision="2", details="extended")
    assert [(d["filename"], d["op"]) for d in removal["diff"]] == [
        ("src/main.py", "M"),
        ("docs/guide.txt", "D"),
    ]


def test_repo_changeset_full(server: LiveServer, hosted: Hosted) -> None:
    ids = hosted.ids
    git_ = hosted.kind == "git"
    result = server.ok("get_repo_changeset", repoid=hosted.name, revision=ids["c2"], details="full")
    assert list(result) == [*R_KEYS, "refs"]
    assert result["refs"] == {
        "branches": ["feature"],
        "bookmarks": [] if git_ else ["mark"],
        "tags": [],
    }
    removed, changed = result["diff"]
    assert (removed["filename"], removed["op"]) == ("docs/guide.txt", "D")
    assert removed["stats"] == {"added": 0, "binary": False, "deleted": 1}
    assert removed["raw_diff"].startswith("diff --git a/docs/guide.txt b/docs/guide.txt\n")
    assert "\n-a guide\n" in removed["raw_diff"]
    assert (changed["filename"], changed["op"]) == ("src/main.py", "M")
    assert changed["stats"] == {"added": 1, "binary": False, "deleted": 0}
    assert changed["raw_diff"].endswith(" print('hi')\n+print('feature')\n")
    if git_:  # blob ids from the index line (abbreviated, as git prints them)
        assert git_blob(hosted, "c1", "docs/guide.txt").startswith(removed["old_revision"])
        assert set(removed["new_revision"]) == {"0"}
        assert git_blob(hosted, "c1", "src/main.py").startswith(changed["old_revision"])
        assert git_blob(hosted, "c2", "src/main.py").startswith(changed["new_revision"])
    else:  # Mercurial's git diffs carry no index line for text files
        assert (changed["old_revision"], changed["new_revision"]) == (None, None)

    tagged = server.ok("get_repo_changeset", repoid=hosted.name, revision="1", details="full")
    assert tagged["refs"] == {
        "branches": [] if git_ else ["default"],
        "bookmarks": [],
        "tags": ["v1.0"],
    }
    by_name = {d["filename"]: d for d in tagged["diff"]}
    assert [d["filename"] for d in tagged["diff"]] == [
        "README.md",
        "a/b/deep.txt",
        "c/file.txt",
        "img.bin",
    ]
    assert by_name["README.md"]["op"] == "M"
    assert by_name["README.md"]["stats"] == {"added": 1, "binary": False, "deleted": 0}
    assert by_name["a/b/deep.txt"]["op"] == "A"
    assert by_name["a/b/deep.txt"]["stats"] == {"added": 1, "binary": False, "deleted": 0}
    image = by_name["img.bin"]
    assert (image["op"], image["stats"]) == ("A", {"added": 0, "binary": True, "deleted": 0})
    assert (image["old_revision"], image["new_revision"]) == (
        NULL,
        hashlib.sha1(b"blob %d\0" % len(BINARY) + BINARY).hexdigest(),
    )
    assert "GIT binary patch" in image["raw_diff"]

    tip = server.ok("get_repo_changeset", repoid=hosted.name, revision="tip", details="full")
    assert tip["refs"] == (
        {"branches": ["master"], "bookmarks": [], "tags": []}
        if git_
        else {"branches": ["default"], "bookmarks": [], "tags": ["tip"]}
    )


def test_repo_changeset_errors(
    server: LiveServer,
    hosted: Hosted,
    empty: dict[str, Any],
    outsider: tuple[dict[str, Any], str, dict[str, Any]],
) -> None:
    _user, key, private = outsider
    cases: list[tuple[str, dict[str, Any]]] = [
        ("get_repo_changeset", {"revision": "nope", "details": "all"}),
        ("get_repo_changesets", {"start_rev": "nope", "limit": 1, "details": "all"}),
    ]
    for method, args in cases:
        assert server.err(method, repoid="nope-repo", **args) == (
            "repository `nope-repo` does not exist"
        )
        assert server.err(method, key, repoid=private["repo_name"], **args) == (
            f"repository `{private['repo_name']}` does not exist"
        )
        assert server.err(method, repoid=hosted.name, **args) == (
            "ret_type must be one of basic,extended,full"
        )
        args = {**args, "details": "full"}
        assert server.err(method, repoid=hosted.name, **args) == "Changeset nope does not exist"
        tip = {k: "tip" if k in ("revision", "start_rev") else v for k, v in args.items()}
        assert server.err(method, repoid=empty["repo_name"], **tip) == (
            "Changeset tip does not exist"
        )


def test_repo_changesets(server: LiveServer, hosted: Hosted) -> None:
    def names(start: str, limit: int | str, **args: Any) -> list[str]:
        result = server.ok(
            "get_repo_changesets", repoid=hosted.name, start_rev=start, limit=limit, **args
        )
        by_id = {raw: name for name, raw in hosted.ids.items()}
        return [by_id[item["raw_id"]] for item in result]

    assert names("1", 2) == ["c1", "c2"]
    assert names(hosted.ids["c3"], -1) == hosted.names[3:]
    assert names("0", "-1") == hosted.names
    assert names("v1.0", 100) == hosted.names[1:]
    assert names("0", 0) == []
    basic = server.ok("get_repo_changesets", repoid=hosted.repo_id, start_rev="0", limit=2)
    single = [server.ok("get_repo_changeset", repoid=hosted.name, revision=str(n)) for n in (0, 1)]
    assert basic == single
    full = server.ok(
        "get_repo_changesets", repoid=hosted.name, start_rev="3", limit=1, details="full"
    )
    assert full == [
        server.ok("get_repo_changeset", repoid=hosted.name, revision="3", details="full")
    ]
    assert full[0]["diff"][0]["filename"] == "README.md"


# --- callers without read, and with read ----------------------------------------------------------


def test_reader_may_browse_a_public_repository(server: LiveServer, hosted: Hosted) -> None:
    _user, key = server.new_user("reader")  # the default row of a public repo grants read
    assert server.ok("get_changesets", key, repoid=hosted.name, max_revisions=1)
    assert server.ok("get_changeset", key, repoid=hosted.name, raw_id="0")["revision"] == 0
    assert server.ok("get_repo_nodes", key, repoid=hosted.name, revision="0", root_path="src") == [
        {"name": "src/main.py", "type": "file"}
    ]
    assert server.ok("get_repo_refs", key, repoid=hosted.name)["tags"]["v1.0"] == hosted.ids["c1"]
    assert server.ok(
        "get_repo_file", key, repoid=hosted.name, commit_id="0", file_path="src/main.py"
    )
    assert server.ok("get_repo_changeset", key, repoid=hosted.name, revision="0")["revision"] == 0
    assert (
        len(server.ok("get_repo_changesets", key, repoid=hosted.name, start_rev="0", limit=2)) == 2
    )


def test_private_repository_is_hidden_or_denied(
    server: LiveServer, outsider: tuple[dict[str, Any], str, dict[str, Any]]
) -> None:
    user, key, private = outsider
    name = private["repo_name"]
    hidden = f"repository `{name}` does not exist"
    calls: list[tuple[str, dict[str, Any], str]] = [
        ("get_repo_nodes", {"revision": "tip", "root_path": ""}, hidden),
        ("get_repo_refs", {}, hidden),
        ("get_repo_file", {"commit_id": "tip", "file_path": "x"}, hidden),
        ("get_repo_changeset", {"revision": "tip"}, hidden),
        ("get_repo_changesets", {"start_rev": "tip", "limit": 1}, hidden),
        ("get_changesets", {}, f"Access denied to repo {name}"),
        ("get_changeset", {"raw_id": "tip"}, f"Access denied to repo {name}"),
    ]
    for method, args, text in calls:
        assert server.err(method, key, repoid=name, **args) == text, method
    # the admin sees it (empty), and once the user may read it, so does the user
    assert server.err("get_changesets", repoid=name) == "Repository is empty"
    server.ok("grant_user_permission", repoid=name, userid=user["username"], perm="repository.read")
    try:
        assert server.err("get_changesets", key, repoid=name) == "Repository is empty"
        assert server.ok("get_repo_refs", key, repoid=name) == {
            "bookmarks": {},
            "branches": {},
            "branches_closed": {},
            "tags": {},
        }
    finally:
        server.ok("revoke_user_permission", repoid=name, userid=user["username"])

# SPDX-License-Identifier: GPL-3.0-or-later
"""hearth.vcs against real git and Mercurial repositories, one suite run for both backends.

The repositories are made with the real binaries (``vcs_fixtures.py``); results are checked
against what those binaries say, and patches/archives are checked by applying/unpacking them.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hearth import vcs
from hearth.vcs import git as gitbackend
from hearth.vcs.base import mask_secret
from tests.vcs_fixtures import (
    AUTHOR,
    BINARY,
    Built,
    apply_patch,
    checkout_at,
    clean_env,
    copy_built,
    epoch,
    git,
    hg,
    make_git_history,
    run,
    shared_build,
    tree_of_dir,
    unpack,
    write,
)

os.environ["TZ"] = "UTC"
time.tzset()

KINDS = ["git", "hg"]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Built]:
    """The shared history per backend (a copy of the run's one build, ``shared_build``)."""
    built: dict[str, Built] = {}

    def get(kind: str) -> Built:
        if kind not in built:
            built[kind] = shared_build(
                kind, tmp_path_factory, tmp_path_factory.mktemp(f"template-{kind}")
            )
        return built[kind]

    return get


@pytest.fixture(params=KINDS)
def history(request: pytest.FixtureRequest, template: Callable[[str], Built]) -> Built:
    """The shared history; tests must only read it."""
    return template(request.param)


@pytest.fixture
def copy_of(template: Callable[[str], Built], tmp_path: Path) -> Callable[[str], Built]:
    """A private copy of the shared history, for tests that change repositories."""
    return lambda kind: copy_built(template(kind), tmp_path / f"copy-{kind}")


@pytest.fixture(params=KINDS)
def fresh(request: pytest.FixtureRequest, copy_of: Callable[[str], Built]) -> Built:
    return copy_of(request.param)


def open_(built: Built) -> vcs.Repo:
    return vcs.open_repo(str(built.path), built.kind)


def tree_at(repo: vcs.Repo, rev: str) -> dict[str, bytes]:
    _dirs, files = repo.nodes(rev)
    return {node.path: repo.file(rev, node.path) for node in files}


def last_id(built: Built) -> str:
    return built.ids["c5" if built.kind == "hg" else "c4"]


# -- create, detect, open -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_create_gives_an_empty_repository(tmp_path: Path, kind: str) -> None:
    path = str(tmp_path / "grp" / "new")
    vcs.create(path, kind)
    assert vcs.detect_type(path) == kind
    with vcs.open_repo(path, kind) as repo:
        assert repo.is_empty()
        assert repo.last_changeset() == vcs.EMPTY_CHANGESET
        assert repo.last_changeset().revision == -1
        assert repo.changesets() == []
        with pytest.raises(vcs.EmptyRepository):
            repo.changeset("tip")
        with pytest.raises(vcs.EmptyRepository):
            repo.nodes("tip")
        with pytest.raises(vcs.BranchNotFound):
            repo.changesets(branch="default")
        refs = repo.refs()
        assert refs.branches == refs.bookmarks == refs.branches_closed == {}
        # Mercurial always has the "tip" tag; in an empty repository it names the null revision.
        assert refs.tags == ({} if kind == "git" else {"tip": vcs.NULL_ID})


def test_empty_changeset_shape() -> None:
    assert vcs.EMPTY_CHANGESET.raw_id == "0" * 40
    assert vcs.EMPTY_CHANGESET.short_id == "0" * 12
    assert (vcs.EMPTY_CHANGESET.message, vcs.EMPTY_CHANGESET.author) == ("", "")
    assert vcs.EMPTY_CHANGESET.date == 0.0


def test_detect_type(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    run(["git", "init", "-q", "--bare", str(tmp_path / "bare")], env=env)
    run(["git", "init", "-q", str(tmp_path / "checkout")], env=env)
    hg(tmp_path, "init", str(tmp_path / "hgrepo"))
    (tmp_path / "plain").mkdir()
    # A bare repository whose refs are all packed and whose refs/ directory is gone.
    packed = tmp_path / "packed"
    (packed / "objects").mkdir(parents=True)
    (packed / "packed-refs").write_text("# pack-refs with: peeled\n")
    (packed / "HEAD").write_text("ref: refs/heads/master\n")

    assert vcs.detect_type(str(tmp_path / "bare")) == "git"
    assert vcs.detect_type(str(tmp_path / "hgrepo")) == "hg"
    assert vcs.detect_type(str(packed)) == "git"
    assert vcs.detect_type(str(tmp_path / "checkout")) is None
    assert vcs.detect_type(str(tmp_path / "plain")) is None
    assert vcs.detect_type(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("kind", KINDS)
def test_open_missing_or_wrong_type(tmp_path: Path, kind: str) -> None:
    with pytest.raises(vcs.RepositoryNotFound):
        vcs.open_repo(str(tmp_path / "nothing"), kind)
    other = "hg" if kind == "git" else "git"
    vcs.create(str(tmp_path / "other"), other)
    with pytest.raises(vcs.RepositoryNotFound):
        vcs.open_repo(str(tmp_path / "other"), kind)
    with pytest.raises(ValueError):
        vcs.open_repo(str(tmp_path / "other"), "svn")


# -- changesets ---------------------------------------------------------------------------------


def test_last_changeset_and_revision_numbers(history: Built) -> None:
    with open_(history) as repo:
        assert not repo.is_empty()
        last = repo.last_changeset()
        assert last.raw_id == last_id(history)
        assert last.short_id == last.raw_id[:12]
        names = ["c0", "c1", "c2", "c3", "c4"] + (["c5"] if history.kind == "hg" else [])
        assert [cs.raw_id for cs in repo.changesets()] == [history.ids[n] for n in names]
        assert [cs.revision for cs in repo.changesets()] == list(range(len(names)))
        assert last.revision == len(names) - 1


def test_changeset_fields(history: Built) -> None:
    with open_(history) as repo:
        c1 = repo.changeset(history.ids["c1"])
        # git keeps the message's trailing newline; Mercurial stores none.
        assert c1.message == (
            "second\n\nbody line\n" if history.kind == "git" else "second\n\nbody line"
        )
        assert c1.author == AUTHOR  # git: the author, not the committer
        assert c1.date == epoch(2)  # git: the committer date (the author date is a day earlier)
        assert c1.parents == (history.ids["c0"],)
        assert c1.branch == (None if history.kind == "git" else "default")
        assert repo.changeset(history.ids["c0"]).parents == ()
        merge = repo.changeset(history.ids["c4"])
        assert merge.parents == (history.ids["c3"], history.ids["c2"])
        if history.kind == "hg":
            assert repo.changeset(history.ids["c2"]).branch == "feature"


def test_revision_specs(history: Built) -> None:
    ids = history.ids
    with open_(history) as repo:
        expect = {
            "tip": last_id(history),
            "0": ids["c0"],
            "1": ids["c1"],
            "4": ids["c4"],
            ids["c2"]: ids["c2"],
            ids["c2"].upper() if history.kind == "git" else ids["c2"]: ids["c2"],
            ids["c3"][:12]: ids["c3"],
            ids["c3"][:7]: ids["c3"],
            "v1.0": ids["c1"],
            "feature": ids["c2"],
        }
        if history.kind == "git":
            expect.update({"master": ids["c4"], "HEAD": ids["c4"], "refs/heads/feature": ids["c2"]})
        else:
            expect.update({"default": ids["c5"], "mark": ids["c2"], "5": ids["c5"]})
        for spec, raw_id in expect.items():
            assert repo.changeset(spec).raw_id == raw_id, spec
        for bad in ["nope", "99", "f" * 40, "0" * 40, "", "null", "deadbeefdeadbeef"]:
            with pytest.raises(vcs.ChangesetNotFound):
                repo.changeset(bad)


def test_git_revision_numbers_follow_rev_list_date_order(tmp_path: Path) -> None:
    """Dates out of topological order: the numbering must be exactly git's --date-order."""
    work = tmp_path / "work"
    run(["git", "init", "-q", "-b", "master", str(work)], env=clean_env(tmp_path))
    for branch, days in (("master", [1, 5, 3]), ("side", [2, 4, 6])):
        if branch == "side":
            git(work, "checkout", "-q", "-b", "side", "HEAD~2")
        for n, day in enumerate(days):
            write(work, {f"{branch}.txt": f"{n}\n"})
            git(work, "add", "-A")
            git(work, "commit", "-qm", f"{branch} {n}", date=epoch(day))
    git(work, "tag", "lightweight", "HEAD~1")
    expected = git(work, "rev-list", "--all", "--date-order", "--reverse").split()
    assert len(expected) == 6
    with vcs.open_repo(str(work / ".git"), "git") as repo:
        assert [cs.raw_id for cs in repo.changesets()] == expected
        assert [repo.changeset(raw).revision for raw in expected] == list(range(len(expected)))
        assert repo.last_changeset().raw_id == expected[-1]


def test_changesets_filters(history: Built) -> None:
    ids = history.ids
    with open_(history) as repo:
        feature = [cs.raw_id for cs in repo.changesets(branch="feature")]
        # git: reachable from the branch; hg: on the named branch.
        if history.kind == "git":
            assert feature == [ids["c0"], ids["c1"], ids["c2"]]
            master = [cs.raw_id for cs in repo.changesets(branch="master")]
            assert master == [ids[n] for n in ("c0", "c1", "c2", "c3", "c4")]
        else:
            assert feature == [ids["c2"]]
            default = [cs.raw_id for cs in repo.changesets(branch="default")]
            assert default == [ids[n] for n in ("c0", "c1", "c3", "c4", "c5")]
        between = repo.changesets(start_date=epoch(2), end_date=epoch(4))
        assert [cs.raw_id for cs in between] == [ids["c1"], ids["c2"], ids["c3"]]
        assert next(cs.raw_id for cs in repo.changesets(start_date=epoch(5))) == ids["c4"]
        assert repo.changesets(end_date=epoch(1) - 1) == []
        with pytest.raises(vcs.BranchNotFound):
            repo.changesets(branch="nope")


def test_file_changes(history: Built) -> None:
    ids = history.ids
    with open_(history) as repo:
        root = repo.file_changes(ids["c0"])
        assert root == vcs.FileChanges(["README.md", "docs/guide.txt", "src/main.py"], [], [])
        c1 = repo.file_changes(ids["c1"])
        assert c1 == vcs.FileChanges(["a/b/deep.txt", "c/file.txt", "img.bin"], ["README.md"], [])
        c2 = repo.file_changes("feature")
        assert c2 == vcs.FileChanges([], ["src/main.py"], ["docs/guide.txt"])
        # A merge is compared with its first parent (c3): what came in from feature.
        merge = repo.file_changes(ids["c4"])
        assert merge == vcs.FileChanges([], ["src/main.py"], ["docs/guide.txt"])


# -- trees and files ----------------------------------------------------------------------------


def names(nodes: list[vcs.Node]) -> list[str]:
    return [node.path for node in nodes]


def test_nodes_walk_order(history: Built) -> None:
    ids = history.ids
    with open_(history) as repo:
        dirs, files = repo.nodes(ids["c0"], "")
        assert names(dirs) == ["docs", "src"]
        assert names(files) == ["README.md", "docs/guide.txt", "src/main.py"]
        assert {n.kind for n in dirs} == {"dir"} and {n.kind for n in files} == {"file"}
        # All of a directory's subdirectories are noted before any of them is visited.
        dirs, files = repo.nodes(ids["c1"])
        assert names(dirs) == ["a", "c", "docs", "src", "a/b"]
        assert names(files) == [
            "README.md",
            "img.bin",
            "a/b/deep.txt",
            "c/file.txt",
            "docs/guide.txt",
            "src/main.py",
        ]
        dirs, files = repo.nodes(ids["c1"], "/a/")
        assert (names(dirs), names(files)) == (["a/b"], ["a/b/deep.txt"])
        assert repo.nodes(ids["c1"], "a/b") == ([], [vcs.Node("a/b/deep.txt", "file")])
        with pytest.raises(vcs.NodeNotFound):
            repo.nodes(ids["c1"], "missing")
        with pytest.raises(vcs.NodeNotFound):
            repo.nodes(ids["c1"], "README.md")
        with pytest.raises(vcs.NodeNotFound):
            repo.nodes(ids["c2"], "docs")  # removed on feature
        with pytest.raises(vcs.ChangesetNotFound):
            repo.nodes("nope")


def test_git_submodules_are_not_listed(tmp_path: Path) -> None:
    work = tmp_path / "work"
    run(["git", "init", "-q", "-b", "master", str(work)], env=clean_env(tmp_path))
    write(work, {"x.txt": "x\n", "lib/y.txt": "y\n"})
    git(work, "add", "-A")
    git(work, "update-index", "--add", "--cacheinfo", f"160000,{'ab' * 20},lib/sub")
    git(work, "commit", "-qm", "with submodule", date=epoch(1))
    with vcs.open_repo(str(work / ".git"), "git") as repo:
        dirs, files = repo.nodes("tip")
        assert (names(dirs), names(files)) == (["lib"], ["x.txt", "lib/y.txt"])
        assert repo.path_kind("tip", "lib/sub") is None
        with pytest.raises(vcs.NodeNotFound):
            repo.nodes("tip", "lib/sub")


def test_files(history: Built) -> None:
    ids = history.ids
    with open_(history) as repo:
        assert repo.file(ids["c0"], "README.md") == b"hello\nworld\n"
        assert repo.file("v1.0", "/README.md") == b"hello\nworld\nagain\n"
        assert repo.file(ids["c1"], "img.bin") == BINARY
        assert repo.file_info(ids["c1"], "img.bin") == vcs.FileInfo("img.bin", len(BINARY), True)
        assert repo.file_info(ids["c1"], "a/b/deep.txt") == vcs.FileInfo("a/b/deep.txt", 5, False)
        assert repo.path_kind(ids["c1"], "a/b") == "dir"
        assert repo.path_kind(ids["c1"], "a/b/deep.txt") == "file"
        assert repo.path_kind(ids["c1"], "") == "dir"
        assert repo.path_kind(ids["c1"], "nope") is None
        for bad in ["nope.txt", "docs", "", "a/b/deep.txt/x"]:
            with pytest.raises(vcs.NodeNotFound):
                repo.file(ids["c1"], bad)
        with pytest.raises(vcs.NodeNotFound) as info:
            repo.file(ids["c1"], "docs")
        assert info.value.reason == "is a directory"
        with pytest.raises(vcs.NodeNotFound):
            repo.file(ids["c2"], "docs/guide.txt")


def test_refs(history: Built) -> None:
    ids = history.ids
    with open_(history) as repo:
        refs = repo.refs()
    if history.kind == "git":
        assert refs == vcs.Refs(
            branches={"feature": ids["c2"], "master": ids["c4"]}, tags={"v1.0": ids["c1"]}
        )
    else:
        assert refs == vcs.Refs(
            branches={"default": ids["c5"], "feature": ids["c2"]},
            tags={"tip": ids["c5"], "v1.0": ids["c1"]},
            bookmarks={"mark": ids["c2"]},
            branches_closed={},
        )


def test_hg_closed_branch(copy_of: Callable[[str], Built]) -> None:
    fresh = copy_of("hg")
    hg(fresh.work, "update", "-q", "feature")
    hg(
        fresh.work,
        "commit",
        "-q",
        "--close-branch",
        "-m",
        "done",
        "-u",
        AUTHOR,
        "-d",
        "1704844800 0",
    )
    closing = hg(fresh.work, "log", "-r", ".", "-T", "{node}")
    with open_(fresh) as repo:
        refs = repo.refs()
        assert refs.branches_closed == {"feature": closing}
        assert "feature" not in refs.branches
        # A closed branch still exists for the branch filter.
        assert [cs.raw_id for cs in repo.changesets(branch="feature")][-1] == closing


# -- diffs, patches, archives -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["c0", "c1", "c2", "c3", "c4"])
def test_patch_applies_and_gives_the_same_tree(history: Built, tmp_path: Path, name: str) -> None:
    raw_id = history.ids[name]
    with open_(history) as repo:
        cs = repo.changeset(raw_id)
        patch = repo.patch(raw_id)
        expected = tree_at(repo, raw_id)
    dest = tmp_path / "wc"
    checkout_at(history, cs.parents[0] if cs.parents else None, dest)
    apply_patch(history, dest, patch)
    assert tree_of_dir(dest) == expected
    if history.kind == "hg" and cs.branch == "default" and len(cs.parents) < 2:
        # The header carries user, date, parent and message: hg import recreates the changeset.
        assert hg(dest, "log", "-r", ".", "-T", "{node}") == raw_id


def test_patch_headers(history: Built) -> None:
    ids = history.ids
    with open_(history) as repo:
        patch = repo.patch(ids["c1"]).decode()
        diff = repo.diff(ids["c1"]).decode()
    if history.kind == "git":
        header = (
            f"From {ids['c1']} 2024-01-02 00:00:00\n"
            f"From: {AUTHOR}\n"
            "Date: 2024-01-02 00:00:00\n"
            "Subject: [PATCH] second\n\nbody line\n"
            "---\n\n"
        )
    else:
        header = (
            "# HG changeset patch\n"
            f"# User {AUTHOR}\n"
            "# Date 2024-01-02 00:00:00\n"
            f"# Node ID {ids['c1']}\n"
            f"# Parent  {ids['c0']}\n"
            "second\n\nbody line\n\n"
        )
    assert patch == header + diff


def test_diff_options(history: Built) -> None:
    ids = history.ids
    with open_(history) as repo:
        diff = repo.diff(ids["c1"])
        assert diff.startswith(b"diff --git a/README.md b/README.md\n")
        assert b"GIT binary patch" in diff
        assert b" hello\n world\n+again\n" in diff
        assert b" hello\n" not in repo.diff(ids["c1"], context=0)
        root = repo.diff(ids["c0"])
        assert b"new file mode 100644" in root and b"+++ b/src/main.py" in root
        one = repo.diff_between(ids["c0"], ids["c3"], path="README.md")
        assert b"a/README.md" in one and b"deep.txt" not in one
        assert b"-hello\n+hello, world\n" in one
        some = repo.diff_between(ids["c0"], ids["c3"], path="a")
        assert b"a/b/deep.txt" in some and b"README" not in some
        both = repo.diff_between(ids["c0"], ids["c3"])
        assert b"README.md" in both and b"c/file.txt" in both


def test_diff_ignore_whitespace(fresh: Built) -> None:
    fresh.commit("ws", {"README.md": "hello,   world\nworld\nagain\n"}, "spaces", epoch(9))
    with open_(fresh) as repo:
        assert b"+hello,   world" in repo.diff(fresh.ids["ws"])
        assert b"+hello" not in repo.diff(fresh.ids["ws"], ignore_ws=True)


@pytest.mark.parametrize("kind", ["zip", "tgz", "tbz2"])
def test_archive(history: Built, kind: vcs.ArchiveKind) -> None:
    with open_(history) as repo:
        expected = tree_at(repo, "v1.0")
        out = io.BytesIO()
        repo.archive("v1.0", kind, "demo-abc123", out)
    got = unpack(kind, out.getvalue())
    assert got == {f"demo-abc123/{path}": data for path, data in expected.items()}
    assert got["demo-abc123/img.bin"] == BINARY


# -- forks, fetch, remotes ----------------------------------------------------------------------


def test_fork_is_a_local_clone_with_shared_objects(fresh: Built, tmp_path: Path) -> None:
    dest = tmp_path / "forks" / "fork"
    vcs.clone(str(fresh.path), str(dest), fresh.kind)
    assert vcs.detect_type(str(dest)) == fresh.kind
    with open_(fresh) as source, vcs.open_repo(str(dest), fresh.kind) as fork:
        assert fork.changesets() == source.changesets()
        assert fork.refs() == source.refs()
    store = dest / ("objects" if fresh.kind == "git" else ".hg/store")
    linked = [p for p in store.rglob("*") if p.is_file() and p.stat().st_nlink > 1]
    assert linked, "a fork must hard-link the source's objects"


def test_fetch_from_a_remote_that_gained_commits(fresh: Built, tmp_path: Path) -> None:
    fork = tmp_path / "fork"
    vcs.clone(str(fresh.path), str(fork), fresh.kind)
    new = fresh.commit("c9", {"later.txt": "later\n"}, "later", epoch(20))
    with vcs.open_repo(str(fork), fresh.kind) as repo:
        with pytest.raises(vcs.ChangesetNotFound):
            repo.changeset(new)
        repo.fetch(str(fresh.path))
        assert repo.last_changeset().raw_id == new
        assert repo.changeset(new).message.rstrip("\n") == "later"
    with vcs.open_repo(str(fork), fresh.kind) as repo:
        assert repo.last_changeset().raw_id == new


def test_git_fetch_forces_branches_and_tags(
    tmp_path: Path, copy_of: Callable[[str], Built]
) -> None:
    built = copy_of("git")
    fork = tmp_path / "fork"
    vcs.clone(str(built.path), str(fork), "git")
    # Rewrite feature (not a fast-forward) and move the tag.
    git(built.work, "checkout", "-q", "feature")
    git(built.work, "reset", "-q", "--hard", built.ids["c1"])
    write(built.work, {"other.txt": "other\n"})
    git(built.work, "add", "-A")
    git(built.work, "commit", "-qm", "rewritten", date=epoch(10))
    git(built.work, "tag", "-f", "-a", "v1.0", "-m", "moved", date=epoch(10))
    git(built.work, "push", "-q", "-f", str(built.path), "feature", "refs/tags/v1.0")
    rewritten = git(built.work, "rev-parse", "HEAD").strip()
    with vcs.open_repo(str(fork), "git") as repo:
        repo.fetch(str(built.path))
        refs = repo.refs()
    assert refs.branches["feature"] == rewritten
    assert refs.tags["v1.0"] == rewritten


@pytest.mark.parametrize("kind", KINDS)
def test_fetch_from_a_bad_url_masks_the_password(
    tmp_path: Path, copy_of: Callable[[str], Built], kind: str
) -> None:
    built = copy_of(kind)
    url = "http://someone:s3cr%40t-pw@127.0.0.1:9/nothing"
    with open_(built) as repo:
        before = repo.refs()
        with pytest.raises(vcs.RemoteError) as info:
            repo.fetch(url)
        assert repo.refs() == before
    text = str(info.value)
    assert "s3cr" not in text and "t-pw" not in text
    assert "someone:*****@127.0.0.1:9" in text
    with pytest.raises(vcs.RemoteError) as info:
        vcs.clone(url, str(tmp_path / "clone"), kind)
    assert "s3cr" not in str(info.value)
    assert not (tmp_path / "clone").exists()


def test_git_clone_does_not_keep_the_remote_url(
    tmp_path: Path, template: Callable[[str], Built]
) -> None:
    built = template("git")
    dest = tmp_path / "copy"
    vcs.clone(str(built.path), str(dest), "git")
    assert "remote" not in (dest / "config").read_text()


def test_mask_url() -> None:
    assert vcs.mask_url("fatal: http://u:p@h/x and https://a:b:c@h2/") == (
        "fatal: http://u:*****@h/x and https://a:*****@h2/"
    )
    assert vcs.mask_url("http://u@h/x ssh://h/x") == "http://u@h/x ssh://h/x"
    assert mask_secret("auth for pw!x failed", "http://u:pw%21x@h/") == "auth for ***** failed"


def test_split_author() -> None:
    assert vcs.split_author("Alice Example <alice@example.com>") == (
        "Alice Example",
        "alice@example.com",
    )
    assert vcs.split_author("alice@example.com") == ("", "alice@example.com")
    assert vcs.split_author("Alice") == ("Alice", "")
    assert vcs.split_author("") == ("", "")


@pytest.mark.parametrize("kind", KINDS)
def test_description(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "repo"
    vcs.create(str(path), kind)
    assert vcs.description(str(path), kind) is None  # git: its default text does not count
    if kind == "git":
        (path / "description").write_text("The real thing\n")
    else:
        (path / ".hg" / "hgrc").write_text("[web]\ndescription = The real thing\n")
    assert vcs.description(str(path), kind) == "The real thing"


# -- revision-number cache ----------------------------------------------------------------------


def _the_cached_revision_list() -> object:
    (revmap,) = [revmap for _, revmap in gitbackend._REVMAPS.values()]
    return revmap


def test_git_revision_list_is_cached_and_follows_pushes(tmp_path: Path) -> None:
    path = make_git_history(tmp_path, 2000)
    gitbackend._REVMAPS.clear()
    started = time.perf_counter()
    with vcs.open_repo(str(path), "git") as repo:
        first = repo.last_changeset()
    cold = time.perf_counter() - started
    assert first.revision == 1999 and first.message == "commit 1999\n"
    cached = _the_cached_revision_list()
    started = time.perf_counter()
    for _ in range(20):
        with vcs.open_repo(str(path), "git") as repo:
            assert repo.last_changeset().revision == 1999
            assert repo.changeset("tip").raw_id == first.raw_id
    warm = (time.perf_counter() - started) / 20
    print(
        f"\n2000 commits: first last_changeset {cold * 1000:.1f} ms, cached round {warm * 1000:.2f} ms"
    )
    assert _the_cached_revision_list() is cached  # not recomputed
    # A ref change is seen at once.
    work = tmp_path / "work"
    run(["git", "clone", "-q", str(path), str(work)], env=clean_env(tmp_path))
    write(work, {"new.txt": "new\n"})
    git(work, "add", "-A")
    git(work, "commit", "-qm", "one more", date=epoch(30))
    git(work, "push", "-q", "origin", "master")
    with vcs.open_repo(str(path), "git") as repo:
        assert repo.last_changeset().revision == 2000
        assert repo.changeset("1000").message == "commit 1000\n"
    assert _the_cached_revision_list() is not cached


def test_git_commit_not_reachable_is_unknown(copy_of: Callable[[str], Built]) -> None:
    built = copy_of("git")
    git(built.work, "checkout", "-q", "-b", "tmp")
    gone = built.commit("gone", {"gone.txt": "gone\n"}, "soon unreachable", epoch(12))
    with open_(built) as repo:
        assert repo.changeset(gone).revision == 5
    git(built.work, "push", "-q", str(built.path), ":tmp")
    with open_(built) as repo:
        for spec in (gone, gone[:10], "5", "tmp"):
            with pytest.raises(vcs.ChangesetNotFound):
                repo.changeset(spec)
        assert repo.last_changeset().raw_id == built.ids["c4"]


def test_git_streams_big_files_instead_of_reading_them_whole(tmp_path: Path) -> None:
    """Above 1 MiB a git blob comes from ``git cat-file`` in chunks: the head is small, the rest
    follows on demand, and closing early stops the reader."""
    import pygit2

    path = tmp_path / "big.git"
    repo = pygit2.init_repository(str(path), bare=True)
    data = os.urandom(3 * 1024 * 1024)
    small = b"small file\n"
    builder = repo.TreeBuilder()
    builder.insert("big.bin", repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
    builder.insert("small.txt", repo.create_blob(small), pygit2.GIT_FILEMODE_BLOB)
    signature = pygit2.Signature("A", "a@example.com", 1_700_000_000, 0)
    repo.create_commit("refs/heads/main", signature, signature, "big", builder.write(), [])
    repo.set_head("refs/heads/main")
    with vcs.open_repo(str(path), "git") as handle:
        whole = handle.open_file("tip", "small.txt")
        assert (whole.whole, whole.head, whole.size) == (True, small, len(small))
        stream = handle.open_file("tip", "big.bin")
        try:
            assert not stream.whole and stream.size == len(data)
            assert vcs.base.BINARY_PROBE <= len(stream.head) < len(data) // 4
            assert stream.head + b"".join(stream.rest()) == data
        finally:
            stream.close()
        early = handle.open_file("tip", "big.bin")
        early.close()  # before reading the rest: the child is killed and reaped
        with pytest.raises(vcs.NodeNotFound):
            handle.open_file("tip", "missing.bin")

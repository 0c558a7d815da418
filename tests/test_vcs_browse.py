# SPDX-License-Identifier: GPL-3.0-or-later
"""The browsing half of ``hearth.vcs`` (tree listing, blobs, blame, history, children, structured
diffs, comparisons within a repository and across a fork) against real git and hg repositories.

Expected values come from the shared history of ``vcs_fixtures.py`` and from the binaries
themselves (``git hash-object``, ``git log``, ``hg log``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hearth import vcs
from hearth.vcs import diffparse
from tests.vcs_fixtures import BINARY, HG, Built, copy_built, git, hg, run, shared_build

KINDS = ["git", "hg"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Built]:
    built: dict[str, Built] = {}

    def get(kind: str) -> Built:
        if kind not in built:
            built[kind] = shared_build(
                kind, tmp_path_factory, tmp_path_factory.mktemp(f"browse-{kind}")
            )
        return built[kind]

    return get


@pytest.fixture(params=KINDS)
def history(request: pytest.FixtureRequest, template: Callable[[str], Built]) -> Built:
    return template(request.param)


def opened(built: Built) -> vcs.Repo:
    return vcs.open_repo(str(built.path), built.kind)


def test_listdir_is_one_level_dirs_first_with_sizes(history: Built) -> None:
    with opened(history) as repo:
        root = repo.listdir(history.ids["c4"])
        assert [(e.name, e.kind) for e in root] == [
            ("a", "dir"),
            ("c", "dir"),
            ("src", "dir"),
            ("README.md", "file"),
            ("img.bin", "file"),
            ("new.txt", "file"),
        ]
        sizes = {e.name: e.size for e in root}
        assert sizes["README.md"] == len("hello, world\nworld\nagain\n")
        assert sizes["img.bin"] == len(BINARY)
        assert sizes["a"] is None
        assert [(e.path, e.kind) for e in repo.listdir(history.ids["c4"], "a")] == [("a/b", "dir")]
        assert [e.path for e in repo.listdir(history.ids["c4"], "/a/b/")] == ["a/b/deep.txt"]
        with pytest.raises(vcs.NodeNotFound):
            repo.listdir(history.ids["c4"], "README.md")
        with pytest.raises(vcs.NodeNotFound):
            repo.listdir(history.ids["c4"], "docs")  # removed by c2, merged in c4
        assert [e.name for e in repo.listdir(history.ids["c0"], "docs")] == ["guide.txt"]


def test_blob_content_binary_limit_and_stable_id(history: Built) -> None:
    with opened(history) as repo:
        readme = repo.blob(history.ids["c4"], "README.md", 1 << 20)
        assert readme.data == b"hello, world\nworld\nagain\n"
        assert readme.size == len(readme.data) and not readme.binary
        if history.kind == "git":
            expected = run(
                [
                    "git",
                    "--git-dir",
                    str(history.path),
                    "rev-parse",
                    f"{history.ids['c4']}:README.md",
                ]
            )
            assert readme.blob_id == expected.strip()
        else:
            manifest = hg(history.work, "manifest", "--debug", "-r", history.ids["c4"])
            node = next(line.split()[0] for line in manifest.splitlines() if "README.md" in line)
            assert readme.blob_id == node
        # same content at a later changeset: the same id (what a rendering cache is keyed by)
        assert repo.blob(history.ids["c2"], "c/file.txt", 100).blob_id == (
            repo.blob(history.ids["c4"], "c/file.txt", 100).blob_id
        )
        image = repo.blob(history.ids["c4"], "img.bin", 1 << 20)
        assert image.binary and image.data == BINARY
        small = repo.blob(history.ids["c4"], "img.bin", 10)
        assert small.binary and small.data is None and small.size == len(BINARY)
        with pytest.raises(vcs.NodeNotFound):
            repo.blob(history.ids["c4"], "src", 100)
        with pytest.raises(vcs.NodeNotFound):
            repo.blob(history.ids["c4"], "nope.txt", 100)


def test_blame_names_the_last_change_of_each_line(history: Built) -> None:
    with opened(history) as repo:
        hunks = repo.blame(history.ids["c4"], "README.md")
        per_line = [h.changeset.raw_id for h in hunks for _ in range(h.count)]
        assert per_line == [history.ids["c3"], history.ids["c0"], history.ids["c1"]]
        assert [h.start for h in hunks] == [1, 2, 3]
        assert hunks[0].changeset.message.startswith("master work")
        with pytest.raises(vcs.NodeNotFound):
            repo.blame(history.ids["c4"], "src")


def binary_log(built: Built, *args: str) -> list[str]:
    if built.kind == "git":
        out = git(built.work, "log", "--format=%H", *args)
    else:
        out = hg(built.work, "log", "-T", "{node}\n", *args)
    return out.split()


def test_log_newest_first_paginated_and_per_path(history: Built) -> None:
    ids = history.ids
    with opened(history) as repo:
        everything = repo.log(ids["c4"], limit=100)
        assert not everything.more
        got = [cs.raw_id for cs in everything.changesets]
        assert set(got) == {ids[n] for n in ("c0", "c1", "c2", "c3", "c4")}
        assert got[0] == ids["c4"] and got[-1] == ids["c0"]
        first = repo.log(ids["c4"], limit=2)
        second = repo.log(ids["c4"], skip=2, limit=2)
        last = repo.log(ids["c4"], skip=4, limit=2)
        assert first.more and second.more and not last.more
        paged = [cs.raw_id for page in (first, second, last) for cs in page.changesets]
        assert paged == got
        readme = [cs.raw_id for cs in repo.log(ids["c4"], "README.md").changesets]
        assert readme == [ids["c3"], ids["c1"], ids["c0"]]
        if history.kind == "git":
            assert readme == binary_log(history, ids["c4"], "--", "README.md")
        else:
            assert readme == binary_log(history, "-r", f"reverse(::{ids['c4']})", "README.md")
        directory = [cs.raw_id for cs in repo.log(ids["c4"], "src").changesets]
        assert directory[-1] == ids["c0"] and ids["c2"] in directory
        assert [cs.raw_id for cs in repo.log(ids["c2"], "new.txt").changesets] == []


def test_children(history: Built) -> None:
    ids = history.ids
    with opened(history) as repo:
        assert {cs.raw_id for cs in repo.children(ids["c1"])} == {ids["c2"], ids["c3"]}
        assert [cs.raw_id for cs in repo.children(ids["c3"])] == [ids["c4"]]
        assert repo.children(ids["c0"])[0].raw_id == ids["c1"]


def test_between_in_one_repository(history: Built) -> None:
    ids = history.ids
    with opened(history) as repo:
        feature = repo.between(ids["c1"], ids["c2"])
        assert [cs.raw_id for cs in feature.changesets] == [ids["c2"]]
        assert feature.ancestor == ids["c1"]
        files = {f.path: f for f in diffparse.parse(feature.diff)}
        assert files["docs/guide.txt"].status == "deleted"
        assert files["src/main.py"].added == 1
        # c3 and c2 diverge from c1: direct diff vs. what the head brings (merge)
        direct = {f.path for f in diffparse.parse(repo.between(ids["c3"], ids["c2"]).diff)}
        merged = repo.between(ids["c3"], ids["c2"], merge=True)
        assert "README.md" in direct and "new.txt" in direct
        assert {f.path for f in diffparse.parse(merged.diff)} == {"docs/guide.txt", "src/main.py"}
        assert [cs.raw_id for cs in repo.between(ids["c4"], ids["c1"]).changesets] == []


@pytest.mark.parametrize("kind", KINDS)
def test_between_a_fork_and_its_parent(
    kind: str, template: Callable[[str], Built], tmp_path: Path
) -> None:
    parent = copy_built(template(kind), tmp_path / f"parent-{kind}")
    fork_path = tmp_path / f"fork-{kind}"
    vcs.clone(str(parent.path), str(fork_path), kind)
    fork_work = tmp_path / f"fork-work-{kind}"
    if kind == "git":
        run(["git", "clone", "-q", str(fork_path), str(fork_work)])
        fork = Built(kind, fork_path, fork_work, dict(parent.ids))
    else:
        run([HG, "clone", "-q", str(fork_path), str(fork_work)])
        fork = Built(kind, fork_work, fork_work, dict(parent.ids))
    new = fork.commit("f1", {"fork.txt": "from the fork\n"}, "fork work", 10)
    with opened(parent) as repo:
        head = "master" if kind == "git" else "default"
        result = repo.between(head, new, str(fork.path))
        assert [cs.raw_id for cs in result.changesets] == [new]
        assert result.changesets[0].message.startswith("fork work")
        assert result.ancestor == parent.ids["c5" if kind == "hg" else "c4"]
        (only,) = diffparse.parse(result.diff)
        assert only.path == "fork.txt" and only.status == "added" and only.added == 1
        with pytest.raises(vcs.ChangesetNotFound):
            repo.between(head, "0" * 40 if kind == "git" else "f" * 40, str(fork.path))
    # nothing was written to the parent: the fork's commit is still unknown there
    with opened(parent) as repo, pytest.raises(vcs.ChangesetNotFound):
        repo.changeset(new)


def test_structured_diff_statuses_lines_and_binary(history: Built) -> None:
    ids = history.ids
    with opened(history) as repo:
        files = {f.path: f for f in diffparse.parse(repo.diff(ids["c1"], renames=True))}
        assert set(files) == {"README.md", "a/b/deep.txt", "c/file.txt", "img.bin"}
        readme = files["README.md"]
        assert (readme.status, readme.added, readme.removed) == ("modified", 1, 0)
        (hunk,) = readme.hunks
        assert [(ln.kind, ln.old, ln.new, ln.text) for ln in hunk.lines] == [
            ("ctx", 1, 1, "hello"),
            ("ctx", 2, 2, "world"),
            ("add", None, 3, "again"),
        ]
        assert files["a/b/deep.txt"].status == "added"
        assert files["a/b/deep.txt"].old_path is None
        assert files["img.bin"].binary and files["img.bin"].status == "added"
        removed = {f.path: f for f in diffparse.parse(repo.diff(ids["c2"]))}["docs/guide.txt"]
        assert removed.status == "deleted" and removed.removed == 1 and removed.new_path is None
        changed = {f.path: f for f in diffparse.parse(repo.diff(ids["c3"]))}["README.md"]
        kinds = [ln.kind for ln in changed.hunks[0].lines]
        assert kinds == ["del", "add", "ctx", "ctx"]


@pytest.mark.parametrize("kind", KINDS)
def test_renames_and_whitespace(
    kind: str, template: Callable[[str], Built], tmp_path: Path
) -> None:
    built = copy_built(template(kind), tmp_path / "copy")
    body = "".join(f"line {n}\n" for n in range(20))
    built.commit("r0", {"old/name.txt": body}, "add", 10)
    if kind == "git":
        git(built.work, "mv", "old/name.txt", "new-name.txt")
    else:
        hg(built.work, "mv", "old/name.txt", "new-name.txt")
    built.commit("r1", {}, "rename", 11)
    built.commit("r2", {"new-name.txt": body.replace("line 3\n", "line   3\n")}, "spaces", 12)
    with opened(built) as repo:
        (renamed,) = diffparse.parse(repo.diff(built.ids["r1"], renames=True))
        assert (renamed.status, renamed.old_path, renamed.new_path) == (
            "renamed",
            "old/name.txt",
            "new-name.txt",
        )
        assert renamed.added == renamed.removed == 0
        (spaced,) = diffparse.parse(repo.diff(built.ids["r2"]))
        assert (spaced.added, spaced.removed) == (1, 1)
        assert diffparse.parse(repo.diff(built.ids["r2"], ignore_ws=True)) in (
            [],
            [diffparse.DiffFile("new-name.txt", "new-name.txt")],
        )


def test_parse_handles_quoted_names_and_no_newline() -> None:
    raw = (
        b'diff --git "a/sp\\303\\251cial name" "b/sp\\303\\251cial name"\n'
        b"index 1111111..2222222 100644\n"
        b'--- "a/sp\\303\\251cial name"\n'
        b'+++ "b/sp\\303\\251cial name"\n'
        b"@@ -1 +1 @@\n"
        b"-old\n"
        b"\\ No newline at end of file\n"
        b"+new\n"
        b"\\ No newline at end of file\n"
    )
    (one,) = diffparse.parse(raw)
    assert one.path == "spécial name" and one.status == "modified"
    assert [ln.kind for ln in one.hunks[0].lines] == ["del", "note", "add", "note"]
    assert (one.added, one.removed) == (1, 1)
    assert one.hunks[0].header == "@@ -1,1 +1,1 @@"


def test_highlighted_lines_keep_every_character_in_order() -> None:
    """Highlighting only adds markup: the text of each line, tags removed, is the line."""
    import html
    import re

    from hearth.web import highlight

    samples = {
        "README.md": "hello, world\n  two  spaces here\n# Title  with   gaps\n",
        "x.py": 'def f(a,  b):\n    """doc\n    more"""\n    return a  +  b  # sum\n\nx = "s  t"\n',
        "x.unknown": "plain <text> & more\n",
        "y.c": "int main() {\n\treturn 0;\t// tab\n}",
    }
    for name, text in samples.items():
        lines = highlight.highlight_lines(text, name)
        plain = [html.unescape(re.sub(r"<[^>]+>", "", str(line))) for line in lines]
        assert plain == text.rstrip("\n").split("\n"), name

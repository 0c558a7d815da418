# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth.vcs.hg.commit_files``: one in-memory commit into an hg repository, checked with the real
``hg`` binary (log, cat, verify) and through ``hearth.vcs``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from hearth import vcs
from hearth.vcs import hg as hgbackend
from tests.vcs_fixtures import AUTHOR, BINARY, epoch, hg

os.environ["TZ"] = "UTC"
time.tzset()

FILES = {"hello.txt": b"hello\n", "caf\u00e9.md": "gr\u00fc\u00df dich\n".encode(), "blob": BINARY}


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    vcs.create(str(path), "hg")
    return path


def hg_log(path: Path) -> list[dict]:
    return json.loads(hg(path, "log", "-T", "json"))


def test_first_commit_holds_exactly_the_files(fresh: Path) -> None:
    raw_id = hgbackend.commit_files(
        str(fresh), FILES, author=AUTHOR, message="added files: a, b", date=epoch(2, 3)
    )
    [entry] = hg_log(fresh)
    assert entry["node"] == raw_id
    assert entry["rev"] == 0
    assert entry["user"] == AUTHOR
    assert entry["desc"] == "added files: a, b"
    assert entry["date"] == [epoch(2, 3), 0]
    assert entry["branch"] == "default"
    assert entry["parents"] == ["0" * 40]
    assert sorted(hg(fresh, "files", "-r", raw_id).splitlines()) == sorted(FILES)
    assert hg(fresh, "cat", "-r", raw_id, "hello.txt") == "hello\n"
    assert hg(fresh, "cat", "-r", raw_id, "caf\u00e9.md") == "gr\u00fc\u00df dich\n"
    hg(fresh, "verify")
    with vcs.open_repo(str(fresh), "hg") as repo:
        changeset = repo.last_changeset()
        assert (changeset.raw_id, changeset.author, changeset.date) == (raw_id, AUTHOR, epoch(2, 3))
        assert repo.file_changes(raw_id).added == sorted(FILES)
        assert {n: repo.file(raw_id, n) for n in FILES} == FILES


def test_second_commit_builds_on_the_tip(fresh: Path) -> None:
    first = hgbackend.commit_files(str(fresh), FILES, author=AUTHOR, message="one", date=epoch(2))
    second = hgbackend.commit_files(
        str(fresh),
        {"hello.txt": b"changed\n", "new": b"n"},
        author="bob",
        message="two",
        date=epoch(3),
    )
    log = hg_log(fresh)
    assert [e["node"] for e in log] == [second, first]
    assert log[0]["parents"] == [first]
    with vcs.open_repo(str(fresh), "hg") as repo:
        assert repo.file(second, "hello.txt") == b"changed\n"
        assert repo.file(second, "blob") == BINARY  # kept from the parent
        changes = repo.file_changes(second)
        assert (changes.added, changes.changed, changes.removed) == (["new"], ["hello.txt"], [])
    hg(fresh, "verify")


@pytest.mark.parametrize(
    "name",
    ["", "a//b", "/abs", "a/", ".", "..", "a/../b", ".hg/hgrc", "x/.HG/y", ".git", "a\nb", "a\0"],
)
def test_refused_paths_write_nothing(fresh: Path, name: str) -> None:
    with pytest.raises(vcs.VcsError):
        hgbackend.commit_files(
            str(fresh), {"ok.txt": b"x", name: b"y"}, author=AUTHOR, message="m", date=epoch(2)
        )
    with vcs.open_repo(str(fresh), "hg") as repo:
        assert repo.is_empty()


def test_nested_paths_are_allowed(fresh: Path) -> None:
    raw_id = hgbackend.commit_files(
        str(fresh), {"dir/sub/f.txt": b"deep"}, author=AUTHOR, message="m", date=epoch(2)
    )
    assert hg(fresh, "cat", "-r", raw_id, "dir/sub/f.txt") == "deep"


def test_nothing_to_commit(fresh: Path) -> None:
    with pytest.raises(vcs.VcsError):
        hgbackend.commit_files(str(fresh), {}, author=AUTHOR, message="m", date=epoch(2))


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(vcs.RepositoryNotFound):
        hgbackend.commit_files(
            str(tmp_path / "nothing"), {"a": b"a"}, author=AUTHOR, message="m", date=epoch(2)
        )

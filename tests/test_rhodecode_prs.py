# SPDX-License-Identifier: GPL-3.0-or-later
"""RhodeCode's pull-request methods against a live Hearth, for git and hg.

``get_pull_request``, ``get_pull_requests``, ``comment_pull_request`` (general and inline, with
``f_path``/``line``), ``get_pull_request_comments``, ``update_pull_request``,
``close_pull_request`` and ``merge_pull_request``: each success shape and its refusals with
RhodeCode's texts; merges (fast-forward and merge commit for git, a merge changeset for hg) are
checked by cloning the target. These supersede ``methods.md`` §11, which listed them as absent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.live import LiveServer
from tests.test_client import flags, run
from tests.test_pullrequests import (
    MAIN,
    TYPES,
    clone_log,
    commit,
    head_of,
    lines,
    push,
    start_branch,
    switch,
    work_copy,
)
from tests.vcs_clients import Clients, World, eventually, new_key, verify

PR_KEYS = [
    "pull_request_id",
    "url",
    "title",
    "description",
    "status",
    "state",
    "created_on",
    "updated_on",
    "commit_ids",
    "review_status",
    "mergeable",
    "source",
    "target",
    "merge",
    "author",
    "reviewers",
]
COMMENT_KEYS = [
    "comment_author",
    "comment_created_on",
    "comment_f_path",
    "comment_id",
    "comment_lineno",
    "comment_status",
    "comment_text",
    "comment_type",
    "comment_commit_id",
    "comment_pull_request_id",
    "comment_resolved_by",
    "comment_last_version",
    "pull_request_version",
    "outdated",
    "resolved",
]
CAN_MERGE = "This pull request can be automatically merged."


@pytest.fixture(scope="module")
def world(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> World:
    w = World.make(server, Clients(tmp_path_factory.mktemp("rc-pr-clients")))
    w.keys = {
        who: new_key(server, w.usernames[who])
        for who in ("reader", "writer", "writer2", "outsider")
    }  # type: ignore[attr-defined]
    return w


def key(world: World, who: str) -> str:
    return world.keys[who]  # type: ignore[attr-defined]


def feature_pr(world: World, repo_type: str, **create: object) -> tuple[str, int, list[str]]:
    """A repository with a pushed ``feature`` branch (a.txt of 5 lines, b.txt) and a pull
    request from it into the main branch, reviewed by the reader."""
    name = world.new_repo(repo_type, **create)
    work = work_copy(world, repo_type, name)
    start_branch(world, repo_type, work, "feature")
    first = commit(world, repo_type, work, "a.txt", lines(5))
    second = commit(world, repo_type, work, "b.txt", "b\n")
    push(world, repo_type, work, name, "feature")
    result = world.server.ok(
        "create_pull_request",
        key(world, "writer"),
        source_repo=name,
        target_repo=name,
        source_ref="branch:feature",
        target_ref=MAIN[repo_type],
        title="Feature",
        reviewers=[world.usernames["reader"]],
    )
    return name, result["pull_request_id"], [first, second]


@pytest.mark.parametrize("repo_type", TYPES)
def test_review_update_and_merge(world: World, repo_type: str) -> None:
    server, users = world.server, world.usernames
    main = MAIN[repo_type]
    name, pr_id, (first, second) = feature_pr(world, repo_type)
    seed = head_of(world, repo_type, name, main)

    pr = server.ok("get_pull_request", key(world, "reader"), pullrequestid=pr_id)
    assert list(pr) == PR_KEYS
    assert pr["pull_request_id"] == pr_id
    assert pr["url"] == f"{server.url}/{name}/pull-request/{pr_id}/_/feature"
    assert (pr["title"], pr["status"], pr["state"]) == ("Feature", "new", "created")
    assert pr["commit_ids"] == [first, second]
    assert pr["review_status"] == "not_reviewed"
    assert pr["mergeable"] == {"status": "not_available", "message": "not_available"}
    assert pr["source"] == {
        "clone_url": f"{server.url}/{name}",
        "repository": name,
        "reference": {"name": "feature", "type": "branch", "commit_id": second},
    }
    assert pr["target"] == {
        "clone_url": f"{server.url}/{name}",
        "repository": name,
        "reference": {"name": main, "type": "branch", "commit_id": seed},
    }
    assert pr["merge"] is None
    assert pr["author"]["username"] == users["writer"]
    assert list(pr["author"]) == [
        "user_id",
        "username",
        "firstname",
        "lastname",
        "email",
        "emails",
        "active",
        "admin",
    ]
    assert [(r["user"]["username"], r["review_status"], r["reasons"]) for r in pr["reviewers"]] == [
        (users["reader"], "not_reviewed", [])
    ]
    # the same through repoid and the aliases; the list of the target
    assert server.ok("get_pull_request", repoid=name, pull_request_id=pr_id) == pr
    assert server.ok("get_pull_requests", repoid=name) == [pr]
    assert server.ok("get_pull_requests", repoid=name, status="closed") == []
    checked = server.ok("get_pull_request", pullrequestid=pr_id, merge_state=True)
    assert checked["mergeable"] == {
        "status": False,
        "message": "pull request needs 1 approval(s) by reviewers, it has 0",
    }

    # refusals of the readers
    assert server.err("get_pull_request", pullrequestid=99999999) == (
        "pull request `99999999` does not exist"
    )
    assert server.err("get_pull_request", pullrequestid=pr_id, repoid="no/such") == (
        "repository `no/such` does not exist"
    )
    assert server.err("get_pull_requests", repoid="no/such") == (
        "repository `no/such` does not exist"
    )
    assert server.err("get_pull_request_comments", pullrequestid=99999999) == (
        "pull request `99999999` does not exist"
    )

    # a reviewer approves; an outsider's status is not taken, its comment is
    approved = server.ok(
        "comment_pull_request",
        key(world, "reader"),
        pullrequestid=pr_id,
        message="looks good",
        status="approved",
    )
    assert list(approved) == ["pull_request_id", "comment_id", "status"]
    assert approved["pull_request_id"] == pr_id
    assert approved["status"] == {"given": "approved", "was_changed": True}
    remark = server.ok(
        "comment_pull_request",
        key(world, "outsider"),
        pullrequestid=pr_id,
        message="no",
        status="rejected",
    )
    assert remark["status"] == {"given": "rejected", "was_changed": False}
    # a status on an older commit is not taken either (RhodeCode's rule)
    older = server.ok(
        "comment_pull_request", pullrequestid=pr_id, status="rejected", commit_id=first
    )
    assert older["status"] == {"given": "rejected", "was_changed": False}
    assert server.err("comment_pull_request", pullrequestid=pr_id) == (
        "Both message and status parameters are missing. At least one is required."
    )
    assert server.err("comment_pull_request", pullrequestid=pr_id, status="bogus") == (
        "Unknown comment status: `bogus`"
    )
    assert server.err(
        "comment_pull_request", pullrequestid=pr_id, message="x", commit_id="f" * 40
    ) == (f"Invalid commit_id `{'f' * 40}` for this pull request.")
    assert server.err(
        "comment_pull_request", pullrequestid=pr_id, message="x", comment_type="todo"
    ) == ("Invalid comment_type `todo`: Hearth keeps notes only (`note`)")
    assert server.err(
        "comment_pull_request",
        key(world, "reader"),
        pullrequestid=pr_id,
        message="x",
        userid=users["writer"],
    ) == ("userid is not the same as your user")

    # inline comments: `line` as n<number> or a plain number (the new side)
    inline = server.ok(
        "comment_pull_request",
        key(world, "reader"),
        pullrequestid=pr_id,
        message="why line 3?",
        f_path="a.txt",
        line="n3",
    )["comment_id"]
    kept = server.ok(
        "comment_pull_request",
        key(world, "reader"),
        pullrequestid=pr_id,
        message="line 5 stays",
        f_path="a.txt",
        line=5,
    )["comment_id"]
    assert server.err(
        "comment_pull_request", pullrequestid=pr_id, message="x", f_path="zzz.txt", line="n1"
    ) == ("File `zzz.txt` is not changed by this pull request")
    assert server.err(
        "comment_pull_request", pullrequestid=pr_id, message="x", f_path="a.txt", line="n99"
    ) == ("Invalid line `n99`: use o<number> (old side) or n<number> (new side)")

    comments = server.ok("get_pull_request_comments", key(world, "reader"), pullrequestid=pr_id)
    assert all(list(c) == COMMENT_KEYS for c in comments)
    assert [(c["comment_id"], c["comment_f_path"], c["comment_lineno"]) for c in comments[:2]] == [
        (inline, "a.txt", "n3"),
        (kept, "a.txt", "n5"),
    ]
    general = {c["comment_id"]: c for c in comments[2:]}
    assert general[approved["comment_id"]]["comment_status"] == {
        "status": "approved",
        "status_lbl": "Approved",
    }
    assert general[approved["comment_id"]]["comment_text"] == "looks good"
    assert general[approved["comment_id"]]["comment_author"] == {
        "active": True,
        "full_name_or_username": general[approved["comment_id"]]["comment_author"][
            "full_name_or_username"
        ],
        "username": users["reader"],
    }
    assert general[remark["comment_id"]]["comment_status"] == {}
    assert {c["pull_request_version"] for c in comments} == {None}

    pr = server.ok("get_pull_request", pullrequestid=pr_id, merge_state=True)
    assert pr["review_status"] == "approved"
    # get_changeset's with_reviews: the latest status per reviewer on a proposed changeset
    reviews = server.ok("get_changeset", repoid=name, raw_id=second, with_reviews=True)["reviews"]
    assert [(r["reviewer"], r["status"]) for r in reviews] == [
        (users["writer"], "under_review"),
        (users["reader"], "approved"),
    ]
    assert all(list(r) == ["status", "modified_at", "reviewer"] for r in reviews)
    assert server.ok("get_changeset", repoid=name, raw_id=seed, with_reviews=True)["reviews"] == []
    assert pr["mergeable"] == {"status": True, "message": CAN_MERGE}

    # update: title and reviewers by the owner; an outsider may not
    assert server.err(
        "update_pull_request", key(world, "outsider"), pullrequestid=pr_id, title="mine"
    ) == (f"pull request `{pr_id}` update failed, no permission to update.")
    updated = server.ok(
        "update_pull_request",
        key(world, "writer"),
        pullrequestid=pr_id,
        title="Feature, reviewed",
        reviewers=[users["reader"], {"username": users["writer2"]}],
    )
    assert list(updated) == ["msg", "pull_request", "updated_commits", "updated_reviewers"]
    assert updated["msg"] == f"Updated pull request `{pr_id}`"
    assert updated["pull_request"]["title"] == "Feature, reviewed"
    assert updated["updated_reviewers"] == {"added": [users["writer2"]], "removed": []}
    assert updated["updated_commits"] == {"added": [], "common": [], "removed": [], "total": []}

    # a push rewriting line 3: a new version, the inline comment on it outdated
    work = work_copy(world, repo_type, name)
    switch(world, repo_type, work, "feature")
    third = commit(world, repo_type, work, "a.txt", lines(5, {3: "line three"}))
    push(world, repo_type, work, name, "feature")
    assert eventually(
        lambda: (
            server.ok("get_pull_request", pullrequestid=pr_id)["commit_ids"]
            == [first, second, third]
        )
    )
    recomputed = server.ok("update_pull_request", pullrequestid=pr_id, update_commits=True)
    assert recomputed["updated_commits"] == {
        "added": [],
        "common": [first, second, third],
        "removed": [],
        "total": [first, second, third],
    }
    marks = {
        c["comment_id"]: (c["outdated"], c["pull_request_version"])
        for c in server.ok("get_pull_request_comments", pullrequestid=pr_id)
    }
    assert marks[inline] == (True, "v1") and marks[kept] == (False, "v1")

    # the approval was on version 1: refused until writer2 approves version 2
    assert server.err("merge_pull_request", key(world, "writer"), pullrequestid=pr_id) == (
        "merge not possible for following reasons: "
        "pull request needs 1 approval(s) by reviewers, it has 0"
    )
    server.ok("comment_pull_request", key(world, "writer2"), pullrequestid=pr_id, status="approved")
    assert server.err("merge_pull_request", key(world, "reader"), pullrequestid=pr_id) == (
        "merge not possible for following reasons: No permission to merge pull request. "
        "User needs write access to the target repository."
    )
    merged = server.ok(
        "merge_pull_request",
        key(world, "writer"),
        pullrequestid=pr_id,
        repoid=name,
        fast_forward=repo_type == "git",
    )
    history = clone_log(world, repo_type, name, main)
    assert merged == {
        "executed": True,
        "failure_reason": 0,
        "merge_status_message": CAN_MERGE,
        "merge_commit_id": history[0][0],
        "possible": True,
        "merge_ref": {"commit_id": history[0][0], "type": "branch", "name": main},
    }
    if repo_type == "git":  # fast-forward: the main branch is the feature branch now
        assert [raw for raw, _ in history] == [third, second, first, seed]
    else:  # hg: a merge changeset of both heads
        assert history[0][1] == [seed, third]
    verify(server, repo_type, name)
    closed = server.ok("get_pull_request", pullrequestid=pr_id)
    assert closed["status"] == "closed"
    assert closed["merge"] == {
        "clone_url": f"{server.url}/{name}",
        "reference": {"name": main, "type": "branch", "commit_id": history[0][0]},
    }
    assert server.ok("get_pull_requests", repoid=name, status="closed") == [closed]
    assert server.ok("get_pull_requests", repoid=name) == []

    # closed: every writing method refuses with its text
    assert server.err("comment_pull_request", pullrequestid=pr_id, message="late") == (
        f"pull request `{pr_id}` comment failed, pull request is closed"
    )
    assert server.err("update_pull_request", pullrequestid=pr_id, title="late") == (
        f"pull request `{pr_id}` update failed, pull request is closed"
    )
    assert server.err("close_pull_request", pullrequestid=pr_id) == (
        f"pull request `{pr_id}` is already closed"
    )
    assert server.err("merge_pull_request", pullrequestid=pr_id) == (
        f"pull request `{pr_id}` merge failed, pull request is closed"
    )


@pytest.mark.parametrize("repo_type", TYPES)
def test_merge_commit_when_the_target_moved(world: World, repo_type: str) -> None:
    server = world.server
    main = MAIN[repo_type]
    name, pr_id, (_, second) = feature_pr(world, repo_type)
    work = work_copy(world, repo_type, name)
    switch(world, repo_type, work, main)
    moved = commit(world, repo_type, work, "c.txt", "c\n")
    push(world, repo_type, work, name, main)
    server.ok("comment_pull_request", key(world, "reader"), pullrequestid=pr_id, status="approved")
    if repo_type == "git":  # a fast-forward is impossible now
        refused = server.err(
            "merge_pull_request", key(world, "writer"), pullrequestid=pr_id, fast_forward=True
        )
        assert refused.startswith("merge not possible for following reasons: ")
    merged = server.ok("merge_pull_request", key(world, "writer"), pullrequestid=pr_id)
    history = clone_log(world, repo_type, name, main)
    assert merged["merge_commit_id"] == history[0][0]
    assert history[0][1] == [moved, second]
    verify(server, repo_type, name)


@pytest.mark.parametrize("repo_type", TYPES)
def test_close_and_hidden(world: World, repo_type: str) -> None:
    server, users = world.server, world.usernames
    name, pr_id, _ = feature_pr(world, repo_type, private=True)
    # hidden from who cannot read the source
    assert server.err("get_pull_request", key(world, "outsider"), pullrequestid=pr_id) == (
        f"repository `None` or pull request `{pr_id}` does not exist"
    )
    assert server.err(
        "get_pull_request", key(world, "outsider"), pullrequestid=pr_id, repoid=name
    ) == (f"repository `{name}` does not exist")
    assert server.err("get_pull_requests", key(world, "outsider"), repoid=name) == (
        f"repository `{name}` does not exist"
    )
    assert server.err("get_pull_request_comments", key(world, "outsider"), pullrequestid=pr_id) == (
        f"repository `None` or pull request `{pr_id}` does not exist"
    )
    assert server.err(
        "comment_pull_request", key(world, "outsider"), pullrequestid=pr_id, message="x"
    ) == ("repository `None` does not exist")
    # a reviewer may not close; the owner closes, rejected without approvals
    assert server.err("close_pull_request", key(world, "reader"), pullrequestid=pr_id) == (
        f"pull request `{pr_id}` close failed, no permission to close."
    )
    closed = server.ok("close_pull_request", key(world, "writer"), pullrequestid=pr_id)
    assert closed == {"pull_request_id": pr_id, "close_status": "Rejected", "closed": True}
    comments = server.ok("get_pull_request_comments", pullrequestid=pr_id)
    assert (comments[-1]["comment_text"], comments[-1]["comment_status"]) == (
        "Closing with status change > Rejected.",
        {"status": "rejected", "status_lbl": "Rejected"},
    )
    assert comments[-1]["comment_author"]["username"] == users["writer"]
    # an admin may act as another user
    name2, pr2, _ = feature_pr(world, repo_type)
    done = server.ok(
        "comment_pull_request", pullrequestid=pr2, message="as writer", userid=users["writer"]
    )
    shown = server.ok("get_pull_request_comments", pullrequestid=pr2)
    assert [
        c["comment_author"]["username"] for c in shown if c["comment_id"] == done["comment_id"]
    ] == [users["writer"]]
    assert server.ok("get_pull_requests", repoid=name2)[0]["pull_request_id"] == pr2


def test_hearth_api_knows_the_argument_types(world: World, tmp_path: Path) -> None:
    """``hearth-api`` types each value from the declarations: ``pullrequestid:`` and a plain
    ``line:`` as integers, ``message:`` as text even when it looks like a number."""
    server = world.server
    name, pr_id, _ = feature_pr(world, "git")
    done = run(
        "hearth-api",
        *flags(server, key(world, "reader")),
        "-F",
        "json",
        "comment_pull_request",
        f"pullrequestid:{pr_id}",
        "message:123",
        "f_path:a.txt",
        "line:2",
        home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    comment_id = json.loads(done.stdout)["comment_id"]
    shown = server.ok("get_pull_request_comments", pullrequestid=pr_id, repoid=name)
    assert [
        (c["comment_text"], c["comment_lineno"]) for c in shown if c["comment_id"] == comment_id
    ] == [("123", "n2")]
    done = run("hearth-api", *flags(server), "--help", "merge_pull_request", home=tmp_path)
    assert done.stdout.splitlines()[1] == "from RhodeCode"
    assert re.search(r"^  pullrequestid +int +required", done.stdout, re.M)


@pytest.mark.parametrize("repo_type", TYPES)
def test_conflicting_merge_is_refused(world: World, repo_type: str) -> None:
    server = world.server
    main = MAIN[repo_type]
    name, pr_id, _ = feature_pr(world, repo_type)
    work = work_copy(world, repo_type, name)
    switch(world, repo_type, work, main)
    commit(world, repo_type, work, "a.txt", "something else\n")
    push(world, repo_type, work, name, main)
    before = head_of(world, repo_type, name, main)
    server.ok("comment_pull_request", key(world, "reader"), pullrequestid=pr_id, status="approved")
    refused = server.err("merge_pull_request", key(world, "writer"), pullrequestid=pr_id)
    assert refused.startswith("merge not possible for following reasons: ")
    assert "a.txt" in refused
    assert head_of(world, repo_type, name, main) == before
    assert server.ok("get_pull_request", pullrequestid=pr_id)["status"] == "new"


SUPERSEDED = [
    "get_pull_request",
    "get_pull_requests",
    "update_pull_request",
    "close_pull_request",
    "merge_pull_request",
    "get_pull_request_comments",
    "comment_pull_request",
]


def test_issue_15_supersedes_section_11(server: LiveServer) -> None:
    """``methods.md`` §11 listed these seven as ``No such method``; issue 15 provides them. The
    rest of §11 still answers so."""
    for name in SUPERSEDED:
        assert server.call(name)["error"] != f"No such method: {name}"
        found, _, declared = server.ok("get_method", pattern=name)
        assert (found, declared["name"], declared["tier"]) == (name, name, "rhodecode")
    for name in ("comment_commit", "get_repo_comments", "get_comment", "edit_comment"):
        assert server.err(name) == f"No such method: {name}"

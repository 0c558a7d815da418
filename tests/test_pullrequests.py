# SPDX-License-Identifier: GPL-3.0-or-later
"""Pull requests against a live Hearth with the real ``git`` and ``hg`` (``methods.md`` §9).

Branches and forks are pushed over HTTP, pull requests created, reviewed and commented through
the API; an update is pushed and must show as a new version with the inline comment outdated;
merges (fast-forward and merge commit for git, a merge changeset for hg) are checked by cloning
the target. Inline comments and merges have no §9 method (the pages drive them), so the tests call
the service on the server's own database and repositories, as the pages do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from hearth.config import Settings, load_settings
from hearth.db.session import Database
from hearth.errors import HearthError
from hearth.services import lookup, permissions, pullrequests
from tests.live import LiveServer, unique
from tests.vcs_clients import Clients, World, eventually, journal, new_key, verify

TYPES = ["git", "hg"]
MAIN = {"git": "master", "hg": "default"}
KEYS = [
    "pull_request_id",
    "url",
    "reviewers",
    "revisions",
    "owner",
    "title",
    "description",
    "org_repo_url",
    "org_ref_parts",
    "other_ref_parts",
    "status",
    "comments",
    "statuses",
    "created_on",
    "updated_on",
]


@pytest.fixture(scope="module")
def world(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> World:
    w = World.make(server, Clients(tmp_path_factory.mktemp("pr-clients")))
    w.keys = {
        who: new_key(server, w.usernames[who])
        for who in ("reader", "writer", "writer2", "outsider")
    }  # type: ignore[attr-defined]
    return w


def key(world: World, who: str) -> str:
    return world.keys[who]  # type: ignore[attr-defined]


# --- helpers -------------------------------------------------------------------------------------


def work_copy(world: World, repo_type: str, name: str, who: str = "writer") -> Path:
    return world.clients.clone(repo_type, world.url(name, who)).dest


def commit(world: World, repo_type: str, work: Path, name: str, data: str) -> str:
    world.clients.commit(repo_type, work, name, data)
    return world.clients.tip(repo_type, work)


def start_branch(world: World, repo_type: str, work: Path, branch: str) -> None:
    if repo_type == "git":
        world.clients.git("checkout", "-q", "-b", branch, cwd=work)
    else:
        world.clients.hg("branch", "-q", branch, cwd=work)


def switch(world: World, repo_type: str, work: Path, branch: str) -> None:
    if repo_type == "git":
        world.clients.git("checkout", "-q", branch, cwd=work)
    else:
        world.clients.hg("update", "-q", branch, cwd=work)


def push(
    world: World, repo_type: str, work: Path, name: str, branch: str, who: str = "writer"
) -> None:
    world.clients.push(repo_type, work, world.url(name, who), branch=branch)


def head_of(world: World, repo_type: str, name: str, branch: str) -> str:
    refs = world.server.ok("get_repo", repoid=name, with_revision_names=True)["branches"]
    return refs[branch]


def lines(n: int, changed: dict[int, str] | None = None) -> str:
    changed = changed or {}
    return "".join(f"{changed.get(i, f'line {i}')}\n" for i in range(1, n + 1))


@contextmanager
def service(server: LiveServer) -> Iterator[tuple[Session, Settings]]:
    """A session on the live server's database and its settings, as the pages use them."""
    database = Database(server.database_url)
    settings = load_settings(environ=server.env, config_file=server.home / "no-such-file")
    try:
        with database.session() as db:
            yield db, settings
    finally:
        database.dispose()


def actor(db: Session, username: str) -> permissions.Actor:
    default = lookup.user(db, permissions.DEFAULT_USERNAME)
    return permissions.actor_for(db, lookup.user(db, username), default.user_id)


def merge(server: LiveServer, username: str, pr_id: int, fast_forward: bool = False) -> str | None:
    """Merge as ``username``; the refusal's text, or None when it merged."""
    try:
        with service(server) as (db, settings):
            pullrequests.merge(
                db,
                actor(db, username),
                settings,
                pr_id,
                fast_forward=fast_forward,
                client_ip="127.0.0.1",
            )
    except HearthError as exc:
        return exc.text
    return None


def inline(server: LiveServer, username: str, pr_id: int, path: str, line: str, text: str) -> int:
    with service(server) as (db, settings):
        row = pullrequests.comment(
            db,
            actor(db, username),
            settings,
            pr_id,
            pullrequests.NewComment(text=text, f_path=path, line_no=line),
        )
        return row.comment_id


def details(server: LiveServer, username: str, pr_id: int) -> pullrequests.PullRequestView:
    with service(server) as (db, settings):
        return pullrequests.get(db, actor(db, username), settings, pr_id)


def create(world: World, who: str = "writer", **args: Any) -> int:
    result = world.server.ok("create_pull_request", key(world, who), **args)
    return result["pull_request_id"]


def clone_log(world: World, repo_type: str, name: str, branch: str) -> list[tuple[str, list[str]]]:
    """(raw id, parent ids) of the target branch's history, newest first, from a fresh clone."""
    dest = world.clients.clone(repo_type, world.url(name, "admin")).dest
    if repo_type == "git":
        out = world.clients.git("log", "--format=%H %P", f"origin/{branch}", cwd=dest).stdout
    else:
        out = world.clients.hg(
            "log", "-r", f"reverse(::{branch})", "-T", "{node} {p1.node} {p2.node}\n", cwd=dest
        ).stdout
    entries = []
    for row in out.splitlines():
        ids = row.split()
        entries.append((ids[0], [p for p in ids[1:] if p.strip("0")]))
    return entries


# --- the review cycle ---------------------------------------------------------------------------


@pytest.mark.parametrize("repo_type", TYPES)
def test_branch_review_update_and_fast_forward(world: World, repo_type: str) -> None:
    server, users = world.server, world.usernames
    main = MAIN[repo_type]
    name = world.new_repo(repo_type)
    seed = head_of(world, repo_type, name, main)
    work = work_copy(world, repo_type, name)
    start_branch(world, repo_type, work, "feature")
    first = commit(world, repo_type, work, "a.txt", lines(5))
    second = commit(world, repo_type, work, "b.txt", "b\n")
    push(world, repo_type, work, name, "feature")

    result = server.ok(
        "create_pull_request",
        key(world, "writer"),
        source_repo=name,
        target_repo=name,
        source_ref="branch:feature",
        target_ref=main,
        reviewers=[users["reader"], {"username": users["writer2"], "email": "ignored"}],
    )
    title = f"{name}#feature to {name}#{main}"
    assert result["msg"] == f"Created new pull request `{title}`"
    pr_id = result["pull_request_id"]

    pr = server.ok("get_pullrequest", key(world, "reader"), pullrequest_id=pr_id)
    assert list(pr) == KEYS
    assert pr["url"] == f"/{name}/pull-request/{pr_id}/_/feature"
    assert pr["reviewers"] == [{"username": users["reader"]}, {"username": users["writer2"]}]
    assert pr["revisions"] == [first, second]
    assert pr["owner"] == users["writer"]
    assert pr["title"] == title
    assert pr["description"] == "No description"
    assert pr["org_repo_url"] == f"{server.url}/{name}"
    assert pr["org_ref_parts"] == ["branch", "feature", second]
    assert pr["other_ref_parts"] == ["branch", main, seed]
    assert pr["status"] == "new"
    assert [(c["username"], c["text"]) for c in pr["comments"]] == [(users["writer"], "")]
    assert list(pr["comments"][0]) == ["comment_id", "username", "text", "created_on"]
    assert [(s["reviewer"], s["status"]) for s in pr["statuses"]] == [
        (users["writer"], "under_review")
    ] * 2
    assert pr["created_on"] == pr["updated_on"] and "." not in pr["created_on"]
    # the same object under the target repository, and through the aliases
    assert server.ok("get_repo", repoid=name, with_pullrequests=True)["pull_requests"] == [pr]
    assert server.ok("get_pullrequest", pull_request_id=pr_id) == pr
    assert server.ok("get_pullrequest", pullrequestid=pr_id) == pr

    # reviews: a reviewer approves, someone else may comment but not set a status
    assert (
        server.ok(
            "comment_pullrequest",
            key(world, "reader"),
            pull_request_id=pr_id,
            comment_msg="looks good",
            status="approved",
        )
        is True
    )
    assert (
        server.err(
            "comment_pullrequest", key(world, "outsider"), pull_request_id=pr_id, status="rejected"
        )
        == "No permission to change pull request status. User needs to be admin, owner or reviewer."
    )
    assert (
        server.err("comment_pullrequest", key(world, "reader"), pullrequest_id=pr_id, close_pr=True)
        == "No permission to close pull request. User needs to be admin or owner."
    )
    assert (
        server.ok(
            "comment_pullrequest",
            key(world, "outsider"),
            pullrequest_id=pr_id,
            comment_msg="a drive-by remark",
        )
        is True
    )
    pr = server.ok("get_pullrequest", pullrequest_id=pr_id)
    assert [(c["username"], c["text"]) for c in pr["comments"]][1:] == [
        (users["reader"], "looks good"),
        (users["outsider"], "a drive-by remark"),
    ]
    assert [(s["reviewer"], s["status"]) for s in pr["statuses"]][2:] == [
        (users["reader"], "approved")
    ] * 2

    # an inline comment on line 3 of a.txt, then an update rewriting that line
    comment_id = inline(server, users["reader"], pr_id, "a.txt", "n3", "why line 3?")
    kept = inline(server, users["reader"], pr_id, "a.txt", "n5", "line 5 stays")
    third = commit(world, repo_type, work, "a.txt", lines(5, {3: "line three"}))
    push(world, repo_type, work, name, "feature")
    assert eventually(
        lambda: (
            server.ok("get_pullrequest", pullrequest_id=pr_id)["revisions"]
            == [first, second, third]
        )
    )
    view = details(server, users["reader"], pr_id)
    assert view.version == 2
    assert [v.revisions for v in view.versions] == [[first, second], [first, second, third]]
    marks = {c.comment_id: c.outdated for c in view.comments}
    assert marks[comment_id] is True and marks[kept] is False
    # the approval was given on version 1: not enough to merge version 2
    assert merge(server, users["writer"], pr_id) == (
        "pull request needs 1 approval(s) by reviewers, it has 0"
    )
    server.ok(
        "comment_pullrequest", key(world, "writer2"), pull_request_id=pr_id, status="approved"
    )
    assert merge(server, users["reader"], pr_id) == (
        "No permission to merge pull request. User needs write access to the target repository."
    )
    fast_forward = repo_type == "git"
    assert merge(server, users["writer"], pr_id, fast_forward=fast_forward) is None

    history = clone_log(world, repo_type, name, main)
    if repo_type == "git":  # fast-forward: the branch now is the feature branch
        assert [raw for raw, _ in history] == [third, second, first, seed]
    else:  # a named branch is merged with a merge changeset whose parents are both heads
        assert history[0][1] == [seed, third]
        assert [raw for raw, _ in history[1:]] == [third, second, first, seed]
    merged = server.ok("get_pullrequest", pullrequest_id=pr_id)
    assert merged["status"] == "closed"
    assert server.ok("get_repo", repoid=name)["last_changeset"]["raw_id"] == history[0][0]
    actions = [(row["action"], row["detail"]) for row in journal(server, name)]
    assert ("user_created_pull_request", str(pr_id)) in actions
    assert ("user_commented_pull_request", str(pr_id)) in actions
    arrived = [first, second, third] if repo_type == "git" else [history[0][0]]
    assert actions[-2:] == [
        ("user_merged_pull_request", str(pr_id)),
        ("push", ",".join(arrived)),
    ]
    verify(server, repo_type, name)

    # closed: no more comments, reviewer changes or merges
    assert server.err("comment_pullrequest", pull_request_id=pr_id, comment_msg="late") == (
        "pull request is already closed"
    )
    assert server.err("edit_reviewers", pull_request_id=pr_id, add=users["outsider"]) == (
        "Cannot edit reviewers of a closed pull request."
    )
    assert merge(server, users["writer"], pr_id) == "pull request is already closed"


@pytest.mark.parametrize("repo_type", TYPES)
def test_fork_merge_commit(world: World, repo_type: str) -> None:
    """A fork's main branch into the parent's, which moved meanwhile: a merge commit."""
    server, users = world.server, world.usernames
    main = MAIN[repo_type]
    name = world.new_repo(repo_type)
    fork = unique(f"{repo_type}fork")
    server.ok("fork_repo", key(world, "writer"), repoid=name, fork_name=fork)
    work = work_copy(world, repo_type, fork)
    ours = [commit(world, repo_type, work, f"f{i}.txt", f"{i}\n") for i in range(3)]
    push(world, repo_type, work, fork, main)
    upstream = work_copy(world, repo_type, name, "writer2")
    moved = commit(world, repo_type, upstream, "upstream.txt", "u\n")
    push(world, repo_type, upstream, name, main, "writer2")

    pr_id = create(
        world,
        source_repo=fork,
        target_repo=name,
        source_ref=f"branch:{main}",
        target_ref=f"branch:{main}",
        title="Three files",
        description="*why*",
        reviewers=[users["reader"]],
    )
    pr = server.ok("get_pullrequest", pullrequest_id=pr_id)
    assert pr["revisions"] == ours
    assert pr["description"] == "*why*"
    # both refs are named main: the slug is the title
    assert pr["url"] == f"/{name}/pull-request/{pr_id}/_/Three_files"
    assert pr["org_repo_url"] == f"{server.url}/{fork}"

    assert merge(server, users["writer"], pr_id) == (
        "pull request needs 1 approval(s) by reviewers, it has 0"
    )
    server.ok("comment_pullrequest", key(world, "reader"), pull_request_id=pr_id, status="approved")
    if repo_type == "git":
        assert merge(server, users["writer"], pr_id, fast_forward=True) == (
            f"Cannot fast-forward `{main}`: it has changesets the source does not have; "
            "merge with a merge commit instead"
        )
    assert merge(server, users["writer2"], pr_id) is None
    history = clone_log(world, repo_type, name, main)
    merge_id, parents = history[0]
    assert parents == [moved, ours[-1]]
    listed = [raw for raw, _ in history]
    assert set(ours) <= set(listed)
    push_entries = [row for row in journal(server, name) if row["action"] == "push"]
    assert push_entries[-1]["username"] == users["writer2"]
    assert push_entries[-1]["detail"].split(",") == [*ours, merge_id]
    assert server.ok("get_repo", repoid=name)["last_changeset"]["raw_id"] == merge_id
    verify(server, repo_type, name)


@pytest.mark.parametrize("repo_type", TYPES)
def test_conflicting_merge_is_refused_and_changes_nothing(world: World, repo_type: str) -> None:
    server, users = world.server, world.usernames
    main = MAIN[repo_type]
    name = world.new_repo(repo_type)
    work = work_copy(world, repo_type, name)
    commit(world, repo_type, work, "shared.txt", lines(3))
    push(world, repo_type, work, name, main)
    start_branch(world, repo_type, work, "topic")
    commit(world, repo_type, work, "shared.txt", lines(3, {2: "topic"}))
    push(world, repo_type, work, name, "topic")
    switch(world, repo_type, work, main)
    target_head = commit(world, repo_type, work, "shared.txt", lines(3, {2: "main"}))
    push(world, repo_type, work, name, main)

    pr_id = create(world, source_repo=name, target_repo=name, source_ref="topic", target_ref=main)
    server.ok("edit_reviewers", key(world, "writer"), pull_request_id=pr_id, add=users["reader"])
    server.ok("comment_pullrequest", key(world, "reader"), pull_request_id=pr_id, status="approved")
    # the last push's bookkeeping runs after its client had its answer: wait for it
    assert eventually(
        lambda: any(
            row["action"] == "push" and target_head in row["detail"]
            for row in journal(server, name)
        )
    )
    before = journal(server, name)
    assert merge(server, users["writer"], pr_id) == (
        "Merge conflict in shared.txt: merge the target into the source, push it, then merge again"
    )
    assert head_of(world, repo_type, name, main) == target_head
    assert server.ok("get_pullrequest", pullrequest_id=pr_id)["status"] == "new"
    assert journal(server, name) == before
    assert clone_log(world, repo_type, name, main)[0][0] == target_head
    verify(server, repo_type, name)


# --- §9 error paths -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_pr(world: World) -> tuple[str, int]:
    """A git repository with an open pull request from ``feature`` by ``writer``."""
    name = world.new_repo("git")
    work = work_copy(world, "git", name)
    start_branch(world, "git", work, "feature")
    commit(world, "git", work, "x.txt", "x\n")
    push(world, "git", work, name, "feature")
    return name, create(
        world, source_repo=name, target_repo=name, source_ref="feature", target_ref="master"
    )


def test_get_and_comment_errors(world: World, open_pr: tuple[str, int]) -> None:
    server = world.server
    _name, pr_id = open_pr
    # an id given as digits is the id (jsonrpc.md §7.2)
    assert server.ok("get_pullrequest", pullrequest_id=str(pr_id))["pull_request_id"] == pr_id
    assert (
        server.err("get_pullrequest", pullrequest_id=987654)
        == "pull request `987654` does not exist"
    )
    assert server.err("comment_pullrequest", pull_request_id=987654, status="bogus") == (
        "status must be one of approved,not_reviewed,rejected,under_review"
    )
    assert server.err("comment_pullrequest", pull_request_id=987654) == (
        "pull request `987654` does not exist"
    )
    assert server.err("get_pullrequest", pullrequest_id="abc") == (
        'Invalid value for `pullrequest_id`: expected an integer, got "abc"'
    )


def test_hidden_source_repository(world: World) -> None:
    """A private source hides the pull request from who cannot read it (Kallithea's texts)."""
    server, users = world.server, world.usernames
    name = world.new_repo("hg", private=True)
    work = work_copy(world, "hg", name)
    start_branch(world, "hg", work, "secret")
    commit(world, "hg", work, "s.txt", "s\n")
    push(world, "hg", work, name, "secret")
    pr_id = create(
        world, source_repo=name, target_repo=name, source_ref="branch:secret", target_ref="default"
    )
    outsider = key(world, "outsider")
    assert server.err("get_pullrequest", outsider, pullrequest_id=pr_id) == "not allowed"
    assert server.err("comment_pullrequest", outsider, pull_request_id=pr_id) == (
        "No permission to add comment. User needs at least reading permissions to the source repository."
    )
    assert server.err("edit_reviewers", outsider, pull_request_id=pr_id, add=users["reader"]) == (
        "No permission to edit reviewers of this pull request. User needs to be admin or pull request owner."
    )
    assert (
        server.err(
            "create_pull_request",
            outsider,
            source_repo=name,
            target_repo=name,
            source_ref="secret",
            target_ref="default",
        )
        == f"repository `{name}` does not exist"
    )
    # a public fork's list does not show pull requests from a hidden source
    public = world.new_repo("hg")
    assert (
        server.ok("get_repo", outsider, repoid=public, with_pullrequests=True)["pull_requests"]
        == []
    )


def test_edit_reviewers(world: World, open_pr: tuple[str, int]) -> None:
    server, users = world.server, world.usernames
    _name, pr_id = open_pr
    writer = key(world, "writer")
    assert server.err("edit_reviewers", writer, pull_request_id=pr_id) == (
        "Invalid request. Neither 'add' nor 'remove' is specified."
    )
    assert server.err("edit_reviewers", writer, pull_request_id=pr_id, add=[], remove=[]) == (
        "Invalid request. Neither 'add' nor 'remove' is specified."
    )
    assert server.err("edit_reviewers", writer, pull_request_id=987654, add="x") == (
        "pull request `987654` does not exist"
    )
    assert server.err("edit_reviewers", key(world, "reader"), pull_request_id=pr_id, add="x") == (
        "No permission to edit reviewers of this pull request. User needs to be admin or pull request owner."
    )
    assert (
        server.err(
            "edit_reviewers", writer, pull_request_id=pr_id, add=[users["reader"], "nobody-here"]
        )
        == "user `nobody-here` does not exist"
    )
    assert server.ok("get_pullrequest", pullrequest_id=pr_id)["reviewers"] == []
    assert server.err("edit_reviewers", writer, pull_request_id=pr_id, add="default") == (
        "user `default` is the anonymous user and cannot be a reviewer"
    )
    assert server.ok(
        "edit_reviewers", writer, pullrequest_id=pr_id, add=[users["writer2"], users["reader"]]
    ) == {
        "added": sorted([users["writer2"], users["reader"]]),
        "already_present": [],
        "removed": [],
    }
    assert server.ok(
        "edit_reviewers",
        writer,
        pull_request_id=pr_id,
        add=users["reader"],
        remove=[users["writer2"], users["outsider"]],
    ) == {
        "added": [],
        "already_present": [users["reader"]],
        "removed": sorted([users["writer2"], users["outsider"]]),
    }
    assert server.ok("get_pullrequest", pullrequest_id=pr_id)["reviewers"] == [
        {"username": users["reader"]}
    ]


def test_create_errors(world: World, open_pr: tuple[str, int]) -> None:
    server, users = world.server, world.usernames
    name, _ = open_pr
    writer = key(world, "writer")

    def err(**args: Any) -> str:
        base = {
            "source_repo": name,
            "target_repo": name,
            "source_ref": "feature",
            "target_ref": "master",
        }
        return server.err("create_pull_request", writer, **{**base, **args})

    assert err(source_repo="no-such-repo") == "repository `no-such-repo` does not exist"
    assert err(target_repo="no-such-repo") == "repository `no-such-repo` does not exist"
    assert err(owner=users["reader"]) == "Only an admin can specify `owner` param"
    assert err(source_ref="head:feature") == (
        "Ref `head:feature` given in a wrong format. Please check the API documentation for more details"
    )
    assert err(target_ref="branch:a:b:c") == (
        "Ref `branch:a:b:c` given in a wrong format. Please check the API documentation for more details"
    )
    assert err(source_ref="branch:nope") == "Changeset nope does not exist"
    assert err(source_ref="rev:" + "1" * 40) == f"Changeset {'1' * 40} does not exist"
    assert err(target_ref="feature") == "no commits found for merge between specified references"
    assert err(reviewers=["nobody-here"]) == "user `nobody-here` does not exist"
    other = world.new_repo("git")
    assert err(target_repo=other) == (
        f"repository `{other}` is neither `{name}` nor a repository of its fork family"
    )
    # unrelated history in one repository: an orphan branch
    work = work_copy(world, "git", name)
    world.clients.git("checkout", "-q", "--orphan", "alone", cwd=work)
    commit(world, "git", work, "alone.txt", "alone\n")
    push(world, "git", work, name, "alone")
    assert err(source_ref="alone") == "no common ancestor found between specified references"
    # admins may name the owner; the creator's comment is still the caller's
    pr_id = server.ok(
        "create_pull_request",
        source_repo=name,
        target_repo=name,
        source_ref="feature",
        target_ref="master",
        owner=users["writer2"],
    )["pull_request_id"]
    pr = server.ok("get_pullrequest", pullrequest_id=pr_id)
    assert pr["owner"] == users["writer2"]
    assert pr["comments"][0]["username"] == "admin"


def test_hg_bookmark_follows_pushes(world: World) -> None:
    server = world.server
    name = world.new_repo("hg")
    seed = head_of(world, "hg", name, "default")
    work = work_copy(world, "hg", name)
    world.clients.hg("bookmark", "feat", cwd=work)
    first = commit(world, "hg", work, "bm.txt", "1\n")
    world.clients.hg("push", "-f", "-B", "feat", world.url(name, "writer"), cwd=work)
    pr_id = create(
        world, source_repo=name, target_repo=name, source_ref="book:feat", target_ref=f"rev:{seed}"
    )
    pr = server.ok("get_pullrequest", pullrequest_id=pr_id)
    assert pr["org_ref_parts"] == ["book", "feat", first]
    assert pr["revisions"] == [first]
    second = commit(world, "hg", work, "bm.txt", "2\n")
    world.clients.hg("push", "-f", "-B", "feat", world.url(name, "writer"), cwd=work)
    assert eventually(
        lambda: server.ok("get_pullrequest", pullrequest_id=pr_id)["revisions"] == [first, second]
    )
    pr = server.ok("get_pullrequest", pullrequest_id=pr_id)
    assert pr["org_ref_parts"] == ["book", "feat", second]
    # a revision is no branch: nothing can be merged into it
    with service(server) as (db, settings):
        pull = pullrequests._find(db, pr_id)
        check = pullrequests.merge_check(db, actor(db, world.usernames["writer"]), settings, pull)
        assert check.error is not None
        assert check.error.text == (
            f"Cannot merge into rev `{seed}`: only a branch can receive a merge"
        )


def test_required_approvals_rejection_and_cleanup(make_server: Any, tmp_path: Path) -> None:
    """``pr_required_approvals`` = 2; a rejection blocks; owners cannot be deleted; deleting the
    repository deletes its pull requests; the journal feed tells the events."""
    server = make_server(pr_required_approvals=2)
    world = World.make(server, Clients(tmp_path))
    world.keys = {  # type: ignore[attr-defined]
        who: new_key(server, world.usernames[who]) for who in ("reader", "writer", "writer2")
    }
    users = world.usernames
    name = world.new_repo("git")
    seed = head_of(world, "git", name, "master")
    work = work_copy(world, "git", name)
    start_branch(world, "git", work, "two")
    head = commit(world, "git", work, "two.txt", "2\n")
    push(world, "git", work, name, "two")
    pr_id = create(
        world, source_repo=name, target_repo=name, source_ref="two", target_ref="master",
        reviewers=[users["reader"], users["writer2"]],
    )  # fmt: skip
    server.ok("comment_pullrequest", key(world, "reader"), pull_request_id=pr_id, status="approved")
    assert merge(server, users["writer"], pr_id) == (
        "pull request needs 2 approval(s) by reviewers, it has 1"
    )
    server.ok(
        "comment_pullrequest", key(world, "writer2"), pull_request_id=pr_id, status="rejected"
    )
    assert (
        merge(server, users["writer"], pr_id) == f"pull request is rejected by {users['writer2']}"
    )
    server.ok(
        "comment_pullrequest", key(world, "writer2"), pull_request_id=pr_id, status="approved"
    )
    assert merge(server, users["writer"], pr_id) is None  # a merge commit, though ff was possible
    history = clone_log(world, "git", name, "master")
    assert history[0][1] == [seed, head]

    owner = server.ok("get_user", userid=users["writer"])["user_id"]
    assert server.err("delete_user", userid=users["writer"]) == (
        f"failed to delete user ID:{owner} {users['writer']}"
    )
    feed = server.client.get("/_admin/public_journal/atom").text
    assert "[created] pull request for" in feed and "[merged] pull request into" in feed
    server.ok("delete_repo", repoid=name)
    assert server.err("get_pullrequest", pullrequest_id=pr_id) == (
        f"pull request `{pr_id}` does not exist"
    )


@pytest.mark.parametrize("repo_type", TYPES)
def test_a_merge_whose_transaction_fails_is_taken_back(world: World, repo_type: str) -> None:
    """The database did not commit after the branch moved: the undo hook moves it back."""
    server, users = world.server, world.usernames
    main = MAIN[repo_type]
    name = world.new_repo(repo_type)
    seed = head_of(world, repo_type, name, main)
    work = work_copy(world, repo_type, name)
    start_branch(world, repo_type, work, "undo")
    commit(world, repo_type, work, "undo.txt", "u\n")
    push(world, repo_type, work, name, "undo")
    pr_id = create(
        world, source_repo=name, target_repo=name, source_ref="undo", target_ref=main,
        reviewers=[users["reader"]],
    )  # fmt: skip
    server.ok("comment_pullrequest", key(world, "reader"), pull_request_id=pr_id, status="approved")
    with pytest.raises(RuntimeError), service(server) as (db, settings):
        pullrequests.merge(db, actor(db, users["writer"]), settings, pr_id)
        assert head_of(world, repo_type, name, main) != seed  # moved on disk already
        raise RuntimeError("the commit fails")
    assert head_of(world, repo_type, name, main) == seed
    assert server.ok("get_pullrequest", pullrequest_id=pr_id)["status"] == "new"
    verify(server, repo_type, name)
    assert merge(server, users["writer"], pr_id) is None  # and it still merges afterwards


@pytest.mark.parametrize("repo_type", TYPES)
def test_pages_show_the_pull_request(world: World, repo_type: str) -> None:
    """The list, the pull request with its inline comment under its line, and the hiding of a
    pull request asked for below another repository, as an anonymous browser sees them."""
    from tests.pagecheck import check_html as check

    server, users = world.server, world.usernames
    main = MAIN[repo_type]
    name = world.new_repo(repo_type)
    work = work_copy(world, repo_type, name)
    start_branch(world, repo_type, work, "paged")
    commit(world, repo_type, work, "p.txt", lines(4))
    push(world, repo_type, work, name, "paged")
    pr_id = create(
        world, source_repo=name, target_repo=name, source_ref="paged", target_ref=main,
        title="Paged <b>title</b>", description="Some `code`",
    )  # fmt: skip
    inline(server, users["reader"], pr_id, "p.txt", "n2", "about *line 2*")
    html = {"accept": "text/html"}
    shown = server.client.get(f"/{name}/pull-request/{pr_id}/_/paged", headers=html)
    assert shown.status_code == 200
    check(shown.text)
    assert "Paged &lt;b&gt;title&lt;/b&gt;" in shown.text
    assert "<code>code</code>" in shown.text
    row = shown.text.split('<tr class="inline-comments" data-line="n2">', 1)[1].split("</tr>")[0]
    assert "about <em>line 2</em>" in row
    listed = server.client.get(f"/{name}/pull-request", headers=html)
    assert f"/{name}/pull-request/{pr_id}" in listed.text
    other = world.new_repo(repo_type)
    elsewhere = server.client.get(f"/{other}/pull-request/{pr_id}", headers=html)
    missing = server.client.get(f"/{name}/pull-request/999999", headers=html)
    assert elsewhere.status_code == missing.status_code == 404

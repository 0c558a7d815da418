# SPDX-License-Identifier: GPL-3.0-or-later
"""Pull-request pages in a real headless Chromium (``tests/browser.py``) against a live server:
the owner creates a pull request from the compare view, a reviewer comments on a diff line
(posted without reloading the page) and approves, the owner merges; a private source hides the
pull request exactly like a missing one. Screenshots of the pull-request pages are saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.browser import shot, sign_in, sign_out
from tests.live import LiveServer, unique
from tests.vcs_clients import ADMIN, PASSWORD, Clients, repo_url


def _user(server: LiveServer, prefix: str) -> str:
    name = unique(prefix)
    server.ok("create_user", username=name, email=f"{name}@example.com", password=PASSWORD)
    return name


def _repo_with_branch(server: LiveServer, clients: Clients, writer: str, reviewer: str) -> str:
    name = unique("prweb")
    server.ok("create_repo", repo_name=name, repo_type="git")
    server.ok("grant_user_permission", repoid=name, userid=writer, perm="repository.write")
    server.ok("grant_user_permission", repoid=name, userid=reviewer, perm="repository.read")
    url = repo_url(server, name, *ADMIN)
    work = clients.seeded("git")
    clients.push("git", work, url)
    clients.git("checkout", "-q", "-b", "feature", cwd=work)
    clients.commit("git", work, "a.txt", "one\ntwo\nthree\n")
    clients.commit("git", work, "b.txt", "b\n")
    clients.push("git", work, url, branch="feature")
    return name


def _no_errors(page: Any) -> None:
    assert page.js_errors == [], page.js_errors


def test_create_comment_inline_approve_and_merge(
    page: Any, web_server: LiveServer, shots: Path, tmp_path: Path
) -> None:
    server = web_server
    owner, reviewer = _user(server, "owner"), _user(server, "rev")
    name = _repo_with_branch(server, Clients(tmp_path), owner, reviewer)

    # the owner compares master with feature and creates the pull request from there
    sign_in(page, owner, PASSWORD, f"/{name}/compare/master...feature")
    page.get_by_role("link", name="Create a pull request").click()
    page.wait_for_selector("#preview")
    assert "2 changesets to propose" in page.inner_text("#preview h2")
    page.get_by_label("Title").fill("Add a and b")
    page.get_by_label("Description (Markdown)").fill(
        "Adds **two** files.\n\n<script>alert(1)</script>"
    )
    page.get_by_label("Reviewers").fill(reviewer)
    with page.expect_navigation():
        page.get_by_role("button", name="Create pull request").click()
    assert "/pull-request/" in page.url
    assert page.inner_text("h1").endswith("Add a and b")
    assert page.inner_html("#description").count("<strong>two</strong>") == 1
    assert "<script" not in page.inner_html("#description")
    assert (
        page.inner_text("#merge-reason")
        == "pull request needs 1 approval(s) by reviewers, it has 0"
    )
    assert page.get_by_role("button", name="Merge").is_disabled()
    pr_path = page.url.split(server.url, 1)[1]
    shot(page, shots, "pullrequest-created")
    _no_errors(page)
    sign_out(page)

    # the reviewer comments on line 2 of a.txt without reloading, then approves
    sign_in(page, reviewer, PASSWORD, pr_path)
    page.evaluate("window.hearthMarker = 42")
    row = page.locator('table.pr-diff[data-path="a.txt"] tr[data-line="n2"]').first
    row.locator("button.add-comment").click()
    page.get_by_label("Comment on a.txt line n2").fill("Is *two* right?")
    page.locator("form.inline-form").get_by_role("button", name="Comment").click()
    page.wait_for_selector(".inline-comments .pr-comment")
    assert page.evaluate("window.hearthMarker") == 42  # the page was not reloaded
    assert "Is two right?" in page.inner_text(".inline-comments .pr-comment")
    # answered and resolved in place too
    inline_comment = page.locator(".inline-comments .pr-comment").first
    inline_comment.locator("input[name=text]").fill("Yes, two.")
    inline_comment.get_by_role("button", name="Answer").click()
    page.wait_for_selector(".inline-comments .pr-answer")
    assert "Yes, two." in page.inner_text(".inline-comments .pr-answer")
    inline_comment.get_by_role("button", name="Resolve").click()
    inline_comment.get_by_role("button", name="Reopen").wait_for()
    assert "resolved" in (inline_comment.get_attribute("class") or "")
    assert page.evaluate("window.hearthMarker") == 42
    page.get_by_label("Review status").select_option("approved")
    page.get_by_label("Comment (Markdown)").fill("Fine by me.")
    with page.expect_navigation():
        page.get_by_role("button", name="Comment", exact=True).last.click()
    assert "approved" in page.inner_text("#reviewers")
    # the inline comment survives a reload, under its line
    page.reload()
    assert "Is two right?" in page.inner_text('tr.inline-comments[data-line="n2"]')
    assert "Yes, two." in page.inner_text('tr.inline-comments[data-line="n2"]')
    assert page.locator("tr.inline-comments .pr-comment.resolved").count() == 1
    shot(page, shots, "pullrequest-reviewed")
    _no_errors(page)
    sign_out(page)

    # the owner merges; the API sees the merge
    sign_in(page, owner, PASSWORD, pr_path)
    assert page.get_by_role("button", name="Merge").is_enabled()
    with page.expect_navigation():
        page.get_by_role("button", name="Merge").click()
    assert page.inner_text("#pr-status") == "merged"
    shot(page, shots, "pullrequest-merged")
    pr_id = int(pr_path.split("/")[-1])
    assert server.ok("get_pullrequest", pullrequest_id=pr_id)["status"] == "closed"
    branches = server.ok("get_repo", repoid=name, with_revision_names=True)["branches"]
    merged = server.ok("get_changeset", repoid=name, raw_id=branches["master"])
    assert merged["message"].startswith(f"Merge pull request #{pr_id}")
    # lists: the repository's closed list and nothing left awaiting the reviewer
    page.goto(f"/{name}/pull-request?status=closed")
    assert "Add a and b" in page.inner_text("#pull-requests")
    page.goto("/_admin/my_pullrequests")
    assert "Add a and b" not in page.inner_text("#opened")
    _no_errors(page)


def _signed_in(server: LiveServer, username: str) -> tuple[httpx.Client, str]:
    """An HTTP client with a browser session of ``username``, and the session's CSRF token."""
    client = httpx.Client(base_url=server.url)
    form = client.get("/_admin/login").text
    token = form.split('name="_csrf" value="', 1)[1].split('"', 1)[0]
    signed = client.post(
        "/_admin/login",
        data={"_csrf": token, "username": username, "password": PASSWORD, "came_from": "/"},
    )
    assert signed.status_code in (302, 303)
    page = client.get("/_admin/my_pullrequests", headers={"accept": "text/html"}).text
    return client, page.split('name="_csrf" value="', 1)[1].split('"', 1)[0]


def test_page_actions_are_checked(web_server: LiveServer, tmp_path: Path) -> None:
    """A reader may comment but not merge or close; a post without the form's token changes
    nothing; the answer to a script is the comment's HTML or the refusal's text."""
    server = web_server
    owner, reader = _user(server, "owner"), _user(server, "rev")
    name = _repo_with_branch(server, Clients(tmp_path), owner, reader)
    pr_id = server.ok(
        "create_pull_request", source_repo=name, target_repo=name, source_ref="feature",
        target_ref="master", reviewers=[reader],
    )["pull_request_id"]  # fmt: skip
    base = f"/{name}/pull-request/{pr_id}"
    client, csrf = _signed_in(server, reader)
    try:
        refused = client.post(
            f"{base}/merge", data={"_csrf": csrf}, headers={"accept": "text/html"}
        )
        assert refused.status_code == 403
        assert "User needs write access to the target repository." in refused.text
        stale = client.post(f"{base}/comment", data={"text": "no token"})
        assert stale.status_code == 403 and "CSRF check failed" in stale.text
        fetched = client.post(
            f"{base}/comment",
            data={"_csrf": csrf, "text": "**ok**", "f_path": "a.txt", "line_no": "n1"},
            headers={"x-requested-with": "fetch"},
        )
        assert fetched.status_code == 200 and "<strong>ok</strong>" in fetched.text
        bad_line = client.post(
            f"{base}/comment",
            data={"_csrf": csrf, "text": "x", "f_path": "a.txt", "line_no": "n99"},
            headers={"x-requested-with": "fetch"},
        )
        assert (bad_line.status_code, bad_line.text) == (
            400,
            "Invalid line `n99`: use o<number> (old side) or n<number> (new side)",
        )
        closing = client.post(
            f"{base}/comment",
            data={"_csrf": csrf, "text": "closing", "close": "1"},
            headers={"x-requested-with": "fetch"},
        )
        assert closing.status_code == 400
        assert (
            closing.text == "No permission to close pull request. User needs to be admin or owner."
        )
    finally:
        client.close()
    pr = server.ok("get_pullrequest", pullrequest_id=pr_id)
    assert pr["status"] == "new"
    assert [c["text"] for c in pr["comments"]] == ["", "**ok**"]


def test_hidden_source_answers_like_missing(web_server: LiveServer, tmp_path: Path) -> None:
    """A pull request from a private fork into a public repository: someone who may read the
    target but not the fork gets exactly what a missing pull request gets."""
    server = web_server
    clients = Clients(tmp_path)
    owner, outsider = _user(server, "owner"), _user(server, "out")
    name = _repo_with_branch(server, clients, owner, owner)
    fork = unique("prfork")
    server.ok("fork_repo", repoid=name, fork_name=fork, private=True)
    work = clients.clone("git", repo_url(server, fork, *ADMIN)).dest
    clients.commit("git", work, "secret.txt", "s\n")
    clients.push("git", work, repo_url(server, fork, *ADMIN))
    pr_id = server.ok(
        "create_pull_request", source_repo=fork, target_repo=name, source_ref="master",
        target_ref="master",
    )["pull_request_id"]  # fmt: skip
    with httpx.Client(base_url=server.url) as client:
        form = client.get("/_admin/login").text
        token = form.split('name="_csrf" value="', 1)[1].split('"', 1)[0]
        signed = client.post(
            "/_admin/login",
            data={"_csrf": token, "username": outsider, "password": PASSWORD, "came_from": "/"},
        )
        assert signed.status_code in (302, 303)
        html = {"accept": "text/html"}
        assert client.get(f"/{name}/pull-request", headers=html).status_code == 200
        hidden = client.get(f"/{name}/pull-request/{pr_id}", headers=html)
        missing = client.get(f"/{name}/pull-request/999999", headers=html)
        assert hidden.status_code == missing.status_code == 404
        assert "Add a and b" not in hidden.text
        assert (
            hidden.text.replace(str(pr_id), "N").split("<main", 1)[1].split("</main>")[0]
            == missing.text.replace("999999", "N").split("<main", 1)[1].split("</main>")[0]
        )
        listing = client.get(f"/{name}/pull-request", headers=html).text
        assert f"/pull-request/{pr_id}" not in listing

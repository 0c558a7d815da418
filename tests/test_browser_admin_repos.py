# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository groups, repositories and their permissions administered in a real headless
Chromium (``tests/browser.py``) against a live server: the admin makes a group and a private
repository in it on the pages, grants a user write on the group with "apply to everything
inside"; the user sees the repository and pushes with git; after the revoke the push is refused
and the repository is gone from their home page. Deleting a non-empty group is refused on the
page. Screenshots of the main pages are saved (the folder is printed).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.browser import shot, sign_in, sign_out
from tests.live import LiveServer, unique
from tests.vcs_clients import Clients, repo_url

PASSWORD = "pw-Secret-42"
ADMIN = ("admin", "admin-secret-1")


def _no_errors(page: Any) -> None:
    assert page.js_errors == [], page.js_errors


def test_group_grant_push_revoke_and_refused_delete(
    page: Any, web_server: LiveServer, shots: Path, tmp_path: Path
) -> None:
    clients = Clients(tmp_path)
    user = unique("dev")
    web_server.ok("create_user", username=user, email=f"{user}@example.com", password=PASSWORD)
    group, name = unique("team"), unique("tool")

    sign_in(page, *ADMIN, "/_admin/repo_groups")
    page.fill("#group_name", group)
    page.fill("#description", "The team's work")
    page.click("#new-group button[type=submit]")
    page.wait_for_url(re.compile(r"/_admin/repo_groups/\d+/edit"))
    edit_url = page.url
    shot(page, shots, "admin-repo-group-edit")

    page.click("text=New repository here")
    page.select_option("#repo_type", "git")
    page.fill("#repo_name", name)
    page.fill("#repo_description", "A private tool")
    page.check("input[name=repo_private]")
    shot(page, shots, "repo-new")
    page.click("#repo-form button[type=submit]")
    full = f"{group}/{name}"
    page.wait_for_url(re.compile(f"/{re.escape(full)}$"))
    assert web_server.ok("get_repo", repoid=full)["private"] is True

    page.goto(f"/{full}/settings")
    shot(page, shots, "repo-settings")

    page.goto(edit_url)
    page.fill("#perm-name", user)
    page.select_option("#perm-level", "group.write")
    page.select_option("#perm-apply", "all")
    page.click("#perm-form button[type=submit]")
    page.wait_for_url(re.compile(r"done=granted"))
    assert page.locator("#perm-table", has_text=user).count() == 1
    shot(page, shots, "admin-repo-group-permissions")

    page.click("#delete-group")
    assert group in page.locator("#form-error").inner_text()
    assert group in {g["group_name"] for g in web_server.ok("get_repo_groups")}
    shot(page, shots, "admin-repo-group-delete-refused")
    assert page.js_errors == [
        "Failed to load resource: the server responded with a status of 409 (Conflict)"
    ]
    page.js_errors.clear()  # the refusal's own status, logged by Chromium
    page.goto("/_admin/repo_groups")
    shot(page, shots, "admin-repo-groups")
    page.goto("/_admin/repos")
    assert page.locator("#admin-repo-table", has_text=full).count() == 1
    shot(page, shots, "admin-repos")
    page.goto("/_admin/permissions")
    shot(page, shots, "admin-permissions")
    _no_errors(page)
    sign_out(page)

    sign_in(page, user, PASSWORD)
    assert page.locator("#repo-table", has_text=full).count() == 1
    url = repo_url(web_server, full, user, PASSWORD)
    work = clients.seeded("git")
    clients.push("git", work, url)
    assert web_server.ok("get_repo", repoid=full, with_revision_names=True)["branches"]
    page.goto(f"/{full}")
    page.click("#fork-link")
    shot(page, shots, "repo-fork")
    sign_out(page)

    sign_in(page, *ADMIN)
    page.goto(edit_url)
    page.fill("#perm-name", user)
    page.select_option("#perm-level", "revoke")
    page.select_option("#perm-apply", "all")
    page.click("#perm-form button[type=submit]")
    page.wait_for_url(re.compile(r"done=revoked"))
    assert page.locator("#perm-table", has_text=user).count() == 0
    sign_out(page)

    clients.commit("git", work)
    refused = clients.push("git", work, url, check=False)
    assert refused.returncode != 0
    sign_in(page, user, PASSWORD)
    assert page.locator("#repo-table", has_text=full).count() == 0
    _no_errors(page)
    response = page.goto(f"/{full}")
    assert response.status == 404

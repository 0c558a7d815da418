# SPDX-License-Identifier: GPL-3.0-or-later
"""The administration pages in a real headless Chromium (``tests/browser.py``) against a live
server: an admin creates a user in the browser, the user signs in; the admin puts them in a new
user group, gives the group write on a private repository and the explainer shows the chain of
rules; a non-admin gets the missing-page answer. Screenshots of the main admin pages are saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser import shot, sign_in, sign_out
from tests.live import LiveServer, unique

PASSWORD = "pw-Secret-42"
ADMIN = ("admin", "admin-secret-1")


def _no_errors(page: Any) -> None:
    assert page.js_errors == [], page.js_errors


def test_admin_creates_a_user_who_signs_in(page: Any, web_server: LiveServer, shots: Path) -> None:
    name = unique("bu")
    sign_in(page, *ADMIN, came_from="/_admin/users")
    page.get_by_role("link", name="New user").click()
    page.get_by_label("Username").fill(name)
    page.get_by_label("E-mail").fill("not-an-address")
    page.get_by_label("First name").fill("Bea")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    # the browser's own check stops a malformed address: turn it off to see the server's message
    page.eval_on_selector("#user-form", "f => f.noValidate = true")
    page.get_by_role("button", name="Create user").click()
    assert "is not an e-mail address" in page.locator("#form-error").inner_text()
    assert page.get_by_label("First name").input_value() == "Bea"  # what was typed is kept
    shot(page, shots, "admin-user-new-error")
    page.js_errors.clear()  # the browser logs the refused form's 400
    page.get_by_label("E-mail").fill(f"{name}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    page.wait_for_url("**/edit?done=created")
    assert "The user was created." in page.content()
    shot(page, shots, "admin-user-edit")
    page.goto("/_admin/users")
    assert page.locator(f'tr[data-name="{name}"]').count() == 1
    shot(page, shots, "admin-users")
    assert web_server.ok("get_user", userid=name)["firstname"] == "Bea"
    _no_errors(page)
    sign_out(page)
    sign_in(page, name, PASSWORD)
    assert page.get_by_role("link", name=name).count() >= 1  # the header shows who is signed in
    assert page.get_by_role("link", name="Manage").count() == 0
    _no_errors(page)
    answer = page.goto("/_admin/users")
    assert answer is not None and answer.status == 404
    assert "Repository not found" in page.content()  # what a missing page says


def test_user_group_and_explainer(page: Any, web_server: LiveServer, shots: Path) -> None:
    user = unique("bx")
    web_server.ok("create_user", username=user, email=f"{user}@example.com", password=PASSWORD)
    repo = web_server.new_repo(private=True)["repo_name"]
    group = unique("team")
    sign_in(page, *ADMIN, came_from="/_admin/user_groups")
    page.get_by_role("link", name="New user group").click()
    page.get_by_label("Name").fill(group)
    page.get_by_label("Description").fill("The browser team")
    page.get_by_role("button", name="Create user group").click()
    page.wait_for_url("**/edit?done=created")
    page.get_by_label("Add a user").fill(user)
    page.get_by_role("button", name="Add member").click()
    page.wait_for_url("**/edit?done=added")
    assert page.locator(f'#member-table tr[data-name="{user}"]').count() == 1
    shot(page, shots, "admin-user-group-edit")
    page.goto("/_admin/user_groups")
    shot(page, shots, "admin-user-groups")
    web_server.ok("grant_user_group_permission", repoid=repo, usergroupid=group,
                  perm="repository.write")  # fmt: skip
    page.goto("/_admin/permissions/explain")
    page.get_by_label("User", exact=True).fill(user)
    page.get_by_label("Object").select_option("repository")
    page.get_by_label("Name", exact=True).fill(repo)
    page.get_by_role("button", name="Explain").click()
    assert page.locator("#explain-permission").inner_text() == "repository.write"
    first = page.locator("#explain-rules li").first
    assert first.get_attribute("data-rule") == "user group" and group in first.inner_text()
    assert page.locator('#explain-rules li[data-rule="private"]').count() == 1
    shot(page, shots, "admin-explain")
    # revoked: the same question, the group's rule is gone
    web_server.ok("revoke_user_group_permission", repoid=repo, usergroupid=group)
    page.reload()
    assert page.locator("#explain-permission").inner_text() == "repository.none"
    assert page.locator('#explain-rules li[data-rule="user group"]').count() == 0
    for path, name in (("/_admin", "admin-journal"), ("/_admin/settings", "admin-settings"),
                       ("/_admin/server", "admin-server")):  # fmt: skip
        page.goto(path)
        shot(page, shots, name)
    _no_errors(page)

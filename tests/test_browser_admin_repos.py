# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 14's browser scenario, in a real headless Chromium (``tests/browser.py``) against a live
server. As admin, on the pages: create a user, a user group with the user in it (member picker),
a repository group and a private repository inside it; grant the user group write on the group
with "apply to everything inside" (the permission picker; a misspelt name answered on the form).
The explainer embedded in the repository settings, the group's page and the user group's
permission editor shows the chain of rules — the user group's, inherited from the repository
group. The user signs in, sees the repository and pushes with git; every admin page answers them
as a missing page does. After the revoke the explainer shows what is left, the push is refused
and the repository is gone from the user's home page. Deleting the non-empty group is refused.
Screenshots of the pages are saved (the folder is printed).
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

#: every administrators' page (``{g}``/``{ug}``/``{u}``: a repository group, user group, user id)
ADMIN_PAGES = (
    "/_admin",
    "/_admin/users",
    "/_admin/users/new",
    "/_admin/users/{u}/edit",
    "/_admin/users/{u}/delete",
    "/_admin/user_groups",
    "/_admin/user_groups/new",
    "/_admin/user_groups/{ug}/edit",
    "/_admin/repo_groups",
    "/_admin/repo_groups/{g}/edit",
    "/_admin/permissions",
    "/_admin/permissions/explain",
    "/_admin/settings",
    "/_admin/server",
)


def _no_errors(page: Any) -> None:
    assert page.js_errors == [], page.js_errors


def _main(page: Any) -> str:
    return str(page.locator("main").inner_html())


def _explain(page: Any, user: str) -> list[dict[str, str]]:
    """Ask the page's explainer about ``user``; the rules shown, strongest first."""
    page.fill("#explain-user", user)
    with page.expect_navigation():
        page.click("#explain button[type=submit]")
    assert page.url.split("#")[0].endswith(f"?explain={user}")
    page.evaluate("window.scrollTo(0, 0)")  # the screenshot from the top (the nav is sticky)
    rules = page.locator("#explain-rules li")
    return [
        {
            "rule": rules.nth(i).get_attribute("data-rule"),
            "text": rules.nth(i).inner_text(),
        }
        for i in range(rules.count())
    ]


def test_group_grant_to_a_user_group_push_revoke_explain_and_refusals(
    page: Any, web_server: LiveServer, shots: Path, tmp_path: Path
) -> None:
    clients = Clients(tmp_path)
    user, team = unique("dev"), unique("team")
    group, name = unique("proj"), unique("tool")
    full = f"{group}/{name}"

    # --- as admin: a user, a user group with the user in it --------------------------------
    sign_in(page, *ADMIN, came_from="/_admin/users/new")
    page.get_by_label("Username").fill(user)
    page.get_by_label("E-mail").fill(f"{user}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    page.wait_for_url(re.compile(r"/_admin/users/\d+/edit\?done=created"))
    user_id = re.search(r"/users/(\d+)/", page.url).group(1)  # type: ignore[union-attr]

    page.goto("/_admin/user_groups/new")
    page.get_by_label("Name").fill(team)
    page.get_by_role("button", name="Create user group").click()
    page.wait_for_url(re.compile(r"/_admin/user_groups/\d+/edit\?done=created"))
    team_id = re.search(r"/user_groups/(\d+)/", page.url).group(1)  # type: ignore[union-attr]
    assert page.locator(f'#user-choices option[value="{user}"]').count() == 1
    page.get_by_label("Add a user").fill(user)
    page.get_by_role("button", name="Add member").click()
    page.wait_for_url("**/edit?done=added")
    assert page.locator(f'#member-table tr[data-name="{user}"]').count() == 1

    # --- a repository group and a private repository inside it ------------------------------
    page.goto("/_admin/repo_groups")
    page.fill("#group_name", group)
    page.fill("#description", "The team's work")
    page.click("#new-group button[type=submit]")
    page.wait_for_url(re.compile(r"/_admin/repo_groups/\d+/edit"))
    edit_url = page.url.split("?")[0]
    group_id = edit_url.rstrip("/").split("/")[-2]
    shot(page, shots, "admin-repo-group-edit")
    page.click("text=New repository here")
    page.select_option("#repo_type", "git")
    page.fill("#repo_name", name)
    page.fill("#repo_description", "A private tool")
    page.check("input[name=repo_private]")
    shot(page, shots, "repo-new")
    page.click("#repo-form button[type=submit]")
    page.wait_for_url(re.compile(f"/{re.escape(full)}$"))
    assert web_server.ok("get_repo", repoid=full)["private"] is True

    # --- grant the user group write on the group, with everything inside -------------------
    page.goto(edit_url)
    assert page.locator(f'#perm-holders option[value="{team}"]').count() == 1  # the picker
    assert page.locator(f'#perm-holders option[value="{user}"]').count() == 1
    page.select_option("#perm-holder", "user_group")
    page.fill("#perm-name", team + "x")  # misspelt: answered on the form, nothing written
    page.select_option("#perm-level", "group.write")
    page.select_option("#perm-apply", "all")
    page.click("#perm-form button[type=submit]")
    assert f"user group `{team}x` does not exist" in page.locator("#perm-error").inner_text()
    assert page.input_value("#perm-name") == team + "x"
    assert page.input_value("#perm-apply") == "all" and page.input_value("#perm-level") == (
        "group.write"
    )
    assert page.locator("#perm-table", has_text=team).count() == 0
    shot(page, shots, "admin-repo-group-permission-error")
    page.js_errors.clear()  # Chromium logs the refused form's 400
    page.fill("#perm-name", team)
    page.click("#perm-form button[type=submit]")
    page.wait_for_url(re.compile(r"done=granted"))
    assert page.locator(f'#perm-table tr[data-name="{team}"]').count() == 1
    members = web_server.ok("get_repo", repoid=full)["members"]
    assert {"name": team, "type": "user_group", "permission": "repository.write"} in [
        {k: m[k] for k in ("name", "type", "permission")} for m in members
    ]

    # the explainer on the group's page: the user group's grant, made on the group itself
    rules = _explain(page, user)
    assert page.locator("#explain-permission").inner_text() == "group.write"
    assert rules[0]["rule"] == "user group" and team in rules[0]["text"]
    assert "inherited" not in rules[0]["text"] and "(decides)" in rules[0]["text"]
    shot(page, shots, "admin-repo-group-explain")

    # ... on the repository's settings: the same grant, inherited from the group
    page.goto(f"/{full}/settings")
    rules = _explain(page, user)
    assert page.locator("#explain-permission").inner_text() == "repository.write"
    assert rules[0]["rule"] == "user group"
    assert f"{team}, inherited from repository group {group}" in rules[0]["text"]
    private = [r for r in rules if r["rule"] == "private"]
    assert len(private) == 1 and "(overridden)" in private[0]["text"]
    shot(page, shots, "repo-settings-explain")

    # ... on the user group's permission editor: the default user's read on the group
    page.goto(f"/_admin/user_groups/{team_id}/permissions")
    rules = _explain(page, user)
    assert page.locator("#explain-permission").inner_text() == "usergroup.read"
    assert rules[0]["rule"] == "default user"
    shot(page, shots, "user-group-perms-explain")

    # --- a non-empty group cannot be deleted -------------------------------------------------
    page.goto(edit_url)
    page.click("#delete-group")
    assert group in page.locator("#form-error").inner_text()
    assert group in {g["group_name"] for g in web_server.ok("get_repo_groups")}
    shot(page, shots, "admin-repo-group-delete-refused")
    assert page.js_errors == [
        "Failed to load resource: the server responded with a status of 409 (Conflict)"
    ]
    page.js_errors.clear()  # the refusal's own status, logged by Chromium
    for path, shot_name in (
        ("/_admin/repo_groups", "admin-repo-groups"),
        ("/_admin/repos", "admin-repos"),
        ("/_admin/permissions", "admin-permissions"),
    ):
        page.goto(path)
        shot(page, shots, shot_name)
    _no_errors(page)
    sign_out(page)

    # --- the user sees the repository and pushes with git ------------------------------------
    sign_in(page, user, PASSWORD)
    assert page.locator("#repo-table", has_text=full).count() == 1
    url = repo_url(web_server, full, user, PASSWORD)
    work = clients.seeded("git")
    clients.push("git", work, url)
    assert web_server.ok("get_repo", repoid=full, with_revision_names=True)["branches"]
    page.goto(f"/{full}")
    page.click("#fork-link")
    shot(page, shots, "repo-fork")
    # every admin page answers the user exactly as a missing page does
    missing = page.goto(f"/_admin/{unique('no-such-page')}")
    assert missing is not None and missing.status == 404
    missing_main = _main(page)
    for path in ADMIN_PAGES:
        path = path.format(g=group_id, ug=team_id, u=user_id)
        answer = page.goto(path)
        assert answer is not None and answer.status == 404, path
        assert _main(page) == missing_main, path
    page.js_errors.clear()  # Chromium logs each 404
    sign_out(page)

    # --- revoke on the group, with everything inside ------------------------------------------
    sign_in(page, *ADMIN)
    page.goto(edit_url)
    page.select_option("#perm-holder", "user_group")
    page.fill("#perm-name", team)
    page.select_option("#perm-level", "revoke")
    page.select_option("#perm-apply", "all")
    page.click("#perm-form button[type=submit]")
    page.wait_for_url(re.compile(r"done=revoked"))
    assert page.locator(f'#perm-table tr[data-name="{team}"]').count() == 0
    page.goto(f"/{full}/settings?explain={user}#explain")
    assert page.locator("#explain-permission").inner_text() == "repository.none"
    rules = page.locator("#explain-rules li")
    assert page.locator('#explain-rules li[data-rule="user group"]').count() == 0
    assert rules.first.get_attribute("data-rule") == "private"
    shot(page, shots, "repo-settings-explain-revoked")
    _no_errors(page)
    sign_out(page)

    clients.commit("git", work)
    refused = clients.push("git", work, url, check=False)
    assert refused.returncode != 0
    sign_in(page, user, PASSWORD)
    assert page.locator("#repo-table", has_text=full).count() == 0
    _no_errors(page)
    response = page.goto(f"/{full}")
    assert response is not None and response.status == 404

# SPDX-License-Identifier: GPL-3.0-or-later
"""The people's pages in a real headless Chromium (``tests/browser.py``) against a live server:
signing in, pushing with git and hg and finding the result on the home and summary pages, an API
key's whole life on My account (made, used by ``git clone`` and the JSON-RPC API, revoked and
refused by both), a private repository hidden from another user exactly like a missing one, a form
posted without its CSRF token changing nothing. Screenshots of the main pages are saved (the
folder is printed).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import shot, sign_in, sign_out
from tests.live import LiveServer, unique
from tests.vcs_clients import Clients

PASSWORD = "pw-Secret-42"
ADMIN = ("admin", "admin-secret-1")


def _user(server: LiveServer) -> dict[str, Any]:
    name = unique("pu")
    return server.ok(
        "create_user",
        username=name,
        email=f"{name}@example.com",
        password=PASSWORD,
        firstname="Pat",
        lastname="User",
    )["user"]


def _url(server: LiveServer, name: str, login: str = "", secret: str = "") -> str:
    auth = (login + (f":{secret}" if secret else "") + "@") if login else ""
    return f"http://{auth}127.0.0.1:{server.port}/{name}"


def _push_readme(clients: Clients, server: LiveServer, kind: str, name: str, text: str) -> str:
    """Clone the empty ``name``, commit a README, push as admin; the new tip's id."""
    url = _url(server, name, *ADMIN)
    work = clients.clone(kind, url).dest
    clients.commit(kind, work, "README.md", text)
    clients.commit(kind, work, "main.py", "print('hello')\n")
    clients.push(kind, work, url)
    return clients.tip(kind, work)


def _no_errors(page: Any) -> None:
    assert page.js_errors == [], page.js_errors


def test_sign_in_push_and_find_on_home_and_summary(
    page: Any, web_server: LiveServer, shots: Path, tmp_path: Path
) -> None:
    clients = Clients(tmp_path)
    group = unique("team")
    web_server.ok("create_repo_group", group_name=group, description="The team's work")
    names = {}
    for kind in ("git", "hg"):
        name = f"{group}/{unique(kind)}"
        web_server.ok("create_repo", repo_name=name, repo_type=kind, description=f"a {kind} tool")
        names[kind] = name
    tips = {
        kind: _push_readme(clients, web_server, kind, name, f"# The {kind} tool\n\n*Works.*\n")
        for kind, name in names.items()
    }

    sign_in(page, *ADMIN)
    assert page.get_by_role("link", name="admin").is_visible()
    page.goto("/")
    assert page.get_by_role("link", name=group).first.is_visible()
    shot(page, shots, "home")
    page.get_by_role("link", name=group).first.click()
    page.wait_for_url(re.compile(f"/{group}$"))
    for kind, name in names.items():
        row = page.locator("#repo-table tr", has_text=name.split("/")[1])
        assert row.locator(".badge").first.inner_text() == kind
        assert tips[kind][:12] in row.inner_text()
    # filter as you type hides the other repository's row on the page
    page.get_by_placeholder("Filter this page…").fill(names["hg"].split("/")[1])
    assert page.locator("#repo-table tbody tr:visible").count() == 1
    shot(page, shots, "group")

    for kind, name in names.items():
        page.goto(f"/{name}")
        assert page.locator("#readme h1").inner_text() == f"The {kind} tool"
        assert page.locator("#readme em").inner_text() == "Works."
        latest = page.locator("#latest li")
        assert latest.count() == 2
        assert tips[kind][:12] in latest.first.inner_text()
        assert page.locator("#clone-http").input_value() == _url(web_server, name)
        assert page.locator("#clone-user").input_value() == _url(web_server, name, "admin")
        assert page.locator("button.copy").first.is_visible()  # the script ran
        shot(page, shots, f"summary-{kind}")
    # the creator follows a new repository; unfollow, then follow again
    assert page.locator("#followers").inner_text() == "1"
    page.get_by_role("button", name="Unfollow", exact=True).click()
    page.get_by_role("button", name="Follow", exact=True).wait_for()
    assert page.locator("#followers").inner_text() == "0"
    page.get_by_role("button", name="Follow", exact=True).click()
    page.get_by_role("button", name="Unfollow", exact=True).wait_for()
    assert page.locator("#followers").inner_text() == "1"
    page.goto("/_admin/journal")
    assert page.locator("#journal").inner_text().count(names["hg"]) >= 1
    # a phone, and the dark scheme
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/{names['git']}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the summary scrolls sideways on a phone ({width}px)"
    shot(page, shots, "summary-phone")
    page.emulate_media(color_scheme="dark")
    page.goto("/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(251, 250, 248)", "no dark scheme"
    shot(page, shots, "home-dark-phone")
    _no_errors(page)


def test_api_key_made_used_and_revoked(
    page: Any, web_server: LiveServer, shots: Path, tmp_path: Path
) -> None:
    clients = Clients(tmp_path)
    user = _user(web_server)
    name = unique("keyrepo")
    web_server.ok(
        "create_repo", repo_name=name, repo_type="git", owner=user["username"], private=True
    )
    _push_readme(clients, web_server, "git", name, "# Private\n")

    sign_in(page, user["username"], PASSWORD, "/_admin/my_account")
    page.wait_for_url(re.compile("/_admin/my_account"))
    page.get_by_label("Description").fill("CI on build01")
    page.get_by_label("Role").select_option("all")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key-value").input_value()
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    row = page.locator("#key-table tr", has_text="CI on build01")
    assert f"…{key[-4:]}" in row.inner_text()
    shot(page, shots, "my-account")
    # shown exactly once: the page again does not hold it
    page.goto("/_admin/my_account")
    assert key not in page.content()
    assert page.locator("#new-key-value").count() == 0

    clone = clients.clone("git", _url(web_server, name, user["username"], key))
    assert (clone.dest / "README.md").read_text() == "# Private\n"
    reply = web_server.call("get_user", key)
    assert reply["error"] is None and reply["result"]["username"] == user["username"]
    page.goto("/_admin/my_account")
    assert (
        "never"
        not in page.locator("#key-table tr", has_text="CI on build01")
        .locator("td")
        .nth(4)
        .inner_text()
    )  # the last use is shown

    page.locator("#key-table tr", has_text="CI on build01").get_by_role(
        "button", name="Revoke"
    ).click()
    page.wait_for_url(re.compile("done=key_revoked"))
    assert page.locator("#key-table tr", has_text="CI on build01").count() == 0
    refused = clients.clone("git", _url(web_server, name, user["username"], key), False)
    assert refused.returncode != 0
    assert web_server.call("get_user", key)["error"] == "Invalid API key"
    _no_errors(page)


def test_private_repository_looks_missing_to_another_user(
    page: Any, web_server: LiveServer
) -> None:
    owner, other = _user(web_server), _user(web_server)
    name = unique("secret")
    web_server.ok(
        "create_repo", repo_name=name, repo_type="hg", owner=owner["username"], private=True
    )
    missing = unique("missing")

    # anonymous: both sent to sign in
    for path in (name, missing):
        page.goto(f"/{path}")
        assert "/_admin/login?came_from=" in page.url
    sign_in(page, other["username"], PASSWORD)
    answers = []
    for path in (name, missing):
        response = page.goto(f"/{path}")
        answers.append((response.status, page.locator("main").inner_text()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404
    page.goto("/")
    assert page.locator("#repo-table", has_text=name).count() == 0
    page.goto(f"/?q={name}")
    assert name not in page.locator("main").inner_text().replace(f"“{name}”", "")
    sign_out(page)
    sign_in(page, owner["username"], PASSWORD, f"/{name}")
    page.wait_for_url(re.compile(f"/{name}$"))
    assert page.locator("h1").first.inner_text().startswith(name)


def test_form_without_csrf_token_changes_nothing(page: Any, web_server: LiveServer) -> None:
    user = _user(web_server)
    sign_in(page, user["username"], PASSWORD, "/_admin/my_account")
    page.wait_for_url(re.compile("/_admin/my_account"))
    keys_before = page.locator("#key-table tbody tr").count()
    form = page.locator("form[action='/_admin/my_account/api_keys']")
    form.locator("input[name=_csrf]").evaluate("input => input.remove()")
    page.get_by_label("Description").fill("sneaky")
    with page.expect_response(re.compile("/_admin/my_account/api_keys$")) as answer:
        page.get_by_role("button", name="Create key").click()
    assert answer.value.status == 403
    assert "CSRF" in page.locator("main").inner_text()
    page.goto("/_admin/my_account")
    assert page.locator("#key-table tbody tr").count() == keys_before
    assert "sneaky" not in page.content()
    # a wrong token too, posted from outside the page
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    answer2 = httpx.post(
        f"{web_server.url}/_admin/my_account/emails",
        data={"_csrf": "forged", "new_email": "x@example.com"},
        cookies=cookies,
    )
    assert answer2.status_code == 403
    page.goto("/_admin/my_account")
    assert "x@example.com" not in page.content()


def test_sign_in_refusals(page: Any, web_server: LiveServer, shots: Path) -> None:
    user = _user(web_server)
    page.goto("/_admin/login")
    page.get_by_label("User name or e-mail").fill(user["username"])
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert "Wrong user name or password" in page.locator("[role=alert]").inner_text()
    shot(page, shots, "sign-in-refused")
    web_server.ok("update_user", userid=user["username"], active=False)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert "disabled" in page.locator("[role=alert]").inner_text()
    web_server.ok("update_user", userid=user["username"], active=True)
    # by e-mail, any case
    sign_in(page, user["email"].upper(), PASSWORD)
    assert page.get_by_role("link", name=user["username"]).is_visible()
    session = next(c for c in page.context.cookies() if c["name"] == "hearth_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"


@pytest.mark.parametrize("path", ["/", "/_admin/public_journal", "/_admin/gists"])
def test_public_pages_render_without_script_errors(
    page: Any, web_server: LiveServer, path: str
) -> None:
    response = page.goto(path)
    assert response.status == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    _no_errors(page)

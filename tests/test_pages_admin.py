# SPDX-License-Identifier: GPL-3.0-or-later
"""The administration pages (issue 14) over HTTP against live servers (SQLite and PostgreSQL):
every admin page refused to non-admins exactly as a missing page; users and user groups created,
edited and deleted through their forms, with the API seeing the same; bad input answered on the
form with what was typed and nothing stored; the explainer, journal, settings and server pages.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.live import LiveServer, unique
from tests.pagecheck import check_html, client, csrf_of, page_of, signed_in
from tests.vcs_clients import ADMIN

PASSWORD = "pw-Secret-42"

ADMIN_PAGES = [
    "/_admin/users",
    "/_admin/users/new",
    "/_admin/users/1/edit",
    "/_admin/users/1/delete",
    "/_admin/user_groups",
    "/_admin/user_groups/new",
    "/_admin/permissions/explain",
    "/_admin",
    "/_admin/settings",
    "/_admin/server",
]
ADMIN_POSTS = [
    "/_admin/users/new",
    "/_admin/users/1/edit",
    "/_admin/users/1/password",
    "/_admin/users/1/delete",
    "/_admin/user_groups/new",
]


def _user(server: LiveServer, prefix: str = "ad", **fields: Any) -> dict[str, Any]:
    name = unique(prefix)
    return server.ok(
        "create_user", username=name, email=f"{name}@example.com", password=PASSWORD, **fields
    )["user"]


def _admin(server: LiveServer) -> httpx.Client:
    return signed_in(server, *ADMIN)


def _main(text: str) -> str:
    """The page's own part (the header and footer are the same on every page)."""
    found = re.search(r"<main.*</main>", text, re.S)
    assert found is not None
    return found.group(0)


def _missing(browser: httpx.Client) -> httpx.Response:
    return browser.get("/_admin/no-such-page-at-all")


def test_admin_pages_refused_like_missing_ones(server: LiveServer) -> None:
    user = _user(server)
    member = signed_in(server, user["username"], PASSWORD)
    missing = _missing(member)
    assert missing.status_code == 404
    token = csrf_of(page_of(member, "/_admin/my_account"))
    for path in ADMIN_PAGES:
        answer = member.get(path)
        assert answer.status_code == 404, path
        assert _main(answer.text) == _main(missing.text), path
    for path in ADMIN_POSTS:
        answer = member.post(path, data={"_csrf": token, "username": "x", "email": "x@x.org"})
        assert answer.status_code == 404, path
    # not signed in: sent to sign in, as for a missing page; other clients: the plain 404
    anonymous = client(server)
    plain_missing = httpx.get(server.url + "/_admin/no-such-page-at-all")
    assert plain_missing.status_code == 404
    for path in ADMIN_PAGES:
        answer = anonymous.get(path)
        assert answer.status_code == 302 and "/_admin/login" in answer.headers["location"], path
        plain = httpx.get(server.url + path)
        assert (plain.status_code, plain.text) == (404, plain_missing.text), path
    # nothing was created by the refused POSTs
    assert all(u["username"] != "x" for u in server.ok("get_users"))


def test_admin_pages_render(server: LiveServer) -> None:
    browser = _admin(server)
    for path in ADMIN_PAGES:
        text = page_of(browser, path.replace("/1/", f"/{_user(server)['user_id']}/"))
        assert 'aria-label="Administration"' in text, path
        assert 'aria-current="page"' in text, path


def test_users_list_filter_and_paging(server: LiveServer) -> None:
    tag = unique("flt")
    made = [
        server.ok("create_user", username=f"{tag}{i:02d}", email=f"{tag}{i}@example.com")["user"]
        for i in range(27)
    ]
    browser = _admin(server)
    first = page_of(browser, f"/_admin/users?q={tag}")
    assert "27 users" in first
    names = re.findall(r'<tr data-name="([^"]+)"', first)
    assert names == [u["username"] for u in made[:25]]
    assert 'rel="next"' in first
    second = page_of(browser, f"/_admin/users?q={tag}&page=2")
    assert re.findall(r'<tr data-name="([^"]+)"', second) == [u["username"] for u in made[25:]]
    by_mail = page_of(browser, f"/_admin/users?q={tag}3@EXAMPLE")
    assert re.findall(r'<tr data-name="([^"]+)"', by_mail) == [made[3]["username"]]
    nothing = page_of(browser, "/_admin/users?q=%25_%25")
    assert "No users" in nothing


def _post(browser: httpx.Client, path: str, **data: str) -> httpx.Response:
    token = csrf_of(page_of(browser, "/_admin/users"))
    return browser.post(path, data={"_csrf": token, **data})


def test_create_edit_password_and_delete_a_user(server: LiveServer) -> None:
    browser = _admin(server)
    name = unique("made")
    form = {
        "username": name,
        "email": f"{name}@example.com",
        "firstname": "Ada",
        "lastname": "Lovelace",
        "extern_type": "internal",
        "active": "on",
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
    }
    # bad input: the message on the form, what was typed kept, nothing stored
    for change, message in (
        ({"username": "bad name!"}, "Invalid username"),
        ({"email": "not-an-address"}, "is not an e-mail address"),
        ({"password_confirmation": "other"}, "The two passwords differ"),
        ({"username": "admin"}, "already exist"),
    ):
        refused = _post(browser, "/_admin/users/new", **{**form, **change})
        assert refused.status_code == 400, change
        check_html(refused.text)
        assert message in refused.text, change
        assert 'value="Lovelace"' in refused.text
        assert 'id="form-error"' in refused.text
        assert server.err("get_user", None, userid=name) == f"user `{name}` does not exist"
    made = _post(browser, "/_admin/users/new", **form)
    assert made.status_code == 303
    location = made.headers["location"]
    user = server.ok("get_user", userid=name)
    assert (user["firstname"], user["lastname"], user["active"]) == ("Ada", "Lovelace", True)
    assert location == f"/_admin/users/{user['user_id']}/edit?done=created"
    signed_in(server, name, PASSWORD)  # the password works
    edit = f"/_admin/users/{user['user_id']}"
    saved = _post(browser, f"{edit}/edit", **{**form, "firstname": "Augusta", "active": ""})
    assert saved.status_code == 303
    assert server.ok("get_user", userid=name)["firstname"] == "Augusta"
    assert server.ok("get_user", userid=name)["active"] is False
    assert _post(browser, f"{edit}/edit", **{**form, "firstname": "Augusta"}).status_code == 303
    taken = _post(browser, f"{edit}/edit", **{**form, "email": "ADMIN@example.com"})
    if "admin@example.com" in {e for u in server.ok("get_users") for e in u["emails"]}:
        assert taken.status_code == 400 and "already exist" in taken.text
    short = _post(browser, f"{edit}/password", password="short", password_confirmation="short")
    assert short.status_code == 400 and "at least 8 characters" in short.text
    set_pw = _post(browser, f"{edit}/password", password="new-" + PASSWORD,
                   password_confirmation="new-" + PASSWORD)  # fmt: skip
    assert set_pw.status_code == 303
    # e-mails, keys and IP rules for them
    assert (
        _post(browser, f"{edit}/emails", new_email=f"second-{name}@example.com").status_code == 303
    )
    assert f"second-{name}@example.com" in server.ok("get_user", userid=name)["emails"]
    key_page = _post(browser, f"{edit}/api_keys", description="for ci", role="api")
    assert key_page.status_code == 200
    key = re.search(r'id="new-key-value"[^>]*value="([0-9a-f]{40})"', key_page.text).group(1)
    assert server.ok("get_user", key)["username"] == name
    bad_ip = _post(browser, f"{edit}/ips", ip="999.1.2.3")
    assert bad_ip.status_code == 400 and "Invalid value for `IP rule`" in bad_ip.text
    assert _post(browser, f"{edit}/ips", ip="192.0.2.7/24").status_code == 303
    assert server.ok("get_ip", userid=name)["user_ips"][0]["ip_addr"] == "192.0.2.0/24"
    assert _post(browser, f"{edit}/ips/delete", ip="192.0.2.0/24").status_code == 303
    assert server.ok("get_ip", userid=name)["user_ips"] == []
    # delete: what they own is given to the admin, or deleted
    repo = server.new_repo(owner=name)["repo_name"]
    asked = page_of(browser, f"{edit}/delete")
    assert repo in asked and 'value="delete"' in asked
    gone = _post(browser, f"{edit}/delete", repositories="reassign")
    assert gone.status_code == 303
    assert server.err("get_user", None, userid=name) == f"user `{name}` does not exist"
    assert server.ok("get_repo", repoid=repo)["owner"] == "admin"


def test_delete_a_user_with_their_repositories(server: LiveServer) -> None:
    browser = _admin(server)
    user = _user(server)
    repo = server.new_repo(owner=user["username"])["repo_name"]
    path = f"/_admin/users/{user['user_id']}/delete"
    odd = _post(browser, path, repositories="burn")
    assert odd.status_code == 400
    assert server.ok("get_repo", repoid=repo)["owner"] == user["username"]
    assert _post(browser, path, repositories="delete").status_code == 303
    assert server.err("get_repo", None, repoid=repo) == f"repository `{repo}` does not exist"
    me = server.ok("get_user", userid="admin")["user_id"]
    refused = _post(browser, f"/_admin/users/{me}/delete", repositories="reassign")
    assert refused.status_code == 400 and "cannot delete your own account" in refused.text


def test_forms_need_the_csrf_token(server: LiveServer) -> None:
    browser = _admin(server)
    name = unique("nocsrf")
    answer = browser.post("/_admin/users/new", data={"username": name, "email": f"{name}@x.org"})
    assert answer.status_code == 403
    assert server.err("get_user", None, userid=name) == f"user `{name}` does not exist"


def test_user_groups_pages(server: LiveServer) -> None:
    browser = _admin(server)
    member = _user(server)
    name = unique("ug")
    for bad, message in (("", "empty name"), ("a/b", "character `/` is not allowed")):
        refused = _post(browser, "/_admin/user_groups/new", group_name=bad, description="kept <d>")
        assert refused.status_code == 400 and message in refused.text
        assert "kept &lt;d&gt;" in refused.text
    made = _post(browser, "/_admin/user_groups/new", group_name=name, description="d", active="on")
    assert made.status_code == 303
    group = server.ok("get_user_group", usergroupid=name)
    assert group["active"] is True and group["owner"] == "admin"
    taken = _post(browser, "/_admin/user_groups/new", group_name=name)
    assert taken.status_code == 400 and "already exist" in taken.text
    path = f"/_admin/user_groups/{group['users_group_id']}"
    listed = page_of(browser, f"/_admin/user_groups?q={name}")
    assert re.findall(r'<tr data-name="([^"]+)"', listed) == [name]
    edit = page_of(browser, f"{path}/edit")
    assert f'<option value="{member["username"]}">' in edit  # the picker offers the user
    unknown = _post(browser, f"{path}/members", username="no-such-user-here")
    assert unknown.status_code == 400 and "does not exist" in unknown.text
    assert 'value="no-such-user-here"' in unknown.text
    assert _post(browser, f"{path}/members", username=member["username"]).status_code == 303
    got = server.ok("get_user_group", usergroupid=name)
    assert [m["username"] for m in got["members"]] == [member["username"]]
    saved = _post(browser, f"{path}/edit", group_name=name + "x", description="new", owner="admin")
    assert saved.status_code == 303
    renamed = server.ok("get_user_group", usergroupid=name + "x")
    assert (renamed["group_description"], renamed["active"]) == ("new", False)
    assert _post(browser, f"{path}/members/delete", username=member["username"]).status_code == 303
    assert server.ok("get_user_group", usergroupid=name + "x")["members"] == []
    # a group with a permission on a repository is not deleted
    repo = server.new_repo()["repo_name"]
    server.ok("grant_user_group_permission", repoid=repo, usergroupid=name + "x",
              perm="repository.read")  # fmt: skip
    refused = _post(browser, f"{path}/delete")
    assert refused.status_code == 400 and f"User Group assigned to {repo}" in refused.text
    server.ok("revoke_user_group_permission", repoid=repo, usergroupid=name + "x")
    assert _post(browser, f"{path}/delete").status_code == 303
    assert server.err("get_user_group", usergroupid=name + "x").endswith("does not exist")


def test_explainer_page(server: LiveServer) -> None:
    browser = _admin(server)
    user = _user(server)
    repo = server.new_repo(private=True)["repo_name"]
    server.ok(
        "grant_user_permission", repoid=repo, userid=user["username"], perm="repository.write"
    )
    text = page_of(browser, f"/_admin/permissions/explain?user={user['username']}&type=repository"
                   f"&name={repo}")  # fmt: skip
    api = server.ok("explain_permission", userid=user["username"], repoid=repo)
    shown = re.search(r'id="explain-permission">([^<]+)<', text)
    assert shown is not None and shown.group(1) == api["permission"] == "repository.write"
    rules = re.findall(r'<li class="(effective|overridden)" data-rule="([^"]+)"', text)
    assert rules == [("effective" if b["effective"] else "overridden", b["rule"])
                     for b in api["because"]]  # fmt: skip
    assert rules[0] == ("effective", "direct grant")
    missing = browser.get("/_admin/permissions/explain?user=nobody-at-all&type=repository&name=x")
    assert missing.status_code == 400 and "user `nobody-at-all` does not exist" in missing.text
    assert 'value="nobody-at-all"' in missing.text


def test_admin_journal_filters_and_pages(server: LiveServer) -> None:
    user = _user(server)
    private = server.new_repo(private=True)["repo_name"]
    public = server.new_repo()["repo_name"]
    server.ok("delete_repo", repoid=public)
    browser = _admin(server)
    text = page_of(browser, "/_admin")
    assert private in text  # private repositories too
    assert public in text  # and entries of deleted ones
    mine = page_of(browser, f"/_admin?repo={private}")
    actions = re.findall(r'<tr data-action="([^"]+)"', mine)
    assert actions and set(actions) == {"user_created_repo"}
    deleted = page_of(browser, f"/_admin?action=user_deleted_repo&repo={public}")
    assert re.findall(r'<tr data-action="([^"]+)"', deleted) == ["user_deleted_repo"]
    nobody = page_of(browser, f"/_admin?user={user['username']}")
    assert "No entries match the filter" in nobody
    tag = unique("jp")
    for i in range(51):
        server.ok("create_repo", repo_name=f"{tag}-{i:02d}", repo_type="git")
    first = page_of(browser, f"/_admin?repo={tag}")
    assert len(re.findall(r"<tr data-action=", first)) == 50 and 'rel="next"' in first
    assert f"{tag}-50" in first and f"{tag}-00<" not in first
    second = page_of(browser, f"/_admin?repo={tag}&page=2")
    assert len(re.findall(r"<tr data-action=", second)) == 1 and f"{tag}-00<" in second


def test_settings_and_server_pages(server: LiveServer) -> None:
    browser = _admin(server)
    text = page_of(browser, "/_admin/settings")
    rows = dict(re.findall(
        r'<tr data-name="([^"]+)">\s*<td class="mono">[^<]*</td>\s*<td class="mono">.*?</td>'
        r"\s*<td class=\"small\">(.*?)</td>", text, re.S))  # fmt: skip
    assert "environment (HEARTH_DATABASE_URL)" in rows["database_url"]
    assert "default" in rows["feed_items"]
    assert ADMIN[1] not in text
    info = page_of(browser, "/_admin/server")
    for word in ("Hearth", "Python", "Git", "Mercurial", "Repositories", "Dialect", "Task queue"):
        assert word in info, word

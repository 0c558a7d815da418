# SPDX-License-Identifier: GPL-3.0-or-later
"""The permission editors of issue 14 (items 5 and 6) over HTTP against live servers (SQLite and
PostgreSQL): the explainer embedded in the repository settings, the repository-group page and
the user-group permission editor (``?explain=<user>``), answering as ``explain_permission``
does; the pickers of the permission forms and what they offer to whom; unknown names answered
on the form with what was typed and no row written; the owner changed on the repository
settings and the repository-group page through ``update_repo``/``update_repo_group``'s services.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.live import LiveServer, unique
from tests.pagecheck import csrf_of, page_of, signed_in
from tests.vcs_clients import ADMIN

PASSWORD = "pw-Secret-42"


def _user(server: LiveServer, prefix: str = "pe") -> dict[str, Any]:
    name = unique(prefix)
    return server.ok("create_user", username=name, email=f"{name}@example.com", password=PASSWORD)[
        "user"
    ]


def _post(browser: httpx.Client, path: str, form_page: str, **fields: str) -> httpx.Response:
    token = csrf_of(page_of(browser, form_page))
    return browser.post(path, data={"_csrf": token, **fields})


def _text(page: str, element_id: str) -> str:
    """The text of the element with ``element_id`` (tags dropped, entities decoded, spaces
    folded)."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(p|span|ol|div)>', page, re.S)
    assert found is not None, element_id
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def _rules(page: str) -> list[tuple[str, str]]:
    """(rule, text) of each explained rule, strongest first."""
    return [
        (rule, " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split()))
        for rule, body in re.findall(
            r'<li class="[^"]*" data-rule="([^"]+)">(.*?)</li>', page, re.S
        )
    ]


def _options(page: str, datalist: str) -> list[str]:
    found = re.search(rf'<datalist id="{datalist}">(.*?)</datalist>', page, re.S)
    assert found is not None, datalist
    return [html.unescape(v) for v in re.findall(r'<option value="([^"]*)"', found.group(1))]


def _world(server: LiveServer) -> dict[str, Any]:
    """A user in a user group that has write on a group with everything inside (the API)."""
    user = _user(server)
    team = server.ok("create_user_group", group_name=unique("team"))["user_group"]
    server.ok("add_user_to_user_group", usergroupid=team["group_name"], userid=user["username"])
    group = server.ok("create_repo_group", group_name=unique("pg"))["repo_group"]
    repo = server.new_repo(name=f"{group['group_name']}/{unique('r')}", private=True)
    server.ok("grant_user_group_permission_to_repo_group", repogroupid=group["group_name"],
              usergroupid=team["group_name"], perm="group.write",
              apply_to_children="all")  # fmt: skip
    return {"user": user, "team": team, "group": group, "repo": repo["repo_name"]}


def test_each_permission_editor_explains_a_chosen_user(server: LiveServer) -> None:
    w = _world(server)
    admin = signed_in(server, *ADMIN)
    name, team, path = w["user"]["username"], w["team"]["group_name"], w["group"]["group_name"]
    pages = {
        "repository": (f"/{w['repo']}/settings", {"repoid": w["repo"]}),
        "repository group": (
            f"/_admin/repo_groups/{w['group']['group_id']}/edit",
            {"repogroupid": path},
        ),
        "user group": (
            f"/_admin/user_groups/{w['team']['users_group_id']}/permissions",
            {"usergroupid": team},
        ),
    }
    for word, (page_path, ref) in pages.items():
        blank = page_of(admin, page_path)
        assert 'id="explain"' in blank and 'id="explain-answer"' not in blank, word
        assert f'action="{page_path}#explain"' in blank and 'name="explain"' in blank, word
        assert f'href="{page_path}?explain=default#explain"' in blank, word  # a row's "why?"
        shown = page_of(admin, f"{page_path}?explain={name}")
        answer = server.ok("explain_permission", userid=name, **ref)
        assert _text(shown, "explain-permission") == answer["permission"], word
        rules = _rules(shown)
        assert [rule for rule, _ in rules] == [b["rule"] for b in answer["because"]], word
        for (_, text), because in zip(rules, answer["because"], strict=True):
            assert because["permission"] in text
            assert ("inherited from" in text) == (because["inherited_from"] is not None)
        assert f"on the {word} <strong>" in shown, word
    # the repository's chain: the user group's write, inherited from the group, over private
    shown = page_of(admin, f"/{w['repo']}/settings?explain={name}")
    rules = _rules(shown)
    assert rules[0][0] == "user group"
    assert f"{team}, inherited from repository group {path} (decides)" in rules[0][1]
    assert ("private", "repository.none private — default (overridden)") in rules
    # an unknown user: the explainer's own message, the page as it is
    unknown = page_of(admin, f"/{w['repo']}/settings?explain=nobody-{path}")
    assert _text(unknown, "explain-error") == f"user `nobody-{path}` does not exist"
    assert 'value="nobody-' in unknown and 'id="perm-table"' in unknown


def test_a_repository_admin_explains_only_themself(server: LiveServer) -> None:
    manager = _user(server)
    repo = server.new_repo(private=True)["repo_name"]
    server.ok("grant_user_permission", repoid=repo, userid=manager["username"],
              perm="repository.admin")  # fmt: skip
    browser = signed_in(server, manager["username"], PASSWORD)
    page = page_of(browser, f"/{repo}/settings?explain={manager['username']}")
    assert _options(page, "explain-users") == [manager["username"]]
    mine = f"repository.admin direct grant — {manager['username']} (decides)"
    assert _rules(page)[0] == ("direct grant", mine)
    other = page_of(browser, f"/{repo}/settings?explain=admin")
    assert _text(other, "explain-error") == "userid is not the same as your user"
    # no owner field for them (a site admin changes the owner); posting one is refused
    assert 'name="repo_owner"' not in page
    assert _text(page, "repo-owner") == "Owner: admin (a site administrator changes it)"
    refused = _post(browser, f"/{repo}/settings", f"/{repo}/settings", action="save",
                    repo_name=repo, repo_group="", repo_description="x", repo_private="on",
                    repo_landing_rev="rev:tip", clone_uri="",
                    repo_owner=manager["username"])  # fmt: skip
    assert refused.status_code == 400
    assert _text(refused.text, "form-error") == "Only an admin can specify `owner` param"
    assert server.ok("get_repo", repoid=repo)["owner"] == "admin"


def test_permission_pickers_and_unknown_names(server: LiveServer) -> None:
    w = _world(server)
    admin = signed_in(server, *ADMIN)
    name, team = w["user"]["username"], w["team"]["group_name"]
    editors = [
        (f"/{w['repo']}/settings", f"/{w['repo']}/settings", {"action": "perm"},
         "repository.read"),
        (f"/_admin/repo_groups/{w['group']['group_id']}/edit",
         f"/_admin/repo_groups/{w['group']['group_id']}/permissions",
         {"apply_to_children": "all"}, "group.read"),
        (f"/_admin/user_groups/{w['team']['users_group_id']}/permissions",
         f"/_admin/user_groups/{w['team']['users_group_id']}/permissions", {},
         "usergroup.read"),
    ]  # fmt: skip
    for page_path, post_path, extra, perm in editors:

        def rows(page_path: str = page_path) -> list[str]:
            rows = re.findall(r'<tr data-name="([^"]+)">', page_of(admin, page_path))
            return [*rows, *(m["name"] for m in server.ok("get_repo", repoid=w["repo"])["members"])]

        page = page_of(admin, page_path)
        offered = _options(page, "perm-holders")
        assert offered[0] == "default" and name in offered and team in offered, page_path
        assert "admin" in offered
        before = rows()
        for holder, typed, message in (
            ("user", f"nobody-{name}", f"user `nobody-{name}` does not exist"),
            ("user_group", f"noteam-{name}", f"user group `noteam-{name}` does not exist"),
            ("user", team, f"user `{team}` does not exist"),
        ):
            answer = _post(admin, post_path, page_path, holder=holder, name=typed, perm=perm,
                           **extra)  # fmt: skip
            assert answer.status_code == 400, (page_path, answer.text[:300])
            error = _text(answer.text, "perm-error")
            assert error.startswith(message), (page_path, error)
            assert f'id="perm-name" type="text" name="name" value="{typed}"' in answer.text
            assert f'<option value="{holder}" selected>' in answer.text
            assert f'<option value="{perm}" selected>' in answer.text
            if typed == team:  # a user group's name typed as a user: say so
                assert f"“{team}” is a user group: choose the kind “user group”." in error
            assert rows() == before, page_path  # nothing written
    # a repository admin who is not a site admin is offered default, themself and the user
    # groups they may read — no list of the other users
    server.ok("grant_user_permission", repoid=w["repo"], userid=name, perm="repository.admin")
    mine = page_of(signed_in(server, name, PASSWORD), f"/{w['repo']}/settings")
    offered = _options(mine, "perm-holders")
    assert offered[0] == "default" and name in offered and team in offered
    assert "admin" not in offered


def _settings_form(repo: dict[str, Any], **changes: str) -> dict[str, str]:
    fields = {"action": "save", "repo_name": repo["repo_name"].rpartition("/")[2],
              "repo_group": "", "repo_description": repo["description"],
              "repo_landing_rev": "rev:tip", "clone_uri": ""}  # fmt: skip
    if repo["private"]:
        fields["repo_private"] = "on"
    return {**fields, **changes}


def test_change_the_owner_of_a_repository_and_a_group(server: LiveServer) -> None:
    admin = signed_in(server, *ADMIN)
    user = _user(server)
    repo = server.new_repo(description="before")
    settings = f"/{repo['repo_name']}/settings"
    page = page_of(admin, settings)
    assert 'id="repo_owner" type="text" name="repo_owner" value="admin"' in page
    assert user["username"] in _options(page, "owner-choices")
    assert "default" not in _options(page, "owner-choices")
    # a name that is nobody's: the message on the form, what was typed kept, nothing changed
    bad = _post(admin, settings, settings,
                **_settings_form(repo, repo_owner="nobody-x", repo_description="typed"))  # fmt: skip
    assert bad.status_code == 400
    assert _text(bad.text, "form-error") == "user `nobody-x` does not exist"
    assert 'name="repo_owner" value="nobody-x"' in bad.text and ">typed</textarea>" in bad.text
    got = server.ok("get_repo", repoid=repo["repo_name"])
    assert (got["owner"], got["description"]) == ("admin", "before")
    empty = _post(admin, settings, settings, **_settings_form(repo, repo_owner=" "))
    assert empty.status_code == 400 and _text(empty.text, "form-error") == "Name the owner."
    done = _post(admin, settings, settings, **_settings_form(repo, repo_owner=user["username"]))
    assert done.status_code == 303, done.text[:300]
    got = server.ok("get_repo", repoid=repo["repo_name"])
    assert (got["owner"], got["description"]) == (user["username"], "before")
    # the new owner's rule shows in the explainer
    explained = page_of(admin, f"{settings}?explain={user['username']}")
    assert _rules(explained)[0][0] == "owner"

    group = server.ok("create_repo_group", group_name=unique("og"), description="d")["repo_group"]
    gid = group["group_id"]
    edit = f"/_admin/repo_groups/{gid}/edit"
    form = {"group_name": group["group_name"], "parent": "", "description": "typed"}
    bad = _post(admin, edit, edit, **form, owner="nobody-y")
    assert bad.status_code == 400
    assert _text(bad.text, "form-error") == "user `nobody-y` does not exist"
    assert 'name="owner" value="nobody-y"' in bad.text and 'value="typed"' in bad.text
    got = server.ok("get_repo_group", repogroupid=gid)
    assert (got["owner"], got["group_description"]) == ("admin", "d")
    empty = _post(admin, edit, edit, **form, owner="")
    assert empty.status_code == 400 and _text(empty.text, "form-error") == "Name the owner."
    done = _post(admin, edit, edit, **form, owner=user["username"])
    assert done.status_code == 303, done.text[:300]
    got = server.ok("get_repo_group", repogroupid=gid)
    assert (got["owner"], got["group_description"]) == (user["username"], "typed")
    assert f'name="owner" value="{user["username"]}"' in page_of(admin, edit)

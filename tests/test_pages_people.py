# SPDX-License-Identifier: GPL-3.0-or-later
"""The people's pages over HTTP against live servers (SQLite and PostgreSQL): home, group,
summary, journal, gists and My account, for git and hg, as anonymous, a reader and an admin —
their content, their permission answers (a hidden repository answers exactly as a missing one;
a browser without a session is sent to sign in) and well-formed HTML without inline code
(``tests/pagecheck.py``). Sessions and CSRF: the sign-in rules, the return path, signing out,
sessions ended by a password change or deactivation, and POSTs without a token changing nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.live import LiveServer, unique
from tests.pagecheck import HTML, check_html, client, csrf_of, page_of, signed_in
from tests.vcs_clients import ADMIN, Clients, repo_url

PASSWORD = "pw-Secret-42"
KINDS = ["git", "hg"]


@dataclass
class World:
    server: LiveServer
    group: str
    public: dict[str, str]  # kind -> repository name
    private: dict[str, str]
    reader: dict[str, Any]
    stranger: dict[str, Any]
    tips: dict[str, str]


def _user(server: LiveServer, prefix: str = "pp") -> dict[str, Any]:
    name = unique(prefix)
    return server.ok("create_user", username=name, email=f"{name}@example.com", password=PASSWORD)[
        "user"
    ]


@pytest.fixture(scope="module")
def world(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    clients = Clients(tmp_path_factory.mktemp("pages-people"))
    group = unique("pg")
    server.ok("create_repo_group", group_name=group, description="Pages <group>")
    reader, stranger = _user(server, "reader"), _user(server, "stranger")
    public, private, tips = {}, {}, {}
    for kind in KINDS:
        public[kind] = f"{group}/{unique('pub' + kind)}"
        private[kind] = f"{group}/{unique('priv' + kind)}"
        server.ok(
            "create_repo",
            repo_name=public[kind],
            repo_type=kind,
            description=f"public {kind} <b>bold</b>",
            enable_downloads=True,
        )
        server.ok("create_repo", repo_name=private[kind], repo_type=kind, private=True)
        server.ok(
            "grant_user_permission",
            repoid=private[kind],
            userid=reader["username"],
            perm="repository.read",
        )
        for name in (public[kind], private[kind]):
            work = clients.seeded(kind)
            clients.commit(kind, work, "README.md", "# Hello\n\n<script>alert(1)</script>\n")
            url = repo_url(server, name, *ADMIN)
            clients.push(kind, work, url)
            if kind == "git":
                clients.git("tag", "v1.0", cwd=work)
                clients.git("push", "-q", url, "refs/tags/v1.0", cwd=work)
            else:
                clients.hg("bookmark", "mark-one", cwd=work)
                # no new changesets: hg exits 1, and exports the bookmark
                pushed = clients.hg("push", "-B", "mark-one", url, cwd=work, check=False)
                assert "exporting bookmark mark-one" in pushed.stdout, pushed.stdout
            tips[name] = clients.tip(kind, work)
    yield World(server, group, public, private, reader, stranger, tips)


def _as(world: World, who: str) -> httpx.Client:
    if who == "anonymous":
        return client(world.server)
    if who == "admin":
        return signed_in(world.server, *ADMIN)
    return signed_in(world.server, world.reader["username"], PASSWORD)


# --- home, group, summary ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "reader", "admin"])
def test_home_lists_what_the_viewer_may_read(world: World, who: str) -> None:
    browser = _as(world, who)
    text = page_of(browser, f"/?q={quote(world.group)}")
    for kind in KINDS:
        assert f'href="/{world.public[kind]}"' in text
        assert world.tips[world.public[kind]][:12] in text
        assert (f'href="/{world.private[kind]}"' in text) == (who != "anonymous")
    assert "public git &lt;b&gt;bold&lt;/b&gt;" in text  # escaped, never markup
    assert f'href="/{world.group}"' in text
    assert ("Sign in" in text) == (who == "anonymous")


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_group_page_with_breadcrumbs(world: World, who: str) -> None:
    text = page_of(_as(world, who), f"/{world.group}")
    assert 'aria-label="Breadcrumbs"' in text
    assert f"<h1>{world.group}</h1>" in text
    assert "Pages &lt;group&gt;" in text
    assert (world.private["hg"].split("/")[1] in text) == (who == "admin")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("who", ["anonymous", "reader", "admin"])
def test_summary(world: World, kind: str, who: str) -> None:
    name = world.public[kind]
    text = page_of(_as(world, who), f"/{name}")
    tip = world.tips[name]
    assert f'value="{world.server.url}/{name}"' in text
    assert re.search(rf'value="{world.server.url}/_\d+"', text)
    assert f"/{name}/changeset/{tip}" in text
    assert "<h1>Hello</h1>" in text  # README rendered
    assert "<script>alert" not in text and "alert(1)" not in text  # and sanitised
    assert f"/{name}/archive/{tip}.zip" in text  # downloads enabled
    assert f"/{name}/feed/atom" in text
    assert ('name="follows_repository_id"' in text) == (who != "anonymous")
    branch = "master" if kind == "git" else "default"
    assert f'href="/{name}/files/{branch}/"' in text
    if kind == "git":
        assert 'id="tags"' in text and f'href="/{name}/files/v1.0/"' in text
    else:
        assert 'id="bookmarks"' in text and f'href="/{name}/files/mark-one/"' in text
    if who != "anonymous":
        user = "admin" if who == "admin" else world.reader["username"]
        assert f'value="http://{user}@{world.server.url.split("://")[1]}/{name}"' in text


@pytest.mark.parametrize("kind", KINDS)
def test_summary_of_an_empty_repository(world: World, kind: str) -> None:
    name = f"{world.group}/{unique('empty' + kind)}"
    world.server.ok("create_repo", repo_name=name, repo_type=kind)
    text = page_of(_as(world, "admin"), f"/{name}")
    assert "This repository is empty" in text
    assert ("git push origin" in text) == (kind == "git")


@pytest.mark.parametrize("kind", KINDS)
def test_private_summary_hidden_like_missing(world: World, kind: str) -> None:
    name, missing = world.private[kind], f"{world.group}/{unique('nothere')}"
    # a reader sees it
    assert world.tips[name][:12] in page_of(_as(world, "reader"), f"/{name}")
    # a browser without a session is sent to sign in, whether the repository exists or not
    for path in (name, missing, world.group + "x"):
        answer = client(world.server).get(f"/{path}")
        assert answer.status_code == 302
        assert answer.headers["location"] == f"/_admin/login?came_from=%2F{quote(path, safe='')}"
    # another user gets the same 404 page for both
    stranger = signed_in(world.server, world.stranger["username"], PASSWORD)
    hidden = stranger.get(f"/{name}")
    gone = stranger.get(f"/{missing}")
    assert hidden.status_code == gone.status_code == 404
    assert hidden.text == gone.text
    check_html(hidden.text)
    # a client that is not a browser keeps the plain-text answer
    plain = httpx.get(f"{world.server.url}/{name}")
    assert (plain.status_code, plain.text) == (404, "Repository not found")


@pytest.mark.parametrize("kind", KINDS)
def test_session_cookie_opens_raw_views(world: World, kind: str) -> None:
    name = world.private[kind]
    path = f"/{name}/raw/tip/README.md"
    reader = _as(world, "reader")
    answer = reader.get(path)
    assert answer.status_code == 200 and answer.text.startswith("# Hello")
    assert answer.headers["content-security-policy"] == "sandbox"
    assert client(world.server).get(path).status_code == 302  # a browser: sign in first
    assert httpx.get(world.server.url + path).status_code == 404
    stranger = signed_in(world.server, world.stranger["username"], PASSWORD)
    assert stranger.get(path).status_code == 404


def test_follow_and_journal(world: World) -> None:
    name = world.public["hg"]
    reader = _as(world, "reader")
    text = page_of(reader, f"/{name}")
    repo_id = re.search(r'name="follows_repository_id" value="(\d+)"', text).group(1)
    # without the token: nothing changes
    refused = reader.post("/_admin/toggle_following", data={"follows_repository_id": repo_id})
    assert refused.status_code == 403
    check_html(refused.text)
    assert 'id="followers">1<' in page_of(reader, f"/{name}")
    done = reader.post(
        "/_admin/toggle_following",
        data={"follows_repository_id": repo_id, "follow": "1", "_csrf": csrf_of(text)},
    )
    assert done.status_code == 303 and done.headers["location"] == f"/{name}"
    after = page_of(reader, f"/{name}")
    assert 'id="followers">2<' in after and "Unfollow" in after
    journal = page_of(reader, "/_admin/journal")
    assert "[started following] repository" in journal and name in journal
    assert name in page_of(reader, "/_admin/my_account")
    # the anonymous public journal lists public repositories only
    public = page_of(client(world.server), "/_admin/public_journal")
    assert world.public["git"] in public and world.private["git"] not in public
    assert client(world.server).get("/_admin/journal").status_code == 302


# --- listing at scale -----------------------------------------------------------------------------


def test_home_paginates_sorts_and_filters(server: LiveServer) -> None:
    group = unique("many")
    server.ok("create_repo_group", group_name=group)
    names = [f"{group}/r{n:03d}" for n in range(55)]
    for name in names:
        server.ok("create_repo", repo_name=name, repo_type="git")
    admin = signed_in(server, *ADMIN)
    first = page_of(admin, f"/{group}")
    assert first.count("<tr data-name=") == 50 and 'rel="next"' in first
    assert f'href="/{names[0]}"' in first and f'href="/{names[50]}"' not in first
    second = page_of(admin, f"/{group}?sort=name&page=2")
    assert [f'href="/{n}"' in second for n in names[50:]] == [True] * 5
    assert second.count("<tr data-name=") == 5 and 'rel="next"' not in second
    assert 'rel="prev"' in second
    backwards = page_of(admin, f"/{group}?sort=-name")
    assert backwards.index(names[54]) < backwards.index(names[53])
    found = page_of(admin, f"/?q={quote(group + '/R01')}")  # any case
    assert found.count("<tr data-name=") == 10
    assert "No more repositories" in page_of(admin, f"/{group}?page=99")
    assert page_of(admin, "/?sort=nonsense&page=x")  # bad parameters fall back
    # a LIKE wildcard in the query is taken literally
    assert "<tr data-name=" not in page_of(admin, f"/?q={quote(group + '/r0_1')}")


# --- sessions ----------------------------------------------------------------------------------------


def test_sign_in_rules(server: LiveServer) -> None:
    user = _user(server)
    browser = client(server)
    form = page_of(browser, "/_admin/login?came_from=/x")
    assert 'name="username"' in form and 'name="password"' in form
    assert 'name="came_from" value="/x"' in form
    token = csrf_of(form)

    def post(login: str, password: str, came_from: str = "/_admin/my_account") -> httpx.Response:
        return browser.post(
            "/_admin/login",
            data={"username": login, "password": password, "_csrf": token, "came_from": came_from},
        )

    wrong = post(user["username"], "nope")
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    assert post("nobody-at-all", PASSWORD).text == wrong.text.replace(
        f'value="{user["username"]}"', 'value="nobody-at-all"'
    )
    assert post("default", "").status_code == 401  # the anonymous user never signs in
    nocsrf = browser.post(
        "/_admin/login", data={"username": user["username"], "password": PASSWORD}
    )
    assert nocsrf.status_code == 403 and "hearth_session" not in browser.cookies
    server.ok("update_user", userid=user["username"], active=False)
    assert "disabled" in post(user["username"], PASSWORD).text
    server.ok("update_user", userid=user["username"], active=True)
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil"):
        answer = post(user["username"], PASSWORD, evil)
        assert answer.headers["location"] == "/", evil
        browser.cookies.delete("hearth_session")  # signed in: the next form has a new token
    good = post(user["email"].upper(), PASSWORD)  # by e-mail, any case
    assert good.status_code == 303 and good.headers["location"] == "/_admin/my_account"
    cookie = good.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert user["username"] in page_of(browser, "/_admin/my_account")


def test_ip_rules_apply_to_sign_in_and_sessions(server: LiveServer) -> None:
    user = _user(server)
    browser = signed_in(server, user["username"], PASSWORD)
    server.cli("admin", "ip-rule", "add", user["username"], "10.0.0.0/8")
    try:
        assert browser.get("/_admin/my_account").status_code == 302  # the session stops working
        fresh = client(server)
        token = csrf_of(fresh.get("/_admin/login").text)
        refused = fresh.post(
            "/_admin/login",
            data={"username": user["username"], "password": PASSWORD, "_csrf": token},
        )
        assert refused.status_code == 403 and "not allowed" in refused.text
        assert "hearth_session" not in fresh.cookies
    finally:
        server.cli("admin", "ip-rule", "remove", user["username"], "10.0.0.0/8")
    assert browser.get("/_admin/my_account").status_code == 200


def test_secure_cookie_behind_https(make_server: Any) -> None:
    live = make_server(canonical_url="https://hearth.example")
    form = httpx.get(f"{live.url}/_admin/login", headers=HTML)
    csrf_cookie = form.headers["set-cookie"]
    assert "; Secure" in csrf_cookie
    nonce = csrf_cookie.split(";", 1)[0].split("=", 1)[1]
    # the browser sends a Secure cookie back over https only: send it as it would
    answer = httpx.post(
        f"{live.url}/_admin/login",
        data={"username": "admin", "password": ADMIN[1], "_csrf": csrf_of(form.text)},
        headers={**HTML, "cookie": f"hearth_csrf={nonce}"},
    )
    assert answer.status_code == 303
    assert "; Secure" in answer.headers["set-cookie"]


def test_sign_out_needs_the_token(server: LiveServer) -> None:
    user = _user(server)
    browser = signed_in(server, user["username"], PASSWORD)
    text = page_of(browser, "/_admin/logout")
    assert browser.post("/_admin/logout").status_code == 403
    assert user["username"] in page_of(browser, "/_admin/my_account")
    out = browser.post("/_admin/logout", data={"_csrf": csrf_of(text)})
    assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
    assert browser.get("/_admin/my_account").status_code == 302


def test_password_change_ends_other_sessions(server: LiveServer) -> None:
    user = _user(server)
    one = signed_in(server, user["username"], PASSWORD)
    two = signed_in(server, user["username"], PASSWORD)
    text = page_of(one, "/_admin/my_account")
    form = {"_csrf": csrf_of(text), "current_password": "bad", "new_password": "n3w-Secret-1"}
    form["password_confirmation"] = form["new_password"]
    assert one.post("/_admin/my_account/password", data=form).status_code == 400
    form["current_password"] = PASSWORD
    changed = one.post("/_admin/my_account/password", data=form)
    assert changed.status_code == 303
    assert "Your password was changed" in page_of(one, changed.headers["location"])
    assert two.get("/_admin/my_account").status_code == 302  # the other session is over
    signed_in(server, user["username"], "n3w-Secret-1")
    # a deactivated user's session ends at once
    server.ok("update_user", userid=user["username"], active=False)
    assert one.get("/_admin/my_account").status_code == 302


# --- my account ------------------------------------------------------------------------------------


def test_api_keys_on_my_account(server: LiveServer) -> None:
    user, other = _user(server), _user(server)
    browser = signed_in(server, user["username"], PASSWORD)
    text = page_of(browser, "/_admin/my_account")
    token = csrf_of(text)
    made = browser.post(
        "/_admin/my_account/api_keys",
        data={"_csrf": token, "description": "ci <x>", "role": "api", "expires": "2999-01-31"},
    )
    assert made.status_code == 200
    check_html(made.text)
    key = re.search(r'id="new-key-value"[^>]*value="([0-9a-f]{40})"', made.text).group(1)
    assert made.headers["cache-control"] == "no-store"
    assert "ci &lt;x&gt;" in made.text and f"…{key[-4:]}" in made.text
    again = page_of(browser, "/_admin/my_account")
    assert key not in again
    assert server.ok("get_user", key)["username"] == user["username"]
    for bad in ({"role": "root"}, {"role": "all", "expires": "2001-01-01"}, {"expires": "soon"}):
        refused = browser.post(
            "/_admin/my_account/api_keys", data={"_csrf": token, "role": "all", **bad}
        )
        assert refused.status_code == 400, bad
    # another user's key id is not ours to revoke
    other_browser = signed_in(server, other["username"], PASSWORD)
    row = next(r for r in re.findall(r"<tr.*?</tr>", again, re.S) if f"…{key[-4:]}" in r)
    key_id = re.search(r'name="del_api_key_id" value="(\d+)"', row)
    assert key_id is not None
    foreign = other_browser.post(
        "/_admin/my_account/api_keys/delete",
        data={
            "_csrf": csrf_of(page_of(other_browser, "/_admin/my_account")),
            "del_api_key_id": key_id.group(1),
        },
    )
    assert foreign.status_code == 400 and "No such API key" in foreign.text
    assert server.ok("get_user", key)["username"] == user["username"]
    revoked = browser.post(
        "/_admin/my_account/api_keys/delete",
        data={"_csrf": token, "del_api_key_id": key_id.group(1)},
    )
    assert revoked.status_code == 303
    assert server.err("get_user", key) == "Invalid API key"


def test_profile_and_emails(server: LiveServer) -> None:
    user = _user(server)
    browser = signed_in(server, user["username"], PASSWORD)
    token = csrf_of(page_of(browser, "/_admin/my_account"))
    extra = f"{unique('x')}@example.org"
    assert (
        browser.post(
            "/_admin/my_account/emails", data={"_csrf": token, "new_email": extra}
        ).status_code
        == 303
    )
    text = page_of(browser, "/_admin/my_account?done=email_added")
    assert extra in text and "was added" in text
    taken = browser.post(
        "/_admin/my_account/emails", data={"_csrf": token, "new_email": "admin@example.com"}
    )
    assert taken.status_code == 400 and "already in use" in taken.text
    signed_in(server, extra, PASSWORD)  # the extra address signs in
    saved = browser.post(
        "/_admin/my_account",
        data={"_csrf": token, "firstname": "Ada", "lastname": "L", "email": user["email"]},
    )
    assert saved.status_code == 303
    assert server.ok("get_user", userid=user["username"])["firstname"] == "Ada"
    email_id = re.search(
        r'name="del_email_id" value="(\d+)"', page_of(browser, "/_admin/my_account")
    )
    assert email_id is not None
    assert (
        browser.post(
            "/_admin/my_account/emails/delete",
            data={"_csrf": token, "del_email_id": email_id.group(1)},
        ).status_code
        == 303
    )
    assert extra not in page_of(browser, "/_admin/my_account")


# --- gists ---------------------------------------------------------------------------------------------


def test_gists_pages(server: LiveServer) -> None:
    owner, other = _user(server), _user(server)
    browser = signed_in(server, owner["username"], PASSWORD)
    token = csrf_of(page_of(browser, "/_admin/gists/new"))
    empty = browser.post("/_admin/gists", data={"_csrf": token, "filename": "", "content": ""})
    assert empty.status_code == 400
    made = {}
    for kind in ("public", "private"):
        answer = browser.post(
            "/_admin/gists",
            data={
                "_csrf": token,
                "description": f"{kind} notes",
                "filename": "notes.txt",
                "content": f"<{kind}> text\n",
                "lifetime": "-1",
                "gist_type": kind,
            },
        )
        assert answer.status_code == 303
        made[kind] = answer.headers["location"]
    public_text = page_of(browser, made["public"])
    assert "&lt;public&gt; text" in public_text
    listing = page_of(client(server), "/_admin/gists")
    assert made["public"] in listing and made["private"] not in listing
    assert made["private"] in page_of(browser, "/_admin/gists?mine=1")
    # services/gists.py: a private gist is its owner's (and the admins'); to anyone else it
    # answers exactly as a missing one
    stranger = signed_in(server, other["username"], PASSWORD)
    hidden = stranger.get(made["private"])
    missing = stranger.get("/_admin/gists/NoSuchGist0000000000")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text
    assert "&lt;private&gt; text" in page_of(browser, made["private"])
    assert (
        client(server).post("/_admin/gists", data={"filename": "a", "content": "b"}).status_code
        == 403
    )


# --- static files and error pages -----------------------------------------------------------------------


def test_static_files_are_cached(server: LiveServer) -> None:
    text = client(server).get("/_admin/login").text
    css = re.search(r'href="(/_static/hearth\.css\?v=[0-9a-f]+)"', text).group(1)
    answer = httpx.get(server.url + css)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/css")
    assert "immutable" in answer.headers["cache-control"]
    again = httpx.get(server.url + css, headers={"if-none-match": answer.headers["etag"]})
    assert again.status_code == 304
    assert httpx.get(server.url + "/_static/nothing.js").status_code == 404


def test_unknown_page_below_a_repository(world: World) -> None:
    admin = _as(world, "admin")
    page_of(admin, f"/{world.public['git']}/no-such-page", status=404)
    assert httpx.get(f"{world.server.url}/{world.public['git']}/no-such-page").text == "Not Found"


def test_no_template_left_unused(world: World) -> None:
    """Every template is reachable from a page or another template (dead files go)."""
    root = Path(__file__).resolve().parents[1] / "src" / "hearth" / "web" / "templates"
    sources = "".join(p.read_text() for p in root.glob("*.html"))
    code = "".join(p.read_text() for p in root.parent.glob("*.py"))
    for template in root.glob("*.html"):
        assert template.name in code or template.name in sources, template.name


def test_listing_agrees_with_the_permission_levels(world: World) -> None:
    """``permissions.repo_readable`` (what the listing filters with) decides as ``repo_levels``."""
    from hearth.db.session import Database
    from hearth.services import bootstrap, catalogue, lookup, permissions

    database = Database(world.server.database_url)
    try:
        with database.sessions() as db:
            default_id = bootstrap.default_user_id(db)
            assert default_id is not None
            users = [world.reader["username"], world.stranger["username"], "default", "admin"]
            for name in users:
                actor = permissions.actor_for(db, lookup.user(db, name), default_id)
                listed: set[int] = set()
                page = 1
                while True:
                    found = catalogue.listing(db, actor, database.codepoint, page=page)
                    listed |= {row.repo_id for row in found.repos}
                    if not found.has_next:
                        break
                    page += 1
                levels = permissions.repo_levels(db, actor)
                readable = {r for r, level in levels.items() if level >= permissions.Level.READ}
                ready = {r for r in readable if lookup.repository(db, r).state == "ready"}
                assert listed == ready, name
                assert (lookup.repository(db, world.private["git"]).repo_id in listed) == (
                    name in (world.reader["username"], "admin")
                )
    finally:
        database.dispose()


def test_journal_pages(server: LiveServer) -> None:
    user = _user(server)
    name = unique("busy")
    server.ok("create_repo", repo_name=name, repo_type="git", owner=user["username"])
    browser = signed_in(server, user["username"], PASSWORD)
    text = page_of(browser, f"/{name}")
    token, repo_id = csrf_of(text), re.search(r'follows_repository_id" value="(\d+)"', text)
    assert repo_id is not None
    # the owner follows already: unfollow, follow, … 56 journal entries, ending followed
    for turn in range(56):
        follow = "0" if turn % 2 == 0 else "1"
        browser.post(
            "/_admin/toggle_following",
            data={"_csrf": token, "follows_repository_id": repo_id.group(1), "follow": follow},
        )
    first = page_of(browser, "/_admin/journal")
    assert first.count('<li class="changes" id="entry-') == 50 and 'rel="next"' in first
    second = page_of(browser, "/_admin/journal?page=2")
    assert 0 < second.count('<li class="changes" id="entry-') <= 50 and 'rel="prev"' in second
    assert "No more entries" in page_of(browser, "/_admin/journal?page=99")


@pytest.mark.parametrize("kind", KINDS)
def test_summary_follows_a_push(server: LiveServer, tmp_path: Path, kind: str) -> None:
    """What the summary read from disk is cached until the next push: that push shows at once."""
    clients = Clients(tmp_path)
    name = unique("moving" + kind)
    server.ok("create_repo", repo_name=name, repo_type=kind)
    url = repo_url(server, name, *ADMIN)
    work = clients.seeded(kind)
    clients.commit(kind, work, "README.md", "# First\n")
    clients.push(kind, work, url)
    admin = signed_in(server, *ADMIN)
    assert "<h1>First</h1>" in page_of(admin, f"/{name}")
    clients.commit(kind, work, "README.md", "# Second\n")
    clients.push(kind, work, url)
    text = page_of(admin, f"/{name}")
    assert "<h1>Second</h1>" in text and clients.tip(kind, work)[:12] in text

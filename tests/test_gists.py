# SPDX-License-Identifier: GPL-3.0-or-later
"""Gists (``spec/methods.md`` §7, ``jsonrpc.md`` §10, README #15, #22, #23) against a live server.

Every method's results and error texts in the documented order; public and private access ids; who
sees which gist; the hg repository on disk; expiry (an expired gist is missing everywhere, and
``purge_expired`` removes it); nothing left behind when creating fails.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from hearth import vcs
from hearth.db.models import Gist
from hearth.db.session import Database
from hearth.services import gists as gist_service
from tests.live import LiveServer, unique

GIST_KEYS = [
    "gist_id",
    "type",
    "access_id",
    "description",
    "url",
    "expires",
    "created_on",
    "acl_level",
    "modified_at",
    "content",
]
DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?$")
FAILED = "failed to create gist"


def missing(ref: Any) -> str:
    return f"gist `{ref}` does not exist"


def texts(**named: str) -> dict[str, dict[str, str]]:
    return {name: {"content": content} for name, content in named.items()}


def one_file() -> dict[str, dict[str, str]]:
    return {unique("f") + ".txt": {"content": unique("content ")}}


def new_gist(server: LiveServer, key: str | None = None, **args: Any) -> dict[str, Any]:
    args.setdefault("files", one_file())
    args.setdefault("description", unique("d"))
    reply = server.ok("create_gist", key, **args)
    assert reply["msg"] == "created new gist"
    return reply["gist"]


def store(server: LiveServer) -> Path:
    return server.home / "repos" / ".rc_gist_store"


def row(server: LiveServer, access_id: str) -> Gist | None:
    database = Database(server.database_url)
    try:
        with database.sessions() as db:
            return db.scalar(select(Gist).where(Gist.access_id == access_id))
    finally:
        database.engine.dispose()


def set_expires(server: LiveServer, access_id: str, expires: float) -> None:
    """Move a gist's expiry (time passing, without waiting for it)."""
    database = Database(server.database_url)
    try:
        with database.session() as db:
            db.execute(update(Gist).where(Gist.access_id == access_id).values(expires=expires))
    finally:
        database.engine.dispose()


_GISTLESS: dict[str, str] = {}


def gistless_key(server: LiveServer) -> str:
    """The key of one user per server whose gist creations all fail (no user per parameter)."""
    if server.url not in _GISTLESS:
        _GISTLESS[server.url] = server.new_user()[1]
    return _GISTLESS[server.url]


def ids(listing: list[dict[str, Any]]) -> list[int]:
    return [g["gist_id"] for g in listing]


# --- declarations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "required"),
    [("get_gist", "gistid"), ("create_gist", "files"), ("delete_gist", "gistid")],
)
def test_missing_required_arg(server: LiveServer, name: str, required: str) -> None:
    assert server.err(name) == f"Missing non optional `{required}` arg in JSON DATA"


def test_kinds_are_checked(server: LiveServer) -> None:
    assert server.err("create_gist", files=["a"]) == (
        'Invalid value for `files`: expected an object, got ["a"]'
    )
    assert server.err("create_gist", files=one_file(), lifetime=1.5) == (
        "Invalid value for `lifetime`: expected an integer, got 1.5"
    )
    assert server.err("create_gist", files=one_file(), gist_type=1) == (
        "Invalid value for `gist_type`: expected a string, got 1"
    )
    assert server.err("get_gist", gistid=True) == (
        "Invalid value for `gistid`: expected an id or a name, got true"
    )


def test_declared_order_and_defaults(server: LiveServer) -> None:
    name, _signature, decl = server.ok("get_method", pattern="create_gist")
    assert name == "create_gist"
    args = {a["name"]: a for a in decl["args"]}
    assert list(args) == ["files", "owner", "gist_type", "lifetime", "description", "acl_level"]
    assert args["gist_type"]["default"] == "public"
    assert args["lifetime"]["default"] == -1
    assert args["acl_level"]["default"] == "acl_public"


# --- create_gist --------------------------------------------------------------------------------


def test_create_public_gist_result(server: LiveServer) -> None:
    user, key = server.new_user()
    description = unique("desc ")
    request = {
        "id": 7,
        "api_key": key,
        "method": "create_gist",
        "args": {"files": one_file(), "description": description},
    }
    before = datetime.utcnow()
    response = server.post(json.dumps(request))
    reply = response.json()
    assert reply["error"] is None, reply
    assert reply["result"]["msg"] == "created new gist"
    gist = reply["result"]["gist"]
    assert list(gist) == GIST_KEYS
    assert isinstance(gist["gist_id"], int)
    assert gist["type"] == "public"
    assert gist["access_id"] == str(gist["gist_id"])
    assert gist["description"] == description
    assert gist["url"] == f"{server.url}/_admin/gists/{gist['access_id']}"
    assert gist["expires"] == -1.0
    assert '"expires":-1.0' in response.text.replace(" ", "")
    assert '"expires":-1,' not in response.text.replace(" ", "")
    assert gist["acl_level"] == "acl_public"
    assert gist["content"] is None
    assert DATE.match(gist["created_on"]) and gist["modified_at"] == gist["created_on"]
    created = datetime.fromisoformat(gist["created_on"])
    assert abs((created - before).total_seconds()) < 60
    # the owner is the caller
    assert server.ok("get_gists", userid=user["user_id"]) == [gist]


def test_create_private_gist(server: LiveServer) -> None:
    gist = new_gist(server, gist_type="private", acl_level="acl_private")
    assert gist["type"] == "private"
    assert gist["acl_level"] == "acl_private"
    assert re.fullmatch(r"[A-Za-z0-9]{20}", gist["access_id"])
    assert gist["access_id"] != str(gist["gist_id"])
    assert gist["url"].endswith(f"/_admin/gists/{gist['access_id']}")
    other = new_gist(server, gist_type="private")
    assert other["access_id"] != gist["access_id"]


def test_description_defaults_to_empty(server: LiveServer) -> None:
    gist = server.ok("create_gist", files=one_file())["gist"]
    assert gist["description"] == ""


def test_repository_on_disk_holds_one_commit_of_the_files(server: LiveServer) -> None:
    user, key = server.new_user(firstname="Gina", lastname="Gist")
    files = texts(**{"a.txt": "alpha\n", "b.py": "print('\u00e9')\n", "empty": ""})
    gist = new_gist(server, key, files=files)
    path = store(server) / gist["access_id"]
    with vcs.open_repo(str(path), "hg") as repo:
        [changeset] = repo.changesets()
        assert changeset.author == f"Gina Gist <{user['email']}>"
        assert changeset.message == "added files: a.txt, b.py, empty"
        created = datetime.fromisoformat(gist["created_on"]).timestamp()
        assert abs(changeset.date - created) < 2
        _dirs, nodes = repo.nodes(changeset.raw_id)
        assert sorted(n.path for n in nodes) == ["a.txt", "b.py", "empty"]
        for name, spec in files.items():
            assert repo.file(changeset.raw_id, name) == spec["content"].encode()


def test_author_without_a_name_is_the_username(server: LiveServer) -> None:
    user, key = server.new_user()
    gist = new_gist(server, key, files=texts(only="x"))
    with vcs.open_repo(str(store(server) / gist["access_id"]), "hg") as repo:
        changeset = repo.last_changeset()
    assert changeset.author == f"{user['username']} <{user['email']}>"
    assert changeset.message == "added file: only"


def test_lifetime_sets_expires(server: LiveServer) -> None:
    gist = new_gist(server, lifetime=10)
    assert isinstance(gist["expires"], float)
    assert abs(gist["expires"] - (time.time() + 600)) < 60
    as_text = new_gist(server, lifetime="3")
    assert abs(as_text["expires"] - (time.time() + 180)) < 60
    assert new_gist(server, lifetime=-1)["expires"] == -1.0
    assert new_gist(server, lifetime="-1")["expires"] == -1.0


@pytest.mark.parametrize("lifetime", [0, -2, -60, 1_000_000_001])
def test_lifetime_out_of_range_is_refused(server: LiveServer, lifetime: int) -> None:
    assert server.err("create_gist", files=one_file(), lifetime=lifetime) == (
        "Invalid value for `lifetime`: expected -1 (never expires) or a number of minutes "
        f"from 1 to 1000000000, got {lifetime}"
    )


def test_owner_param(server: LiveServer) -> None:
    user, key = server.new_user()
    other, _ = server.new_user()
    only_admin = "Only an admin can specify `owner` param"
    assert server.err("create_gist", key, files=one_file(), owner=other["username"]) == only_admin
    assert server.err("create_gist", key, files=one_file(), owner=other["user_id"]) == only_admin
    assert server.err("create_gist", key, files=one_file(), owner="admin") == only_admin
    # naming oneself is fine (README #15 spirit), by id, digits or name
    mine = [
        new_gist(server, key, owner=user["user_id"]),
        new_gist(server, key, owner=str(user["user_id"])),
        new_gist(server, key, owner=user["username"]),
    ]
    assert ids(server.ok("get_gists", key)) == ids(reversed(mine))
    # an admin may give the gist to anyone
    given = new_gist(server, owner=other["username"], gist_type="private")
    assert ids(server.ok("get_gists", userid=other["username"])) == [given["gist_id"]]
    absent = unique("nobody")
    assert server.err("create_gist", files=one_file(), owner=absent) == (
        f"user `{absent}` does not exist"
    )


def test_enum_texts(server: LiveServer) -> None:
    assert server.err("create_gist", files=one_file(), gist_type="secret") == (
        "gist_type must be one of private,public"
    )
    assert server.err("create_gist", files=one_file(), acl_level="acl_nobody") == (
        "acl_level must be one of acl_private,acl_public"
    )


def test_create_errors_in_documented_order(server: LiveServer) -> None:
    _, key = server.new_user()
    absent = unique("nobody")
    bad = {"a/b": {"content": "x"}}
    # owner (non-admin) before gist_type before acl_level before lifetime before lookup before files
    assert server.err(
        "create_gist", key, files=bad, owner=absent, gist_type="x", acl_level="y", lifetime=0
    ) == ("Only an admin can specify `owner` param")
    assert server.err(
        "create_gist", files=bad, owner=absent, gist_type="x", acl_level="y", lifetime=0
    ) == ("gist_type must be one of private,public")
    assert server.err("create_gist", files=bad, owner=absent, acl_level="y", lifetime=0) == (
        "acl_level must be one of acl_private,acl_public"
    )
    assert server.err("create_gist", files=bad, owner=absent, lifetime=0).startswith(
        "Invalid value for `lifetime`"
    )
    assert server.err("create_gist", files=bad, owner=absent) == f"user `{absent}` does not exist"
    assert server.err("create_gist", files=bad) == FAILED


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"a/b": {"content": "x"}},
        {"/": {"content": "x"}},
        {".": {"content": "x"}},
        {"..": {"content": "x"}},
        {"": {"content": "x"}},
        {"x" * 256: {"content": "x"}},
        {"a\nb": {"content": "x"}},
        {"tab\there": {"content": "x"}},
        {".hg": {"content": "x"}},
        {".HG": {"content": "x"}},
        {".hgtags": {"content": "x"}},
        {".hgsub": {"content": "x"}},
        {"plain": "text"},
        {"plain": {}},
        {"plain": {"content": 5}},
        {"plain": {"content": None}},
        {"plain": ["content"]},
        {"good": {"content": "x"}, "bad/name": {"content": "y"}},
    ],
)
def test_bad_files_fail_and_leave_nothing(server: LiveServer, files: dict[str, Any]) -> None:
    key = gistless_key(server)
    on_disk = set(store(server).iterdir()) if store(server).exists() else set()
    assert server.err("create_gist", key, files=files) == FAILED
    assert server.ok("get_gists", key) == []
    after = set(store(server).iterdir()) if store(server).exists() else set()
    assert after == on_disk


def test_unusual_but_valid_file_names(server: LiveServer) -> None:
    names = ["x" * 255, ".bashrc", "with space.txt", "caf\u00e9", "back\\slash", "...", ".hgrc"]
    gist = new_gist(server, files={n: {"content": n} for n in names})
    got = server.ok("get_gist", gistid=gist["access_id"], content=True)["content"]
    assert got == {n: n for n in names}


def test_extra_keys_beside_content_are_ignored(server: LiveServer) -> None:
    gist = new_gist(server, files={"r.py": {"content": "x = 1\n", "lexer": "python"}})
    got = server.ok("get_gist", gistid=gist["access_id"], content=True)["content"]
    assert got == {"r.py": "x = 1\n"}


def test_disk_failure_leaves_no_row(server: LiveServer) -> None:
    """With the gist store unusable, creating fails and no row remains."""
    _, key = server.new_user()
    new_gist(server, key)  # the store exists from here on
    root = store(server)
    aside = root.with_name(".rc_gist_store-aside-" + unique())
    root.rename(aside)
    try:
        root.write_text("not a directory")
        assert server.err("create_gist", key, files=one_file()) == FAILED
        assert server.err("create_gist", key, files=one_file(), gist_type="private") == FAILED
    finally:
        root.unlink()
        aside.rename(root)
    assert len(server.ok("get_gists", key)) == 1
    # and the next gist works and owns a fresh, consistent directory
    gist = new_gist(server, key, files=texts(after="ok"))
    assert server.ok("get_gist", key, gistid=gist["access_id"], content=True)["content"] == {
        "after": "ok"
    }


def test_orphaned_directory_at_a_new_id_is_replaced(server: LiveServer) -> None:
    """SQLite hands out the id of a row that vanished again; a directory left there by an operation
    that died before its commit must not block that id."""
    if not server.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL sequences never hand out an id twice")
    first = new_gist(server, files=texts(old="old"))
    database = Database(server.database_url)
    try:
        with database.session() as db:  # the row vanishes, its directory stays (a crash)
            db.execute(delete(Gist).where(Gist.gist_id == first["gist_id"]))
    finally:
        database.engine.dispose()
    again = new_gist(server, files=texts(new="new"))
    if again["gist_id"] != first["gist_id"]:
        pytest.skip("a newer gist holds a higher id; the id was not handed out again")
    content = server.ok("get_gist", gistid=again["access_id"], content=True)["content"]
    assert content == {"new": "new"}
    with vcs.open_repo(str(store(server) / again["access_id"]), "hg") as repo:
        assert len(repo.changesets()) == 1


# --- get_gist -----------------------------------------------------------------------------------


def test_get_gist_by_access_id_and_public_id(server: LiveServer) -> None:
    gist = new_gist(server)
    assert server.ok("get_gist", gistid=gist["access_id"]) == gist
    assert server.ok("get_gist", gistid=gist["gist_id"]) == gist
    assert server.ok("get_gist", gistid=str(gist["gist_id"])) == gist


def test_private_gist_only_by_access_id(server: LiveServer) -> None:
    gist = new_gist(server, gist_type="private")
    assert server.ok("get_gist", gistid=gist["access_id"]) == gist
    assert server.err("get_gist", gistid=gist["gist_id"]) == missing(gist["gist_id"])
    assert server.err("get_gist", gistid=str(gist["gist_id"])) == missing(gist["gist_id"])


def test_get_gist_content(server: LiveServer) -> None:
    files = texts(**{"one.txt": "1\n", "two.md": "# zwei \u00fc\n"})
    gist = new_gist(server, files=files)
    with_content = server.ok("get_gist", gistid=gist["access_id"], content=True)
    assert list(with_content) == GIST_KEYS
    assert with_content["content"] == {"one.txt": "1\n", "two.md": "# zwei \u00fc\n"}
    assert {k: v for k, v in with_content.items() if k != "content"} == {
        k: v for k, v in gist.items() if k != "content"
    }
    assert server.ok("get_gist", gistid=gist["access_id"], content=False)["content"] is None
    as_text = server.ok("get_gist", gistid=gist["access_id"], content="yes")
    assert as_text["content"] == with_content["content"]


def test_who_sees_which_gist(server: LiveServer) -> None:
    _, alice_key = server.new_user()
    _, bob_key = server.new_user()
    public = new_gist(server, alice_key, files=texts(pub="public text"))
    private = new_gist(server, alice_key, gist_type="private", files=texts(priv="secret"))
    # the owner sees both, content included
    assert server.ok("get_gist", alice_key, gistid=private["access_id"]) == private
    assert server.ok("get_gist", alice_key, gistid=public["access_id"]) == public
    # anyone sees a public gist (README #23), content too
    assert server.ok("get_gist", bob_key, gistid=public["access_id"]) == public
    got = server.ok("get_gist", bob_key, gistid=public["gist_id"], content=True)
    assert got["content"] == {"pub": "public text"}
    # nobody else sees a private one, not even knowing its access_id
    assert server.err("get_gist", bob_key, gistid=private["access_id"]) == (
        missing(private["access_id"])
    )
    assert server.err("get_gist", bob_key, gistid=private["access_id"], content=True) == (
        missing(private["access_id"])
    )
    # admins see everything
    got = server.ok("get_gist", gistid=private["access_id"], content=True)
    assert got["content"] == {"priv": "secret"}


def test_get_gist_unknown(server: LiveServer) -> None:
    absent = unique("nogist")
    assert server.err("get_gist", gistid=absent) == missing(absent)
    assert server.err("get_gist", gistid=2_000_000_000) == missing(2_000_000_000)
    assert server.err("get_gist", gistid=99_999_999_999) == missing(99_999_999_999)


# --- get_gists ----------------------------------------------------------------------------------


def test_get_gists_newest_first_and_only_the_users(server: LiveServer) -> None:
    user, key = server.new_user()
    _, other_key = server.new_user()
    made = [
        new_gist(server, key),
        new_gist(server, key, gist_type="private"),
        new_gist(server, key),
    ]
    new_gist(server, other_key)
    listing = server.ok("get_gists", key)
    assert ids(listing) == [g["gist_id"] for g in reversed(made)]
    assert listing == list(reversed(made))
    assert all(g["content"] is None for g in listing)
    # own id, digits and username are all "self" (README #15)
    assert server.ok("get_gists", key, userid=user["user_id"]) == listing
    assert server.ok("get_gists", key, userid=str(user["user_id"])) == listing
    assert server.ok("get_gists", key, userid=user["username"]) == listing
    # an admin asks about anyone; their own list is theirs only
    assert server.ok("get_gists", userid=user["username"]) == listing
    assert set(ids(listing)).isdisjoint(ids(server.ok("get_gists")))


def test_get_gists_self_only_for_non_admins(server: LiveServer) -> None:
    _, key = server.new_user()
    other, _ = server.new_user()
    not_same = "userid is not the same as your user"
    assert server.err("get_gists", key, userid=other["user_id"]) == not_same
    assert server.err("get_gists", key, userid=other["username"]) == not_same
    assert server.err("get_gists", key, userid="admin") == not_same
    # checked before any lookup: a non-admin cannot probe for usernames
    assert server.err("get_gists", key, userid=unique("nobody")) == not_same
    absent = unique("nobody")
    assert server.err("get_gists", userid=absent) == f"user `{absent}` does not exist"


def test_get_gists_of_a_user_without_gists(server: LiveServer) -> None:
    _, key = server.new_user()
    assert server.ok("get_gists", key) == []


# --- expiry -------------------------------------------------------------------------------------


def test_expired_gist_is_missing_everywhere(server: LiveServer) -> None:
    user, key = server.new_user()
    live = new_gist(server, key, lifetime=60)
    doomed = new_gist(server, key, lifetime=60)
    set_expires(server, doomed["access_id"], time.time() - 1)
    for caller in (key, None):  # the owner, and an admin
        assert server.err("get_gist", caller, gistid=doomed["access_id"]) == (
            missing(doomed["access_id"])
        )
        assert server.err("get_gist", caller, gistid=doomed["gist_id"], content=True) == (
            missing(doomed["gist_id"])
        )
    assert ids(server.ok("get_gists", key)) == [live["gist_id"]]
    assert ids(server.ok("get_gists", userid=user["user_id"])) == [live["gist_id"]]
    assert server.err("delete_gist", key, gistid=doomed["access_id"]) == (
        missing(doomed["access_id"])
    )
    assert server.err("delete_gist", gistid=doomed["access_id"]) == missing(doomed["access_id"])
    # it is still there until purged
    assert (store(server) / doomed["access_id"]).is_dir()
    assert row(server, doomed["access_id"]) is not None


def test_purge_expired_removes_rows_and_directories(server: LiveServer) -> None:
    _, key = server.new_user()
    keep = new_gist(server, key, lifetime=60)
    forever = new_gist(server, key)
    doomed = [new_gist(server, key, lifetime=5), new_gist(server, key, gist_type="private")]
    for gist in doomed:
        set_expires(server, gist["access_id"], time.time() - 10)
    shutil.rmtree(store(server) / doomed[1]["access_id"])  # a directory already gone is fine
    database = Database(server.database_url)
    try:
        with database.session() as db:
            purged = gist_service.purge_expired(db, server.home / "repos")
    finally:
        database.engine.dispose()
    for gist in doomed:
        assert gist["access_id"] in purged
        assert row(server, gist["access_id"]) is None
        assert not (store(server) / gist["access_id"]).exists()
    for gist in (keep, forever):
        assert gist["access_id"] not in purged
        assert (store(server) / gist["access_id"]).is_dir()
        assert server.ok("get_gist", key, gistid=gist["access_id"]) == gist


# --- delete_gist --------------------------------------------------------------------------------


def test_delete_gist_by_owner(server: LiveServer) -> None:
    _, key = server.new_user()
    for kind in ("public", "private"):
        gist = new_gist(server, key, gist_type=kind)
        path = store(server) / gist["access_id"]
        assert path.is_dir()
        assert server.ok("delete_gist", key, gistid=gist["access_id"]) == {
            "msg": f"deleted gist ID:{gist['access_id']}",
            "gist": None,
        }
        assert not path.exists()
        assert row(server, gist["access_id"]) is None
        assert server.err("get_gist", key, gistid=gist["access_id"]) == missing(gist["access_id"])
        assert server.err("delete_gist", key, gistid=gist["access_id"]) == (
            missing(gist["access_id"])
        )
    assert server.ok("get_gists", key) == []
    leftovers = [p.name for p in store(server).iterdir() if p.name.startswith("rm__")]
    assert leftovers == []


def test_delete_public_gist_by_id(server: LiveServer) -> None:
    gist = new_gist(server)
    assert server.ok("delete_gist", gistid=gist["gist_id"])["msg"] == (
        f"deleted gist ID:{gist['access_id']}"
    )
    assert not (store(server) / gist["access_id"]).exists()


def test_only_owner_or_admin_deletes(server: LiveServer) -> None:
    _, alice_key = server.new_user()
    _, bob_key = server.new_user()
    public = new_gist(server, alice_key)
    private = new_gist(server, alice_key, gist_type="private")
    for gist in (public, private):
        assert server.err("delete_gist", bob_key, gistid=gist["access_id"]) == (
            missing(gist["access_id"])
        )
        assert (store(server) / gist["access_id"]).is_dir()
    # a private gist is deleted by its access_id only, even by an admin
    assert server.err("delete_gist", gistid=private["gist_id"]) == missing(private["gist_id"])
    for gist in (public, private):
        assert server.ok("delete_gist", gistid=gist["access_id"])["gist"] is None
        assert not (store(server) / gist["access_id"]).exists()
    assert server.ok("get_gists", alice_key) == []


def test_delete_gist_whose_directory_is_gone(server: LiveServer) -> None:
    gist = new_gist(server)
    shutil.rmtree(store(server) / gist["access_id"])
    assert server.ok("delete_gist", gistid=gist["access_id"])["msg"] == (
        f"deleted gist ID:{gist['access_id']}"
    )
    assert row(server, gist["access_id"]) is None


def test_delete_unknown(server: LiveServer) -> None:
    absent = unique("nogist")
    assert server.err("delete_gist", gistid=absent) == missing(absent)

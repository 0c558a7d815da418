# SPDX-License-Identifier: GPL-3.0-or-later
"""User methods (``methods.md`` §2) and server methods (§1), success and error paths."""

from __future__ import annotations

import platform

import pytest

from tests.live import LiveServer, unique

DEFAULT_GLOBALS = {
    "repository.read",
    "group.read",
    "usergroup.read",
    "hg.create.repository",
    "hg.fork.repository",
    "hg.register.manual_activate",
    "hg.extern_activate.auto",
}


def test_fresh_admin_object(server: LiveServer) -> None:
    admin = server.ok("get_user", userid="admin")
    assert {
        k: admin[k]
        for k in ("username", "firstname", "lastname", "email", "emails", "active", "admin")
    } == {
        "username": "admin",
        "firstname": "Hearth",
        "lastname": "Admin",
        "email": "admin@example.com",
        "emails": ["admin@example.com"],
        "active": True,
        "admin": True,
    }
    assert list(admin) == [
        "user_id", "username", "firstname", "lastname", "email", "emails", "active", "admin",
        "extern_type", "extern_name", "ldap_dn", "last_login", "ip_addresses", "permissions",
    ]  # fmt: skip
    assert admin["permissions"]["global"] == ["hg.admin"]
    assert admin["extern_type"] == "internal" and admin["ldap_dn"] is None


def test_admin_names_from_settings(make_server) -> None:
    live = make_server(
        admin_firstname="Kallithea", admin_lastname="Admin", admin_email="Boss@Example.com"
    )
    admin = live.ok("get_user")
    assert (admin["firstname"], admin["lastname"], admin["email"]) == (
        "Kallithea",
        "Admin",
        "boss@example.com",
    )


def test_create_user_result_and_defaults(server: LiveServer) -> None:
    name = unique("c")
    result = server.ok("create_user", username=name, email=f"{name.upper()}@Example.COM")
    assert result["msg"] == f"created new user `{name}`"
    user = result["user"]
    assert user["email"] == f"{name}@example.com"
    assert (user["active"], user["admin"], user["firstname"], user["lastname"]) == (
        True,
        False,
        "",
        "",
    )
    assert user["extern_type"] == "internal" and user["extern_name"] == ""
    assert "permissions" not in user


def test_seed_ldap_example(server: LiveServer) -> None:
    name = unique("bent")
    user = server.ok(
        "create_user",
        username=name,
        email=f"{name}@example.com",
        extern_type="ldap",
        extern_name="uid=bent,dc=example,dc=com",
    )["user"]
    assert user["ldap_dn"] == "uid=bent,dc=example,dc=com"
    other = unique("dn")
    user = server.ok("create_user", username=other, email=f"{other}@e.com", ldap_dn="uid=x")["user"]
    assert (user["extern_type"], user["extern_name"], user["ldap_dn"]) == ("ldap", "uid=x", "uid=x")


@pytest.mark.parametrize(
    "name",
    ["da ve", "a:b", ".dot", "-dash", "default", "new_user", "12345", "", "é", "x" * 256, "a/b"],
)
def test_invalid_usernames(server: LiveServer, name: str) -> None:
    error = server.err("create_user", username=name, email=f"{unique()}@e.com")
    assert error == (
        f"Invalid username `{name}`: use letters, digits, `_`, `.` and `-`, and start with a letter, digit or `_`"
    )


@pytest.mark.parametrize("name", ["_under", "a.b-c_d", "9lives"])
def test_valid_unusual_usernames(server: LiveServer, name: str) -> None:
    name = name + unique("")
    assert (
        server.ok("create_user", username=name, email=f"{name}@e.com")["user"]["username"] == name
    )


def test_duplicate_username_ignoring_case(server: LiveServer) -> None:
    user, _ = server.new_user("Dup")
    error = server.err(
        "create_user", username=user["username"].swapcase(), email=f"{unique()}@e.com"
    )
    assert error == f"user `{user['username'].swapcase()}` already exist"
    # the existing user is untouched (Kallithea renamed it: README #8)
    assert server.ok("get_user", userid=user["user_id"])["username"] == user["username"]


def test_duplicate_email_ignoring_case(server: LiveServer) -> None:
    user, _ = server.new_user()
    error = server.err("create_user", username=unique(), email=user["email"].upper())
    assert error == f"email `{user['email'].upper()}` already exist"


def test_username_checked_before_email(server: LiveServer) -> None:
    user, _ = server.new_user()
    assert server.err("create_user", username=user["username"], email=user["email"]).startswith(
        "user "
    )


def test_get_user_non_admin_self_only(server: LiveServer) -> None:
    user, key = server.new_user()
    for ref in (None, user["user_id"], str(user["user_id"]), user["username"]):
        args = {} if ref is None else {"userid": ref}
        assert server.ok("get_user", key, **args)["user_id"] == user["user_id"]
    # any other value is refused before any lookup: no probing of usernames
    for ref in ("admin", 1, "no-such-user-anywhere", 10**9):
        assert server.err("get_user", key, userid=ref) == "userid is not the same as your user"


def test_non_admin_permissions_report(server: LiveServer) -> None:
    _, key = server.new_user()
    report = server.ok("get_user", key)["permissions"]
    assert set(report["global"]) == DEFAULT_GLOBALS
    assert all(
        not v.endswith(".none")
        for section in ("repositories", "repositories_groups", "user_groups")
        for v in report[section].values()
    )


@pytest.mark.parametrize(
    "method",
    [
        "get_users",
        "create_user",
        "update_user",
        "delete_user",
        "test",
        "get_ip",
        "show_ip",
        "get_server_info",
    ],
)
def test_admin_only_methods_refuse_non_admins(server: LiveServer, method: str) -> None:
    _, key = server.new_user()
    assert server.err(method, key) in (
        "Access was denied to this resource.",
        # methods with required args report them first (step 10 precedes the gate)
        "Missing non optional `userid` arg in JSON DATA",
        "Missing non optional `email` arg in JSON DATA",
        "Missing non optional `args` arg in JSON DATA",
    )
    if method in ("get_users", "get_ip", "show_ip", "get_server_info"):
        assert server.err(method, key) == "Access was denied to this resource."


def test_get_users_order_and_no_default(server: LiveServer) -> None:
    names = [unique("Zed"), unique("alpha"), unique("Beta"), unique("_x")]
    for name in names:
        server.ok("create_user", username=name, email=f"{name}@e.com")
    listed = [u["username"] for u in server.ok("get_users")]
    assert "default" not in listed
    assert listed == sorted(listed)  # code-point order: uppercase before lowercase, "_" between
    assert "permissions" not in server.ok("get_users")[0]


def test_update_user(server: LiveServer) -> None:
    user, key = server.new_user()
    new_name = unique("renamed")
    result = server.ok(
        "update_user",
        userid=user["username"],
        username=new_name,
        firstname="First",
        email="NEW" + user["email"],
        active=None,  # null never clears
    )
    assert result["msg"] == f"updated user ID:{user['user_id']} {new_name}"
    assert result["user"]["firstname"] == "First"
    assert result["user"]["email"] == "new" + user["email"]
    assert result["user"]["active"] is True
    # the key still works after a rename
    assert server.ok("get_user", key)["username"] == new_name


def test_update_user_password_is_hashed_and_works(server: LiveServer) -> None:
    user, _ = server.new_user()
    server.ok("update_user", userid=user["user_id"], password="s3cret-pass")
    text = str(server.ok("get_user", userid=user["user_id"]))
    assert "s3cret" not in text


def test_update_user_errors(server: LiveServer) -> None:
    user, _ = server.new_user()
    other, _ = server.new_user()
    assert server.err("update_user", userid="ghost-user-x") == "user `ghost-user-x` does not exist"
    assert server.err("update_user", userid="default") == "editing default user is forbidden"
    assert server.err("update_user", userid=user["user_id"], username="bad name").startswith(
        "Invalid username `bad name`"
    )
    taken = other["username"].upper()
    assert (
        server.err("update_user", userid=user["username"], username=taken)
        == f"failed to update user `{user['username']}`"
    )
    assert (
        server.err("update_user", userid=str(user["user_id"]), email=other["email"].upper())
        == f"failed to update user `{user['user_id']}`"
    )


def test_update_user_ldap_alias(server: LiveServer) -> None:
    user, _ = server.new_user()
    updated = server.ok("update_user", userid=user["user_id"], ldap_dn="cn=u")["user"]
    assert (updated["extern_type"], updated["extern_name"]) == ("ldap", "cn=u")


def test_delete_user(server: LiveServer) -> None:
    user, key = server.new_user()
    result = server.ok("delete_user", userid=user["username"])
    assert result == {"msg": f"deleted user ID:{user['user_id']} {user['username']}", "user": None}
    assert (
        server.err("get_user", userid=user["user_id"]) == f"user `{user['user_id']}` does not exist"
    )
    assert server.err("get_user", key) == "Invalid API key"


def test_delete_default_user_fails(server: LiveServer) -> None:
    default_id = 1
    assert (
        server.err("delete_user", userid="default")
        == f"failed to delete user ID:{default_id} default"
    )


def test_test_echoes(server: LiveServer) -> None:
    for value in ["xyz", 1, 1.5, None, [1, {"a": None}], {"k": [True]}]:
        assert server.ok("test", args=value) == value
    assert server.err("test") == "Missing non optional `args` arg in JSON DATA"


def test_server_info(server: LiveServer) -> None:
    info = server.ok("get_server_info")
    assert info["kallithea_version"] == "0.7.0"
    assert info["py_version"] == platform.python_version()
    assert info["git_version"].count(".") >= 2 and info["git_path"] == "git"
    names = [m[0] for m in info["modules"]]
    assert names == sorted(names, key=str.lower) and "hearth" in names
    assert info["hg_version"]


def test_get_ip_for_self_and_alias(server: LiveServer) -> None:
    for method in ("get_ip", "show_ip"):
        result = server.ok(method)
        assert result == {
            "server_ip_addr": "127.0.0.1",
            "ip_addr_server": "127.0.0.1",
            "user_ips": [],
        }
    assert server.err("get_ip", userid="nobody-q") == "user `nobody-q` does not exist"


def test_get_method(server: LiveServer) -> None:
    names = server.ok("get_method")
    assert "get_user" in names and "show_ip" in names and names == sorted(names)
    assert server.ok("get_method", pattern="get_user?")[0] == "get_users"  # one match: declaration
    matched = server.ok("get_method", pattern="get_user*")
    assert {"get_user", "get_users", "get_user_group", "get_user_groups"} <= set(matched)
    assert matched == sorted(matched)
    name, signature, declaration = server.ok("get_method", pattern="create_user")
    assert name == "create_user"
    assert signature["username"] == "<RequiredType>"
    assert signature["password"] == "<Optional:''>"
    assert signature["active"] == "<Optional:True>"
    assert declaration["gate"] == "admin"
    assert [a["name"] for a in declaration["args"]][:2] == ["username", "email"]
    ext = next(a for a in declaration["args"] if a["name"] == "extern_name")
    assert ext["aliases"] == ["ldap_dn"]
    _, key = server.new_user()
    assert server.ok("get_method", key, pattern="nothing*") == []

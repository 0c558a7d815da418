# SPDX-License-Identifier: GPL-3.0-or-later
"""The envelope (``spec/jsonrpc.md`` §1-§9), row by row, against a live server."""

from __future__ import annotations

import json

import httpx
import orjson
import pytest

from tests.live import LiveServer, unique


def raw_reply(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["pragma"] == "no-cache"
    reply = response.json()
    assert list(reply) == ["id", "result", "error"]
    return reply


def error_of(server: LiveServer, body: bytes | str, **headers: str) -> tuple[object, str]:
    reply = raw_reply(server.post(body, headers))
    assert reply["result"] is None
    return reply["id"], reply["error"]


# --- §1 endpoint -------------------------------------------------------------------------------


def test_trailing_slash_is_served(server: LiveServer) -> None:
    body = orjson.dumps(
        {"id": 5, "api_key": server.admin_key, "method": "test", "args": {"args": 1}}
    )
    reply = raw_reply(server.post(body, path="/_admin/api/"))
    assert reply == {"id": 5, "result": 1, "error": None}


def test_get_with_body_is_processed_like_post(server: LiveServer) -> None:
    body = orjson.dumps(
        {"id": 6, "api_key": server.admin_key, "method": "test", "args": {"args": "x"}}
    )
    reply = raw_reply(server.post(body, method="GET"))
    assert reply["result"] == "x"


@pytest.mark.parametrize("verb", ["PUT", "DELETE", "PATCH"])
def test_other_http_methods_get_405_with_envelope(server: LiveServer, verb: str) -> None:
    response = server.post(b"{}", method=verb)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json() == {
        "id": None,
        "result": None,
        "error": f'unsupported request method "{verb}". Please use POST',
    }


# --- §2 body -----------------------------------------------------------------------------------


def test_plain_get_has_no_content_length(server: LiveServer) -> None:
    reply = raw_reply(server.client.get("/_admin/api"))
    assert reply["error"] == "No Content-Length in request"


def test_empty_body(server: LiveServer) -> None:
    assert error_of(server, b"") == (None, "Content-Length is 0")


def test_empty_chunked_body(server: LiveServer) -> None:
    def empty():
        yield b""

    response = server.client.post("/_admin/api", content=empty())
    assert raw_reply(response)["error"] == "Content-Length is 0"


def test_chunked_body_is_read(server: LiveServer) -> None:
    body = orjson.dumps(
        {"id": 9, "api_key": server.admin_key, "method": "test", "args": {"args": 3}}
    )

    def chunks():
        yield body[:10]
        yield body[10:]

    response = server.client.post("/_admin/api", content=chunks())
    assert raw_reply(response) == {"id": 9, "result": 3, "error": None}


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "Application/X-WWW-Form-Urlencoded; charset=utf-8",
    ],
)
def test_form_bodies_are_discarded(server: LiveServer, content_type: str) -> None:
    body = orjson.dumps({"id": 1, "api_key": server.admin_key, "method": "test", "args": {}})
    assert error_of(server, body, **{"content-type": content_type}) == (
        None,
        "JSON parse error ERR:Expecting value: line 1 column 1 (char 0) RAW:b''",
    )


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "text/plain; charset=utf-8", "weird/type"]
)
def test_other_content_types_are_parsed(server: LiveServer, content_type: str | None) -> None:
    body = orjson.dumps(
        {"id": 2, "api_key": server.admin_key, "method": "test", "args": {"args": 1}}
    )
    headers = {} if content_type is None else {"content-type": content_type}
    request = server.client.build_request("POST", "/_admin/api", content=body, headers=headers)
    request.headers.pop("content-type", None)
    if content_type is not None:
        request.headers["content-type"] = content_type
    reply = raw_reply(server.client.send(request))
    assert reply["result"] == 1


def test_parse_error_text_matches_cpython(server: LiveServer) -> None:
    assert error_of(server, b"{not json") == (
        None,
        "JSON parse error ERR:Expecting property name enclosed in double quotes: line 1 column 2 (char 1) RAW:b'{not json'",
    )


def test_bad_utf8_reports_the_unicode_error(server: LiveServer) -> None:
    body = b'{"id": "\xff"}'
    try:
        json.loads(body)
    except ValueError as exc:
        expected = str(exc)
    _, error = error_of(server, body)
    assert error == f"JSON parse error ERR:{expected} RAW:{body!r}"


def test_utf8_bom_is_skipped(server: LiveServer) -> None:
    body = b"\xef\xbb\xbf" + orjson.dumps(
        {"id": 1, "api_key": server.admin_key, "method": "test", "args": {"args": "bom"}}
    )
    assert raw_reply(server.post(body))["result"] == "bom"


def test_utf16_body_is_detected(server: LiveServer) -> None:
    text = json.dumps(
        {"id": 1, "api_key": server.admin_key, "method": "test", "args": {"args": "é"}}
    )
    assert raw_reply(server.post(text.encode("utf-16-le")))["result"] == "é"


def test_long_raw_is_cut_at_1024_bytes(server: LiveServer) -> None:
    body = b"{" + b"x" * 2000
    _, error = error_of(server, body)
    assert error.endswith(repr(body[:1024]) + "...")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_parse_errors(server: LiveServer, constant: str) -> None:
    body = f'{{"id": 1, "api_key": "k", "method": "test", "args": {{"args": {constant}}}}}'
    _, error = error_of(server, body)
    assert error.startswith("JSON parse error ERR:NaN and Infinity are not valid JSON RAW:")


@pytest.mark.parametrize("depth", [101, 5000, 200000])
def test_deep_nesting_is_a_parse_error(server: LiveServer, depth: int) -> None:
    body = "[" * depth + "]" * depth
    _, error = error_of(server, body)
    assert error.startswith("JSON parse error ERR:nesting too deep RAW:")


def test_nesting_of_100_is_fine(server: LiveServer) -> None:
    nested: object = []
    for _ in range(97):  # with the request object and args: 100 levels in all
        nested = [nested]
    reply = server.call("test", args=nested)
    assert reply["result"] == nested


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("[1]", "array"),
        ('"x"', "string"),
        ("5", "number"),
        ("1.5", "number"),
        ("true", "boolean"),
        ("null", "null"),
    ],
)
def test_json_that_is_not_an_object(server: LiveServer, body: str, kind: str) -> None:
    assert error_of(server, body) == (
        None,
        f"Incorrect JSON query: expected a JSON object, got {kind}",
    )


def test_body_over_the_limit(make_server) -> None:
    small = make_server(api_max_body_bytes=100)
    body = orjson.dumps(
        {"id": 1, "api_key": small.admin_key, "method": "test", "args": {"args": "x" * 200}}
    )
    assert error_of(small, body) == (None, "Request body too large: limit is 100 bytes")

    def chunks():
        yield body[:50]
        yield body[50:]

    reply = raw_reply(small.client.post("/_admin/api", content=chunks()))
    assert reply["error"] == "Request body too large: limit is 100 bytes"


# --- §3-§4 request object and ordered checks ---------------------------------------------------


def test_missing_api_key_answers_null_id_even_with_id(server: LiveServer) -> None:
    assert error_of(server, '{"id": 3, "method": "test", "args": {}}') == (
        None,
        "Incorrect JSON query missing 'api_key'",
    )


def test_missing_id(server: LiveServer) -> None:
    assert error_of(server, '{"api_key": "x", "method": "test", "args": {}}') == (
        None,
        "Incorrect JSON query missing 'id'",
    )


def test_missing_method_echoes_id(server: LiveServer) -> None:
    assert error_of(server, '{"id": {"a": [1]}, "api_key": "x", "args": {}}') == (
        {"a": [1]},
        "Incorrect JSON query missing 'method'",
    )


def test_missing_args(server: LiveServer) -> None:
    assert error_of(server, '{"id": "q", "api_key": "x", "method": "test"}') == (
        "q",
        "Incorrect JSON query missing 'args'",
    )


@pytest.mark.parametrize("key", ["", None, "nope", 12, ["x"], {"a": 1}])
def test_invalid_keys(server: LiveServer, key: object) -> None:
    reply = server.envelope({"id": 0, "api_key": key, "method": "test", "args": {}})
    assert reply == {"id": 0, "result": None, "error": "Invalid API key"}


def test_key_check_comes_before_method_checks(server: LiveServer) -> None:
    reply = server.envelope({"id": 1, "api_key": "bad", "method": 5, "args": {}})
    assert reply["error"] == "Invalid API key"


def test_auth_token_and_bearer_credentials(server: LiveServer) -> None:
    reply = server.envelope(
        {"id": 1, "auth_token": server.admin_key, "method": "test", "args": {"args": 1}}
    )
    assert reply["result"] == 1
    reply = server.envelope(
        {"id": 1, "method": "test", "args": {"args": 2}},
        headers={"Authorization": f"bEaReR {server.admin_key}"},
    )
    assert reply["result"] == 2
    # an empty api_key falls through to auth_token
    reply = server.envelope(
        {
            "id": 1,
            "api_key": "",
            "auth_token": server.admin_key,
            "method": "test",
            "args": {"args": 3},
        }
    )
    assert reply["result"] == 3
    # a usable api_key wins over a bearer header
    reply = server.envelope(
        {"id": 1, "api_key": "wrong", "method": "test", "args": {}},
        headers={"Authorization": f"Bearer {server.admin_key}"},
    )
    assert reply["error"] == "Invalid API key"


@pytest.mark.parametrize(
    ("method", "error"),
    [
        (5, "Method name must be a string"),
        (None, "Method name must be a string"),
        ("_private", "Method not allowed"),
        ("frobnicate", "No such method: frobnicate"),
        ("get_repo_store", "No such method: get_repo_store"),
    ],
)
def test_method_name_checks(server: LiveServer, method: object, error: str) -> None:
    reply = server.envelope({"id": 4, "api_key": server.admin_key, "method": method, "args": {}})
    assert reply == {"id": 4, "result": None, "error": error}


@pytest.mark.parametrize("args", [None, [], 5, "x", [1, 2]])
def test_non_object_args_are_empty(server: LiveServer, args: object) -> None:
    reply = server.envelope(
        {"id": 1, "api_key": server.admin_key, "method": "get_user", "args": args}
    )
    assert reply["result"]["username"] == "admin"


def test_missing_required_arg_reports_the_last_missing(server: LiveServer) -> None:
    assert server.err("create_user") == "Missing non optional `email` arg in JSON DATA"
    assert (
        server.err("create_user", email="a@b.c")
        == "Missing non optional `username` arg in JSON DATA"
    )


def test_unknown_args_sorted(server: LiveServer) -> None:
    assert (
        server.err("get_user", b=1, a=2, environ=3)
        == "Unknown `a`, `b`, `environ` arg in JSON DATA"
    )
    assert server.err("get_user", action="x") == "Unknown `action` arg in JSON DATA"


def test_conflicting_alias(server: LiveServer) -> None:
    error = server.err("create_user", username="x1", email="x1@e.com", extern_name="a", ldap_dn="b")
    assert error == "Conflicting `extern_name` and `ldap_dn` args in JSON DATA"


def test_duplicate_keys_last_wins(server: LiveServer) -> None:
    key = server.admin_key
    body = f'{{"id": 1, "api_key": "bad", "api_key": "{key}", "method": "test", "args": {{"args": 1}}}}'
    assert raw_reply(server.post(body))["result"] == 1


def test_extra_top_level_keys_are_ignored(server: LiveServer) -> None:
    reply = server.envelope(
        {
            "id": 1,
            "jsonrpc": "2.0",
            "params": [1],
            "api_key": server.admin_key,
            "method": "test",
            "args": {"args": 0},
        }
    )
    assert reply == {"id": 1, "result": 0, "error": None}


@pytest.mark.parametrize(
    "ident", [None, 0, "abc", [1, {"b": None}], {"k": "v"}, 12345678901234567890123, 1.5, True]
)
def test_id_echoed_untouched(server: LiveServer, ident: object) -> None:
    reply = server.envelope(
        {"id": ident, "api_key": server.admin_key, "method": "test", "args": {"args": None}}
    )
    assert reply["id"] == ident and type(reply["id"]) is type(ident)


def test_gate_before_kind_check(server: LiveServer) -> None:
    _, key = server.new_user()
    assert server.err("get_ip", key, userid=[1]) == "Access was denied to this resource."
    assert (
        server.err("get_ip", userid=[1])
        == "Invalid value for `userid`: expected an id or a name, got [1]"
    )


# --- §5 credentials and §6 IP rules ------------------------------------------------------------


def test_default_user_key_is_refused(server: LiveServer) -> None:
    key = server.cli("admin", "api-key", "default").stdout.strip().splitlines()[-1]
    assert server.err("get_user", key) == "Invalid API key"


def test_inactive_user_is_refused(server: LiveServer) -> None:
    user, key = server.new_user()
    assert server.ok("get_user", key)["username"] == user["username"]
    server.ok("update_user", userid=user["user_id"], active=False)
    assert server.err("get_user", key) == "Invalid API key"


def test_restricted_key_roles(server: LiveServer) -> None:
    user, _ = server.new_user()
    for role, works in [
        ("api", True),
        ("all", True),
        ("vcs", False),
        ("http", False),
        ("feed", False),
    ]:
        key = server.cli("admin", "api-key", user["username"], "--role", role).stdout.strip()
        reply = server.call("get_user", key)
        assert (reply["error"] is None) is works, (role, reply)


def test_main_key_of_new_user_is_not_returned(server: LiveServer) -> None:
    user, _ = server.new_user()
    text = json.dumps(server.ok("get_user", userid=user["user_id"]))
    assert "api_key" not in text


def test_ip_rules(make_server) -> None:
    live = make_server(remote_addr_header="X-Forwarded-For")
    user, key = live.new_user()
    # no rules: everything allowed; the header names the address
    reply = live.envelope(
        {"id": 1, "api_key": key, "method": "get_user", "args": {}},
        headers={"X-Forwarded-For": "10.1.2.3, 1.1.1.1"},
    )
    assert reply["error"] is None
    live.cli("admin", "ip-rule", "add", user["username"], "10.0.0.0/8")
    ok = live.envelope(
        {"id": 1, "api_key": key, "method": "get_user", "args": {}},
        headers={"X-Forwarded-For": "10.9.9.9"},
    )
    assert ok["error"] is None
    denied = live.envelope(
        {"id": 1, "api_key": key, "method": "get_user", "args": {}},
        headers={"X-Forwarded-For": "192.168.0.1"},
    )
    assert denied["error"] == "Invalid API key"
    # the default user's rules apply to everybody and add to the user's
    live.cli("admin", "ip-rule", "add", "default", "192.168.0.0/16")
    again = live.envelope(
        {"id": 1, "api_key": key, "method": "get_user", "args": {}},
        headers={"X-Forwarded-For": "192.168.0.1"},
    )
    assert again["error"] is None
    admin_denied = live.envelope(
        {"id": 1, "api_key": live.admin_key, "method": "get_user", "args": {}},
        headers={"X-Forwarded-For": "172.16.0.1"},
    )
    assert admin_denied["error"] == "Invalid API key"
    got = live.envelope(
        {
            "id": 1,
            "api_key": live.admin_key,
            "method": "get_ip",
            "args": {"userid": user["username"]},
        },
        headers={"X-Forwarded-For": "192.168.7.7"},
    )["result"]
    assert got == {
        "server_ip_addr": "192.168.7.7",
        "ip_addr_server": "192.168.7.7",
        "user_ips": [{"ip_addr": "10.0.0.0/8", "ip_range": ["10.0.0.0", "10.255.255.255"]}],
    }


def test_unconfigured_forwarded_header_is_ignored(server: LiveServer) -> None:
    reply = server.envelope(
        {"id": 1, "api_key": server.admin_key, "method": "get_ip", "args": {}},
        headers={"X-Forwarded-For": "9.9.9.9"},
    )
    assert reply["result"]["server_ip_addr"] == "127.0.0.1"


# --- §7 argument kinds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("TRUE", True),
        ("no", False),
        ("On", True),
        ("f", False),
    ],
)
def test_bool_coercion(server: LiveServer, value: object, expected: bool) -> None:
    name = unique("b")
    user = server.ok("create_user", username=name, email=f"{name}@e.com", admin=value)["user"]
    assert user["admin"] is expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("", '""'),
        ("maybe", '"maybe"'),
        (2, "2"),
        (1.0, "1.0"),
        ([True], "[true]"),
        ({"a": 1}, '{"a":1}'),
    ],
)
def test_bool_rejections(server: LiveServer, value: object, shown: str) -> None:
    error = server.err("create_user", username="zz", email="zz@e.com", admin=value)
    assert error == f"Invalid value for `admin`: expected a boolean, got {shown}"


@pytest.mark.parametrize(
    ("value", "shown"), [(True, "true"), (1.5, "1.5"), ([1], "[1]"), ({}, "{}")]
)
def test_id_or_name_rejections(server: LiveServer, value: object, shown: str) -> None:
    assert (
        server.err("get_user", userid=value)
        == f"Invalid value for `userid`: expected an id or a name, got {shown}"
    )


def test_null_for_required_arg_is_a_kind_error(server: LiveServer) -> None:
    assert (
        server.err("delete_user", userid=None)
        == "Invalid value for `userid`: expected an id or a name, got null"
    )


def test_null_for_optional_arg_means_default(server: LiveServer) -> None:
    assert server.ok("get_user", userid=None)["username"] == "admin"


def test_str_kind_converts_scalars_and_rejects_containers(server: LiveServer) -> None:
    name = unique("s")
    user = server.ok(
        "create_user", username=name, email=f"{name}@e.com", firstname=5, lastname=True
    )["user"]
    assert (user["firstname"], user["lastname"]) == ("5", "true")
    error = server.err("create_user", username=name, email="q@e.com", firstname=["x"])
    assert error == 'Invalid value for `firstname`: expected a string, got ["x"]'


def test_kind_error_json_is_cut_at_40(server: LiveServer) -> None:
    error = server.err("get_user", userid=["a" * 100])
    assert (
        error == 'Invalid value for `userid`: expected an id or a name, got ["' + "a" * 38 + "..."
    )


# --- §8 resolution -----------------------------------------------------------------------------


def test_ids_and_digit_strings_resolve_the_same(server: LiveServer) -> None:
    user, _ = server.new_user()
    for ref in (user["user_id"], str(user["user_id"]), user["username"]):
        assert server.ok("get_user", userid=ref)["user_id"] == user["user_id"]


@pytest.mark.parametrize("ref", [999999, "999999", "nobody-here", 10**30])
def test_missing_user(server: LiveServer, ref: object) -> None:
    assert server.err("get_user", userid=ref) == f"user `{ref}` does not exist"


# --- robustness ---------------------------------------------------------------------------------


def test_internal_errors_never_leak_html(server: LiveServer) -> None:
    response = server.post(b'{"id": 1, "api_key": "\\ud800", "method": "test", "args": {}}')
    assert raw_reply(response)["error"] == "Invalid API key"


def test_repeated_invalid_keys_are_slowed_down_but_answered_the_same(make_server) -> None:
    """Each answer after the five free failures waits at least its delay (a lower bound, so a
    slow machine cannot fail it); which failures are free is decided without a clock below."""
    import time

    live = make_server(auth_failure_delay_max=0.5)
    for _ in range(5):
        assert live.err("get_user", "wrong-key") == "Invalid API key"
    for delay in (0.1, 0.2, 0.4, 0.5):
        started = time.monotonic()
        assert live.err("get_user", "wrong-key") == "Invalid API key"
        assert time.monotonic() - started >= delay
    assert live.ok("get_user")["username"] == "admin"


def test_failure_delays_double_after_the_free_ones_up_to_the_cap() -> None:
    from hearth.throttle import FailureThrottle

    throttle = FailureThrottle(cap=0.5)
    delays = [throttle.delay_for("10.0.0.1") for _ in range(9)]
    assert delays == [0, 0, 0, 0, 0, 0.1, 0.2, 0.4, 0.5]
    assert throttle.delay_for("10.0.0.2") == 0  # counted per address
    off = FailureThrottle(cap=0)
    assert [off.delay_for("10.0.0.1") for _ in range(7)] == [0] * 7


@pytest.mark.parametrize("ref", [2**31, str(2**31), -(2**31) - 1, 2**63, str(10**40)])
def test_ids_beyond_the_integer_columns_are_missing(server: LiveServer, ref: object) -> None:
    assert server.err("get_user", userid=ref) == f"user `{ref}` does not exist"
    assert server.err("get_ip", userid=ref) == f"user `{ref}` does not exist"


# --- paths with repeated slashes, ids UTF-8 cannot hold (issue 12 item 2) ----------------------


def post_verbatim(server: LiveServer, path: str, body: bytes) -> dict:
    """POST ``body`` to ``path`` exactly as written (an HTTP client library may tidy it)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", path, body=body, headers={"content-type": "text/plain"})
        response = conn.getresponse()
        data = response.read()
        assert response.status == 200, (path, response.status, data)
        assert response.getheader("content-type") == "application/json"
    finally:
        conn.close()
    reply = json.loads(data)
    assert list(reply) == ["id", "result", "error"]
    return reply


@pytest.mark.parametrize(
    "path", ["//_admin/api", "/_admin/api//", "///_admin//api", "/_admin//api/", "//_admin/api/"]
)
def test_repeated_slashes_reach_the_api(server: LiveServer, path: str) -> None:
    body = orjson.dumps(
        {"id": 7, "api_key": server.admin_key, "method": "test", "args": {"args": path}}
    )
    assert post_verbatim(server, path, body) == {"id": 7, "result": path, "error": None}


def test_repeated_slashes_reach_a_repository(server: LiveServer) -> None:
    name = unique("slashes")
    server.ok("create_repo", repo_name=f"{name}/inner", repo_type="git")
    for path in (f"//{name}/inner/info/refs", f"/{name}//inner/info/refs"):
        response = server.client.get(f"{server.url}{path}", params={"service": "git-upload-pack"})
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"] == "application/x-git-upload-pack-advertisement"


@pytest.mark.parametrize(
    "ident", ["\ud800", "a\udfffb", "\udc00\ud800", "na\u00efve \ud83d", {"k\ud800": ["\udfff"]}]
)
def test_an_id_with_a_lone_surrogate_is_echoed_and_the_call_answered(
    server: LiveServer, ident: object
) -> None:
    # json.dumps writes a lone surrogate as its \uXXXX escape: valid JSON, not valid UTF-8
    body = json.dumps(
        {"id": ident, "api_key": server.admin_key, "method": "test", "args": {"args": ident}}
    ).encode()
    response = server.post(body)
    assert b"\\ud" in response.content.lower()  # escaped, so the body is valid UTF-8
    response.content.decode("utf-8")
    assert raw_reply(response) == {"id": ident, "result": ident, "error": None}


def test_a_surrogate_id_is_echoed_with_an_error_too(server: LiveServer) -> None:
    body = json.dumps({"id": "\ud800", "api_key": server.admin_key, "method": "nope\udc00"})
    assert error_of(server, body) == ("\ud800", "Incorrect JSON query missing 'args'")
    body = json.dumps(
        {"id": "\ud800", "api_key": server.admin_key, "method": "nope\udc00", "args": {}}
    )
    assert error_of(server, body) == ("\ud800", "No such method: nope\udc00")

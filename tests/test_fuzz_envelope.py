# SPDX-License-Identifier: GPL-3.0-or-later
"""Random bodies, headers and argument types thrown at ``/_admin/api``.

Whatever arrives, the answer is HTTP 200 with a JSON object of exactly ``id``, ``result``, ``error``:
either a string error and a null result, or a null error. ``Internal server error`` never appears.
The server is a dedicated one (per backend): random admin calls may create and delete things.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import _require_postgres
from tests.live import LiveServer, drop_pg_database, new_server

EXAMPLES = 700  # per test; four tests = 2,800 requests per backend


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    if request.param == "postgres":
        _require_postgres()
    live, pg_url = new_server(
        tmp_path_factory.mktemp("fuzz"), request.param, auth_failure_delay_max=0
    )
    live.method_names = live.ok("get_method")  # type: ignore[attr-defined]
    live.user_key = live.new_user()[1]  # type: ignore[attr-defined]
    yield live
    live.stop()
    if pg_url:
        drop_pg_database(pg_url)


def check_reply(
    live: LiveServer,
    body: bytes,
    headers: dict[str, str],
    method: str = "POST",
    path: str = "/_admin/api",
) -> dict:
    # a full URL: httpx would drop the leading slashes of a path merged with its base URL
    response = live.client.request(method, live.url + path, content=body, headers=headers)
    assert response.status_code == 200, (response.status_code, body[:200])
    assert response.headers["content-type"] == "application/json"
    reply = response.json()
    assert isinstance(reply, dict) and list(reply) == ["id", "result", "error"], reply
    if reply["error"] is not None:
        assert isinstance(reply["error"], str) and reply["error"], reply
        assert reply["result"] is None, reply
        assert reply["error"] != "Internal server error", body[:500]
        assert reply["error"] != "Error encoding response", body[:500]
    return reply


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
content_types = st.sampled_from(
    [
        "text/plain",
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "",
        "x/y",
    ]
)
ARG_NAMES = [
    "userid",
    "repoid",
    "usergroupid",
    "username",
    "email",
    "args",
    "pattern",
    "admin",
    "active",
    "password",
    "group_name",
    "perm",
    "remove_obsolete",
    "revision",
    "root_path",
    "zzz",
    "ldap_dn",
    "usersgroupid",
]
arg_values = (
    json_values
    | st.sampled_from(
        ["1", "2", "0", "admin", "default", "true", "no", "-1", "1.5", "", "..", "a/b"]
    )
    | st.integers(-3, 5)
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=300), content_type=content_types)
def test_random_bytes(fuzz_server: LiveServer, body: bytes, content_type: str) -> None:
    check_reply(fuzz_server, body, {"content-type": content_type})


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    value=json_values,
    extra=st.dictionaries(
        st.sampled_from(["id", "api_key", "auth_token", "method", "args"]), json_values, max_size=5
    ),
)
def test_random_json(fuzz_server: LiveServer, value: object, extra: dict) -> None:
    body = value if not isinstance(value, dict) else {**value, **extra}
    check_reply(fuzz_server, json.dumps(body).encode(), {"content-type": "text/plain"})


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_calls(fuzz_server: LiveServer, data: st.DataObject) -> None:
    methods = fuzz_server.method_names  # type: ignore[attr-defined]
    method = data.draw(st.sampled_from([*methods, "_x", "nope"]) | json_scalars)
    key = data.draw(st.sampled_from([fuzz_server.admin_key, fuzz_server.user_key, "bad", ""]))  # type: ignore[attr-defined]
    args = data.draw(
        st.dictionaries(st.sampled_from(ARG_NAMES), arg_values, max_size=4) | json_values
    )
    ident = data.draw(json_values)
    credential = data.draw(st.sampled_from(["api_key", "auth_token", "bearer"]))
    headers = {"content-type": data.draw(st.sampled_from(["text/plain", "application/json"]))}
    request: dict[str, object] = {"id": ident, "method": method, "args": args}
    if credential == "bearer":
        headers["authorization"] = f"Bearer {key}".strip()
    else:
        request[credential] = key
    if data.draw(st.booleans()):
        headers["x-forwarded-for"] = data.draw(st.text(alphabet=string.printable[:60], max_size=20))
    check_reply(
        fuzz_server,
        json.dumps(request).encode(),
        headers,
        data.draw(st.sampled_from(["POST", "GET"])),
    )


# lone surrogates: valid JSON as \\uXXXX escapes, which UTF-8 cannot hold
surrogate_text = st.text(
    alphabet=st.characters(categories=["Cs"]) | st.characters(), min_size=1, max_size=12
)
any_ids = json_values | surrogate_text | st.lists(surrogate_text, max_size=3)
api_paths = st.builds(
    lambda lead, mid, tail: f"{lead}_admin{mid}api{tail}",
    st.sampled_from(["/", "//", "///"]),
    st.sampled_from(["/", "//", "////"]),
    st.sampled_from(["", "/", "//", "///"]),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=api_paths, ident=any_ids, echoed=json_values | surrogate_text)
def test_path_variants_and_any_id(
    fuzz_server: LiveServer, path: str, ident: object, echoed: object
) -> None:
    """Every spelling of the endpoint with repeated slashes is the endpoint, and any id the
    request can carry comes back as it was, with the call answered."""
    request = {
        "id": ident,
        "api_key": fuzz_server.admin_key,
        "method": "test",
        "args": {"args": echoed},
    }
    reply = check_reply(
        fuzz_server, json.dumps(request).encode(), {"content-type": "text/plain"}, path=path
    )
    assert reply == {"id": ident, "result": echoed, "error": None}, (path, request)

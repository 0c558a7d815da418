# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth-api`` / ``kallithea-api`` / ``rhodecode-api`` (``spec/clients.md`` §1-§3).

The installed executables run in a subprocess with a temporary ``HOME`` against the live server; the
outputs are compared byte for byte with the originals' forms. Replies no Hearth server can give (a
Kallithea without ``get_method``, a wrong ``id``, a body that is not JSON) come from a small HTTP
server in a thread, standing in for the foreign servers the client must cope with.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveServer, free_port, unique

BIN = Path(sys.executable).parent


def usage(prog: str) -> str:
    return (
        f"usage: {prog} [-h] [--format=FORMAT] [--apikey=APIKEY] [--apihost=APIHOST] "
        "[--config=CONFIG] [--save-config] METHOD <key:val> <key2:val> ...\n"
        f"Create config file: {prog} --apikey=<key> --apihost=http://kallithea.example.com "
        "--save-config\n"
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def run(
    prog: str, *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LANG": "C.UTF-8"}
    environment.update(env or {})
    return subprocess.run(
        [str(BIN / prog), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def flags(server: LiveServer, key: str | None = None) -> list[str]:
    return [f"--apikey={key or server.admin_key}", f"--apihost={server.url}"]


def json_tool_accepts(text: str) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "json.tool"], input=text, capture_output=True, text=True
    )
    return done.returncode == 0


def sent_args(stderr: str, method: str) -> Any:
    """The ``args`` of the request for ``method`` as traced by ``-v``."""
    for line in stderr.splitlines():
        prefix = "hearth-api: POST "
        if line.startswith(prefix):
            request = json.loads(line.split(" ", 3)[3])
            if request["method"] == method:
                assert "api_key" not in request
                return request["args"]
    raise AssertionError(f"no traced request for {method}: {stderr}")


# --- kallithea dialect output -------------------------------------------------------------------


@pytest.mark.parametrize("prog", ["hearth-api", "kallithea-api"])
def test_kallithea_pretty_result_byte_for_byte(server: LiveServer, home: Path, prog: str) -> None:
    done = run(prog, *flags(server), "test", 'args:{"b": [1, 2], "a": "x", "u": "é"}', home=home)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    # the original's name keeps its escapes; hearth-api's pretty output is for people
    text = "é" if prog == "hearth-api" else "\\u00e9"
    assert done.stdout == (
        f"Calling method test => {server.url}\n"
        "Server response \n"
        "{\n"
        '    "a": "x",\n'
        '    "b": [\n'
        "        1,\n"
        "        2\n"
        "    ],\n"
        f'    "u": "{text}"\n'
        "}\n"
    )


def test_hearth_api_pretty_prints_unicode_as_unicode(server: LiveServer, home: Path) -> None:
    done = run("hearth-api", *flags(server), "test", "args:na\u00efve 日本 \U0001f600", home=home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith('Server response \n"na\u00efve 日本 \U0001f600"\n')
    done = run("hearth-api", *flags(server), "get_user", "userid:na\u00efve", home=home)
    assert done.stdout.endswith('ERROR:"user `na\u00efve` does not exist"\n')
    # -F json stays one line of ASCII JSON, as the original; so do the originals' names
    done = run("hearth-api", *flags(server), "-F", "json", "test", "args:na\u00efve", home=home)
    assert done.stdout == '"na\\u00efve"\n'
    done = run("rhodecode-api", *flags(server), "test", "args:na\u00efve", home=home)
    assert '"result": "na\\u00efve"' in done.stdout


def test_kallithea_pretty_error_byte_for_byte(server: LiveServer, home: Path) -> None:
    name = unique("nobody")
    done = run("kallithea-api", *flags(server), "get_user", f"userid:{name}", home=home)
    assert done.returncode == 1
    assert done.stdout == (
        f"Calling method get_user => {server.url}\n"
        "Server response \n"
        f'ERROR:"user `{name}` does not exist"\n'
    )


def test_apihost_is_shown_as_given_and_used_without_its_slash(
    server: LiveServer, home: Path
) -> None:
    done = run(
        "kallithea-api",
        f"--apikey={server.admin_key}",
        f"--apihost={server.url}/",
        "test",
        "args:1",
        home=home,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Calling method test => {server.url}/\nServer response \n1\n"


def test_kallithea_json_is_one_line_of_result_or_error(server: LiveServer, home: Path) -> None:
    done = run(
        "kallithea-api",
        "--format=json",
        *flags(server),
        "test",
        'args:{"a": [1, {"b": null}]}',
        home=home,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"a": [1, {"b": null}]}\n'
    assert json_tool_accepts(done.stdout)

    done = run("hearth-api", "--format", "json", *flags(server), "get_user", "userid:-7", home=home)
    assert done.returncode == 1
    assert done.stdout == '"user `-7` does not exist"\n'
    assert json_tool_accepts(done.stdout)


def test_wrong_key_is_a_server_error(server: LiveServer, home: Path) -> None:
    done = run("kallithea-api", *flags(server, key="0" * 40), "test", "args:1", home=home)
    assert done.returncode == 1
    assert done.stdout.endswith('Server response \nERROR:"Invalid API key"\n')


# --- rhodecode dialect output -------------------------------------------------------------------


def _envelope_id(text: str) -> int:
    found = re.search(r'"id": (\d+)', text)
    assert found, text
    value = int(found.group(1))
    assert 1 <= value <= 9998
    return value


@pytest.mark.parametrize(
    ("prog", "extra"), [("rhodecode-api", []), ("hearth-api", ["--dialect", "rhodecode"])]
)
def test_rhodecode_pretty_envelope_byte_for_byte(
    server: LiveServer, home: Path, prog: str, extra: list[str]
) -> None:
    done = run(prog, *extra, *flags(server), "test", 'args:{"b": 1, "a": [true]}', home=home)
    assert done.returncode == 0, done.stderr
    ident = _envelope_id(done.stdout)
    assert done.stdout == (
        f"Calling method test => {server.url}\n"
        "Server response\n"
        "{\n"
        '  "error": null,\n'
        f'  "id": {ident},\n'
        '  "result": {\n'
        '    "a": [\n'
        "      true\n"
        "    ],\n"
        '    "b": 1\n'
        "  }\n"
        "}\n"
    )


def test_rhodecode_pretty_error(server: LiveServer, home: Path) -> None:
    done = run("rhodecode-api", *flags(server), "test", home=home)
    assert done.returncode == 1
    ident = _envelope_id(done.stdout)
    assert done.stdout == (
        f"Calling method test => {server.url}\n"
        "Server response\n"
        "{\n"
        '  "error": "Missing non optional `args` arg in JSON DATA",\n'
        f'  "id": {ident},\n'
        '  "result": null\n'
        "}\n"
    )


def test_rhodecode_json_is_the_envelope_on_one_line(server: LiveServer, home: Path) -> None:
    done = run("rhodecode-api", "-F", "json", *flags(server), "test", "args:[1,2]", home=home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert json_tool_accepts(done.stdout)
    envelope = json.loads(done.stdout)
    assert list(envelope) == ["id", "result", "error"]
    assert envelope["result"] == [1, 2] and envelope["error"] is None
    assert done.stdout == json.dumps(envelope) + "\n"


def test_dialect_flag_overrides_the_program_name(server: LiveServer, home: Path) -> None:
    done = run("rhodecode-api", "--dialect=kallithea", *flags(server), "test", "args:x", home=home)
    assert done.stdout == f'Calling method test => {server.url}\nServer response \n"x"\n'


# --- configuration ------------------------------------------------------------------------------


def test_save_config_kallithea_round_trip(server: LiveServer, home: Path) -> None:
    path = home / ".config" / "kallithea"
    assert not path.parent.exists()  # created, unlike the original that crashes
    done = run("kallithea-api", *flags(server), "--save-config", home=home)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"Created new config in {path}\n", "")
    assert path.read_text() == (
        f'{{\n    "apikey": "{server.admin_key}",\n    "apihost": "{server.url}"\n}}\n'
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    done = run("kallithea-api", *flags(server), "--save-config", home=home)
    assert done.stdout == f"Updated config in {path}\n"

    for prog in ("kallithea-api", "hearth-api"):
        done = run(prog, "--format=json", "test", "args:7", home=home)
        assert (done.returncode, done.stdout) == (0, "7\n"), done.stderr


def test_save_config_rhodecode_updates_one_section(server: LiveServer, home: Path) -> None:
    rc = home / ".rhoderc"
    original = (
        "; my servers\n"
        "[instance:other]\n"
        "api_host = http://other.example.com\n"
        "api_key = otherkey   ; not real\n"
        "repo_dir = /srv/repos\n"
    )
    rc.write_text(original)
    done = run(
        "rhodecode-api", *flags(server), "--instance-name", "prod", "--save-config", home=home
    )
    assert (done.returncode, done.stdout) == (0, f"Updated config in {rc}\n"), done.stderr
    assert rc.read_text() == (
        original + f"\n[instance:prod]\napi_host = {server.url}\napi_key = {server.admin_key}\n"
    )

    done = run("rhodecode-api", "--instance-name=prod", "-F", "json", "test", "args:1", home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == 1

    done = run("rhodecode-api", "test", "args:1", home=home)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == usage("rhodecode-api") + (
        f"rhodecode-api: error: several instances in {rc}; choose one with --instance-name\n"
    )

    # updating a section rewrites its values in place
    done = run(
        "rhodecode-api",
        "--api-key",
        "changed",
        "--api-host",
        server.url,
        "--instance-name",
        "prod",
        "--save-config",
        home=home,
    )
    assert done.returncode == 0
    text = rc.read_text()
    assert text.count("[instance:prod]") == 1 and "api_key = changed" in text
    assert text.startswith(original)

    # [instance:default] is chosen among several
    done = run("rhodecode-api", *flags(server), "--save-config", home=home)
    assert done.returncode == 0
    done = run("rhodecode-api", "-F", "json", "test", "args:2", home=home)
    assert json.loads(done.stdout)["result"] == 2, done.stderr


def test_save_config_rhodecode_creates_the_file(server: LiveServer, home: Path) -> None:
    rc = home / ".rhoderc"
    done = run("rhodecode-api", *flags(server), "--save-config", home=home)
    assert done.stdout == f"Created new config in {rc}\n"
    assert rc.read_text() == (
        f"[instance:default]\napi_host = {server.url}\napi_key = {server.admin_key}\n"
    )
    assert stat.S_IMODE(rc.stat().st_mode) == 0o600
    done = run("rhodecode-api", "test", "args:3", home=home)
    assert done.returncode == 0, done.stderr


def test_single_rhoderc_section_is_used_whatever_its_name(server: LiveServer, home: Path) -> None:
    (home / ".rhoderc").write_text(
        f"[instance:enterprise-1]\napi_host = {server.url}\napi_key = {server.admin_key}\n"
    )
    done = run("rhodecode-api", "-F", "json", "test", "args:4", home=home)
    assert json.loads(done.stdout)["result"] == 4, done.stderr
    # the kallithea dialect reads .rhoderc when asked for an instance
    done = run(
        "kallithea-api",
        "--instance-name",
        "enterprise-1",
        "-F",
        "json",
        "test",
        "args:5",
        home=home,
    )
    assert done.stdout == "5\n", done.stderr
    done = run("kallithea-api", "--instance-name", "nope", "test", home=home)
    assert done.returncode == 2
    assert done.stderr.endswith(
        f"kallithea-api: error: no section [instance:nope] in {home / '.rhoderc'}\n"
    )


@pytest.mark.parametrize("prog", ["kallithea-api", "rhodecode-api"])
def test_config_option_reads_json_and_ini(
    server: LiveServer, home: Path, tmp_path: Path, prog: str
) -> None:
    as_json = tmp_path / "conf.json"
    as_json.write_text(json.dumps({"apikey": server.admin_key, "apihost": server.url}))
    as_ini = tmp_path / "conf.ini"
    as_ini.write_text(f"[instance:x]\napi_host = {server.url}\napi_key = {server.admin_key}\n")
    for option in ("--config", "-c"):
        for path in (as_json, as_ini):
            done = run(prog, option, str(path), "--format=json", "test", "args:[9]", home=home)
            assert done.returncode == 0, done.stderr
            assert "9" in done.stdout


def test_flags_override_the_file_key_by_key(server: LiveServer, home: Path) -> None:
    config = home / ".config" / "kallithea"
    config.parent.mkdir()
    dead = f"http://127.0.0.1:{free_port()}"
    config.write_text(json.dumps({"apikey": server.admin_key, "apihost": dead}))
    done = run(
        "kallithea-api", f"--apihost={server.url}", "-F", "json", "test", "args:1", home=home
    )
    assert (done.returncode, done.stdout) == (0, "1\n"), done.stderr

    config.write_text(json.dumps({"apikey": "f" * 40, "apihost": server.url}))
    done = run("kallithea-api", "-F", "json", "test", "args:1", home=home)
    assert (done.returncode, done.stdout) == (1, '"Invalid API key"\n')
    done = run(
        "kallithea-api", "--apikey", server.admin_key, "-F", "json", "test", "args:1", home=home
    )
    assert (done.returncode, done.stdout) == (0, "1\n"), done.stderr


def test_show_config_masks_the_key(server: LiveServer, home: Path) -> None:
    run("hearth-api", *flags(server), "--save-config", home=home)
    done = run("hearth-api", "--show-config", home=home)
    assert done.returncode == 0
    key = server.admin_key
    assert key not in done.stdout
    assert done.stdout == (
        "dialect: kallithea\n"
        f"config: {home / '.config' / 'kallithea'}\n"
        f"apihost: {server.url}\n"
        f"apikey: {'*' * (len(key) - 4)}{key[-4:]}\n"
    )


# --- usage and configuration errors (exit 2) ----------------------------------------------------


@pytest.mark.parametrize("prog", ["kallithea-api", "rhodecode-api", "hearth-api"])
def test_no_config_is_the_originals_usage_error(home: Path, prog: str) -> None:
    done = run(prog, "test", home=home)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == usage(prog) + (
        f"{prog}: error: Could not find config file and missing --apikey or --apihost in params\n"
    )


def test_save_config_needs_both_values(home: Path) -> None:
    done = run("kallithea-api", "--apikey=abc", "--save-config", home=home)
    assert done.returncode == 2
    assert done.stderr == usage("kallithea-api") + (
        "kallithea-api: error: --save-config requires --apikey and --apihost\n"
    )
    assert not (home / ".config").exists()


def test_missing_method(server: LiveServer, home: Path) -> None:
    done = run("kallithea-api", *flags(server), home=home)
    assert done.returncode == 2
    assert (
        done.stderr == usage("kallithea-api") + "kallithea-api: error: Please specify method name\n"
    )


@pytest.mark.parametrize("token", ["userid", "--bogus", "-x", "nobody"])
def test_token_without_colon(server: LiveServer, home: Path, token: str) -> None:
    done = run("kallithea-api", *flags(server), "get_user", token, home=home)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "Error parsing arguments \n"  # the original's line first
        f"hearth-api: `{token}` is not name:value; arguments are name:value pairs, "
        "e.g. `kallithea-api get_user userid:alice`\n"
        "hearth-api: get_user takes: userid\n"
    )
    done = run("hearth-api", *flags(server), "create_user", "alice", home=home)
    assert done.returncode == 2
    takes = done.stderr.splitlines()[-1]
    assert takes.startswith("hearth-api: create_user takes: username, email, password, ")
    done = run("hearth-api", *flags(server), "get_server_info", "x", home=home)
    assert done.stderr.splitlines()[-1] == "hearth-api: get_server_info takes: no arguments"


def test_token_without_colon_and_no_server(home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = run("hearth-api", "--apikey=k", f"--apihost={url}", "get_user", "nobody", home=home)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "Error parsing arguments ",
        "hearth-api: `nobody` is not name:value; arguments are name:value pairs, "
        "e.g. `hearth-api get_user userid:alice`",
    ]


def test_unknown_format_is_a_usage_error(server: LiveServer, home: Path) -> None:
    done = run("kallithea-api", *flags(server), "--format=xml", "test", "args:1", home=home)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(usage("kallithea-api"))
    assert "kallithea-api: error: argument -F/--format: invalid choice: 'xml'" in done.stderr


def test_unreadable_ca_bundle_is_a_usage_error(server: LiveServer, home: Path) -> None:
    done = run(
        "hearth-api", *flags(server), "--api-cert", str(home / "nope.pem"), "test", home=home
    )
    assert done.returncode == 2
    assert "hearth-api: error: --api-cert" in done.stderr


def test_broken_config_file_is_a_usage_error(home: Path) -> None:
    (home / ".config").mkdir()
    (home / ".config" / "kallithea").write_text("{not json")
    done = run("kallithea-api", "test", home=home)
    assert done.returncode == 2
    assert "kallithea-api: error: cannot read config file" in done.stderr


# --- no usable answer (exit 3) ------------------------------------------------------------------


def test_unreachable_server(home: Path) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    done = run("kallithea-api", "--apikey=k", f"--apihost={host}", "test", "args:1", home=home)
    assert done.returncode == 3
    assert done.stdout == f"Calling method test => {host}\n"
    assert done.stderr.startswith(f"hearth-api: cannot reach {host}/_admin/api: ")
    assert done.stderr.count("\n") == 1

    done = run("rhodecode-api", "-F", "json", "--apikey=k", f"--apihost={host}", "test", home=home)
    assert (done.returncode, done.stdout) == (3, "")


def test_http_status_other_than_200(server: LiveServer, home: Path) -> None:
    host = server.url + "/nothing-here"
    done = run("hearth-api", f"--apikey={server.admin_key}", f"--apihost={host}", "test", home=home)
    assert done.returncode == 3
    assert done.stderr == f"hearth-api: HTTP 404 from {host}/_admin/api\n"


class _Foreign(BaseHTTPRequestHandler):
    """Replies a Hearth server never gives, chosen by the first path segment."""

    get_method_calls = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        request = json.loads(body)
        mode = self.path.split("/")[1]
        status, reply = 200, b""
        if mode == "text":
            reply = b"<html>hello</html>"
        elif mode == "array":
            reply = b"[1, 2]"
        elif mode == "wrongid":
            reply = json.dumps({"id": request["id"] + 1, "result": 1, "error": None}).encode()
        elif mode == "kallithea":  # no get_method; echoes the args it received
            if request["method"] == "get_method":
                type(self).get_method_calls += 1
                envelope = {"id": request["id"], "result": None, "error": "No such method: x"}
            else:
                envelope = {"id": request["id"], "result": request["args"], "error": None}
            reply = json.dumps(envelope).encode()
        self.send_response(status)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def foreign() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Foreign)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("text", "the reply from {url} is not JSON"),
        ("array", "the reply from {url} is not a JSON-RPC envelope"),
        ("wrongid", "ID mismatch got {got}, expected {sent}"),
    ],
)
def test_unusable_replies(foreign: str, home: Path, mode: str, reason: str) -> None:
    host = f"{foreign}/{mode}"
    done = run("hearth-api", "-F", "json", "--apikey=k", f"--apihost={host}", "test", home=home)
    assert (done.returncode, done.stdout) == (3, "")
    if mode == "wrongid":
        assert re.fullmatch(r"hearth-api: ID mismatch got \d+, expected \d+\n", done.stderr)
        got, sent = map(int, re.findall(r"\d+", done.stderr))
        assert got == sent + 1
    else:
        assert done.stderr == "hearth-api: " + reason.format(url=f"{host}/_admin/api") + "\n"


# --- argument typing ----------------------------------------------------------------------------


def test_values_are_typed_from_the_declaration(server: LiveServer, home: Path) -> None:
    name = unique("typed")
    done = run(
        "hearth-api",
        "-v",
        "-F",
        "json",
        *flags(server),
        "create_user",
        f"username:{name}",
        f"email:{name}@example.com",
        "admin:true",
        "active:false",
        "firstname:12",
        "description:a:b",
        home=home,
    )
    assert done.returncode == 0, done.stderr
    assert sent_args(done.stderr, "create_user") == {
        "username": name,
        "email": f"{name}@example.com",
        "admin": True,
        "active": False,
        "firstname": "12",
        "description": "a:b",
    }
    user = json.loads(done.stdout)["user"]
    assert (user["admin"], user["active"], user["firstname"]) == (True, False, "12")

    # id|name is always sent as typed text; the server reads digits as an id
    done = run(
        "hearth-api",
        "-v",
        "-F",
        "json",
        *flags(server),
        "get_user",
        f"userid:{user['user_id']}",
        home=home,
    )
    assert sent_args(done.stderr, "get_user") == {"userid": str(user["user_id"])}
    assert json.loads(done.stdout)["username"] == name

    # a bool that is not JSON true/false goes as text, and the server names it
    done = run(
        "kallithea-api",
        "-F",
        "json",
        *flags(server),
        "create_user",
        f"username:{name}x",
        f"email:{name}x@example.com",
        "admin:maybe",
        home=home,
    )
    assert done.returncode == 1
    assert done.stdout == '"Invalid value for `admin`: expected a boolean, got \\"maybe\\""\n'


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("args:12", 12),
        ("args:true", True),
        ("args:null", None),
        ('args:[1, "a"]', [1, "a"]),
        ('args:{"k": {"n": 1.5}}', {"k": {"n": 1.5}}),
        ("args:{not json", "{not json"),
        ("args:NaN", "NaN"),
        ("args:b:c", "b:c"),
        ("args:", ""),
    ],
)
def test_any_kind_sends_parsed_json(server: LiveServer, home: Path, token: str, value: Any) -> None:
    done = run("hearth-api", "-F", "json", *flags(server), "test", token, home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == value
    assert done.stdout == json.dumps(value) + "\n"


def test_fallback_typing_without_declarations(foreign: str, home: Path) -> None:
    host = f"{foreign}/kallithea"
    _Foreign.get_method_calls = 0
    args = ["n:12", "f:-1.5e3", "t:true", "z:null", "s:hello", "l:[1]", "o:{}", "lead:012"]
    done = run(
        "kallithea-api", "-F", "json", "--apikey=k", f"--apihost={host}", "m", *args, home=home
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "n": 12,
        "f": -1500.0,
        "t": True,
        "z": None,
        "s": "hello",
        "l": "[1]",
        "o": "{}",
        "lead": "012",
    }
    # "no declaration" is cached for the host as well
    run("kallithea-api", "-F", "json", "--apikey=k", f"--apihost={host}", "m", home=home)
    assert _Foreign.get_method_calls == 1


def test_declarations_are_cached_per_host(server: LiveServer, home: Path, tmp_path: Path) -> None:
    first = run("hearth-api", "-v", *flags(server), "test", "args:1", home=home)
    assert first.returncode == 0, first.stderr
    assert sent_args(first.stderr, "get_method") == {"pattern": "test"}
    cached = list((home / ".cache" / "hearth-api").iterdir())
    assert len(cached) == 1
    assert server.admin_key not in cached[0].read_text()

    second = run("hearth-api", "-v", *flags(server), "test", "args:[2]", home=home)
    posts = [line for line in second.stderr.splitlines() if " POST " in line]
    assert len(posts) == 1 and '"method": "test"' in posts[0]
    assert "declaration of test from" in second.stderr

    xdg = tmp_path / "xdg"
    run("hearth-api", *flags(server), "test", "args:1", home=home, env={"XDG_CACHE_HOME": str(xdg)})
    assert len(list((xdg / "hearth-api").iterdir())) == 1


# --- --help and compatibility options -----------------------------------------------------------


def test_help_method_prints_the_declaration(server: LiveServer, home: Path) -> None:
    done = run("hearth-api", *flags(server), "--help", "get_user", home=home)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "method: get_user\n"
        "documented by Kallithea\n"
        "needs: an API key (any user)\n"
        "arguments, in order:\n"
        "  userid  id|name  default: the caller\n"
    )
    done = run("rhodecode-api", *flags(server), "--help", "create_user", home=home)
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        "method: create_user",
        "documented by Kallithea",
        "needs: admin",
        "arguments, in order:",
    ]
    assert not re.search(r"\b(tier|gate):", done.stdout)
    done = run("hearth-api", *flags(server), "--help", "fork_repo", home=home)
    assert done.stdout.splitlines()[1:3] == [
        "documented by Kallithea",
        "needs: admin, or the permission hg.fork.repository",
    ]
    done = run("hearth-api", *flags(server), "--help", "get_repo_refs", home=home)
    assert done.stdout.splitlines()[1] == "from RhodeCode"
    by_name = {line.split()[0]: line for line in lines[4:]}
    assert list(by_name)[:3] == ["username", "email", "password"]
    assert re.fullmatch(r"  username +str +required", by_name["username"])
    assert re.fullmatch(r"  active +bool +default: true", by_name["active"])
    assert re.fullmatch(
        r'  extern_name +str +default: ""  aliases: ldap_dn', by_name["extern_name"]
    )

    done = run("hearth-api", *flags(server), "-F", "json", "--help", "get_user", home=home)
    assert json.loads(done.stdout)["args"][0]["name"] == "userid"

    done = run("hearth-api", *flags(server), "--help", "no_such_method", home=home)
    assert (done.returncode, done.stderr) == (1, "hearth-api: No such method: no_such_method\n")


@pytest.mark.parametrize("option", ["-h", "--help"])
def test_plain_help(home: Path, option: str) -> None:
    done = run("kallithea-api", option, home=home)
    assert done.returncode == 0
    assert done.stdout.startswith(usage("kallithea-api"))
    assert "--instance-name" in done.stdout and "--help [METHOD]" in done.stdout


def test_every_option_of_both_originals_is_accepted(
    server: LiveServer, home: Path, tmp_path: Path
) -> None:
    for prog in ("kallithea-api", "rhodecode-api"):
        done = run(
            prog,
            "--api-key",
            server.admin_key,
            "--api-host",
            server.url,
            "--api-cache",
            str(tmp_path / "c"),
            "--api-cache-only",
            "--api-cache-rebuild",
            "-I",
            str(tmp_path),
            "--install-dir",
            str(tmp_path),
            "--api-cert-verify",
            "--insecure",
            "--verbose",
            "-v",
            "-F",
            "json",
            "test",
            "args:1",
            home=home,
        )
        assert done.returncode == 0, done.stderr
        assert "1" in done.stdout

# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth-api``: the drop-in for ``kallithea-api`` and ``rhodecode-api`` (``spec/clients.md`` §3).

One program, three names. The *dialect* follows the name it runs under (``rhodecode-api`` =
``rhodecode``, the others = ``kallithea``) or ``--dialect``; it chooses the default config file and the
output form. Every option of both originals is accepted whichever the name. argparse (not Typer) keeps
the usage line and the ``<prog>: error: …`` texts exactly the original's.

A call: resolve host and key (``client_config``), split ``key:value`` tokens at the first ``:``, type
each value from the method's declaration (``get_method`` with the exact name, cached per host for a
day; a fixed fallback rule when the server has no declarations), POST the original's request over one
keep-alive connection, print the dialect's output (``client_output``).

Exit status: 0 the server answered ``error: null``; 1 it answered an error; 2 usage or configuration
error; 3 no usable answer (unreachable, HTTP status not 200, not a JSON envelope, ``id`` mismatch), with
one line ``hearth-api: <reason>`` on stderr.

Accepted for compatibility and without effect: ``--api-cache PATH``, ``--api-cache-only``,
``--api-cache-rebuild`` (RhodeCode's client-side response cache; Hearth's client caches only method
declarations), ``--api-cert-verify`` (certificates are always verified unless ``--insecure``) and
``-I/--install-dir`` (RhodeCode's local instance lookup).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import math
import os
import random
import re
import ssl
import sys
import time
from typing import Any, NoReturn

import httpx

from hearth.cli import client_config, client_output
from hearth.cli.client_config import KALLITHEA, RHODECODE, ConfigProblem, Connection

CACHE_SECONDS = 24 * 60 * 60
REASON_PREFIX = "hearth-api: "

USAGE = (
    "%(prog)s [-h] [--format=FORMAT] [--apikey=APIKEY] [--apihost=APIHOST] [--config=CONFIG] "
    "[--save-config] METHOD <key:val> <key2:val> ...\n"
    "Create config file: %(prog)s --apikey=<key> --apihost=http://kallithea.example.com "
    "--save-config"
)
EPILOG = (
    "`%(prog)s --help METHOD` prints METHOD's declaration: its arguments with kind, default and "
    "aliases, where it comes from and who may call it. Exit status: 0 success, 1 the server answered an error, "
    "2 usage or configuration error, 3 no usable answer from the server."
)


class Unusable(Exception):
    """No usable answer from the server (exit 3); the message is the reason."""


def dialect_of(prog: str) -> str:
    return RHODECODE if prog.startswith("rhodecode-api") else KALLITHEA


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        usage=USAGE,
        description="Call the JSON-RPC API of a Hearth, Kallithea or RhodeCode server.",
        epilog=EPILOG,
        add_help=False,
    )
    config = parser.add_argument_group("config")
    config.add_argument("--apikey", "--api-key", dest="apikey", help="API key")
    config.add_argument("--apihost", "--api-host", dest="apihost", help="server base URL")
    config.add_argument("-c", "--config", help="config file (JSON or .rhoderc INI)")
    config.add_argument(
        "--instance-name",
        dest="instance",
        metavar="NAME",
        help="use section [instance:NAME] of ~/.rhoderc",
    )
    config.add_argument(
        "--save-config", action="store_true", help="save --apikey and --apihost and exit"
    )
    config.add_argument(
        "--show-config", action="store_true", help="show the effective host and masked key"
    )
    config.add_argument("--dialect", choices=(KALLITHEA, RHODECODE), help="output and config form")

    api = parser.add_argument_group("API")
    api.add_argument(
        "method",
        metavar="METHOD",
        nargs="?",
        default=None,
        help="API method name to call followed by key:value attributes",
    )
    api.add_argument(
        "-F",
        "--format",
        dest="format",
        choices=(client_output.PRETTY, client_output.JSON),
        default=client_output.PRETTY,
        help="output format, default `pretty`, can be also `json`",
    )
    api.add_argument("-h", dest="short_help", action="store_true", help="show this help and exit")
    api.add_argument(
        "--help",
        dest="help_method",
        nargs="?",
        const="",
        default=None,
        metavar="METHOD",
        help="show this help, or METHOD's declaration, and exit",
    )
    api.add_argument("-v", "--verbose", action="store_true", help="trace the request on stderr")

    tls = parser.add_argument_group("TLS")
    tls.add_argument("--api-cert", dest="api_cert", metavar="PATH", help="CA bundle to verify with")
    tls.add_argument(
        "--api-cert-verify", action="store_true", help="verify certificates (the default)"
    )
    tls.add_argument("--insecure", action="store_true", help="do not verify certificates")

    compat = parser.add_argument_group("accepted for rhodecode-api scripts, no effect")
    compat.add_argument("--api-cache", metavar="PATH")
    compat.add_argument("--api-cache-only", action="store_true")
    compat.add_argument("--api-cache-rebuild", action="store_true")
    compat.add_argument("-I", "--install-dir", metavar="DIR")
    return parser


# --- argument typing (clients.md §3) ----------------------------------------------------------

_AS_TEXT = frozenset({"str", "id|name", "date", "enum"})
_AS_SCALAR = frozenset({"bool", "int"})
_AS_JSON = frozenset({"object", "list", "names", "any"})
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _finite(value: Any) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))


def typed_value(kind: str | None, text: str) -> Any:
    """``text`` as the JSON value sent for an argument of ``kind`` (None: declaration unknown)."""
    if kind in _AS_TEXT:
        return text
    if kind in _AS_SCALAR:
        if text in ("true", "false"):
            return text == "true"
        return int(text) if _INTEGER.fullmatch(text) else text
    if kind in _AS_JSON:
        try:
            value = json.loads(text, parse_constant=_no_constants)
        except ValueError:
            return text
        return value if _finite(value) else text
    if text in ("true", "false", "null") or _NUMBER.fullmatch(text):
        value = json.loads(text)
        return value if _finite(value) else text
    return text


def typed_args(pairs: dict[str, str], declaration: dict[str, Any] | None) -> dict[str, Any]:
    kinds: dict[str, str] = {}
    for arg in (declaration or {}).get("args") or []:
        for name in (arg.get("name"), *(arg.get("aliases") or ())):
            if isinstance(name, str) and isinstance(arg.get("kind"), str):
                kinds[name] = arg["kind"]
    return {name: typed_value(kinds.get(name), text) for name, text in pairs.items()}


# --- declaration cache --------------------------------------------------------------------------


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):
        base = os.path.join(client_config.home(), ".cache")
    return os.path.join(base, "hearth-api")


def cache_path(apihost: str) -> str:
    digest = hashlib.sha256(apihost.rstrip("/").encode()).hexdigest()[:20]
    return os.path.join(cache_dir(), f"methods-{digest}.json")


class DeclarationCache:
    """Declarations by method name for one host; an entry is ``None`` when none is available."""

    def __init__(self, apihost: str) -> None:
        self.host = apihost.rstrip("/")
        self.path = cache_path(apihost)
        self.entries: dict[str, Any] = {}
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
            if isinstance(data, dict) and data.get("host") == self.host:
                self.entries = data.get("methods") or {}
        except (OSError, ValueError):
            pass

    def get(self, method: str) -> tuple[bool, dict[str, Any] | None]:
        entry = self.entries.get(method)
        if not isinstance(entry, dict) or time.time() - entry.get("at", 0) > CACHE_SECONDS:
            return False, None
        return True, entry.get("declaration")

    def put(self, method: str, declaration: dict[str, Any] | None) -> None:
        now = time.time()
        self.entries = {
            name: entry
            for name, entry in self.entries.items()
            if isinstance(entry, dict) and now - entry.get("at", 0) <= CACHE_SECONDS
        }
        self.entries[method] = {"at": now, "declaration": declaration}
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump({"host": self.host, "methods": self.entries}, handle)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only home only costs one get_method per call


# --- the call -----------------------------------------------------------------------------------


class Client:
    """One keep-alive connection to ``<apihost>/_admin/api``."""

    def __init__(self, conn: Connection, verify: ssl.SSLContext | bool, verbose: bool) -> None:
        self.conn = conn
        self.url = conn.apihost.rstrip("/") + "/_admin/api"
        self.verbose = verbose
        self.http = httpx.Client(verify=verify, timeout=httpx.Timeout(None, connect=30.0))

    def close(self) -> None:
        self.http.close()

    def trace(self, text: str) -> None:
        if self.verbose:
            sys.stderr.write(REASON_PREFIX + text + "\n")

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """The reply envelope; raises :class:`Unusable` when there is none."""
        id_ = random.randrange(1, 9999)
        self.trace(f"POST {self.url} " + json.dumps({"id": id_, "method": method, "args": args}))
        body = json.dumps({"id": id_, "api_key": self.conn.apikey, "method": method, "args": args})
        started = time.monotonic()
        try:
            reply = self.http.post(self.url, content=body, headers={"content-type": "text/plain"})
        except httpx.HTTPError as exc:
            raise Unusable(f"cannot reach {self.url}: {exc or type(exc).__name__}") from None
        self.trace(
            f"HTTP {reply.status_code}, {len(reply.content)} bytes in "
            f"{(time.monotonic() - started) * 1000:.0f} ms"
        )
        if reply.status_code != 200:
            raise Unusable(f"HTTP {reply.status_code} from {self.url}")
        try:
            envelope = json.loads(reply.content)
        except ValueError:
            raise Unusable(f"the reply from {self.url} is not JSON") from None
        if not isinstance(envelope, dict) or not {"id", "result", "error"} <= envelope.keys():
            raise Unusable(f"the reply from {self.url} is not a JSON-RPC envelope")
        got = envelope["id"]
        if type(got) is not int or got != id_:
            raise Unusable(f"ID mismatch got {json.dumps(got)}, expected {id_}")
        return envelope

    def declaration(self, method: str, cache: DeclarationCache) -> dict[str, Any] | None:
        """``method``'s declaration from the cache or ``get_method``; None when unavailable."""
        hit, found = cache.get(method)
        if hit:
            self.trace(f"declaration of {method} from {cache.path}")
            return found
        try:
            envelope = self.call("get_method", {"pattern": glob.escape(method)})
        except Unusable as exc:
            if str(exc).startswith("cannot reach"):
                raise
            return None  # the call itself will report what is wrong
        if envelope["error"] == "Invalid API key":
            return None
        result = envelope["result"]
        found = None
        if (
            envelope["error"] is None
            and isinstance(result, list)
            and len(result) == 3
            and isinstance(result[2], dict)
        ):
            found = result[2]
        cache.put(method, found)
        return found


def _verify(args: argparse.Namespace) -> ssl.SSLContext | bool:
    if args.insecure:
        return False
    if args.api_cert:
        return ssl.create_default_context(cafile=args.api_cert)
    return True


def _fail(message: str) -> int:
    sys.stderr.write(REASON_PREFIX + message + "\n")
    return 3


def run(argv: list[str]) -> int:
    prog = os.path.basename(argv[0]) if argv and argv[0] else "hearth-api"
    parser = build_parser(prog)
    args, tokens = parser.parse_known_args(argv[1:])
    if args.short_help or args.help_method == "":
        parser.print_help()
        return 0
    dialect = args.dialect or dialect_of(prog)

    if args.save_config:
        if not (args.apikey and args.apihost):
            parser.error("--save-config requires --apikey and --apihost")
        try:
            print(
                client_config.save(
                    dialect,
                    apihost=args.apihost,
                    apikey=args.apikey,
                    config=args.config,
                    instance=args.instance,
                )
            )
        except ConfigProblem as exc:
            parser.error(str(exc))
        return 0
    try:
        conn = client_config.resolve(
            dialect,
            apihost=args.apihost,
            apikey=args.apikey,
            config=args.config,
            instance=args.instance,
        )
    except ConfigProblem as exc:
        parser.error(str(exc))
    if args.show_config:
        print(f"dialect: {dialect}")
        print(f"config: {conn.source}")
        print(f"apihost: {conn.apihost}")
        print(f"apikey: {client_config.mask(conn.apikey)}")
        return 0

    method = args.help_method or args.method
    if not method:
        parser.error("Please specify method name")
    pairs: dict[str, str] = {}
    bad = None
    if not args.help_method:
        for token in tokens:
            if ":" not in token:
                bad = token
                break
            name, value = token.split(":", 1)
            pairs[name] = value

    try:
        verify = _verify(args)
    except (OSError, ssl.SSLError) as exc:
        parser.error(f"--api-cert {args.api_cert}: {exc}")
    client = Client(conn, verify, args.verbose)
    try:
        if bad is not None:
            return _parsing_error(client, prog, method, bad, conn.apihost)
        if args.help_method:
            return _print_declaration(client, method, args.format)
        if args.format == client_output.PRETTY:
            sys.stdout.write(client_output.header(method, conn.apihost))
            sys.stdout.flush()
        declaration = client.declaration(method, DeclarationCache(conn.apihost))
        envelope = client.call(method, typed_args(pairs, declaration))
    except Unusable as exc:
        return _fail(str(exc))
    finally:
        client.close()
    unicode = prog.startswith("hearth-api")  # the originals' names keep their bytes
    sys.stdout.write(client_output.response(dialect, args.format, envelope, unicode))
    return 0 if envelope["error"] is None else 1


def _parsing_error(client: Client, prog: str, method: str, token: str, apihost: str) -> int:
    """A token without ``:``: the original's line, then what it means and the method's argument
    names (from its declaration, when the server gives one)."""
    sys.stderr.write("Error parsing arguments \n")
    sys.stderr.write(
        f"{REASON_PREFIX}`{token}` is not name:value; arguments are name:value pairs, "
        f"e.g. `{prog} get_user userid:alice`\n"
    )
    try:
        declaration = client.declaration(method, DeclarationCache(apihost))
    except Unusable:
        declaration = None
    if declaration is not None:
        names = [str(arg.get("name")) for arg in declaration.get("args") or []]
        takes = ", ".join(names) if names else "no arguments"
        sys.stderr.write(f"{REASON_PREFIX}{method} takes: {takes}\n")
    return 2


def _print_declaration(client: Client, method: str, fmt: str) -> int:
    envelope = client.call("get_method", {"pattern": glob.escape(method)})
    if envelope["error"] is not None:
        sys.stderr.write(f"{REASON_PREFIX}{envelope['error']}\n")
        return 1
    result = envelope["result"]
    if not (isinstance(result, list) and len(result) == 3 and isinstance(result[2], dict)):
        sys.stderr.write(f"{REASON_PREFIX}No such method: {method}\n")
        return 1
    if fmt == client_output.JSON:
        sys.stdout.write(json.dumps(result[2]) + "\n")
    else:
        sys.stdout.write(client_output.declaration(result[2]))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(sys.argv if argv is None else argv)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`| head`); say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())

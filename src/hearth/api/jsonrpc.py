# SPDX-License-Identifier: GPL-3.0-or-later
"""The JSON-RPC envelope at ``/_admin/api`` (``spec/jsonrpc.md``).

A raw ASGI endpoint: it reads the body itself (length limits, chunked bodies, form bodies discarded),
runs the ordered checks of §4 with their exact texts, calls the declared method, and maps Hearth's
exceptions to the envelope here and nowhere else. Every processed request answers HTTP 200 with a JSON
object ``{"id", "result", "error"}``; only a wrong HTTP method answers 405 (still with an envelope).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hearth.api import declare
from hearth.api.declare import CALLER, Call, Method
from hearth.errors import TEXTS, HearthError
from hearth.metrics import ACCESS_USER, API_METHOD
from hearth.services import permissions
from hearth.services.permissions import Actor
from hearth.services.webcontent import key_actor

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger("hearth.api")

_HEADERS = {"cache-control": "no-cache", "pragma": "no-cache"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


class EnvelopeError(Exception):
    """A dispatcher-level failure: the text and the id the reply carries."""

    def __init__(self, code: str, reply_id: Any = None, **params: Any) -> None:
        self.text = TEXTS[code].format(**params)
        self.reply_id = reply_id


def _dumps(body: dict[str, Any]) -> bytes:
    """orjson, else the standard library: it takes integers beyond 64 bits, and strings holding
    a lone surrogate (``"\\ud800"`` is valid JSON, yet UTF-8 cannot hold it), which are written
    back as the ``\\uXXXX`` escape they came as. Raises TypeError or ValueError (NaN)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        pass
    text = json.dumps(body, ensure_ascii=False, allow_nan=False)
    # outside strings JSON is ASCII, so only a string's lone surrogate can fail to encode
    return text.encode("utf-8", "backslashreplace")


def encode_reply(reply_id: Any, result: Any, error: str | None) -> bytes:
    """Encode an envelope; an unencodable result becomes ``Error encoding response``, still
    with the request's id (any id a parsed request carries can be encoded)."""
    try:
        return _dumps({"id": reply_id, "result": result, "error": error})
    except (TypeError, ValueError):
        if error is None:
            log.exception("result of method could not be encoded")
    try:
        return _dumps({"id": reply_id, "result": None, "error": TEXTS["encoding"]})
    except (TypeError, ValueError):
        return json.dumps({"id": None, "result": None, "error": TEXTS["encoding"]}).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not valid JSON")


def _reject_overflow(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError("NaN and Infinity are not valid JSON")
    return number


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def parse_body(body: bytes) -> Any:
    """Parse with CPython's rules and messages (§2); raises EnvelopeError(parse_error)."""
    try:
        value = json.loads(body, parse_constant=_reject_constant, parse_float=_reject_overflow)
        if body.count(b"[") + body.count(b"{") > 100 and _depth_exceeds(value, 100):
            message = "nesting too deep"
        else:
            return value
    except RecursionError:
        message = "nesting too deep"
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, NaN
        message = str(exc)
    raw = repr(body[:1024]) + ("..." if len(body) > 1024 else "")
    raise EnvelopeError("parse_error", message=message, raw=raw)


class JsonRpcEndpoint:
    """ASGI app for ``/_admin/api``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 200
        headers = dict(_HEADERS)
        try:
            if scope["method"] not in ("GET", "POST"):
                status = 405
                headers["allow"] = "GET, POST"
                raise EnvelopeError("bad_http_method", method=scope["method"])
            body = await self._read_body(scope, receive)
            payload = await self._dispatch(scope, body)
        except EnvelopeError as exc:
            payload = encode_reply(exc.reply_id, None, exc.text)
        response = Response(payload, status, headers, media_type="application/json")
        await response(scope, receive, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        headers = Headers(scope=scope)

        def last(name: str) -> str | None:  # a repeated header: the last one counts
            values = headers.getlist(name)
            return values[-1] if values else None

        length = last("content-length")
        chunked = "chunked" in (last("transfer-encoding") or "").lower()
        limit = self.runtime.settings.api_max_body_bytes
        if length is None and not chunked:
            raise EnvelopeError("no_content_length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise EnvelopeError("no_content_length") from None
            if declared == 0:
                raise EnvelopeError("content_length_zero")
            if declared > limit:
                raise EnvelopeError("body_too_large", limit=limit)
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise EnvelopeError("body_too_large", limit=limit)
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(parts)
        if not body:
            raise EnvelopeError("content_length_zero")
        content_type = (last("content-type") or "").split(";")[0].strip().lower()
        if content_type in _FORM_TYPES:
            return b""
        return body

    def client_ip(self, scope: Scope) -> str:
        return self.runtime.client_address(scope)

    async def _dispatch(self, scope: Scope, body: bytes) -> bytes:
        request = parse_body(body)
        if not isinstance(request, dict):
            kind = _JSON_TYPES.get(type(request), "number")
            raise EnvelopeError("not_an_object", type=kind)
        credential = self._credential(scope, request)
        if credential is _MISSING:
            raise EnvelopeError("missing_api_key")
        if "id" not in request:
            raise EnvelopeError("missing_id")
        reply_id = request["id"]
        for key, code in (("method", "missing_method"), ("args", "missing_args")):
            if key not in request:
                raise EnvelopeError(code, reply_id)
        args = request["args"] if isinstance(request["args"], dict) else {}
        ip = self.client_ip(scope)
        decl = self._lookup_method(request["method"])
        # the metrics label (hearth/metrics.py); unknown names are not labels (unbounded)
        scope[API_METHOD] = decl.name if isinstance(decl, Method) else "(refused)"
        if decl.blocking:
            payload, authenticated = await run_in_threadpool(
                self._call, decl, credential, args, reply_id, ip, scope
            )
        else:
            payload, authenticated = self._call(decl, credential, args, reply_id, ip, scope)
        if not authenticated:
            await self.runtime.throttle.failed(ip)
        return payload

    def _lookup_method(self, name: Any) -> Method | _Deferred:
        # steps 7-9 come after the key check (step 6); defer their answer until then
        if not isinstance(name, str):
            return _Deferred("method_not_string", {})
        if name.startswith("_"):
            return _Deferred("method_not_allowed", {})
        decl = declare.METHODS.get(name)
        if decl is None:
            return _Deferred("no_such_method", {"method": name})
        return decl

    @staticmethod
    def _credential(scope: Scope, request: dict[str, Any]) -> Any:
        if request.get("api_key") not in (None, ""):
            return request["api_key"]
        if request.get("auth_token") not in (None, ""):
            return request["auth_token"]
        for value in Headers(scope=scope).getlist("authorization"):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        if "api_key" in request or "auth_token" in request:
            return None  # present but unusable: step 6 answers Invalid API key
        return _MISSING

    def _call(
        self,
        decl: Method | _Deferred,
        credential: Any,
        args: dict[str, Any],
        reply_id: Any,
        ip: str,
        scope: Scope,
    ) -> tuple[bytes, bool]:
        """Steps 6-17 on a session of their own; returns the reply and whether the key was valid."""
        runtime = self.runtime
        writes = not (isinstance(decl, _Deferred) or decl.readonly)
        try:
            # commit on success; rollback and the services' undo hooks on any exception
            with runtime.database.transaction(write=writes) as db:
                actor = key_actor(db, credential, "api", ip, runtime.default_user_id())
                if actor is None:
                    return encode_reply(reply_id, None, TEXTS["invalid_api_key"]), False
                scope[ACCESS_USER] = actor.username  # for the access log (hearth/metrics.py)
                if isinstance(decl, _Deferred):
                    text = TEXTS[decl.code].format(**decl.params)
                    return encode_reply(reply_id, None, text), True
                values, given = self._check_args(db, decl, actor, args)
                call = Call(
                    db, actor, runtime.settings, ip, runtime.base_url(scope), runtime, given
                )
                result = decl.handler(call, **values)
        except HearthError as exc:
            return encode_reply(reply_id, None, exc.text), True
        except Exception:
            incident = uuid.uuid4().hex[:12]
            log.exception("internal error in API method (incident %s)", incident)
            return encode_reply(reply_id, None, TEXTS["internal"]), True
        return encode_reply(reply_id, result, None), True

    @staticmethod
    def _check_args(
        db: Any, decl: Method, actor: Actor, args: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Steps 10-14: presence, aliases, unknown args, gate, kinds; returns kwargs and keys used."""
        given: dict[str, str] = {}  # canonical name -> the key it was given under
        missing = None
        for arg in decl.args:
            keys_given = [k for k in (arg.name, *arg.aliases) if k in args]
            if keys_given:
                given[arg.name] = keys_given[0]
            elif arg.required:
                missing = arg.name
        if missing is not None:
            raise HearthError("missing_arg", arg=missing)
        for arg in decl.args:
            present = [k for k in (arg.name, *arg.aliases) if k in args]
            if len(present) > 1:
                raise HearthError("conflicting_args", arg=present[0], alias=present[1])
        known = {name for arg in decl.args for name in (arg.name, *arg.aliases)}
        unknown = sorted(k for k in args if k not in known)
        if unknown:
            raise HearthError("unknown_args", names=", ".join(f"`{k}`" for k in unknown))
        if (
            decl.gate is not None
            and not actor.admin
            and (decl.gate == "admin" or not permissions.has_global(db, actor, decl.gate))
        ):
            raise HearthError("access_denied")
        values: dict[str, Any] = {}
        for arg in decl.args:
            key = given.get(arg.name)
            raw = args[key] if key is not None else None
            if raw is None and not arg.required:
                default = arg.default
                values[arg.name] = None if default is CALLER else default
                continue
            values[arg.name] = declare.coerce(arg, raw)
        return values, given


class _Deferred:
    """A method-name failure found before the key check, answered after it (steps 7-9)."""

    def __init__(self, code: str, params: dict[str, Any]) -> None:
        self.code = code
        self.params = params

    blocking = False


_MISSING = object()

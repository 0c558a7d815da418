# SPDX-License-Identifier: GPL-3.0-or-later
"""Method declarations: name, ordered arguments with kinds, defaults and aliases, and access gate.

A method is declared once with :func:`method`; the envelope (``api/jsonrpc.py``) runs steps 10-14 of
``jsonrpc.md`` §4 from the declaration, and ``get_method`` and ``hearth-api --help`` read the same
object. Handlers are plain functions ``handler(call, **arguments)`` that return a JSON-able result and
raise :mod:`hearth.errors` exceptions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from hearth.errors import Invalid

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.config import Settings
    from hearth.runtime import Runtime
    from hearth.services.permissions import Actor


class _Sentinel:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text

    def __repr__(self) -> str:
        return self.text


REQUIRED = _Sentinel("REQUIRED", "<required>")
CALLER = _Sentinel("CALLER", "=apiuser")


class Kind(Enum):
    ID_NAME = "id|name"
    BOOL = "bool"
    INT = "int"
    STR = "str"
    ENUM = "enum"
    DATE = "date"
    OBJECT = "object"
    LIST = "list"
    ANY = "any"
    NAMES = "names"


KIND_WORDS = {
    Kind.ID_NAME: "an id or a name",
    Kind.BOOL: "a boolean",
    Kind.INT: "an integer",
    Kind.STR: "a string",
    Kind.ENUM: "a string",
    Kind.DATE: "a date like 2024-01-31T13:45:00",
    Kind.OBJECT: "an object",
    Kind.LIST: "a list",
    Kind.ANY: "any value",
    Kind.NAMES: "a name, an id or a list of them",
}


@dataclass(frozen=True)
class Arg:
    name: str
    kind: Kind
    default: Any = REQUIRED
    aliases: tuple[str, ...] = ()
    values: tuple[str, ...] = ()  # allowed values of an enum, checked inside the method

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Method:
    name: str
    tier: str
    gate: str | None  # None, "admin", or a global permission name
    args: tuple[Arg, ...]
    handler: Callable[..., Any]
    blocking: bool = False  # runs in a worker thread (disk or network work)
    readonly: bool = False  # never writes: a deferred transaction is enough
    names: tuple[str, ...] = field(default_factory=tuple)  # every name it answers to

    def declaration(self) -> dict[str, Any]:
        """The JSON form ``get_method`` returns."""
        return {
            "name": self.name,
            "tier": self.tier,
            "gate": self.gate,
            "args": [
                {
                    "name": a.name,
                    "kind": a.kind.value,
                    "required": a.required,
                    "default": _json_default(a.default),
                    "aliases": list(a.aliases),
                    **({"values": list(a.values)} if a.values else {}),
                }
                for a in self.args
            ],
        }


def _json_default(value: Any) -> Any:
    if value is REQUIRED:
        return None
    if value is CALLER:
        return "<the caller>"
    return value


METHODS: dict[str, Method] = {}


@dataclass
class Call:
    """Everything a handler may use: the session, who is calling, settings, and the request."""

    db: Session
    actor: Actor
    settings: Settings
    client_ip: str
    base_url: str
    runtime: Runtime  # services a handler may need: the database, tasks
    given: dict[str, str] = field(default_factory=dict)  # canonical arg -> the key it came under


def method(
    name: str,
    *,
    tier: str,
    args: tuple[Arg, ...] | list[Arg] = (),
    gate: str | None = None,
    aliases: tuple[str, ...] = (),
    blocking: bool = False,
    readonly: bool | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``handler`` under ``name`` (and ``aliases``).

    ``readonly`` defaults to true for ``get_*`` methods; a method that writes must not claim it.
    """
    if readonly is None:
        readonly = name.startswith("get_")

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        decl = Method(name, tier, gate, tuple(args), handler, blocking, readonly, (name, *aliases))
        for each in decl.names:
            if each in METHODS:
                raise RuntimeError(f"method {each} declared twice")
            METHODS[each] = decl
        return handler

    return register


# --- argument kinds (jsonrpc.md §7.2) ---------------------------------------------------------

_TRUE = frozenset({"true", "1", "yes", "on", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "off", "n", "f"})
_INT = re.compile(r"-?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")


def compact_json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= 40 else text[:40] + "..."


def _kind_error(arg: Arg, value: Any) -> Invalid:
    return Invalid(
        "invalid_value", arg=arg.name, kind=KIND_WORDS[arg.kind], json=compact_json(value)
    )


def coerce(arg: Arg, value: Any) -> Any:
    """Convert ``value`` to ``arg``'s kind or raise the kind error (step 14)."""
    kind = arg.kind
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind is Kind.ID_NAME:
        if is_int or isinstance(value, str):
            return value
    elif kind is Kind.BOOL:
        if isinstance(value, bool):
            return value
        if is_int and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            lowered = value.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
    elif kind is Kind.INT:
        if is_int:
            return value
        if isinstance(value, str) and _INT.fullmatch(value):
            return int(value)
    elif kind in (Kind.STR, Kind.ENUM):
        if isinstance(value, str):
            return value
        if kind is Kind.STR and isinstance(value, bool | int | float):
            return json.dumps(value)
    elif kind is Kind.DATE:
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")
            except ValueError:
                pass
    elif kind is Kind.OBJECT:
        if isinstance(value, dict):
            return value
    elif kind is Kind.LIST:
        if isinstance(value, list):
            return value
    elif kind is Kind.ANY:
        return value
    elif kind is Kind.NAMES:
        if is_int or isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(
            isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in value
        ):
            return value
    raise _kind_error(arg, value)

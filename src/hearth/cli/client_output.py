# SPDX-License-Identifier: GPL-3.0-or-later
"""What ``hearth-api`` prints: the originals' output byte for byte (``spec/clients.md`` §1-§3).

``kallithea`` dialect (``kallithea-api`` 0.7): ``pretty`` is the two header lines ``Calling method M =>
HOST`` and ``Server response `` (trailing space), then ``ERROR:`` + the error as a JSON string, or the
result as JSON indented by 4 with sorted keys; ``json`` is one line, the result or the error.

``rhodecode`` dialect (``rhodecode-api``): ``pretty`` is ``Calling method M => HOST``, ``Server
response`` and the whole envelope indented by 2 with sorted keys; ``json`` is the whole envelope on one
line. Both use Python's default JSON text (``", "``/``": "`` separators, non-ASCII as ``\\uXXXX``), as
the originals do. Under its own name, ``hearth-api``'s ``pretty`` output is for people: text prints
as text (``"naïve"``, not ``"na\\u00efve"``); only a lone surrogate, which no terminal can show,
stays escaped. ``kallithea-api`` and ``rhodecode-api`` keep the originals' bytes for their scripts.
"""

from __future__ import annotations

import json
import re
from typing import Any

PRETTY = "pretty"
JSON = "json"

_SURROGATE = re.compile("[\ud800-\udfff]")


def _dumps(data: Any, unicode: bool, **options: Any) -> str:
    if not unicode:
        return json.dumps(data, **options)
    text = json.dumps(data, ensure_ascii=False, **options)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def header(method: str, apihost: str) -> str:
    return f"Calling method {method} => {apihost}\n"


def response(dialect: str, fmt: str, envelope: dict[str, Any], unicode: bool = False) -> str:
    """The text printed after the call (after :func:`header` in ``pretty``); ``unicode``: the
    ``pretty`` form prints text as text rather than ``\\uXXXX`` escapes."""
    unicode = unicode and fmt == PRETTY
    if dialect == "rhodecode":
        if fmt == JSON:
            return json.dumps(envelope) + "\n"
        return "Server response\n" + _dumps(envelope, unicode, indent=2, sort_keys=True) + "\n"
    prefix = ""
    data = envelope["result"]
    if envelope["error"]:
        prefix, data = "ERROR:", envelope["error"]
    if fmt == JSON:
        return json.dumps(data) + "\n"
    return "Server response \n" + prefix + _dumps(data, unicode, indent=4, sort_keys=True) + "\n"


def _default_text(arg: dict[str, Any]) -> str:
    if arg.get("required"):
        return "required"
    default = arg.get("default")
    if default == "<the caller>":
        return "default: the caller"
    return "default: " + json.dumps(default)


_ORIGINS = {
    "seed": "documented by Kallithea",
    "kallithea-0.7": "from Kallithea 0.7 (not in its documentation)",
    "rhodecode": "from RhodeCode",
    "hearth": "Hearth's own (not in Kallithea or RhodeCode)",
}


def _needs(gate: Any) -> str:
    """Who may call: the declaration's gate in the user's words."""
    if not gate:
        return "needs: an API key (any user)"
    if gate == "admin":
        return "needs: admin"
    return f"needs: admin, or the permission {gate}"


def declaration(decl: dict[str, Any]) -> str:
    """``hearth-api --help METHOD``: where the method comes from, who may call it, and the
    arguments in order, with kind, default and aliases."""
    tier = decl.get("tier")
    lines = [
        f"method: {decl.get('name')}",
        _ORIGINS.get(str(tier), f"from {tier}"),
        _needs(decl.get("gate")),
    ]
    args = decl.get("args") or []
    if not args:
        lines.append("arguments: none")
        return "\n".join(lines) + "\n"
    lines.append("arguments, in order:")
    width_name = max(len(str(a.get("name"))) for a in args)
    width_kind = max(len(str(a.get("kind"))) for a in args)
    for arg in args:
        parts = [
            str(arg.get("name")).ljust(width_name),
            str(arg.get("kind")).ljust(width_kind),
            _default_text(arg),
        ]
        if arg.get("values"):
            parts.append("values: " + ", ".join(map(str, arg["values"])))
        if arg.get("aliases"):
            parts.append("aliases: " + ", ".join(map(str, arg["aliases"])))
        lines.append(("  " + "  ".join(parts)).rstrip())
    return "\n".join(lines) + "\n"

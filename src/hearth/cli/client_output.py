# SPDX-License-Identifier: GPL-3.0-or-later
"""What ``hearth-api`` prints: the originals' output byte for byte (``spec/clients.md`` §1-§3).

``kallithea`` dialect (``kallithea-api`` 0.7): ``pretty`` is the two header lines ``Calling method M =>
HOST`` and ``Server response `` (trailing space), then ``ERROR:`` + the error as a JSON string, or the
result as JSON indented by 4 with sorted keys; ``json`` is one line, the result or the error.

``rhodecode`` dialect (``rhodecode-api``): ``pretty`` is ``Calling method M => HOST``, ``Server
response`` and the whole envelope indented by 2 with sorted keys; ``json`` is the whole envelope on one
line. Both use Python's default JSON text (``", "``/``": "`` separators, non-ASCII as ``\\uXXXX``), as
the originals do.
"""

from __future__ import annotations

import json
from typing import Any

PRETTY = "pretty"
JSON = "json"


def header(method: str, apihost: str) -> str:
    return f"Calling method {method} => {apihost}\n"


def response(dialect: str, fmt: str, envelope: dict[str, Any]) -> str:
    """The text printed after the call (after :func:`header` in ``pretty``)."""
    if dialect == "rhodecode":
        if fmt == JSON:
            return json.dumps(envelope) + "\n"
        return "Server response\n" + json.dumps(envelope, indent=2, sort_keys=True) + "\n"
    prefix = ""
    data = envelope["result"]
    if envelope["error"]:
        prefix, data = "ERROR:", envelope["error"]
    if fmt == JSON:
        return json.dumps(data) + "\n"
    return "Server response \n" + prefix + json.dumps(data, indent=4, sort_keys=True) + "\n"


def _default_text(arg: dict[str, Any]) -> str:
    if arg.get("required"):
        return "required"
    default = arg.get("default")
    if default == "<the caller>":
        return "default: the caller"
    return "default: " + json.dumps(default)


def declaration(decl: dict[str, Any]) -> str:
    """``hearth-api --help METHOD``: the arguments in order, with kind, default and aliases."""
    lines = [
        f"method: {decl.get('name')}",
        f"tier: {decl.get('tier')}",
        f"gate: {decl.get('gate') or 'none'}",
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

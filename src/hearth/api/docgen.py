# SPDX-License-Identifier: GPL-3.0-or-later
"""Write ``docs/api.md`` from the method declarations: ``python -m hearth.api.docgen > docs/api.md``.

The reference is generated from the same declarations the envelope checks, so it cannot drift from
what the server accepts; ``tests/test_docs.py`` fails when the committed file is out of date.
"""

from __future__ import annotations

import inspect

from hearth.api import declare, methods  # noqa: F401  (registers the methods)

#: Hearth's own methods whose handler docstring is their documentation (Kallithea's are
#: documented by the specification)
EXPLAINED = ("explain_permission",)


def render() -> str:
    lines = [
        "# API methods",
        "",
        "Generated from the method declarations by `python -m hearth.api.docgen`; do not edit.",
        "Every method is called as described in the specification's `jsonrpc.md` "
        "(`POST /_admin/api` with `id`, `api_key`, `method`, `args`).",
        "",
    ]
    seen: set[str] = set()
    for name in sorted(declare.METHODS):
        decl = declare.METHODS[name]
        if decl.name in seen:
            continue
        seen.add(decl.name)
        aliases = [n for n in decl.names if n != decl.name]
        title = f"## `{decl.name}`" + (
            f" (alias {', '.join(f'`{a}`' for a in aliases)})" if aliases else ""
        )
        gate = decl.gate or "none (checks inside the method)"
        lines += [title, "", f"Tier: {decl.tier}. Gate: {gate}.", ""]
        if name in EXPLAINED:
            lines += [inspect.cleandoc(decl.handler.__doc__ or ""), ""]
        if decl.args:
            lines += ["| arg | kind | default | aliases |", "|---|---|---|---|"]
            for arg in decl.args:
                default = "required" if arg.required else f"`{arg.default!r}`"
                kind = arg.kind.value + (f" ({', '.join(arg.values)})" if arg.values else "")
                lines.append(f"| `{arg.name}` | {kind} | {default} | {', '.join(arg.aliases)} |")
            lines.append("")
        else:
            lines += ["No arguments.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")

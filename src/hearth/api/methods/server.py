# SPDX-License-Identifier: GPL-3.0-or-later
"""Server methods (``methods.md`` §1): ``test``, ``get_server_info``, ``get_ip``, ``get_method``."""

from __future__ import annotations

import fnmatch
import platform
from importlib import metadata
from typing import Any

from hearth.api import declare
from hearth.api.declare import CALLER, Arg, Call, Kind, method
from hearth.services import lookup, sysinfo, users
from hearth.shapes import ip_rule


@method("test", tier="kallithea-0.7", gate="admin", args=[Arg("args", Kind.ANY)])
def test(call: Call, args: Any) -> Any:
    return args


@method("get_server_info", tier="kallithea-0.7", gate="admin")
def get_server_info(call: Call) -> dict[str, Any]:
    modules = sorted(
        {(d.metadata["Name"], d.version) for d in metadata.distributions() if d.metadata["Name"]},
        key=lambda item: item[0].lower(),
    )
    git_version = sysinfo.git_version(call.settings.git_path)
    return {
        "modules": [list(m) for m in modules],
        "py_version": platform.python_version(),
        "platform": platform.platform(),
        "kallithea_version": "0.7.0",
        "git_version": git_version,
        "git_path": call.settings.git_path,
        "hearth_version": call.runtime.version,
        "hg_version": sysinfo.hg_version(),
    }


@method(
    "get_ip",
    tier="seed",
    gate="admin",
    aliases=("show_ip",),
    args=[Arg("userid", Kind.ID_NAME, CALLER)],
)
def get_ip(call: Call, userid: int | str | None) -> dict[str, Any]:
    user_id = call.actor.user_id if userid is None else lookup.user(call.db, userid).user_id
    rules = users.ip_rules(call.db, user_id)
    return {
        "server_ip_addr": call.client_ip,
        "ip_addr_server": call.client_ip,
        "user_ips": [ip_rule(rule) for rule in rules],
    }


def _signature(decl: declare.Method) -> dict[str, str]:
    return {
        a.name: "<RequiredType>" if a.required else f"<Optional:{a.default!r}>" for a in decl.args
    }


@method("get_method", tier="rhodecode", args=[Arg("pattern", Kind.STR, "*")])
def get_method(call: Call, pattern: str) -> list[Any]:
    names = sorted(n for n in declare.METHODS if fnmatch.fnmatchcase(n, pattern))
    if len(names) == 1:
        decl = declare.METHODS[names[0]]
        return [names[0], _signature(decl), decl.declaration()]
    return names

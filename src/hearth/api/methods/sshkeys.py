# SPDX-License-Identifier: GPL-3.0-or-later
"""SSH key methods (issue 16): thin adapters over ``services.sshkeys``. A user manages their own
keys; admins anyone's (``self_only``, as ``get_user``)."""

from __future__ import annotations

from typing import Any

from hearth.api.declare import CALLER, Arg, Call, Kind, method
from hearth.api.methods.users import self_only
from hearth.services import lookup, sshkeys


def _owner(call: Call, userid: int | str | None) -> Any:
    self_only(call, userid)
    return lookup.user(call.db, call.actor.user_id if userid is None else userid)


@method(
    "add_ssh_key",
    tier="hearth",
    args=[
        Arg("userid", Kind.ID_NAME, CALLER),
        Arg("public_key", Kind.STR),
        Arg("description", Kind.STR, ""),
    ],
)
def add_ssh_key(
    call: Call, userid: int | str | None, public_key: str, description: str
) -> dict[str, Any]:
    info = sshkeys.add(call.db, call.settings, _owner(call, userid), public_key, description)
    return {
        "msg": f"added SSH key {info.fingerprint} for user `{info.username}`",
        "ssh_key": info.as_json(),
    }


@method("get_ssh_keys", tier="hearth", args=[Arg("userid", Kind.ID_NAME, CALLER)])
def get_ssh_keys(call: Call, userid: int | str | None) -> list[dict[str, Any]]:
    return [info.as_json() for info in sshkeys.list_for(call.db, _owner(call, userid))]


@method(
    "delete_ssh_key",
    tier="hearth",
    args=[Arg("userid", Kind.ID_NAME, CALLER), Arg("fingerprint", Kind.STR)],
)
def delete_ssh_key(call: Call, userid: int | str | None, fingerprint: str) -> dict[str, Any]:
    info = sshkeys.remove(call.db, call.settings, _owner(call, userid), fingerprint)
    return {
        "msg": f"deleted SSH key {info.fingerprint} of user `{info.username}`",
        "ssh_key": info.as_json(),
    }

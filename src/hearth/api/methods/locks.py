# SPDX-License-Identifier: GPL-3.0-or-later
"""Locking methods (``methods.md`` §10): ``lock``, ``get_locks``, ``get_user_locks``.

Adapters over ``services.locks``; the same state drives the 423 answers of clone/push
(``web-and-vcs.md`` §6).
"""

from __future__ import annotations

import json
from typing import Any

from hearth.api.declare import CALLER, Arg, Call, Kind, method
from hearth.api.methods.users import self_only
from hearth.render import epoch_iso
from hearth.services import locks, lookup, repos
from hearth.services.permissions import Level
from hearth.shapes import repository


@method(
    "lock",
    tier="seed",
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("locked", Kind.BOOL, None),
        Arg("userid", Kind.ID_NAME, CALLER),
    ],
)
def lock(call: Call, repoid: int | str, locked: bool | None, userid: int | str | None) -> Any:
    repo = repos.find(call.db, call.actor, repoid, Level.WRITE)
    self_only(call, userid)
    user = lookup.user(call.db, call.actor.user_id if userid is None else userid)
    name = repo.repo_name
    if locked is None:
        held = locks.state(call.db, repo)
        if held is None:
            return {
                "repo": name,
                "locked": False,
                "locked_since": None,
                "locked_by": None,
                "lock_reason": None,
                "lock_state_changed": False,
                "msg": f"Repo `{name}` not locked.",
            }
        date = json.dumps(epoch_iso(held.since))
        return {
            "repo": name,
            "locked": True,
            "locked_since": held.since,
            "locked_by": held.holder,
            "lock_reason": held.reason,
            "lock_state_changed": False,
            "msg": f"Repo `{name}` locked by `{held.holder}` on `{date}`.",
        }
    since = locks.change(call.db, repo, user.user_id, locked)
    return {
        "repo": name,
        "locked": locked,
        "locked_since": since,
        "locked_by": user.username,
        "lock_reason": locks.LOCK_API,
        "lock_state_changed": True,
        "msg": f"User `{user.username}` set lock state for repo `{name}` to `{locked}`",
    }


def _locks_of(call: Call, user_id: int | None) -> list[dict[str, Any]]:
    views = locks.visible_locks(call.db, call.actor, user_id)
    return [repository(v, call.base_url, admin=call.actor.admin) for v in views]


@method("get_locks", tier="seed", args=[Arg("userid", Kind.ID_NAME, None)])
def get_locks(call: Call, userid: int | str | None) -> list[dict[str, Any]]:
    """Admins: every lock, or ``userid``'s; others: their own only (README #6)."""
    self_only(call, userid)
    if userid is not None:
        return _locks_of(call, lookup.user(call.db, userid).user_id)
    return _locks_of(call, None if call.actor.admin else call.actor.user_id)


@method("get_user_locks", tier="rhodecode", args=[Arg("userid", Kind.ID_NAME, CALLER)])
def get_user_locks(call: Call, userid: int | str | None) -> list[dict[str, Any]]:
    self_only(call, userid)
    user_id = call.actor.user_id if userid is None else lookup.user(call.db, userid).user_id
    return _locks_of(call, user_id)

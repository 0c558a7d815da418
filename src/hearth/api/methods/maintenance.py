# SPDX-License-Identifier: GPL-3.0-or-later
"""Maintenance methods (``methods.md`` §1): ``rescan_repos``, ``pull``, ``get_task``.

``rescan_repos`` and ``pull`` run through ``hearth.tasks.submit``: at once without a broker, queued
with one (the answer then carries the task id and empty lists; ``get_task`` reports the outcome).
"""

from __future__ import annotations

from typing import Any

from hearth import tasks as background
from hearth.api.declare import Arg, Call, Kind, method
from hearth.api.methods.repos import render
from hearth.errors import HearthError
from hearth.services import repos, taskrecords
from hearth.services.permissions import Level


@method(
    "rescan_repos",
    tier="seed",
    gate="admin",
    blocking=True,
    args=[Arg("remove_obsolete", Kind.BOOL, False)],
)
def rescan_repos(call: Call, remove_obsolete: bool) -> dict[str, Any]:
    args = {"remove_obsolete": remove_obsolete}
    return background.submit(call.db, call.actor, call.settings, "rescan_repos", args)


@method(
    "pull",
    tier="seed",
    gate="admin",
    blocking=True,
    args=[
        Arg("repoid", Kind.ID_NAME, aliases=("repo",)),
        Arg("clone_uri", Kind.STR, None, aliases=("remote_uri",)),
    ],
)
def pull(call: Call, repoid: int | str, clone_uri: str | None) -> dict[str, Any]:
    repo = repos.find(call.db, call.actor, repoid, Level.ADMIN)  # "does not exist" at once
    args = {
        "repoid": repo.repo_id,
        "repo_name": repo.repo_name,
        "clone_uri": clone_uri,
        "client_ip": call.client_ip,
    }
    return background.submit(call.db, call.actor, call.settings, "pull", args)


@method("get_task", tier="hearth", args=[Arg("task_id", Kind.STR)])
def get_task(call: Call, task_id: str) -> dict[str, Any]:
    row = taskrecords.get(call.db, call.actor, task_id)  # "does not exist" before anything else
    made = (row.args or {}).get("repo_id") if row.method == "create_repo" else None
    background.reap(call.db, call.settings, task_id)  # a lost worker's task reads as failed
    found = taskrecords.describe(call.db, call.actor, task_id)
    result = found["result"]
    if made is not None and found["state"] == "done" and isinstance(result, dict):
        # the worker does not know how the API shapes a repository; the answer is shaped here
        try:
            repo = repos.find(call.db, call.actor, int(made))
        except HearthError:
            pass
        else:
            found["result"] = {**result, "repo": render(call, repo)}
    return found

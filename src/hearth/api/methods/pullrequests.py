# SPDX-License-Identifier: GPL-3.0-or-later
"""Pull-request methods (``methods.md`` §9): thin adapters over ``services.pullrequests``.

``get_repo``'s ``with_pullrequests`` block is rendered by :func:`rendered` too, so a pull request
has one shape everywhere.
"""

from __future__ import annotations

from typing import Any

from hearth.api.declare import CALLER, Arg, Call, Kind, method
from hearth.services import pullrequests
from hearth.services.pullrequests import PullRequestView
from hearth.shapes import clone_url, pull_request


def rendered(call: Call, view: PullRequestView) -> dict[str, Any]:
    url = clone_url(call.settings.clone_uri_tmpl, call.base_url, view.org_repo, view.org_repo_id)
    return pull_request(view, url)


@method(
    "get_pullrequest",
    tier="kallithea-0.7",
    blocking=True,  # outdated inline comments are told from the repository's files
    args=[Arg("pullrequest_id", Kind.INT, aliases=("pull_request_id", "pullrequestid"))],
)
def get_pullrequest(call: Call, pullrequest_id: int) -> dict[str, Any]:
    return rendered(call, pullrequests.get(call.db, call.actor, call.settings, pullrequest_id))


@method(
    "comment_pullrequest",
    tier="kallithea-0.7",
    args=[
        Arg("pull_request_id", Kind.INT, aliases=("pullrequest_id", "pullrequestid")),
        Arg("comment_msg", Kind.STR, ""),
        Arg("status", Kind.ENUM, None, values=pullrequests.STATUSES),
        Arg("close_pr", Kind.BOOL, False),
    ],
)
def comment_pullrequest(
    call: Call, pull_request_id: int, comment_msg: str, status: str | None, close_pr: bool
) -> bool:
    pullrequests.comment(
        call.db,
        call.actor,
        call.settings,
        pull_request_id,
        pullrequests.NewComment(text=comment_msg, status=status, close=close_pr),
        client_ip=call.client_ip,
    )
    return True


@method(
    "edit_reviewers",
    tier="kallithea-0.7",
    args=[
        Arg("pull_request_id", Kind.INT, aliases=("pullrequest_id", "pullrequestid")),
        Arg("add", Kind.NAMES, None),
        Arg("remove", Kind.NAMES, None),
    ],
)
def edit_reviewers(
    call: Call,
    pull_request_id: int,
    add: list[int | str] | None,
    remove: list[int | str] | None,
) -> dict[str, Any]:
    change = pullrequests.edit_reviewers(call.db, call.actor, pull_request_id, add, remove)
    return {
        "added": change.added,
        "already_present": change.already_present,
        "removed": change.removed,
    }


@method(
    "create_pull_request",
    tier="rhodecode",
    blocking=True,
    args=[
        Arg("source_repo", Kind.ID_NAME),
        Arg("target_repo", Kind.ID_NAME),
        Arg("source_ref", Kind.STR),
        Arg("target_ref", Kind.STR),
        Arg("owner", Kind.ID_NAME, CALLER),
        Arg("title", Kind.STR, ""),
        Arg("description", Kind.STR, ""),
        Arg("reviewers", Kind.LIST, None),
    ],
)
def create_pull_request(call: Call, **args: Any) -> dict[str, Any]:
    pr = pullrequests.create(
        call.db,
        call.actor,
        call.settings,
        pullrequests.NewPullRequest(**args),
        client_ip=call.client_ip,
    )
    return {"msg": f"Created new pull request `{pr.title}`", "pull_request_id": pr.pull_request_id}

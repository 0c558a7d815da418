# SPDX-License-Identifier: GPL-3.0-or-later
"""RhodeCode's pull-request methods (``get_pull_request`` … ``comment_pull_request``).

Thin adapters over ``services.pullrequests``, the same rules as the Kallithea methods of
``methods.md`` §9 (who may read, comment, close, merge), answered in RhodeCode 4.x's shapes and
with its texts: a refusal of the service is re-raised under RhodeCode's words here, so the rule
stays in the service and only the wording lives at this edge.
"""

from __future__ import annotations

from typing import Any

from hearth.api.declare import CALLER, Arg, Call, Kind, method
from hearth.errors import Conflict, Forbidden, Invalid, NotFound
from hearth.render import local_iso
from hearth.services import lookup, permissions, pullrequests
from hearth.services.permissions import Actor, Level
from hearth.services.pullrequests import PullRequestView
from hearth.shapes import brief_user, clone_url

STATUS_LABELS = {
    "not_reviewed": "Not Reviewed",
    "approved": "Approved",
    "rejected": "Rejected",
    "under_review": "Under Review",
}
CAN_MERGE = "This pull request can be automatically merged."
PR_ID = Arg("pullrequestid", Kind.INT, aliases=("pull_request_id", "pullrequest_id"))
REPO = Arg("repoid", Kind.ID_NAME, None)


def _check_repo(call: Call, repoid: int | str | None) -> None:
    """A given ``repoid`` must name a repository the caller may read (RhodeCode's check)."""
    if repoid is None:
        return
    missing = NotFound("repo_not_found", x=repoid)
    try:
        repo = lookup.repository(call.db, repoid)
    except NotFound:
        raise missing from None
    permissions.require(call.db, call.actor, Level.READ, repo, missing)


def _view(
    call: Call, pullrequestid: int, repoid: int | str | None, *, reading: bool = True
) -> PullRequestView:
    """The pull request if the caller may read it; hidden, it answers as RhodeCode's readers
    do (``repository … or pull request … does not exist``) or its writers
    (``repository … does not exist``, with the ``repoid`` given, ``None`` without)."""
    _check_repo(call, repoid)
    try:
        return pullrequests.get(call.db, call.actor, call.settings, pullrequestid)
    except Forbidden:
        if reading:
            raise NotFound("rc_pr_hidden", repo=repoid, x=pullrequestid) from None
        raise NotFound("repo_not_found", x=repoid) from None


def _acting(call: Call, userid: Any) -> Actor:
    """``userid``: the caller, or anyone when the caller is an admin (RhodeCode's rule)."""
    if userid is CALLER or userid is None:
        return call.actor
    user = lookup.user(call.db, userid)
    if user.user_id == call.actor.user_id:
        return call.actor
    if not call.actor.admin:
        raise Forbidden("rc_not_same_user")
    return permissions.actor_for(call.db, user, call.actor.default_user_id)


def _url(call: Call, name: str, repo_id: int) -> str:
    return clone_url(call.settings.clone_uri_tmpl, call.base_url, name, repo_id)


def _ref(parts: list[str], commit_id: str) -> dict[str, Any]:
    return {"name": parts[1], "type": parts[0], "commit_id": commit_id}


def _user(call: Call, username: str) -> dict[str, Any]:
    return brief_user(lookup.user(call.db, username))


def rendered(call: Call, view: PullRequestView, merge_state: bool = False) -> dict[str, Any]:
    """RhodeCode's ``get_api_data`` of a pull request; ``mergeable`` is worked out only when
    ``merge_state`` asks for it (``not_available`` otherwise, as RhodeCode answers)."""
    mergeable: dict[str, Any] = {"status": "not_available", "message": "not_available"}
    if merge_state and view.status == pullrequests.NEW:
        check = pullrequests.mergeable(call.db, call.actor, call.settings, view.pull_request_id)
        mergeable = {
            "status": check.error is None,
            "message": CAN_MERGE if check.error is None else check.error.text,
        }
    elif merge_state:
        mergeable = {"status": False, "message": "This pull request is closed."}
    target_url = _url(call, view.other_repo, view.other_repo_id)
    merge = None
    if view.merge_rev:
        merge = {"clone_url": target_url, "reference": _ref(view.other_ref_parts, view.merge_rev)}
    return {
        "pull_request_id": view.pull_request_id,
        "url": call.base_url.rstrip("/") + view.path,
        "title": view.title,
        "description": view.description,
        "status": view.status,
        "state": "created",
        "created_on": local_iso(view.created_on, whole_seconds=True),
        "updated_on": local_iso(view.updated_on, whole_seconds=True),
        "commit_ids": list(view.revisions),
        "review_status": pullrequests.review_status(view, call.settings),
        "mergeable": mergeable,
        "source": {
            "clone_url": _url(call, view.org_repo, view.org_repo_id),
            "repository": view.org_repo,
            "reference": _ref(view.org_ref_parts, view.org_ref_parts[2]),
        },
        "target": {
            "clone_url": target_url,
            "repository": view.other_repo,
            "reference": _ref(view.other_ref_parts, view.other_head),
        },
        "merge": merge,
        "author": _user(call, view.owner),
        "reviewers": [
            {"user": _user(call, r.username), "reasons": [], "review_status": r.status}
            for r in view.reviewers
        ],
    }


@method(
    "get_pull_request",
    tier="rhodecode",
    blocking=True,
    args=[PR_ID, REPO, Arg("merge_state", Kind.BOOL, False)],
)
def get_pull_request(
    call: Call, pullrequestid: int, repoid: int | str | None, merge_state: bool
) -> dict[str, Any]:
    return rendered(call, _view(call, pullrequestid, repoid), merge_state)


@method(
    "get_pull_requests",
    tier="rhodecode",
    blocking=True,
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("status", Kind.STR, "new"),
        Arg("merge_state", Kind.BOOL, False),
    ],
)
def get_pull_requests(
    call: Call, repoid: int | str, status: str, merge_state: bool
) -> list[dict[str, Any]]:
    """Pull requests into ``repoid`` with ``status``, newest first (RhodeCode's order)."""
    _check_repo(call, repoid)
    repo = lookup.repository(call.db, repoid)
    views = pullrequests.for_target(call.db, call.actor, call.settings, repo.repo_id, status)
    return [rendered(call, v, merge_state) for v in reversed(views)]


@method(
    "get_pull_request_comments",
    tier="rhodecode",
    blocking=True,
    args=[PR_ID, REPO],
)
def get_pull_request_comments(
    call: Call, pullrequestid: int, repoid: int | str | None
) -> list[dict[str, Any]]:
    """Inline comments first, then general ones, each oldest first (RhodeCode's order)."""
    view = _view(call, pullrequestid, repoid)
    inline = [c for c in view.comments if c.f_path]
    general = [c for c in view.comments if not c.f_path]
    out = []
    for c in inline + general:
        author = lookup.user(call.db, c.username)
        full = " ".join(p for p in (author.firstname, author.lastname) if p) or author.username
        out.append(
            {
                "comment_author": {
                    "active": bool(author.active),
                    "full_name_or_username": full,
                    "username": author.username,
                },
                "comment_created_on": local_iso(c.created_on, whole_seconds=True),
                "comment_f_path": c.f_path,
                "comment_id": c.comment_id,
                "comment_lineno": c.line_no,
                "comment_status": (
                    {"status": c.status, "status_lbl": STATUS_LABELS[c.status]} if c.status else {}
                ),
                "comment_text": c.text,
                "comment_type": "note",
                "comment_commit_id": None,
                "comment_pull_request_id": view.pull_request_id,
                "comment_resolved_by": None,
                "comment_last_version": c.version,
                "pull_request_version": f"v{c.version}" if c.version < view.version else None,
                "outdated": c.outdated,
                "resolved": c.resolved,
            }
        )
    return out


def _line(line: Any) -> str | None:
    """``line``: ``n<number>`` (new side), ``o<number>`` (old side), or a plain number (new)."""
    if line is None:
        return None
    if isinstance(line, int) and not isinstance(line, bool):
        return f"n{line}"
    return str(line)


@method(
    "comment_pull_request",
    tier="rhodecode",
    blocking=True,  # an inline comment reads the file's line
    args=[
        PR_ID,
        REPO,
        Arg("message", Kind.STR, None),
        Arg("commit_id", Kind.STR, None),
        Arg("status", Kind.STR, None),
        Arg("comment_type", Kind.STR, "note"),
        Arg("userid", Kind.ID_NAME, CALLER),
        Arg("f_path", Kind.STR, None),
        Arg("line", Kind.ANY, None),
    ],
)
def comment_pull_request(
    call: Call,
    pullrequestid: int,
    repoid: int | str | None,
    message: str | None,
    commit_id: str | None,
    status: str | None,
    comment_type: str,
    userid: Any,
    f_path: str | None,
    line: Any,
) -> dict[str, Any]:
    actor = _acting(call, userid)
    view = _view(call, pullrequestid, repoid, reading=False)
    if view.status == pullrequests.CLOSED:
        raise Conflict("rc_pr_closed_comment", x=pullrequestid)
    if not message and not status:
        raise Invalid("rc_no_message")
    if status is not None and status not in pullrequests.STATUSES:
        raise Invalid("rc_bad_status", x=status)
    if commit_id and commit_id not in view.revisions:
        raise Invalid("rc_bad_commit", x=commit_id)
    if comment_type != "note":
        raise Invalid("rc_bad_comment_type", x=comment_type)
    # RhodeCode posts the comment and leaves the status when the caller may not set one, or
    # names an older commit than the pull request's head
    allowed = status is not None and pullrequests.may_set_status(call.db, actor, pullrequestid)
    if commit_id and commit_id != view.org_ref_parts[2]:
        allowed = False
    text = message or ""
    if allowed and not text:
        text = f"Status change > {STATUS_LABELS[status or '']}"
    row = pullrequests.comment(
        call.db,
        actor,
        call.settings,
        pullrequestid,
        pullrequests.NewComment(
            text=text,
            status=status if allowed else None,
            f_path=f_path,
            line_no=_line(line),
        ),
        client_ip=call.client_ip,
    )
    return {
        "pull_request_id": pullrequestid,
        "comment_id": row.comment_id,
        "status": {"given": status, "was_changed": allowed},
    }


@method(
    "update_pull_request",
    tier="rhodecode",
    blocking=True,
    args=[
        PR_ID,
        REPO,
        Arg("title", Kind.STR, ""),
        Arg("description", Kind.STR, ""),
        Arg("reviewers", Kind.LIST, None),
        Arg("update_commits", Kind.BOOL, None),
    ],
)
def update_pull_request(
    call: Call,
    pullrequestid: int,
    repoid: int | str | None,
    title: str,
    description: str,
    reviewers: list[Any] | None,
    update_commits: bool | None,
) -> dict[str, Any]:
    view = _view(call, pullrequestid, repoid)
    try:
        if view.status == pullrequests.CLOSED:
            raise Conflict("pr_closed")
        pullrequests.edit(call.db, call.actor, pullrequestid, title, description)
        commits: dict[str, list[str]] = {"added": [], "common": [], "removed": [], "total": []}
        if update_commits:
            before, after = pullrequests.update_commits(
                call.db, call.actor, call.settings, pullrequestid
            )
            commits = {
                "added": [r for r in after if r not in before],
                "common": [r for r in after if r in before],
                "removed": [r for r in before if r not in after],
                "total": after,
            }
        changed: dict[str, list[str]] = {"added": [], "removed": []}
        if reviewers:
            change = pullrequests.set_reviewers(call.db, call.actor, pullrequestid, reviewers)
            changed = {"added": change.added, "removed": change.removed}
    except Conflict as exc:
        if exc.code in ("pr_closed", "pr_reviewers_closed"):
            raise Conflict("rc_pr_closed_update", x=pullrequestid) from None
        raise
    except Forbidden as exc:
        if exc.code in ("pr_no_edit", "pr_no_reviewers_edit"):
            raise Forbidden("rc_pr_no_update", x=pullrequestid) from None
        raise
    fresh = pullrequests.get(call.db, call.actor, call.settings, pullrequestid)
    return {
        "msg": f"Updated pull request `{pullrequestid}`",
        "pull_request": rendered(call, fresh),
        "updated_commits": commits,
        "updated_reviewers": changed,
    }


@method(
    "close_pull_request",
    tier="rhodecode",
    blocking=True,
    args=[PR_ID, REPO, Arg("userid", Kind.ID_NAME, CALLER), Arg("message", Kind.STR, "")],
)
def close_pull_request(
    call: Call, pullrequestid: int, repoid: int | str | None, userid: Any, message: str
) -> dict[str, Any]:
    """Close with a comment; the closing status is ``approved`` when the reviews approve it,
    else ``rejected`` (RhodeCode's rule)."""
    actor = _acting(call, userid)
    view = _view(call, pullrequestid, repoid)
    if view.status == pullrequests.CLOSED:
        raise Conflict("rc_pr_already_closed", x=pullrequestid)
    approved = pullrequests.review_status(view, call.settings) == pullrequests.APPROVED
    status = pullrequests.APPROVED if approved else pullrequests.REJECTED
    label = STATUS_LABELS[status]
    try:
        pullrequests.comment(
            call.db,
            actor,
            call.settings,
            pullrequestid,
            pullrequests.NewComment(
                text=message or f"Closing with status change > {label}.",
                status=status,
                close=True,
            ),
            client_ip=call.client_ip,
        )
    except Forbidden as exc:
        if exc.code in ("pr_no_close", "pr_no_status", "pr_no_comment"):
            raise Forbidden("rc_pr_no_close", x=pullrequestid) from None
        raise
    return {"pull_request_id": pullrequestid, "close_status": label, "closed": True}


@method(
    "merge_pull_request",
    tier="rhodecode",
    blocking=True,
    args=[
        PR_ID,
        REPO,
        Arg("userid", Kind.ID_NAME, CALLER),
        Arg("fast_forward", Kind.BOOL, False),
    ],
)
def merge_pull_request(
    call: Call, pullrequestid: int, repoid: int | str | None, userid: Any, fast_forward: bool
) -> dict[str, Any]:
    """Merge into the target branch (``fast_forward``, a Hearth argument, asks git for a
    fast-forward instead of a merge commit); every refusal reads RhodeCode's
    ``merge not possible for following reasons: …``."""
    actor = _acting(call, userid)
    view = _view(call, pullrequestid, repoid)
    if view.status == pullrequests.CLOSED:
        raise Conflict("rc_pr_closed_merge", x=pullrequestid)
    try:
        pr = pullrequests.merge(
            call.db,
            actor,
            call.settings,
            pullrequestid,
            fast_forward=fast_forward,
            client_ip=call.client_ip,
        )
    except (Conflict, Forbidden, Invalid) as exc:
        raise Conflict("rc_pr_merge_refused", x=exc.text) from None
    ref = {"commit_id": pr.merge_rev, "type": "branch", "name": view.other_ref_parts[1]}
    return {
        "executed": True,
        "failure_reason": 0,
        "merge_status_message": CAN_MERGE,
        "merge_commit_id": pr.merge_rev,
        "possible": True,
        "merge_ref": ref,
    }

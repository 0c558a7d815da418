# SPDX-License-Identifier: GPL-3.0-or-later
"""Object shapes of ``jsonrpc.md`` §10, keys in emission order. Pure rendering: no queries here.

Shared by the API (``api/methods``) and ``hearth admin --json`` (``cli/``), which print the same
objects, so it sits beside the edges rather than in one of them. It reads the services' values and
rows through the protocols below, never the database models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from hearth import vcs
from hearth.render import epoch_iso, local_iso
from hearth.services.browse import ChangesetDetail, CommitView, FileDiff, FileView
from hearth.services.ipaccess import ip_range
from hearth.services.pullrequests import PullRequestView
from hearth.services.repogroups import RepoGroupView
from hearth.services.repolisting import RepoView
from hearth.services.repoperms import Member
from hearth.services.repos import masked_clone_uri
from hearth.services.usergroups import UserGroupDetails
from hearth.services.users import PermissionReport, UserDetails


class User(Protocol):
    """What the shapes read of a user (the services' rows have it; so may a plain value)."""

    @property
    def user_id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def firstname(self) -> str: ...
    @property
    def lastname(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def admin(self) -> bool: ...
    @property
    def extern_type(self) -> str: ...
    @property
    def extern_name(self) -> str: ...
    @property
    def last_login(self) -> datetime | None: ...


class Gist(Protocol):
    """What the gist shape reads of a gist."""

    @property
    def gist_id(self) -> int: ...
    @property
    def gist_type(self) -> str: ...
    @property
    def access_id(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def expires(self) -> float: ...
    @property
    def created_on(self) -> datetime: ...
    @property
    def acl_level(self) -> str: ...
    @property
    def modified_at(self) -> datetime: ...


def brief_user(user: User, emails: list[str] | None = None) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "username": user.username,
        "firstname": user.firstname or "",
        "lastname": user.lastname or "",
        "email": user.email,
        "emails": emails if emails is not None else [user.email],
        "active": bool(user.active),
        "admin": bool(user.admin),
    }


def detailed_user(details: UserDetails) -> dict[str, Any]:
    user = details.user
    out = brief_user(user, details.emails)
    out["extern_type"] = user.extern_type
    out["extern_name"] = user.extern_name
    out["ldap_dn"] = user.extern_name if user.extern_type == "ldap" else None
    out["last_login"] = local_iso(user.last_login)
    out["ip_addresses"] = list(details.ip_rules)
    return out


def permission_block(report: PermissionReport) -> dict[str, Any]:
    return {
        "global": report.global_,
        "repositories": report.repositories,
        "repositories_groups": report.repositories_groups,
        "user_groups": report.user_groups,
    }


def user_group(details: UserGroupDetails) -> dict[str, Any]:
    group = details.group
    return {
        "users_group_id": group.users_group_id,
        "group_name": group.group_name,
        "group_description": group.description or "",
        "active": bool(group.active),
        "owner": details.owner,
        "members": [brief_user(m.user, m.emails) for m in details.members],
    }


def ip_rule(rule: str) -> dict[str, Any]:
    return {"ip_addr": rule, "ip_range": ip_range(rule)}


EMPTY_CHANGESET = {
    "short_id": "000000000000",
    "raw_id": "0" * 40,
    "revision": -1,
    "message": "",
    "date": "1970-01-01T00:00:00",
    "author": "",
}


def cached_changeset(record: dict[str, Any] | None) -> dict[str, Any]:
    """A stored ``changeset_cache`` (date as epoch seconds) in the brief changeset form."""
    if not record or record.get("revision", -1) < 0:
        return dict(EMPTY_CHANGESET)
    return {
        "short_id": record["short_id"],
        "raw_id": record["raw_id"],
        "revision": record["revision"],
        "message": record["message"],
        "date": epoch_iso(record["date"]),
        "author": record["author"],
    }


def brief_changeset(cs: vcs.Changeset, changes: vcs.FileChanges | None = None) -> dict[str, Any]:
    """A changeset of ``get_changesets``; ``changes`` adds ``added``/``changed``/``removed``."""
    out: dict[str, Any] = {
        "short_id": cs.short_id,
        "raw_id": cs.raw_id,
        "revision": cs.revision,
        "message": cs.message,
        "date": epoch_iso(cs.date),
        "author": cs.author,
    }
    if changes is not None:
        out["added"] = list(changes.added)
        out["changed"] = list(changes.changed)
        out["removed"] = list(changes.removed)
    return out


def detailed_changeset(
    detail: ChangesetDetail, *, reviews: bool, comments: bool, inline_comments: bool
) -> dict[str, Any]:
    """``get_changeset``: author split into name and e-mail, file lists, review data on request."""
    cs, changes = detail.changeset, detail.changes
    name, email = vcs.split_author(cs.author)
    out: dict[str, Any] = {
        "raw_id": cs.raw_id,
        "short_id": cs.short_id,
        "revision": cs.revision,
        "date": epoch_iso(cs.date),
        "message": cs.message,
        "author": {"name": name, "email": email},
        "added": list(changes.added),
        "changed": list(changes.changed),
        "removed": list(changes.removed),
    }
    if reviews:
        out["reviews"] = [
            {
                "status": s.status,
                "modified_at": local_iso(s.modified_at, whole_seconds=True),
                "reviewer": s.reviewer,
            }
            for s in detail.reviews
        ]
    if comments:
        out["comments"] = list(detail.comments)
    if inline_comments:
        out["inline_comments"] = list(detail.inline_comments)
    return out


def file_diff(item: FileDiff) -> dict[str, Any]:
    """One entry of a RhodeCode changeset's ``diff`` (``extended`` leaves the details null)."""
    return {
        "filename": item.filename,
        "op": item.op,
        "new_revision": item.new_revision,
        "old_revision": item.old_revision,
        "raw_diff": item.raw_diff,
        "stats": {"added": item.added, "binary": item.binary, "deleted": item.deleted},
    }


def commit(view: CommitView) -> dict[str, Any]:
    """``get_repo_changeset(s)``: RhodeCode's changeset with parents, branch, diff (+ refs)."""
    cs = view.changeset
    out: dict[str, Any] = {
        "short_id": cs.short_id,
        "raw_id": cs.raw_id,
        "revision": cs.revision,
        "message": cs.message,
        "date": epoch_iso(cs.date),
        "author": cs.author,
        "parents": [{"raw_id": parent} for parent in cs.parents],
        "branch": view.branch,
        "diff": [file_diff(item) for item in view.diff],
    }
    if view.refs is not None:
        out["refs"] = {
            "branches": list(view.refs.branches),
            "bookmarks": list(view.refs.bookmarks),
            "tags": list(view.refs.tags),
        }
    return out


def node(item: vcs.Node) -> dict[str, Any]:
    return {"name": item.path, "type": item.kind}


def refs(names: vcs.Refs) -> dict[str, Any]:
    return {
        "bookmarks": dict(names.bookmarks),
        "branches": dict(names.branches),
        "branches_closed": dict(names.branches_closed),
        "tags": dict(names.tags),
    }


def repo_file(view: FileView) -> dict[str, Any]:
    """``get_repo_file``: name and type; ``basic``/``full`` add metadata, ``full`` the text."""
    out: dict[str, Any] = {"name": view.path, "type": "file"}
    if view.details in ("basic", "full"):
        out["extension"] = view.extension
        out["mimetype"] = view.mimetype
        out["md5"] = view.md5
        out["binary"] = view.binary
        out["size"] = view.size
    if view.details == "full":
        out["content"] = view.content
        out["lines"] = view.lines
    return out


def repository(view: RepoView, base_url: str, *, admin: bool) -> dict[str, Any]:
    repo = view.repo  # a plain dict: listings render thousands of these
    landing_type, _, landing = repo["landing_rev"].partition(":")
    return {
        "repo_id": repo["repo_id"],
        "repo_name": repo["repo_name"],
        "repo_type": repo["repo_type"],
        "clone_uri": masked_clone_uri(repo["clone_uri"], admin),
        "private": bool(repo["private"]),
        "created_on": local_iso(repo["created_on"]),
        "description": repo["description"],
        "landing_rev": [landing_type, landing],
        "owner": view.owner,
        "fork_of": view.fork_of,
        "enable_statistics": bool(repo["enable_statistics"]),
        "enable_downloads": bool(repo["enable_downloads"]),
        "last_changeset": cached_changeset(repo["changeset_cache"]),
        "enable_locking": bool(repo["enable_locking"]),
        "locked_by": brief_user(view.locked_by) if view.locked_by is not None else None,
        "locked_date": epoch_iso(repo["locked_date"]) if repo["locked_date"] is not None else None,
        "lock_reason": repo["lock_reason"] if view.locked_by is not None else None,
        "url": f"{base_url}/{repo['repo_name']}",
    }


def member(item: Member) -> dict[str, Any]:
    return {"name": item.name, "type": item.type, "permission": item.permission}


def gist(row: Gist, base_url: str, content: dict[str, str] | None = None) -> dict[str, Any]:
    """A gist (``jsonrpc.md`` §10): Kallithea's keys, then RhodeCode's ``acl_level``,
    ``modified_at`` and ``content`` (null unless the caller asked for the files)."""
    return {
        "gist_id": row.gist_id,
        "type": row.gist_type,
        "access_id": row.access_id,
        "description": row.description or "",
        "url": f"{base_url}/_admin/gists/{row.access_id}",
        "expires": float(row.expires),
        "created_on": local_iso(row.created_on),
        "acl_level": row.acl_level,
        "modified_at": local_iso(row.modified_at),
        "content": content,
    }


def repo_group(view: RepoGroupView) -> dict[str, Any]:
    """A repository group (``jsonrpc.md`` §10); ``get_repo_group`` appends ``members``."""
    group = view.group
    return {
        "group_id": group.group_id,
        "group_name": group.group_name,
        "group_description": group.description or "",
        "parent_group": view.parent_group,
        "repositories": list(view.repositories),
        "owner": view.owner,
    }


def clone_url(template: str, base_url: str, repo_name: str, repo_id: int) -> str:
    """A repository's clone URL from ``clone_uri_tmpl`` with no user, as Kallithea shows it
    (the empty user's ``@`` removed)."""
    parts = urlsplit(base_url)
    prefix = parts.path.rstrip("/")
    url = template.format(
        scheme=parts.scheme,
        user="",
        netloc=parts.netloc + prefix,
        prefix=prefix,
        repo=repo_name,
        repoid=str(repo_id),
    )
    return url.replace("://@", "://", 1)


def pull_request(view: PullRequestView, org_repo_url: str) -> dict[str, Any]:
    """A pull request (``jsonrpc.md`` §10), Kallithea's keys in Kallithea's order."""
    return {
        "pull_request_id": view.pull_request_id,
        "url": view.path,
        "reviewers": [{"username": r.username} for r in view.reviewers],
        "revisions": list(view.revisions),
        "owner": view.owner,
        "title": view.title,
        "description": view.description,
        "org_repo_url": org_repo_url,
        "org_ref_parts": list(view.org_ref_parts),
        "other_ref_parts": list(view.other_ref_parts),
        "status": view.status,
        "comments": [
            {
                "comment_id": c.comment_id,
                "username": c.username,
                "text": c.text,
                "created_on": local_iso(c.created_on, whole_seconds=True),
            }
            for c in view.comments
        ],
        "statuses": [
            {
                "status": s.status,
                "modified_at": local_iso(s.modified_at, whole_seconds=True),
                "reviewer": s.reviewer,
            }
            for s in view.statuses
        ],
        "created_on": local_iso(view.created_on, whole_seconds=True),
        "updated_on": local_iso(view.updated_on, whole_seconds=True),
    }

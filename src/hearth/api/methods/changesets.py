# SPDX-License-Identifier: GPL-3.0-or-later
"""Browsing methods: nodes, refs and files (``methods.md`` §4) and changesets (§8).

Thin adapters over ``services.browse``; every method reads the repository on disk, so each runs
in a worker thread (``blocking``).
"""

from __future__ import annotations

from typing import Any

from hearth.api.declare import Arg, Call, Kind, method
from hearth.services import browse
from hearth.shapes import (
    brief_changeset,
    commit,
    detailed_changeset,
    node,
    refs,
    repo_file,
)


@method(
    "get_repo_nodes",
    tier="seed",
    blocking=True,
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("revision", Kind.STR),
        Arg("root_path", Kind.STR),
        Arg("ret_type", Kind.ENUM, "all", values=browse.NODE_TYPES),
    ],
)
def get_repo_nodes(
    call: Call, repoid: int | str, revision: str, root_path: str, ret_type: str
) -> list[dict[str, Any]]:
    found = browse.nodes(call.db, call.actor, call.settings, repoid, revision, root_path, ret_type)
    return [node(item) for item in found]


@method("get_repo_refs", tier="rhodecode", blocking=True, args=[Arg("repoid", Kind.ID_NAME)])
def get_repo_refs(call: Call, repoid: int | str) -> dict[str, Any]:
    return refs(browse.refs(call.db, call.actor, call.settings, repoid))


@method(
    "get_repo_file",
    tier="rhodecode",
    blocking=True,
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("commit_id", Kind.STR),
        Arg("file_path", Kind.STR),
        Arg("max_file_bytes", Kind.INT, None),
        Arg("details", Kind.ENUM, "basic", values=browse.FILE_DETAILS),
        Arg("cache", Kind.BOOL, True),
    ],
)
def get_repo_file(
    call: Call,
    repoid: int | str,
    commit_id: str,
    file_path: str,
    max_file_bytes: int | None,
    details: str,
    cache: bool,  # accepted, no effect
) -> dict[str, Any] | None:
    view = browse.file(
        call.db, call.actor, call.settings, repoid, commit_id, file_path, max_file_bytes, details
    )
    return None if view is None else repo_file(view)


@method(
    "get_changesets",
    tier="kallithea-0.7",
    blocking=True,
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("start", Kind.STR, None),
        Arg("end", Kind.STR, None),
        Arg("start_date", Kind.DATE, None),
        Arg("end_date", Kind.DATE, None),
        Arg("branch_name", Kind.STR, None),
        Arg("reverse", Kind.BOOL, False),
        Arg("with_file_list", Kind.BOOL, False),
        Arg("max_revisions", Kind.INT, None),
    ],
)
def get_changesets(call: Call, repoid: int | str, **query: Any) -> list[dict[str, Any]]:
    listed = browse.changesets(
        call.db, call.actor, call.settings, repoid, browse.ChangesetQuery(**query)
    )
    return [brief_changeset(item.changeset, item.changes) for item in listed]


@method(
    "get_changeset",
    tier="kallithea-0.7",
    blocking=True,
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("raw_id", Kind.STR),
        Arg("with_reviews", Kind.BOOL, False),
        Arg("with_comments", Kind.BOOL, False),
        Arg("with_inline_comments", Kind.BOOL, False),
    ],
)
def get_changeset(
    call: Call,
    repoid: int | str,
    raw_id: str,
    with_reviews: bool,
    with_comments: bool,
    with_inline_comments: bool,
) -> dict[str, Any]:
    detail = browse.changeset(call.db, call.actor, call.settings, repoid, raw_id)
    return detailed_changeset(
        detail,
        reviews=with_reviews,
        comments=with_comments,
        inline_comments=with_inline_comments,
    )


@method(
    "get_repo_changeset",
    tier="rhodecode",
    blocking=True,
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("revision", Kind.STR),
        Arg("details", Kind.ENUM, "basic", values=browse.CHANGESET_DETAILS),
    ],
)
def get_repo_changeset(
    call: Call, repoid: int | str, revision: str, details: str
) -> dict[str, Any]:
    view = browse.repo_changeset(call.db, call.actor, call.settings, repoid, revision, details)
    return commit(view)


@method(
    "get_repo_changesets",
    tier="rhodecode",
    blocking=True,
    args=[
        Arg("repoid", Kind.ID_NAME),
        Arg("start_rev", Kind.STR),
        Arg("limit", Kind.INT),
        Arg("details", Kind.ENUM, "basic", values=browse.CHANGESET_DETAILS),
    ],
)
def get_repo_changesets(
    call: Call, repoid: int | str, start_rev: str, limit: int, details: str
) -> list[dict[str, Any]]:
    views = browse.repo_changesets(
        call.db, call.actor, call.settings, repoid, start_rev, limit, details
    )
    return [commit(view) for view in views]

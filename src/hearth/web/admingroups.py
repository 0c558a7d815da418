# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository groups in the browser (``/_admin/repo_groups``, Kallithea's URLs, admins only):
list, create (nested), edit (rename, describe, move under another parent), delete (refused
while the group holds anything, as ``delete_repo_group``) and the group's permissions, with
"apply to everything inside" (``apply_to_children`` of ``grant_*_to_repo_group``).

==================================================  =============================================
``GET  /_admin/repo_groups``                        every group, and the "new group" form
``POST /_admin/repo_groups``                        ``group_name``, ``parent``, ``description``,
                                                    ``copy_permissions``
``GET  /_admin/repo_groups/{id}/edit``              settings, permissions, delete;
                                                    ``?explain=<user>``: the permission
                                                    explainer about that user on the group
``POST /_admin/repo_groups/{id}/edit``              ``group_name``, ``parent``, ``description``,
                                                    ``owner``
``POST /_admin/repo_groups/{id}/delete``            delete (an empty group only)
``POST /_admin/repo_groups/{id}/permissions``       ``holder`` (``user``/``user_group``), ``name``,
                                                    ``perm`` (``group.none``..``group.admin``,
                                                    ``revoke``), ``apply_to_children``
==================================================  =============================================

Every change is the service call the API method makes (``services/repogroups.py``,
``services/groupperms.py``) in one transaction: a refusal changes nothing (no row, no
directory) and is shown on the form, with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.errors import HearthError
from hearth.services import groupperms, lookup, pickers, repogroups
from hearth.web import admin, explainpage, pages
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from hearth.runtime import Runtime
    from hearth.services.permissions import Actor

GROUP_PERMS = ("group.none", "group.read", "group.write", "group.admin")
APPLY_LABELS = {
    "none": "this group only",
    "repos": "and every repository inside",
    "groups": "and every group inside",
    "all": "and everything inside",
}
DONE = {
    "created": "Repository group created.",
    "saved": "Repository group saved.",
    "deleted": "Repository group deleted.",
    "granted": "Permission saved.",
    "revoked": "Permission removed.",
}


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def _read(request: Request, work: Callable[[Session], Any]) -> Any:
    runtime = _runtime(request)

    def run() -> Any:
        with runtime.database.sessions() as db:
            return work(db)

    return await pages.blocking(run)


async def _write(request: Request, work: Callable[[Session], Any]) -> Any:
    runtime = _runtime(request)

    def run() -> Any:
        with runtime.database.transaction(write=True) as db:
            return work(db)

    return await pages.blocking(run)


def _choices(db: Session) -> list[dict[str, Any]]:
    return [
        {
            "id": v.group.group_id,
            "path": v.group.group_name,
            "description": v.group.description,
            "owner": v.owner,
            "repositories": len(v.repositories),
        }
        for v in repogroups.list_all(db)
    ]


async def _list_page(
    request: Request, visitor: Visitor, *, status: int = 200, error: str = "", typed: Any = None
) -> Response:
    groups = await _read(request, _choices)
    children: dict[str, int] = {}
    for g in groups:
        parent = g["path"].rpartition("/")[0]
        if parent:
            children[parent] = children.get(parent, 0) + 1
    return admin.render(
        request,
        visitor,
        "admin_repo_groups.html",
        "repo_groups",
        status=status,
        groups=groups,
        children=children,
        error=error,
        done=DONE.get(request.query_params.get("done", ""), ""),
        typed=typed
        or {
            "group_name": "",
            "parent": request.query_params.get("parent", ""),
            "description": "",
            "copy_permissions": "",
        },
    )


async def repo_groups(request: Request, visitor: Visitor) -> Response:
    if request.method != "POST":
        return await _list_page(request, visitor)
    data = await pages.form(request, visitor)
    typed = {
        k: pages.field(data, k) for k in ("group_name", "parent", "description", "copy_permissions")
    }
    actor = visitor.actor
    assert actor is not None
    repos_root = _runtime(request).settings.repos
    new = repogroups.NewGroup(
        group_name=typed["group_name"].strip(),
        description=typed["description"],
        owner=None,
        parent=int(typed["parent"]) if typed["parent"].isdigit() else None,
        copy_permissions=typed["copy_permissions"] == "on",
    )

    def create(db: Session) -> int:
        return repogroups.create_group(db, actor, repos_root, new).group_id

    try:
        gid = await _write(request, create)
    except HearthError as exc:
        return await _list_page(request, visitor, status=400, error=exc.text, typed=typed)
    return pages.redirect(request, visitor, f"/_admin/repo_groups/{gid}/edit?done=created")


def _details(db: Session, actor: Actor, gid: int) -> dict[str, Any]:
    group = lookup.repo_group(db, gid)
    view = repogroups.view(db, group)
    path = group.group_name
    return {
        "id": gid,
        "path": path,
        "name": path.rpartition("/")[2],
        "parent_id": group.parent_id,
        "description": group.description,
        "owner": view.owner,
        "repositories": view.repositories,
        "members": repogroups.members(db, gid),
        "holders": pickers.holders(db, actor),
        "choices": [
            c for c in _choices(db) if c["path"] != path and not c["path"].startswith(path + "/")
        ],
    }


async def _edit_page(
    request: Request,
    visitor: Visitor,
    gid: int,
    *,
    status: int = 200,
    error: str = "",
    perm_error: str = "",
    typed: dict[str, str] | None = None,
    perm_typed: dict[str, str] | None = None,
) -> Response:
    actor = admin.actor_of(visitor)
    group = await _read(request, lambda db: _details(db, actor, gid))
    explain = await explainpage.explain_widget(
        request,
        visitor,
        "repository_group",
        group["path"],
        action=f"/_admin/repo_groups/{gid}/edit",
    )
    return admin.render(
        request,
        visitor,
        "admin_repo_group_edit.html",
        "repo_groups",
        status=status,
        g=group,
        error=error,
        perm_error=perm_error,
        done=DONE.get(request.query_params.get("done", ""), ""),
        typed=typed
        or {
            "group_name": group["name"],
            "parent": str(group["parent_id"] or ""),
            "description": group["description"],
            "owner": group["owner"],
        },
        perm_typed=perm_typed
        or {"holder": "user", "name": "", "perm": "group.read", "apply_to_children": "none"},
        group_perms=GROUP_PERMS,
        apply_labels=APPLY_LABELS,
        holders=group["holders"],
        explain=explain,
    )


def _gid(request: Request) -> int:
    return int(request.path_params["gid"])


async def edit(request: Request, visitor: Visitor) -> Response:
    gid = _gid(request)
    if request.method != "POST":
        return await _edit_page(request, visitor, gid)
    data = await pages.form(request, visitor)
    typed = {k: pages.field(data, k) for k in ("group_name", "parent", "description", "owner")}
    actor = visitor.actor
    assert actor is not None
    owner = typed["owner"].strip() if "owner" in data else None  # without the field: unchanged
    if owner == "":
        return await _edit_page(
            request, visitor, gid, status=400, error="Name the owner.", typed=typed
        )
    repos_root = _runtime(request).settings.repos
    changes = repogroups.GroupChanges(
        group_name=typed["group_name"].strip(),
        description=typed["description"],
        owner=owner,
        parent=int(typed["parent"]) if typed["parent"].isdigit() else "",
    )

    def save(db: Session) -> None:
        repogroups.update_group(db, actor, repos_root, gid, changes)

    try:
        await _write(request, save)
    except HearthError as exc:
        return await _edit_page(request, visitor, gid, status=400, error=exc.text, typed=typed)
    return pages.redirect(request, visitor, f"/_admin/repo_groups/{gid}/edit?done=saved")


async def delete(request: Request, visitor: Visitor) -> Response:
    gid = _gid(request)
    if request.method != "POST":
        return pages.redirect(request, visitor, f"/_admin/repo_groups/{gid}/edit")
    await pages.form(request, visitor)
    actor = visitor.actor
    assert actor is not None
    repos_root = _runtime(request).settings.repos
    try:
        await _write(request, lambda db: repogroups.delete_group(db, actor, repos_root, gid))
    except HearthError as exc:
        return await _edit_page(request, visitor, gid, status=409, error=exc.text)
    return pages.redirect(request, visitor, "/_admin/repo_groups?done=deleted")


async def permissions(request: Request, visitor: Visitor) -> Response:
    gid = _gid(request)
    if request.method != "POST":
        return pages.redirect(request, visitor, f"/_admin/repo_groups/{gid}/edit")
    data = await pages.form(request, visitor)
    typed = {k: pages.field(data, k) for k in ("holder", "name", "perm", "apply_to_children")}
    actor = visitor.actor
    assert actor is not None
    holder, name, perm = typed["holder"], typed["name"].strip(), typed["perm"]
    apply = typed["apply_to_children"] or "none"

    def change(db: Session) -> str:
        user_group = holder == "user_group"
        if perm == "revoke":
            revoke = groupperms.revoke_user_group if user_group else groupperms.revoke_user
            revoke(db, actor, gid, name, apply)
            return "revoked"
        grant = groupperms.grant_user_group if user_group else groupperms.grant_user
        grant(db, actor, gid, name, perm, apply)
        return "granted"

    if not name:
        return await _edit_page(
            request,
            visitor,
            gid,
            status=400,
            perm_error="Name a user or a user group.",
            perm_typed=typed,
        )
    try:
        done = await _write(request, change)
    except HearthError as exc:
        return await _edit_page(
            request, visitor, gid, status=400, perm_error=exc.text, perm_typed=typed
        )
    return pages.redirect(request, visitor, f"/_admin/repo_groups/{gid}/edit?done={done}#perms")


def routes() -> list[Route]:
    both = ["GET", "HEAD", "POST"]
    return [
        Route("/_admin/repo_groups", admin.admin_page(repo_groups), methods=both),
        Route("/_admin/repo_groups/{gid:int}/edit", admin.admin_page(edit), methods=both),
        Route("/_admin/repo_groups/{gid:int}/delete", admin.admin_page(delete), methods=both),
        Route(
            "/_admin/repo_groups/{gid:int}/permissions", admin.admin_page(permissions), methods=both
        ),
    ]

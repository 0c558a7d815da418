# SPDX-License-Identifier: GPL-3.0-or-later
"""The permission editor of a user group (``/_admin/user_groups/{id}/permissions``): which users
and user groups may read, change (write) or administer it, and the ``default`` user's row.

For the group's admins (``services/usergroups.py`` decides; anyone else gets the missing page).
``?explain=<user>`` shows the permission explainer about that user on the group
(``web/explainpage.py``).
Each change is the service call of ``grant_user_permission_to_user_group`` and its siblings, in
one transaction; a refusal is shown on the form with what was typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.errors import HearthError
from hearth.services import pickers, usergroups
from hearth.web import admin, explainpage, pages
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from hearth.runtime import Runtime

PERMS = ("usergroup.none", "usergroup.read", "usergroup.write", "usergroup.admin")
DONE = {"granted": "Permission saved.", "revoked": "Permission removed."}


async def _page(
    request: Request,
    visitor: Visitor,
    gid: int,
    *,
    status: int = 200,
    perm_error: str = "",
    perm_typed: dict[str, str] | None = None,
) -> Response:
    actor = visitor.actor
    assert actor is not None

    def load(db: Session) -> dict[str, Any]:
        group, rows = usergroups.permission_rows(db, actor, gid)
        holders = pickers.holders(db, actor)
        return {"id": gid, "name": group.group_name, "members": rows, "holders": holders}

    g = await admin.read(request, load)
    explain = await explainpage.explain_widget(
        request, visitor, "user_group", g["name"], action=f"/_admin/user_groups/{gid}/permissions"
    )
    return pages.render(
        request,
        visitor,
        "user_group_perms.html",
        status=status,
        g=g,
        perm_error=perm_error,
        perm_typed=perm_typed or {"holder": "user", "name": "", "perm": "usergroup.read"},
        perms=PERMS,
        apply_labels=None,
        holders=g["holders"],
        explain=explain,
        done=DONE.get(request.query_params.get("done", ""), ""),
    )


async def permissions(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    if not visitor.signed_in or visitor.actor is None:
        return pages.to_login(request, visitor)
    gid = int(request.path_params["gid"])
    if request.method != "POST":
        return await _page(request, visitor, gid)
    data = await pages.form(request, visitor)
    typed = {k: pages.field(data, k) for k in ("holder", "name", "perm")}
    actor = visitor.actor
    name, perm = typed["name"].strip(), typed["perm"]
    if not name:
        return await _page(
            request,
            visitor,
            gid,
            status=400,
            perm_error="Name a user or a user group.",
            perm_typed=typed,
        )

    def change() -> str:
        with runtime.database.transaction(write=True) as db:
            if typed["holder"] == "user_group":
                if perm == "revoke":
                    usergroups.revoke_group(db, actor, gid, name)
                    return "revoked"
                usergroups.grant_group(db, actor, gid, name, perm)
                return "granted"
            if perm == "revoke":
                usergroups.revoke_user(db, actor, gid, name)
                return "revoked"
            usergroups.grant_user(db, actor, gid, name, perm)
            return "granted"

    try:
        done = await pages.blocking(change)
    except HearthError as exc:
        return await _page(request, visitor, gid, status=400, perm_error=exc.text, perm_typed=typed)
    return pages.redirect(
        request, visitor, f"/_admin/user_groups/{gid}/permissions?done={done}#perms"
    )


def routes() -> list[Route]:
    return [
        Route(
            "/_admin/user_groups/{gid:int}/permissions",
            pages.page(permissions),
            methods=["GET", "HEAD", "POST"],
        )
    ]

# SPDX-License-Identifier: GPL-3.0-or-later
"""The global permissions page (``/_admin/permissions``, admins only): anonymous access, who may
create repositories, user groups and forks, registration, and the rows new repositories, groups
and user groups give the ``default`` user. The work is ``services/globalperms.py``; a wrong
choice changes nothing and is shown on the form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.errors import HearthError
from hearth.services import globalperms
from hearth.web import admin, pages
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from hearth.runtime import Runtime

LABELS = {
    "repository": "New repositories give everyone (the default user)",
    "group": "New repository groups give everyone",
    "usergroup": "New user groups give everyone",
    "hg.create": "Creating repositories",
    "hg.usergroup.create": "Creating user groups",
    "hg.fork": "Forking repositories",
    "hg.register": "Registration",
    "hg.extern_activate": "Accounts from external authentication",
}


async def permissions_page(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = admin.actor_of(visitor)
    error = ""
    status = 200
    if request.method == "POST":
        data = await pages.form(request, visitor)
        anonymous = pages.field(data, "anonymous") == "on"
        chosen = {kind: pages.field(data, kind) for kind in globalperms.EDITABLE}

        def save(db: Session) -> globalperms.Defaults:
            return globalperms.set_defaults(db, actor, anonymous, chosen)

        try:
            await admin.write(request, save)
        except HearthError as exc:
            error, status = exc.text, 400
        else:
            return pages.redirect(request, visitor, "/_admin/permissions?done=saved")

    shown = await admin.read(
        request, lambda db: globalperms.defaults(db, runtime.default_user_id())
    )
    if error:  # keep what was typed
        shown = globalperms.Defaults(anonymous, dict(chosen), shown.choices)
    return admin.render(
        request,
        visitor,
        "admin_permissions.html",
        "permissions",
        status=status,
        d=shown,
        labels=LABELS,
        error=error,
        done="Global permissions saved." if request.query_params.get("done") else "",
    )


def routes() -> list[Route]:
    return [
        Route(
            "/_admin/permissions",
            admin.admin_page(permissions_page),
            methods=["GET", "HEAD", "POST"],
        )
    ]

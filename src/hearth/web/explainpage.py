# SPDX-License-Identifier: GPL-3.0-or-later
"""The permission explainer in the browser (issue 14 item 6): ``GET /_admin/permissions/explain``
(``user``, ``type`` = repository | repository_group | user_group, ``name``) for administrators, and
the widget other permission pages embed.

A permission page embeds it in two steps: ``await explain_widget(request, visitor, type, name)``
gives the context (the answer for ``?explain=<user>`` when given, the user names for the
picker), and ``{% from "_explain.html" import explain_widget %}{{ explain_widget(explain) }}``
shows the picker and the chain of rules. The repository settings, the repository-group edit
page and the user-group permission editor embed it. On a page a non-administrator sees (a
repository administrator's), the service lets them ask only about themselves, and the picker
offers only their name. Both ask ``services/explainer.py``, which the API method
``explain_permission`` and ``hearth perms explain`` also call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.errors import HearthError
from hearth.services import explainer, useradmin
from hearth.web import admin
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.runtime import Runtime

#: the object types of the page's select, with their words
TYPES = (
    ("repository", "Repository"),
    ("repository_group", "Repository group"),
    ("user_group", "User group"),
)
_ARG = {"repository": "repoid", "repository_group": "repogroupid", "user_group": "usergroupid"}


@dataclass(frozen=True)
class Widget:
    """What ``_explain.html`` shows: the question, the answer or why there is none, the picker."""

    user: str
    object_type: str
    name: str
    answer: explainer.Answer | None
    error: str
    usernames: list[str]
    action: str  # where the picker's GET goes
    fixed_object: bool  # the object is the page's own (only the user is picked)
    param: str = "user"  # the query parameter naming the user


def _ask(db: Session, visitor: Visitor, user: str, object_type: str, name: str) -> explainer.Answer:
    actor = visitor.actor
    assert actor is not None
    refs: dict[str, str | None] = {"repoid": None, "repogroupid": None, "usergroupid": None}
    refs[_ARG.get(object_type, "repoid")] = name
    return explainer.explain_permission(db, actor, user, **refs)


async def explain_widget(
    request: Request,
    visitor: Visitor,
    object_type: str,
    name: str,
    *,
    param: str = "explain",
    action: str | None = None,
) -> Widget:
    """The widget for a page about one object (``object_type`` as in ``TYPES``); the user is
    the query's ``param``, and the picker asks ``action`` (default: this page's path; a page
    that is also rendered by the POST of another path names its own)."""
    user = request.query_params.get(param, "").strip()
    path = action or request.url.path
    widget = await _widget(request, visitor, user, object_type, name, path, True)
    return replace(widget, param=param)


async def _widget(
    request: Request,
    visitor: Visitor,
    user: str,
    object_type: str,
    name: str,
    action: str,
    fixed: bool,
) -> Widget:
    runtime: Runtime = request.app.state.runtime
    actor = visitor.actor
    assert actor is not None

    def load(db: Session) -> Widget:
        names = [actor.username]
        if actor.admin:
            everyone = useradmin.page_of_users(db, actor, runtime.database.codepoint, "", 1, 1000)
            names = ["default", *(u.username for u in everyone.users)]
        answer, error = None, ""
        if user and name:
            try:
                answer = _ask(db, visitor, user, object_type, name)
            except HearthError as exc:
                error = exc.text
        return Widget(user, object_type, name, answer, error, names, action, fixed)

    return await admin.read(request, load)


async def explain_page(request: Request, visitor: Visitor) -> Response:
    params = request.query_params
    object_type = params.get("type", "repository")
    if object_type not in _ARG:
        object_type = "repository"
    widget = await _widget(
        request,
        visitor,
        params.get("user", "").strip(),
        object_type,
        params.get("name", "").strip(),
        "/_admin/permissions/explain",
        False,
    )
    status = 400 if widget.error else 200
    return admin.render(request, visitor, "admin_explain.html", "permissions", status=status,
                        explain=widget, types=TYPES)  # fmt: skip


def routes() -> list[Route]:
    return [
        Route(
            "/_admin/permissions/explain",
            admin.admin_page(explain_page),
            methods=["GET", "HEAD"],
        )
    ]

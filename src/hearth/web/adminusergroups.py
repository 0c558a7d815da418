# SPDX-License-Identifier: GPL-3.0-or-later
"""User groups in the administration (``/_admin/user_groups``, Kallithea's URLs), for
administrators only.

=================================================  ============================================
``GET  /_admin/user_groups?q=&page=``              the list, filtered by name, paged
``GET|POST /_admin/user_groups/new``               create (name, description, active)
``GET|POST /_admin/user_groups/{id}/edit``         the group's page; POST saves name,
                                                   description, owner, active
``POST /_admin/user_groups/{id}/members``          add ``username`` (a picker of users)
``POST /_admin/user_groups/{id}/members/delete``   remove ``username``
``POST /_admin/user_groups/{id}/delete``           delete (refused while it has repositories)
=================================================  ============================================

Each change is the service call of the API method of the same name (``services/usergroups.py``:
``create``, ``update``, ``add_member``, ``remove_member``, ``delete_group``) in one transaction; a
refused form comes back with the message and what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.errors import Conflict, HearthError, Invalid
from hearth.services import useradmin, usergroups
from hearth.web import admin, pages
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.runtime import Runtime

PER_PAGE = 25
DONE = {
    "created": "The user group was created.",
    "saved": "The user group was saved.",
    "added": "The member was added.",
    "removed": "The member was removed.",
    "deleted": "The user group was deleted.",
}


@dataclass(frozen=True)
class GroupForm:
    name: str
    description: str
    owner: str
    active: bool


def _typed(data: FormData) -> GroupForm:
    return GroupForm(
        pages.field(data, "group_name").strip(),
        pages.field(data, "description"),
        pages.field(data, "owner").strip(),
        pages.field(data, "active") == "on",
    )


def _done(request: Request) -> str:
    return DONE.get(request.query_params.get("done", ""), "") if request.method == "GET" else ""


def _check_name(db: Session, name: str, exclude: int | None) -> None:
    usergroups.validate_name(name)
    if usergroups.name_taken(db, name, exclude):
        raise Conflict("user_group_exists", x=name)


async def group_list(request: Request, visitor: Visitor) -> Response:
    actor = admin.actor_of(visitor)
    query = request.query_params.get("q", "")[:200].strip()
    number = admin.page_number(request)

    def load(db: Session) -> tuple[list[usergroups.UserGroupDetails], bool, int]:
        found = usergroups.list_visible(db, actor)
        if query:
            found = [g for g in found if query.lower() in g.group_name.lower()]
        found.sort(key=lambda g: g.group_name.lower())
        start = (number - 1) * PER_PAGE
        shown = found[start : start + PER_PAGE]
        return usergroups.details(db, shown), len(found) > start + PER_PAGE, len(found)

    groups, has_next, total = await admin.read(request, load)
    return admin.render(request, visitor, "admin_user_groups.html", "user_groups", groups=groups,
                        has_next=has_next, total=total, page=number, q=query,
                        done=_done(request))  # fmt: skip


async def group_new(request: Request, visitor: Visitor) -> Response:
    actor = admin.actor_of(visitor)
    if request.method != "POST":
        return admin.render(request, visitor, "admin_user_group_new.html", "user_groups",
                            values=GroupForm("", "", "", True), error="")  # fmt: skip
    typed = _typed(await pages.form(request, visitor))

    def work(db: Session) -> int:
        _check_name(db, typed.name, None)
        return usergroups.create(
            db, actor, name=typed.name, description=typed.description, owner=None,
            active=typed.active,
        ).users_group_id  # fmt: skip

    try:
        made = await admin.write(request, work)
    except HearthError as exc:
        return admin.render(request, visitor, "admin_user_group_new.html", "user_groups",
                            status=400, values=typed, error=exc.text)  # fmt: skip
    return pages.redirect(request, visitor, f"/_admin/user_groups/{made}/edit?done=created")


def _group_id(request: Request) -> int:
    return int(request.path_params["group_id"])


async def _group_page(
    request: Request,
    visitor: Visitor,
    *,
    status: int = 200,
    values: GroupForm | None = None,
    error: str = "",
    picked: str = "",
) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = admin.actor_of(visitor)
    group_id = _group_id(request)

    def load(db: Session) -> dict[str, Any]:
        group = usergroups.get(db, actor, group_id)
        shown = usergroups.details(db, [group])[0]
        everyone = useradmin.page_of_users(db, actor, runtime.database.codepoint, "", 1, 1000)
        members = {m.user.user_id for m in shown.members}
        return {
            "details": shown,
            "candidates": [u.username for u in everyone.users if u.user_id not in members],
        }

    loaded = await admin.read(request, load)
    group = loaded["details"].group
    saved = GroupForm(group.group_name, group.description or "", loaded["details"].owner,
                      bool(group.active))  # fmt: skip
    return admin.render(request, visitor, "admin_user_group_edit.html", "user_groups",
                        status=status, values=values or saved, error=error, picked=picked,
                        done=_done(request), **loaded)  # fmt: skip


async def group_edit(request: Request, visitor: Visitor) -> Response:
    actor = admin.actor_of(visitor)
    group_id = _group_id(request)
    if request.method != "POST":
        return await _group_page(request, visitor)
    typed = _typed(await pages.form(request, visitor))

    def work(db: Session) -> None:
        _check_name(db, typed.name, group_id)
        usergroups.update(db, actor, group_id, name=typed.name, description=typed.description,
                          owner=typed.owner or None, active=typed.active)  # fmt: skip

    try:
        await admin.write(request, work)
    except HearthError as exc:
        return await _group_page(request, visitor, status=400, values=typed, error=exc.text)
    return pages.redirect(request, visitor, f"/_admin/user_groups/{group_id}/edit?done=saved")


async def _member(request: Request, visitor: Visitor, add: bool) -> Response:
    actor = admin.actor_of(visitor)
    group_id = _group_id(request)
    if request.method != "POST":
        return pages.redirect(request, visitor, f"/_admin/user_groups/{group_id}/edit")
    username = pages.field(await pages.form(request, visitor), "username").strip()

    def work(db: Session) -> None:
        if not username:
            raise Invalid("admin_required", x="User")
        change = usergroups.add_member if add else usergroups.remove_member
        change(db, actor, group_id, username)

    try:
        await admin.write(request, work)
    except HearthError as exc:
        return await _group_page(request, visitor, status=400, error=exc.text, picked=username)
    done = "added" if add else "removed"
    return pages.redirect(request, visitor, f"/_admin/user_groups/{group_id}/edit?done={done}")


async def members_add(request: Request, visitor: Visitor) -> Response:
    return await _member(request, visitor, True)


async def members_delete(request: Request, visitor: Visitor) -> Response:
    return await _member(request, visitor, False)


async def group_delete(request: Request, visitor: Visitor) -> Response:
    actor = admin.actor_of(visitor)
    group_id = _group_id(request)
    if request.method != "POST":
        return pages.redirect(request, visitor, f"/_admin/user_groups/{group_id}/edit#delete")
    await pages.form(request, visitor)
    try:
        await admin.write(request, lambda db: usergroups.delete_group(db, actor, group_id))
    except HearthError as exc:
        return await _group_page(request, visitor, status=400, error=exc.text)
    return pages.redirect(request, visitor, "/_admin/user_groups?done=deleted")


def routes() -> list[Route]:
    both = ["GET", "HEAD", "POST"]
    one = "/_admin/user_groups/{group_id:int}"
    return [
        Route("/_admin/user_groups", admin.admin_page(group_list), methods=["GET", "HEAD"]),
        Route("/_admin/user_groups/new", admin.admin_page(group_new), methods=both),
        Route(f"{one}/edit", admin.admin_page(group_edit), methods=both),
        Route(f"{one}/members", admin.admin_page(members_add), methods=both),
        Route(f"{one}/members/delete", admin.admin_page(members_delete), methods=both),
        Route(f"{one}/delete", admin.admin_page(group_delete), methods=both),
    ]

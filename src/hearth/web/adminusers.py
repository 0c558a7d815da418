# SPDX-License-Identifier: GPL-3.0-or-later
"""Users in the administration (``/_admin/users``, Kallithea's URLs), for administrators only.

==============================================  ===============================================
``GET  /_admin/users?q=&page=``                 the list, filtered by name or e-mail, paged
``GET|POST /_admin/users/new``                  create
``GET|POST /_admin/users/{id}/edit``            the user's page; POST saves the profile
``POST /_admin/users/{id}/password``            ``password``, ``password_confirmation``
``POST /_admin/users/{id}/emails[/delete]``     add ``new_email`` / remove ``del_email_id``
``POST /_admin/users/{id}/api_keys[/delete]``   a key for them (shown once) / revoke one
``POST /_admin/users/{id}/ips[/delete]``        add / remove an IP rule ``ip``
``GET|POST /_admin/users/{id}/delete``          what they own, and what should become of it
==============================================  ===============================================

Each change calls the service the matching API method calls (``services/users.py`` through
``services/useradmin.py``, ``services/profile.py`` for e-mails and keys, ``services/ipaccess.py``)
in one transaction: a refused form is shown again with the message and what was typed, and
nothing of it was stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.errors import HearthError, Invalid
from hearth.services import ipaccess, keys, lookup, permissions, profile, useradmin, users
from hearth.web import admin, pages
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.runtime import Runtime

DONE = {
    "created": "The user was created.",
    "saved": "The user was saved.",
    "password": "The password was set.",
    "email_added": "The e-mail address was added.",
    "email_removed": "The e-mail address was removed.",
    "key_revoked": "The API key was revoked.",
    "ip_added": "The IP rule was added; the user may now sign in only from the addresses allowed.",
    "ip_removed": "The IP rule was removed.",
    "deleted": "The user was deleted.",
}


def _form(data: FormData) -> useradmin.UserForm:
    return useradmin.UserForm(
        username=pages.field(data, "username"),
        email=pages.field(data, "email"),
        firstname=pages.field(data, "firstname"),
        lastname=pages.field(data, "lastname"),
        active=pages.field(data, "active") == "on",
        admin=pages.field(data, "admin") == "on",
        extern_type=pages.field(data, "extern_type", "internal"),
        extern_name=pages.field(data, "extern_name"),
        description=pages.field(data, "description"),
    )


def _values(user: Any) -> useradmin.UserForm:
    return useradmin.UserForm(
        user.username, user.email, user.firstname or "", user.lastname or "", bool(user.active),
        bool(user.admin), user.extern_type or "internal", user.extern_name or "",
        user.description or "",
    )  # fmt: skip


def _done(request: Request) -> str:
    return DONE.get(request.query_params.get("done", ""), "") if request.method == "GET" else ""


# --- the list -------------------------------------------------------------------------------------


async def user_list(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = admin.actor_of(visitor)
    query = request.query_params.get("q", "")[:200]
    number = admin.page_number(request)
    found = await admin.read(
        request,
        lambda db: useradmin.page_of_users(db, actor, runtime.database.codepoint, query, number),
    )
    return admin.render(request, visitor, "admin_users.html", "users", found=found, q=query,
                        done=_done(request))  # fmt: skip


# --- create ---------------------------------------------------------------------------------------


async def user_new(request: Request, visitor: Visitor) -> Response:
    actor = admin.actor_of(visitor)
    blank = useradmin.UserForm("", "", "", "", True, False, "internal", "", "")
    if request.method != "POST":
        return admin.render(request, visitor, "admin_user_new.html", "users", values=blank,
                            error="")  # fmt: skip
    data = await pages.form(request, visitor)
    typed = _form(data)
    password = pages.field(data, "password")
    repeat = pages.field(data, "password_confirmation")
    try:
        made = await admin.write(
            request, lambda db: useradmin.create(db, actor, typed, password, repeat).user_id
        )
    except HearthError as exc:
        return admin.render(request, visitor, "admin_user_new.html", "users", status=400,
                            values=typed, error=exc.text)  # fmt: skip
    return pages.redirect(request, visitor, f"/_admin/users/{made}/edit?done=created")


# --- one user -------------------------------------------------------------------------------------


async def _user_page(
    request: Request,
    visitor: Visitor,
    user_id: int,
    *,
    status: int = 200,
    values: useradmin.UserForm | None = None,
    error: str = "",
    new_key: str = "",
) -> Response:
    runtime: Runtime = request.app.state.runtime

    def load(db: Session) -> dict[str, Any]:
        user = lookup.user(db, user_id)
        if user.username == permissions.DEFAULT_USERNAME:
            raise Invalid("admin_default_user")
        subject = permissions.actor_for(db, user, runtime.default_user_id())
        return {
            "user": user,
            "account": profile.account(db, subject),
            "rules": users.ip_rules(db, user.user_id),
            "owned": useradmin.owned(db, user),
            "saved": _values(user),
        }

    loaded = await admin.read(request, load)
    return admin.render(
        request,
        visitor,
        "admin_user_edit.html",
        "users",
        status=status,
        values=values or loaded["saved"],
        error=error,
        done=_done(request),
        new_key=new_key,
        roles=keys.ROLES,
        **loaded,
    )


def _user_id(request: Request) -> int:
    return int(request.path_params["user_id"])


async def user_edit(request: Request, visitor: Visitor) -> Response:
    actor = admin.actor_of(visitor)
    user_id = _user_id(request)
    if request.method != "POST":
        return await _user_page(request, visitor, user_id)
    data = await pages.form(request, visitor)
    typed = _form(data)
    try:
        await admin.write(
            request, lambda db: useradmin.edit(db, actor, lookup.user(db, user_id), typed)
        )
    except HearthError as exc:
        return await _user_page(request, visitor, user_id, status=400, values=typed,
                                error=exc.text)  # fmt: skip
    return pages.redirect(request, visitor, f"/_admin/users/{user_id}/edit?done=saved")


async def _change(
    request: Request, visitor: Visitor, done: str, work: Callable[[Session, Any], object]
) -> Response:
    """``work(db, user)`` for the user of the path in one transaction, from a checked form;
    the user's page again with the message when it is refused."""
    user_id = _user_id(request)
    if request.method != "POST":
        return pages.redirect(request, visitor, f"/_admin/users/{user_id}/edit")
    try:
        await admin.write(request, lambda db: work(db, lookup.user(db, user_id)))
    except HearthError as exc:
        return await _user_page(request, visitor, user_id, status=400, error=exc.text)
    return pages.redirect(request, visitor, f"/_admin/users/{user_id}/edit?done={done}")


def _subject(request: Request, db: Session, user: Any) -> permissions.Actor:
    runtime: Runtime = request.app.state.runtime
    return permissions.actor_for(db, user, runtime.default_user_id())


async def user_password(request: Request, visitor: Visitor) -> Response:
    actor = admin.actor_of(visitor)
    data = await pages.form(request, visitor) if request.method == "POST" else FormData()
    password = pages.field(data, "password")
    repeat = pages.field(data, "password_confirmation")
    return await _change(
        request, visitor, "password",
        lambda db, user: useradmin.set_password(db, actor, user, password, repeat),
    )  # fmt: skip


async def user_emails(request: Request, visitor: Visitor) -> Response:
    data = await pages.form(request, visitor) if request.method == "POST" else FormData()
    email = pages.field(data, "new_email")
    return await _change(
        request, visitor, "email_added",
        lambda db, user: profile.add_email(db, _subject(request, db, user), email),
    )  # fmt: skip


async def user_emails_delete(request: Request, visitor: Visitor) -> Response:
    data = await pages.form(request, visitor) if request.method == "POST" else FormData()
    email_id = admin.int_field(pages.field(data, "del_email_id"))
    return await _change(
        request, visitor, "email_removed",
        lambda db, user: profile.remove_email(db, _subject(request, db, user), email_id),
    )  # fmt: skip


async def user_keys(request: Request, visitor: Visitor) -> Response:
    user_id = _user_id(request)
    if request.method != "POST":
        return pages.redirect(request, visitor, f"/_admin/users/{user_id}/edit#api-keys")
    data = await pages.form(request, visitor)

    def work(db: Session) -> str:
        subject = _subject(request, db, lookup.user(db, user_id))
        return profile.create_key(
            db,
            subject,
            pages.field(data, "description"),
            pages.field(data, "role", "all"),
            pages.field(data, "expires"),
        )

    try:
        key = await admin.write(request, work)
    except HearthError as exc:
        return await _user_page(request, visitor, user_id, status=400, error=exc.text)
    return await _user_page(request, visitor, user_id, new_key=key)


async def user_keys_delete(request: Request, visitor: Visitor) -> Response:
    data = await pages.form(request, visitor) if request.method == "POST" else FormData()
    key_id = admin.int_field(pages.field(data, "del_api_key_id"))
    return await _change(
        request, visitor, "key_revoked",
        lambda db, user: profile.revoke_key(db, _subject(request, db, user), key_id),
    )  # fmt: skip


def _rule(text: str) -> str:
    try:
        return ipaccess.normalise_rule(text)
    except ValueError:
        raise Invalid("invalid_value", arg="IP rule", kind="an address or a network such as "
                      "192.0.2.0/24", json=text or '""') from None  # fmt: skip


async def user_ips(request: Request, visitor: Visitor) -> Response:
    data = await pages.form(request, visitor) if request.method == "POST" else FormData()
    text = pages.field(data, "ip").strip()

    def work(db: Session, user: Any) -> None:
        ipaccess.add_rule(db, user.user_id, _rule(text))

    return await _change(request, visitor, "ip_added", work)


async def user_ips_delete(request: Request, visitor: Visitor) -> Response:
    data = await pages.form(request, visitor) if request.method == "POST" else FormData()
    text = pages.field(data, "ip").strip()

    def work(db: Session, user: Any) -> None:
        ipaccess.remove_rule(db, user.user_id, _rule(text))

    return await _change(request, visitor, "ip_removed", work)


async def user_delete(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = admin.actor_of(visitor)
    user_id = _user_id(request)

    def load(db: Session) -> tuple[Any, useradmin.Owned]:
        user = lookup.user(db, user_id)
        return user, useradmin.owned(db, user)

    error = ""
    choice = "reassign"
    if request.method == "POST":
        data = await pages.form(request, visitor)
        choice = pages.field(data, "repositories", "reassign")

        def work(db: Session) -> None:
            useradmin.delete_user(db, actor, runtime.settings, lookup.user(db, user_id), choice)

        try:
            await admin.write(request, work)
        except HearthError as exc:
            error = exc.text
        else:
            return pages.redirect(request, visitor, "/_admin/users?done=deleted")
    user, owned = await admin.read(request, load)
    return admin.render(request, visitor, "admin_user_delete.html", "users",
                        status=400 if error else 200, user=user, owned=owned, error=error,
                        choice=choice)  # fmt: skip


def routes() -> list[Route]:
    both = ["GET", "HEAD", "POST"]
    one = "/_admin/users/{user_id:int}"
    return [
        Route("/_admin/users", admin.admin_page(user_list), methods=["GET", "HEAD"]),
        Route("/_admin/users/new", admin.admin_page(user_new), methods=both),
        Route(f"{one}/edit", admin.admin_page(user_edit), methods=both),
        Route(f"{one}/password", admin.admin_page(user_password), methods=both),
        Route(f"{one}/emails", admin.admin_page(user_emails), methods=both),
        Route(f"{one}/emails/delete", admin.admin_page(user_emails_delete), methods=both),
        Route(f"{one}/api_keys", admin.admin_page(user_keys), methods=both),
        Route(f"{one}/api_keys/delete", admin.admin_page(user_keys_delete), methods=both),
        Route(f"{one}/ips", admin.admin_page(user_ips), methods=both),
        Route(f"{one}/ips/delete", admin.admin_page(user_ips_delete), methods=both),
        Route(f"{one}/delete", admin.admin_page(user_delete), methods=both),
    ]

# SPDX-License-Identifier: GPL-3.0-or-later
"""What every administration page shares: the refusal of anyone who is not an administrator (the
same answer as a page that does not exist, so the admin pages do not even reveal that they exist),
the side navigation of ``templates/admin_base.html``, and a write transaction that turns a
service's typed failure into a message on the form.

An admin page handler is ``async def h(request, visitor) -> Response`` wrapped by :func:`admin_page`
(which also wraps :func:`hearth.web.pages.page`); inside, ``visitor.actor`` is an administrator.
Render with :func:`render` so the navigation and the current section are filled in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from hearth.web import pages
from hearth.web.pages import Visitor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.runtime import Runtime
    from hearth.services.permissions import Actor

T = TypeVar("T")

#: (section key, label, link) of the side navigation, in its order
NAV: tuple[tuple[str, str, str], ...] = (
    ("users", "Users", "/_admin/users"),
    ("user_groups", "User groups", "/_admin/user_groups"),
    ("repo_groups", "Repository groups", "/_admin/repo_groups"),
    ("repos", "Repositories", "/_admin/repos"),
    ("permissions", "Permissions", "/_admin/permissions"),
    ("journal", "Journal", "/_admin/journal"),
    ("settings", "Settings", "/_admin/settings"),
    ("server", "Server", "/_admin/server"),
)

NOT_FOUND = "Not found"


def refused(request: Request, visitor: Visitor) -> Response:
    """What a non-administrator gets from any admin page: exactly what a missing page answers
    (``pages.hidden`` with the generic "Not found": sign in first, else the 404 page)."""
    return pages.hidden(request, visitor, NOT_FOUND)


def is_admin(visitor: Visitor) -> bool:
    return visitor.admin


def admin_page(
    handler: Callable[[Request, Visitor], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint for an admin-only page: non-admins get :func:`refused` before the
    handler runs (and before any form is read)."""

    async def guarded(request: Request, visitor: Visitor) -> Response:
        if not is_admin(visitor):
            return refused(request, visitor)
        return await handler(request, visitor)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return pages.page(guarded)


def render(
    request: Request,
    visitor: Visitor,
    template: str,
    section: str,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    """``template`` (extending ``admin_base.html``) with the navigation; admin pages are never
    cached (they may show a new key or password hints)."""
    return pages.render(
        request,
        visitor,
        template,
        status=status,
        headers={"cache-control": "no-store"},
        admin_nav=NAV,
        admin_section=section,
        **context,
    )


def actor_of(visitor: Visitor) -> Actor:
    actor = visitor.actor
    assert actor is not None and actor.admin
    return actor


async def write(request: Request, work: Callable[[Session], T]) -> T:
    """``work(db)`` in one write transaction in a worker thread: when it raises, nothing of it
    stays (the transaction rolls back)."""
    runtime: Runtime = request.app.state.runtime

    def run() -> T:
        with runtime.database.transaction(write=True) as db:
            return work(db)

    return await pages.blocking(run)


async def read(request: Request, work: Callable[[Session], T]) -> T:
    """``work(db)`` in a read session in a worker thread."""
    runtime: Runtime = request.app.state.runtime

    def run() -> T:
        with runtime.database.sessions() as db:
            return work(db)

    return await pages.blocking(run)


def int_field(value: str, default: int = -1) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def page_number(request: Request) -> int:
    return max(1, int_field(request.query_params.get("page", "1"), 1))

# SPDX-License-Identifier: GPL-3.0-or-later
"""What the administration pages for users need beyond ``services/users.py`` (which the API's
``*_user`` methods call, and these functions call in turn): a filtered page of the user list, what
a user owns, and deleting a user after deciding what happens to it — the question Kallithea and
RhodeCode ask before deleting (``users.delete_user`` itself refuses while anything is owned).

Every function expects an administrator (the pages check; ``require_admin`` says so again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from hearth.config import Settings
from hearth.db.models import Gist, PullRequest, RepoGroup, Repository, User, UserGroup
from hearth.errors import Forbidden, Invalid
from hearth.services import repos, users
from hearth.services.permissions import DEFAULT_USERNAME, Actor
from hearth.services.profile import PASSWORD_MIN

PER_PAGE = 25
#: what may happen to a deleted user's repositories
REPO_CHOICES = ("reassign", "delete")


def require_admin(actor: Actor) -> None:
    if not actor.admin:
        raise Forbidden("access_denied")


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    page: int
    has_next: bool
    total: int


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def page_of_users(
    db: Session, actor: Actor, codepoint: object, query: str, page: int, per_page: int = PER_PAGE
) -> UserPage:
    """Users but ``default`` whose username, name or e-mail contains ``query`` (any case), by
    username, ``per_page`` a page."""
    require_admin(actor)
    where = [User.username != DEFAULT_USERNAME]
    text = query.strip().lower()
    if text:
        pattern = _like(text)
        where.append(
            or_(
                User.username_lower.like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.firstname + " " + User.lastname).like(pattern, escape="\\"),
            )
        )
    total = db.scalar(select(func.count()).select_from(User).where(*where)) or 0
    order = codepoint(User.username)  # type: ignore[operator]
    rows = list(
        db.scalars(
            select(User)
            .where(*where)
            .order_by(order)
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
    )
    return UserPage(rows[:per_page], page, len(rows) > per_page, int(total))


@dataclass(frozen=True)
class Owned:
    """What a user owns: the reason ``users.delete_user`` refuses."""

    repositories: list[str]
    repo_groups: list[str]
    user_groups: list[str]
    gists: int
    pull_requests: int

    @property
    def anything(self) -> bool:
        return bool(
            self.repositories
            or self.repo_groups
            or self.user_groups
            or self.gists
            or self.pull_requests
        )


def owned(db: Session, user: User) -> Owned:
    uid = user.user_id
    return Owned(
        list(db.scalars(select(Repository.repo_name).where(Repository.owner_id == uid)
                        .order_by(Repository.repo_name))),
        list(db.scalars(select(RepoGroup.group_name).where(RepoGroup.owner_id == uid)
                        .order_by(RepoGroup.group_name))),
        list(db.scalars(select(UserGroup.group_name).where(UserGroup.owner_id == uid)
                        .order_by(UserGroup.group_name))),
        int(db.scalar(select(func.count()).where(Gist.owner_id == uid)) or 0),
        int(db.scalar(select(func.count()).where(PullRequest.owner_id == uid)) or 0),
    )  # fmt: skip


def delete_user(
    db: Session, actor: Actor, settings: Settings, user: User, repositories: str
) -> Owned:
    """Delete ``user``: their repositories are given to ``actor`` (``reassign``) or deleted with
    their forks detached (``delete``); their repository groups, user groups, gists and pull
    requests are given to ``actor``. Then ``users.delete_user``. All in the caller's transaction:
    when any step fails, nothing changed (deleted repository directories come back)."""
    require_admin(actor)
    if repositories not in REPO_CHOICES:
        raise Invalid("invalid_value", arg="repositories", kind="reassign or delete",
                      json=repositories)  # fmt: skip
    if user.user_id == actor.user_id:
        raise Invalid("admin_self_delete")
    if user.username == DEFAULT_USERNAME:
        raise Invalid("admin_default_user")
    had = owned(db, user)
    uid, to = user.user_id, actor.user_id
    if repositories == "delete":
        for name in had.repositories:
            repos.delete(db, actor, settings, name, "detach")
    else:
        db.execute(update(Repository).where(Repository.owner_id == uid).values(owner_id=to))
    for model in (RepoGroup, UserGroup, Gist, PullRequest):
        db.execute(update(model).where(model.owner_id == uid).values(owner_id=to))  # type: ignore[attr-defined]
    db.flush()
    db.expire(user)
    users.delete_user(db, user)
    return had


_EMAIL_SHAPE = r"[^@\s]+@[^@\s]+\.[^@\s]+"


@dataclass(frozen=True)
class UserForm:
    """The fields of the create and edit forms, as typed."""

    username: str
    email: str
    firstname: str
    lastname: str
    active: bool
    admin: bool
    extern_type: str
    extern_name: str
    description: str


def _check(db: Session, form: UserForm, exclude: int | None) -> None:
    """The form's problems as the clearest message, before anything is written."""
    if not form.username.strip():
        raise Invalid("admin_required", x="Username")
    users.validate_username(form.username)
    if users.username_taken(db, form.username, exclude):
        raise Invalid("user_exists", x=form.username)
    if not re.fullmatch(_EMAIL_SHAPE, form.email.strip()):
        raise Invalid("web_email_invalid", x=form.email)
    if users.email_taken_by_other(db, form.email.strip(), exclude):
        raise Invalid("email_exists", x=form.email)
    if not form.extern_type.strip():
        raise Invalid("admin_required", x="Authentication type")


def create(db: Session, actor: Actor, form: UserForm, password: str, repeat: str) -> User:
    """``create_user`` as the API does it (``users.create_user_or_fail``), after the form's
    checks; a password is optional (a user without one signs in with an external method or
    gets one later)."""
    require_admin(actor)
    _check(db, form, None)
    if password != repeat:
        raise Invalid("admin_password_mismatch")
    return users.create_user_or_fail(
        db,
        username=form.username.strip(),
        email=form.email.strip(),
        password=password,
        firstname=form.firstname.strip(),
        lastname=form.lastname.strip(),
        active=form.active,
        admin=form.admin,
        extern_type=form.extern_type.strip(),
        extern_name=form.extern_name.strip(),
        description=form.description,
    )


def edit(db: Session, actor: Actor, user: User, form: UserForm) -> User:
    """``update_user`` with the form's values."""
    require_admin(actor)
    if user.username == DEFAULT_USERNAME:
        raise Invalid("admin_default_user")
    _check(db, form, user.user_id)
    if user.user_id == actor.user_id and not form.admin:
        raise Invalid("invalid_value", arg="admin", kind="yes for yourself", json="no")
    changes = {
        "username": form.username.strip(),
        "email": form.email.strip(),
        "firstname": form.firstname.strip(),
        "lastname": form.lastname.strip(),
        "active": form.active,
        "admin": form.admin,
        "extern_type": form.extern_type.strip(),
        "extern_name": form.extern_name.strip(),
        "description": form.description,
    }
    return users.update_user(db, user, user.username, changes)


def set_password(db: Session, actor: Actor, user: User, password: str, repeat: str) -> None:
    """An admin sets ``user``'s password (``update_user`` with ``password``)."""
    require_admin(actor)
    if len(password) < PASSWORD_MIN:
        raise Invalid("web_password_short", n=PASSWORD_MIN)
    if password != repeat:
        raise Invalid("admin_password_mismatch")
    users.update_user(db, user, user.username, {"password": password})

# SPDX-License-Identifier: GPL-3.0-or-later
"""A fresh instance (``spec/README.md``, "Fresh instance"): the ``default`` and first admin users.

``initialise`` is idempotent: it migrates, then creates what is missing and nothing else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from hearth.clock import now_utc
from hearth.config import Settings
from hearth.db.migrate import upgrade
from hearth.db.models import User, UserGlobalPerm
from hearth.db.session import Database
from hearth.services import keys, users
from hearth.services.permissions import DEFAULT_GLOBALS, DEFAULT_USERNAME, PERMISSIONS


@dataclass(frozen=True)
class InitResult:
    created: bool
    admin_username: str
    admin_password: str | None  # only when generated
    admin_key: str | None  # only when the admin was created now


def default_user_id(db: Session) -> int | None:
    """The anonymous user's id, or None on a database ``hearth init`` has not prepared."""
    if not inspect(db.connection()).has_table(User.__tablename__):
        return None
    return db.scalar(select(User.user_id).where(User.username == DEFAULT_USERNAME))


def first_admin(db: Session) -> User | None:
    return db.scalar(
        select(User)
        .where(User.admin.is_(True), User.username != DEFAULT_USERNAME)
        .order_by(User.user_id)
        .limit(1)
    )


def initialise(database: Database, settings: Settings) -> InitResult:
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.repos.mkdir(parents=True, exist_ok=True)
    upgrade(database)
    with database.session() as db:
        if default_user_id(db) is not None:
            admin = first_admin(db)
            return InitResult(False, admin.username if admin else "", None, None)
        default = User(
            username=DEFAULT_USERNAME,
            username_lower=DEFAULT_USERNAME,
            password="",
            email="anonymous@hearth.local",
            firstname="Anonymous",
            lastname="User",
            active=True,
            admin=False,
            created_on=now_utc(),
        )
        db.add(default)
        db.flush()
        for name in DEFAULT_GLOBALS:
            db.add(
                UserGlobalPerm(user_id=default.user_id, kind=PERMISSIONS[name][0], permission=name)
            )
        password = settings.admin_password or secrets.token_urlsafe(12)
        admin = users.create_user(
            db,
            username=settings.admin_username,
            email=settings.admin_email,
            password=password,
            firstname=settings.admin_firstname,
            lastname=settings.admin_lastname,
            admin=True,
            with_main_key=False,
        )
        key = keys.create_key(db, admin.user_id, description="main key", is_main=True)
        return InitResult(True, admin.username, None if settings.admin_password else password, key)

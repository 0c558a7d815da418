# SPDX-License-Identifier: GPL-3.0-or-later
"""What the administrators' settings and server pages show: every setting with where its value
came from (``hearth.toml``, the environment, or the default) with secrets masked, and the server's
versions, paths, database and task queue. ``get_server_info`` (the API) reports the versions from
``services/sysinfo.py`` too.
"""

from __future__ import annotations

import dataclasses
import platform
import re
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hearth.config import SETTING_NAMES, Settings
from hearth.db.models import RepoGroup, Repository, Task, User, UserGroup
from hearth.services import sysinfo, taskrecords
from hearth.services.permissions import Actor
from hearth.services.useradmin import require_admin

#: settings whose value is never shown
SECRET = frozenset({"admin_password"})
#: settings that are URLs which may carry a password
URLS = frozenset({"database_url", "broker_url"})
DEFAULT = "default"
DERIVED = {"repos": "default (inside home)", "database_url": "default (inside home)"}


def mask_url(url: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:***@host``."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


@dataclass(frozen=True)
class SettingRow:
    name: str
    value: str
    source: str


def _shown(name: str, value: object) -> str:
    if name in SECRET:
        return "*** (set)" if value else "(not set)"
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return mask_url(text) if name in URLS else text


def settings_rows(actor: Actor, settings: Settings) -> list[SettingRow]:
    """Every setting in the documentation order, its value as shown and its source."""
    require_admin(actor)
    fields = {f.name for f in dataclasses.fields(settings)}
    return [
        SettingRow(name, _shown(name, getattr(settings, name)),
                   settings.sources.get(name, DERIVED.get(name, DEFAULT)))
        for name in SETTING_NAMES
        if name in fields
    ]  # fmt: skip


@dataclass(frozen=True)
class ServerInfo:
    versions: list[tuple[str, str]]
    paths: list[tuple[str, str]]
    database: list[tuple[str, str]]
    queue: list[tuple[str, str]]


def _state_of(path: Path) -> str:
    """``exists, 12.3 GB free`` or ``missing``."""
    if not path.exists():
        return "missing"
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return "exists"
    return f"exists, {free / 1e9:.1f} GB free"


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _libgit2() -> str:
    try:
        import pygit2

        return f"{pygit2.__version__} (libgit2 {pygit2.LIBGIT2_VERSION})"
    except Exception:  # an unusable pygit2 is reported, not a crash
        return "(unavailable)"


def server_info(db: Session, actor: Actor, settings: Settings, version: str) -> ServerInfo:
    require_admin(actor)
    dialect = db.get_bind().dialect
    counts = [
        ("users", db.scalar(select(func.count()).select_from(User)) or 0),
        ("repositories", db.scalar(select(func.count()).select_from(Repository)) or 0),
        ("repository groups", db.scalar(select(func.count()).select_from(RepoGroup)) or 0),
        ("user groups", db.scalar(select(func.count()).select_from(UserGroup)) or 0),
    ]
    states = dict(db.execute(select(Task.state, func.count()).group_by(Task.state)).tuples().all())
    queued = taskrecords.queued(settings)  # what the API does: a broker queues, whatever else
    return ServerInfo(
        versions=[
            ("Hearth", version),
            ("Python", f"{platform.python_version()} ({sys.executable})"),
            ("Git", f"{sysinfo.git_version(settings.git_path)} ({settings.git_path})"),
            ("Mercurial", sysinfo.hg_version()),
            ("pygit2", _libgit2()),
            ("SQLAlchemy", _package("sqlalchemy")),
            ("Platform", platform.platform()),
        ],
        paths=[
            ("Home", f"{settings.home} ({_state_of(settings.home)})"),
            ("Repositories", f"{settings.repos} ({_state_of(settings.repos)})"),
        ],
        database=[
            ("URL", mask_url(settings.database_url)),
            ("Dialect", f"{dialect.name} {'.'.join(map(str, dialect.server_version_info or ()))}"),
            *((f"Rows: {name}", str(count)) for name, count in counts),
        ],
        queue=[
            ("Mode", "background worker (broker)" if queued else "in the server"),
            ("Broker", mask_url(settings.broker_url) or "(none)"),
            *([("Queue", taskrecords.queue_name(settings))] if queued else []),
            *((f"Tasks {state}", str(n)) for state, n in sorted(states.items())),
            *([("Tasks", "none recorded")] if not states else []),
        ],
    )

# SPDX-License-Identifier: GPL-3.0-or-later
"""The one settings object.

Every setting of the specification (``spec/README.md``, "Settings this spec refers to") can be given in
an optional ``hearth.toml`` (path from ``HEARTH_CONFIG``, else ``./hearth.toml``) and overridden by an
environment variable ``HEARTH_<NAME IN UPPER CASE>``. Nothing reads the environment at import time:
``load_settings()`` is called once by whoever starts Hearth and the result is passed down explicitly.

Bad configuration raises :class:`ConfigError` whose message is one line naming the setting, so the
server stops at start instead of failing on the first request.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A setting has a value Hearth cannot use; the message names it."""


_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


def _as_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    try:
        number = (
            value if isinstance(value, int) and not isinstance(value, bool) else int(str(value))
        )
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {value!r}") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise ConfigError(f"{name}: expected an integer from {low} to {high}, got {number}")
    return number


def _as_float(name: str, value: Any, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name}: expected a number from {low} to {high}, got {number}")
    return number


def _as_list(name: str, value: Any) -> tuple[str, ...]:
    items = [str(v) for v in value] if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(item.strip() for item in items if item.strip())


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Paths are absolute; derived defaults are filled in."""

    home: Path
    database_url: str
    repos: Path
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    canonical_url: str = ""
    clone_uri_tmpl: str = "{scheme}://{user}@{netloc}/{repo}"
    api_max_body_bytes: int = 16 * 1024 * 1024
    remote_addr_header: str = ""
    tasks_async: bool = False
    broker_url: str = ""
    task_lost_after: float = 60.0
    shutdown_grace: float = 30.0
    pull_timeout: float = 600.0
    metrics_allowed_ips: tuple[str, ...] = ()
    repo_group_auto_create: bool = True
    default_repo_type: str = "hg"
    default_branch: str = "main"
    default_repo_private: bool = False
    default_repo_enable_statistics: bool = False
    default_repo_enable_downloads: bool = False
    default_repo_enable_locking: bool = False
    realm: str = "Hearth"
    auth_ret_code: int = 401
    lock_ret_code: int = 423
    api_access_controllers_whitelist: tuple[str, ...] = ()
    feed_items: int = 20
    pr_required_approvals: int = 1
    admin_username: str = "admin"
    admin_password: str = ""
    admin_email: str = "admin@example.com"
    admin_firstname: str = "Hearth"
    admin_lastname: str = "Admin"
    git_path: str = "git"
    auth_failure_delay_max: float = 3.0
    log_level: str = "info"
    ssh_port: int = 0
    ssh_user: str = "hearth"
    ssh_authorized_keys_file: Path | None = None
    ssh_handoff: bool = True
    log_format: str = "text"
    extra: Mapping[str, str] = field(default_factory=dict)
    #: where each setting came from: ``hearth.toml`` (its path), ``environment`` (``HEARTH_X``);
    #: a setting missing here has its default (the admin settings page shows it)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


# name -> converter(name_for_messages, raw) ; the order is the documentation order.
_CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "host": lambda n, v: str(v),
    "port": lambda n, v: _as_int(n, v, 0, 65535),
    "workers": lambda n, v: _as_int(n, v, 1, 64),
    "canonical_url": lambda n, v: str(v).rstrip("/"),
    "clone_uri_tmpl": lambda n, v: str(v),
    "api_max_body_bytes": lambda n, v: _as_int(n, v, 1, 1 << 34),
    "remote_addr_header": lambda n, v: str(v).strip(),
    "tasks_async": _as_bool,
    "broker_url": lambda n, v: str(v).strip(),
    "task_lost_after": lambda n, v: _as_float(n, v, 2.0, 86400.0),
    "shutdown_grace": lambda n, v: _as_float(n, v, 0.0, 86400.0),
    "pull_timeout": lambda n, v: _as_float(n, v, 1.0, 86400.0),
    "metrics_allowed_ips": _as_list,
    "repo_group_auto_create": _as_bool,
    "default_repo_type": lambda n, v: str(v),
    "default_branch": lambda n, v: str(v).strip(),
    "default_repo_private": _as_bool,
    "default_repo_enable_statistics": _as_bool,
    "default_repo_enable_downloads": _as_bool,
    "default_repo_enable_locking": _as_bool,
    "realm": lambda n, v: str(v),
    "auth_ret_code": lambda n, v: _as_int(n, v, 200, 599),
    "lock_ret_code": lambda n, v: _as_int(n, v, 200, 599),
    "api_access_controllers_whitelist": _as_list,
    "feed_items": lambda n, v: _as_int(n, v, 1, 1000),
    "pr_required_approvals": lambda n, v: _as_int(n, v, 0, 100),
    "admin_username": lambda n, v: str(v),
    "admin_password": lambda n, v: str(v),
    "admin_email": lambda n, v: str(v),
    "admin_firstname": lambda n, v: str(v),
    "admin_lastname": lambda n, v: str(v),
    "git_path": lambda n, v: str(v),
    "auth_failure_delay_max": lambda n, v: _as_float(n, v, 0.0, 60.0),
    "log_level": lambda n, v: str(v).lower(),
    "ssh_port": lambda n, v: _as_int(n, v, 0, 65535),
    "ssh_user": lambda n, v: str(v).strip(),
    "ssh_authorized_keys_file": lambda n, v: (
        Path(str(v)).expanduser().resolve() if str(v) else None
    ),
    "ssh_handoff": _as_bool,
    "log_format": lambda n, v: str(v).lower(),
}
_PATHS = ("home", "database_url", "repos")
SETTING_NAMES: tuple[str, ...] = (*_PATHS, *_CONVERTERS)


def env_name(setting: str) -> str:
    return "HEARTH_" + setting.upper()


_BAD_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[-/.]|[/.]$|\.lock$|/\.")


def _validate(settings: Settings) -> None:
    if not settings.default_branch or _BAD_BRANCH.search(settings.default_branch):
        raise ConfigError(
            f"default_branch: not a valid git branch name: {settings.default_branch!r}"
        )
    if settings.default_repo_type not in ("hg", "git"):
        raise ConfigError(
            f"default_repo_type: expected hg or git, got {settings.default_repo_type!r}"
        )
    if settings.auth_ret_code not in (401, 403):
        raise ConfigError(f"auth_ret_code: expected 401 or 403, got {settings.auth_ret_code}")
    for entry in settings.api_access_controllers_whitelist:
        if "@" in entry:
            raise ConfigError(
                "api_access_controllers_whitelist: entries of the form View:func@<token> are not "
                f"supported, got {entry!r}"
            )
    if settings.log_level not in ("critical", "error", "warning", "info", "debug"):
        raise ConfigError(
            f"log_level: expected one of critical, error, warning, info, debug, got {settings.log_level!r}"
        )
    if settings.log_format not in ("text", "json"):
        raise ConfigError(f"log_format: expected text or json, got {settings.log_format!r}")
    if not (
        settings.database_url.startswith("sqlite") or settings.database_url.startswith("postgresql")
    ):
        raise ConfigError(
            f"database_url: expected a sqlite:/// or postgresql:// URL, got {settings.database_url!r}"
        )
    try:
        settings.clone_uri_tmpl.format(scheme="", user="", netloc="", prefix="", repo="", repoid="")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"clone_uri_tmpl: invalid template ({exc})") from None


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    """Read ``hearth.toml`` and ``HEARTH_*`` variables into a validated :class:`Settings`."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    path = config_file or Path(env.get("HEARTH_CONFIG", "hearth.toml"))
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"HEARTH_CONFIG: cannot read {path}: {exc}") from None
        section = data.get("hearth", data)
        for key, value in section.items():
            if key not in SETTING_NAMES:
                raise ConfigError(f"{key}: unknown setting in {path}")
            raw[key] = value
            sources[key] = f"hearth.toml ({path})"
    elif "HEARTH_CONFIG" in env:
        raise ConfigError(f"HEARTH_CONFIG: no such file {path}")
    for name in SETTING_NAMES:
        if env_name(name) in env:
            raw[name] = env[env_name(name)]
            sources[name] = f"environment ({env_name(name)})"

    home = Path(raw.pop("home", "./data")).expanduser().resolve()
    repos = Path(raw.pop("repos", home / "repos")).expanduser().resolve()
    database_url = str(raw.pop("database_url", f"sqlite:///{home / 'hearth.db'}"))
    values: dict[str, Any] = {}
    for name, value in raw.items():
        values[name] = _CONVERTERS[name](name, value)
    settings = Settings(
        home=home, repos=repos, database_url=database_url, sources=sources, **values
    )
    _validate(settings)
    return settings


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy with some settings changed (tests and the CLI use it)."""
    return dataclasses.replace(settings, **changes)

# SPDX-License-Identifier: GPL-3.0-or-later
"""Where ``hearth-api`` finds its server and key, and how ``--save-config`` writes them.

Implements the configuration rules of ``spec/clients.md`` §3 for both file forms:

- Kallithea's ``~/.config/kallithea``: JSON ``{"apikey": …, "apihost": …}``, 4-space indentation and a
  final newline, rewritten whole;
- RhodeCode's ``~/.rhoderc``: INI, one ``[instance:NAME]`` section per server with ``api_host`` and
  ``api_key``; other sections, comments and keys are kept when a section is updated.

Values are resolved one by one: a command-line flag wins over the file. Only one file is consulted:
``--config PATH`` (JSON or INI, told apart by its content), else ``--instance-name`` (``~/.rhoderc``),
else the dialect's default file. Problems raise :class:`ConfigProblem`, whose message the caller prints
as a usage error (exit 2).
"""

from __future__ import annotations

import configparser
import json
import os
import re
from dataclasses import dataclass
from typing import Any

NOT_FOUND = "Could not find config file and missing --apikey or --apihost in params"
KALLITHEA = "kallithea"
RHODECODE = "rhodecode"


class ConfigProblem(Exception):
    """The configuration cannot be used; the message is one line for ``<prog>: error: …``."""


@dataclass(frozen=True)
class Connection:
    apihost: str
    apikey: str
    source: str  # the file the values came from, or "command line"


def home() -> str:
    """``$HOME``, else ``%USERPROFILE%`` (as the originals), else the platform's idea of it."""
    return os.environ.get("HOME") or os.environ.get("USERPROFILE") or os.path.expanduser("~")


def kallithea_path() -> str:
    return os.path.join(home(), ".config", "kallithea")


def rhoderc_path() -> str:
    return os.path.join(home(), ".rhoderc")


def mask(key: str) -> str:
    """All but the last 4 characters replaced by ``*`` (a key of 4 or fewer is masked whole)."""
    if len(key) <= 4:
        return "*" * len(key)
    return "*" * (len(key) - 4) + key[-4:]


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigProblem(f"cannot read config file {path}: {exc}") from None


def _is_json(text: str) -> bool:
    return text.lstrip().startswith("{")


def _ini(text: str, path: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        raise ConfigProblem(
            f"cannot read config file {path}: {' '.join(str(exc).split())}"
        ) from None
    return parser


def _from_json(text: str, path: str) -> dict[str, str]:
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise ConfigProblem(f"cannot read config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigProblem(f"cannot read config file {path}: expected a JSON object")
    return {
        "apihost": str(data.get("apihost") or data.get("api_host") or ""),
        "apikey": str(data.get("apikey") or data.get("api_key") or ""),
    }


def _from_ini(text: str, path: str, instance: str | None) -> dict[str, str]:
    parser = _ini(text, path)
    sections = [s for s in parser.sections() if s.startswith("instance:")]
    if instance is not None:
        name = f"instance:{instance}"
        if name not in sections:
            raise ConfigProblem(f"no section [{name}] in {path}")
    elif "instance:default" in sections:
        name = "instance:default"
    elif len(sections) == 1:
        name = sections[0]
    elif not sections:
        return {}
    else:
        raise ConfigProblem(f"several instances in {path}; choose one with --instance-name")
    section = parser[name]
    return {
        "apihost": section.get("api_host") or section.get("apihost") or "",
        "apikey": section.get("api_key") or section.get("apikey") or "",
    }


def default_path(dialect: str, config: str | None, instance: str | None) -> str:
    """The one file consulted (and written by ``--save-config``)."""
    if config:
        return config
    if instance is not None or dialect == RHODECODE:
        return rhoderc_path()
    return kallithea_path()


def resolve(
    dialect: str,
    *,
    apihost: str | None,
    apikey: str | None,
    config: str | None,
    instance: str | None,
) -> Connection:
    """The effective host and key; raises :class:`ConfigProblem` when one is missing."""
    if apihost and apikey:
        return Connection(apihost, apikey, "command line")
    path = default_path(dialect, config, instance)
    text = _read_text(path)
    values: dict[str, str] = {}
    if text is not None and text.strip():
        values = _from_json(text, path) if _is_json(text) else _from_ini(text, path, instance)
    host = apihost or values.get("apihost", "")
    key = apikey or values.get("apikey", "")
    if not host or not key:
        raise ConfigProblem(NOT_FOUND)
    return Connection(host, key, path)


# --- writing ------------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[([^\]]*)\]")


def _ini_key(line: str) -> str | None:
    if line.lstrip().startswith((";", "#")):
        return None
    match = re.match(r"^\s*([^=:\s][^=:]*?)\s*[=:]", line)
    return match.group(1).lower() if match else None


def update_ini(text: str, section: str, values: dict[str, str]) -> str:
    """``text`` with ``values`` set in ``[section]``; everything else is left as it was."""
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if (m := _HEADER.match(line)) and m.group(1) == section),
        None,
    )
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines.append(f"[{section}]")
        lines.extend(f"{name} = {value}" for name, value in values.items())
        return "\n".join(lines) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
    missing = dict(values)
    for i in range(start + 1, end):
        name = _ini_key(lines[i])
        if name in missing:
            lines[i] = f"{name} = {missing.pop(name)}"
    last = end
    while last > start + 1 and not lines[last - 1].strip():
        last -= 1
    lines[last:last] = [f"{name} = {value}" for name, value in missing.items()]
    return "\n".join(lines) + "\n"


def _write(path: str, text: str) -> None:
    # a new file holds a secret: readable by its owner only; an existing file keeps its mode
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def save(
    dialect: str, *, apihost: str, apikey: str, config: str | None, instance: str | None
) -> str:
    """Write the values to the config file and return the message to print.

    The file keeps its form when it exists (JSON or INI); a new file takes the dialect's form. JSON is
    rewritten whole, as ``kallithea-api`` does; INI updates one ``[instance:…]`` section.
    """
    path = default_path(dialect, config, instance)
    old = _read_text(path)
    existed = old is not None
    as_json = _is_json(old) if old and old.strip() else dialect == KALLITHEA and instance is None
    if as_json:
        text = json.dumps({"apikey": apikey, "apihost": apihost}, indent=4) + "\n"
    else:
        section = f"instance:{instance if instance is not None else 'default'}"
        text = update_ini(old or "", section, {"api_host": apihost, "api_key": apikey})
    try:
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        _write(path, text)
    except OSError as exc:
        raise ConfigProblem(f"cannot write config file {path}: {exc}") from None
    return f"{'Updated config in' if existed else 'Created new config in'} {path}"

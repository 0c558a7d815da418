# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository and repository-group names (``web-and-vcs.md`` §1): they become paths on disk.

Checked rule by rule in the specification's order; the first broken rule gives the reason.
"""

from __future__ import annotations

from hearth.errors import Invalid
from hearth.services.lookup import is_digits

_FORBIDDEN = set("`?=[]\\;'\"<>,~!@#$%^&*()+{}|: ")


def _reason(name: str) -> str | None:
    parts = name.split("/")
    if not name or any(part == "" for part in parts):
        return "empty path component"
    for char in name:
        if char in _FORBIDDEN or ord(char) < 32 or 0x7F <= ord(char) < 0xA0:
            return f"character `{char}` is not allowed"
    if any(part.startswith(".") for part in parts):
        return "components must not start with a dot"
    if any(part.startswith("rm__") for part in parts):
        return "the rm__ prefix is reserved for deleted repositories"
    if parts[0].startswith("_"):
        return "reserved name"
    if len(name) > 255 or any(len(part) > 100 for part in parts):
        return "name too long"
    if is_digits(name):
        return "a name of digits only would be read as an id"
    return None


def check_repo_name(name: str) -> None:
    reason = _reason(name)
    if reason:
        raise Invalid("invalid_repo_name", x=name, reason=reason)


def check_group_name(name: str) -> None:
    reason = _reason(name)
    if reason:
        raise Invalid("invalid_repo_group_name", x=name, reason=reason)


def parent_of(full_name: str) -> str:
    """``a/b/c`` -> ``a/b``; a top-level name -> ``""``."""
    return full_name.rpartition("/")[0]


def last_component(full_name: str) -> str:
    return full_name.rpartition("/")[2]


def ancestors(path: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b", "a/b/c"]``."""
    parts = path.split("/") if path else []
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]

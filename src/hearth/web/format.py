# SPDX-License-Identifier: GPL-3.0-or-later
"""How pages show times, ids and sizes: "3 hours ago" with the exact UTC time beside it for a
``title``, short changeset ids, the first line of a message. Template filters (``web/pages.py``).

Times arrive as epoch seconds (changesets) or naive-UTC datetimes (database columns).
"""

from __future__ import annotations

import calendar
import time
from datetime import datetime

_STEPS = (
    (60, "second", 1),
    (3600, "minute", 60),
    (86400, "hour", 3600),
    (86400 * 30, "day", 86400),
    (86400 * 365, "month", 86400 * 30),
)


def _epoch(moment: float | datetime | None) -> float | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return calendar.timegm(moment.utctimetuple()) + moment.microsecond / 1e6
    return float(moment)


def relative(moment: float | datetime | None, now: float | None = None) -> str:
    """``3 hours ago``, ``in 2 days``, ``just now``; empty for no time."""
    seconds = _epoch(moment)
    if seconds is None:
        return ""
    delta = (now if now is not None else time.time()) - seconds
    future = delta < 0
    delta = abs(delta)
    if delta < 45:
        return "just now"
    unit, size = "year", 86400 * 365
    for limit, step_unit, step_size in _STEPS:
        if delta < limit:
            unit, size = step_unit, step_size
            break
    count = max(1, round(delta / size))
    words = f"{count} {unit}{'' if count == 1 else 's'}"
    return f"in {words}" if future else f"{words} ago"


def exact(moment: float | datetime | None) -> str:
    """``2026-12-03 05:56:33 UTC``."""
    seconds = _epoch(moment)
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def iso(moment: float | datetime | None) -> str:
    """The ``datetime`` attribute of a ``<time>`` element."""
    seconds = _epoch(moment)
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def short_id(raw_id: str | None, length: int = 12) -> str:
    return (raw_id or "")[:length]


def first_line(message: str | None) -> str:
    return (message or "").strip().split("\n", 1)[0]


def size(count: int | None) -> str:
    if count is None:
        return ""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} bytes"

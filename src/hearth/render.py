# SPDX-License-Identifier: GPL-3.0-or-later
"""Dates as the API shows them (``jsonrpc.md`` §11): naive ISO-8601 in the server's local time.

Instants are stored as naive UTC; microseconds are truncated to milliseconds and a zero fraction is
omitted, as Kallithea's JSON encoder does.
"""

from __future__ import annotations

import calendar
import functools
import math
import time
from datetime import datetime

# time.localtime and %-formatting: listing 10,000 repositories renders 20,000 dates, and this is
# several times cheaper than datetime.astimezone + strftime


def local_iso(moment: datetime | None, *, whole_seconds: bool = False) -> str | None:
    """Render a naive-UTC datetime in local time."""
    if moment is None:
        return None
    return _local_iso(moment, whole_seconds)


@functools.lru_cache(maxsize=1 << 16)
def _local_iso(moment: datetime, whole_seconds: bool) -> str:
    seconds = calendar.timegm(moment.utctimetuple())
    return _iso(seconds, moment.microsecond // 1000, whole_seconds)


def epoch_iso(seconds: float | None, *, whole_seconds: bool = False) -> str | None:
    """Render epoch seconds in local time (commit dates, lock times)."""
    if seconds is None:
        return None
    whole = math.floor(seconds)
    return _iso(whole, int((seconds - whole) * 1_000_000) // 1000, whole_seconds)


@functools.lru_cache(maxsize=1 << 16)
def _iso(seconds: int, millis: int, whole_seconds: bool) -> str:
    # cached: the time zone is fixed for the life of the process, and listings render the same
    # creation and commit dates on every call
    tm = time.localtime(seconds)
    text = f"{tm[0]:04d}-{tm[1]:02d}-{tm[2]:02d}T{tm[3]:02d}:{tm[4]:02d}:{tm[5]:02d}"
    if millis and not whole_seconds:
        text += f".{millis:03d}"
    return text

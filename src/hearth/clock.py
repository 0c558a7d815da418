# SPDX-License-Identifier: GPL-3.0-or-later
"""The one clock for stored timestamps: naive UTC, as the database columns hold them."""

from __future__ import annotations

from datetime import UTC, datetime


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)

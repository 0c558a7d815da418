# SPDX-License-Identifier: GPL-3.0-or-later
"""Logging set-up: API keys never reach a log line (query strings are masked)."""

from __future__ import annotations

import logging
import re
from typing import Any

_SECRET = re.compile(r"((?:api_key|auth_token)=)[^&\s\"']+", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    return _SECRET.sub(r"\1*****", text)


class MaskSecrets(logging.Filter):
    """Rewrites a record's message and arguments with key values masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_secrets(record.msg)
        if record.args:
            args: Any = record.args
            if isinstance(args, tuple):
                record.args = tuple(mask_secrets(a) if isinstance(a, str) else a for a in args)
        return True


def log_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn with the masking filter on every handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": "hearth.logs.MaskSecrets"}},
        "formatters": {
            "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["mask"],
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "": {"handlers": ["default"], "level": level.upper()},
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
        },
    }

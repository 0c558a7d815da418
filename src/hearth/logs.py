# SPDX-License-Identifier: GPL-3.0-or-later
"""Logging set-up: API keys never reach a log line (query strings are masked).

Lines are text by default; setting ``log_format = "json"`` writes one JSON object per line
(``time``, ``level``, ``logger``, ``message`` and a record's structured fields, such as the access
log's ``client``, ``status`` and ``duration``) for log collectors."""

from __future__ import annotations

import json
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


#: the structured fields a record may carry (``extra=``), copied into the JSON line
FIELDS = (
    "client", "request", "status", "bytes", "duration", "kind", "api_method", "user", "repository",
)  # fmt: skip


class JsonFormatter(logging.Formatter):
    """One JSON object per record (the message already masked by :class:`MaskSecrets`)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = mask_secrets(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


def log_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn with the masking filter on every handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": "hearth.logs.MaskSecrets"}},
        "formatters": {
            "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
            if log_format != "json"
            else {"()": "hearth.logs.JsonFormatter"},
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

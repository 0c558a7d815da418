# SPDX-License-Identifier: GPL-3.0-or-later
"""Entry point for ASGI servers: ``uvicorn --factory hearth.asgi:app`` (each worker reads settings)."""

from __future__ import annotations

from starlette.applications import Starlette

from hearth.app import create_app
from hearth.config import load_settings


def app() -> Starlette:
    return create_app(load_settings())

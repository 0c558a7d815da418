# SPDX-License-Identifier: GPL-3.0-or-later
"""Entry point for ASGI servers: ``uvicorn --factory hearth.asgi:app`` (each worker reads settings)."""

from __future__ import annotations

import gc

from starlette.applications import Starlette

from hearth.app import create_app
from hearth.config import load_settings

#: Collections of the youngest generation start after this many new objects (CPython: 700).
#: Listing 10,000 repositories allocates a few hundred thousand objects that all live until the
#: answer is sent; at 700 the collector ran hundreds of times per listing for nothing:
#: ``get_repos`` over 10,000 repositories took 191 ms of CPU at 700 and 110-146 ms at 50,000.
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Move what start-up allocated (modules, tables, statements) out of the collector's way and
    collect young objects less often; reference counting still frees nearly everything at once."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def app() -> Starlette:
    application = create_app(load_settings())
    tune_gc()
    return application

# SPDX-License-Identifier: GPL-3.0-or-later
"""Every page route outside a repository, for the application's route list (``hearth/app.py``).

Importing this module also registers the repository and group pages (``web/repopages.py``) of the
page modules it imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from hearth.web import (
    account,
    admingroups,
    adminserver,
    adminusergroups,
    adminusers,
    explainpage,
    gistpages,
    globalperms,
    home,
    journal,
    prpages,
    repoadmin,
    signin,
    static,
    summary,
    usergroupperms,
)

if TYPE_CHECKING:
    from hearth.runtime import Runtime


def routes(runtime: Runtime) -> list[BaseRoute]:
    return [
        *static.routes(),
        *signin.routes(),
        *home.routes(),
        *summary.routes(),
        *account.routes(),
        *journal.routes(),
        *gistpages.routes(),
        *prpages.routes(),
        *adminusers.routes(),
        *adminusergroups.routes(),
        *explainpage.routes(),
        *adminserver.routes(),
        *admingroups.routes(),
        *repoadmin.routes(),
        *usergroupperms.routes(),
        *globalperms.routes(),
    ]

# SPDX-License-Identifier: GPL-3.0-or-later
"""The server pages of the administration, for administrators only.

======================================================  ========================================
``GET /_admin?user=&repo=&action=&page=``               the admin journal (Kallithea's admin
                                                        home): every entry, filtered, paged
``GET /_admin/settings``                                every setting, read-only, with its source
``GET /_admin/server``                                  versions, paths, database, task queue;
                                                        the rescan form and the recent rescans
``POST /_admin/server/rescan``                          start a rescan (``remove_obsolete``,
                                                        ``invalidate_caches``); 303 to its report
                                                        (a GET is sent to the form)
``GET /_admin/server/rescan/<task id>``                 the rescan's progress, then its report
``GET /_admin/settings/mapping``                        Kallithea's "Remap and rescan" address:
                                                        sent to the rescan form
======================================================  ========================================

A rescan goes through ``hearth.tasks.start``: the job ``rescan_repos`` (the API's) runs in a
worker when a broker is configured, and the report page shows the task's committed counts and
polls (``data-poll``, ``static/hearth.js``; without script, a ``<noscript>`` refresh) until it is
done; without a broker it runs in the POST and the report is there after the redirect. Either way
the report is the task row, at its own address. A failed rescan is recorded with its error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth import tasks
from hearth.errors import HearthError
from hearth.services import adminjournal, rescan, serverinfo, taskrecords
from hearth.web import admin, pages
from hearth.web.pages import Visitor
from hearth.web.routes import action_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.runtime import Runtime

RESCAN = "rescan_repos"
#: how often the report page asks again while a rescan runs (milliseconds)
POLL_MS = 1000


async def journal(request: Request, visitor: Visitor) -> Response:
    actor = admin.actor_of(visitor)
    params = request.query_params
    filters = adminjournal.Filters(
        params.get("user", "").strip()[:255],
        params.get("repo", "").strip()[:255],
        params.get("action", "").strip()[:64],
    )
    number = admin.page_number(request)
    found = await admin.read(request, lambda db: adminjournal.page(db, actor, filters, number))
    kept = {k: v for k, v in (("user", filters.user), ("repo", filters.repo),
                              ("action", filters.action)) if v}  # fmt: skip
    base = "/_admin?" + (urlencode(kept) + "&" if kept else "")
    entries = [(e, action_text(e.action)) for e in found.entries]
    return admin.render(request, visitor, "admin_journal.html", "journal", found=found,
                        entries=entries, filters=filters, base=base)  # fmt: skip


async def settings(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    rows = serverinfo.settings_rows(admin.actor_of(visitor), runtime.settings)
    return admin.render(request, visitor, "admin_settings.html", "settings", rows=rows)


async def server(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = admin.actor_of(visitor)

    def load(db: Session) -> tuple[serverinfo.ServerInfo, list[taskrecords.Report]]:
        info = serverinfo.server_info(db, actor, runtime.settings, runtime.version)
        return info, taskrecords.recent(db, actor, RESCAN)

    info, recent = await admin.read(request, load)
    return admin.render(request, visitor, "admin_server.html", "server", info=info,
                        recent=[_shown(r) for r in recent], **_form(runtime))  # fmt: skip


def _form(runtime: Runtime) -> dict[str, Any]:
    """What the rescan form says about where the work runs."""
    return {"queued": taskrecords.queued(runtime.settings), "repos_root": runtime.settings.repos}


async def rescan_start(request: Request, visitor: Visitor) -> Response:
    """Start a rescan through the job the API's ``rescan_repos`` runs, then show its report
    (a GET of this address is sent to the form)."""
    if request.method != "POST":
        return pages.redirect(request, visitor, "/_admin/server#rescan")
    runtime: Runtime = request.app.state.runtime
    actor = admin.actor_of(visitor)
    data = await pages.form(request, visitor)
    args = {
        "remove_obsolete": bool(pages.field(data, "remove_obsolete")),
        "invalidate_caches": bool(pages.field(data, "invalidate_caches")),
    }
    try:
        task_id = await admin.write(
            request, lambda db: tasks.start(db, actor, runtime.settings, RESCAN, args)
        )
    except HearthError as exc:  # nothing of it stayed; the failure is kept for its report
        text, cause = exc.text, {"cause": rescan.cause_of(exc)}
        task_id = await admin.write(
            request,
            lambda db: taskrecords.record(db, actor, RESCAN, args, error=text, progress=cause),
        )
    return pages.redirect(request, visitor, f"/_admin/server/rescan/{task_id}")


async def rescan_report(request: Request, visitor: Visitor) -> Response:
    """How far the rescan has got, or how it ended; a task whose worker was lost reads failed."""
    runtime: Runtime = request.app.state.runtime
    actor = admin.actor_of(visitor)
    task_id = request.path_params["task_id"][:64]

    def look(db: Session) -> tuple[taskrecords.Report, bool]:
        found = taskrecords.report(db, actor, task_id, RESCAN)  # "does not exist" first
        lost = found.state == "running" and bool(taskrecords.lost(db, runtime.settings, task_id))
        return found, lost

    # read only: a worker committing a stretch does not hold the page up
    found, lost = await admin.read(request, look)
    if lost:
        await admin.write(request, lambda db: tasks.reap(db, runtime.settings, task_id))
        found, _ = await admin.read(request, look)
    return admin.render(request, visitor, "admin_rescan.html", "server", report=_shown(found),
                        poll_ms=POLL_MS, **_form(runtime))  # fmt: skip


def _shown(report: taskrecords.Report) -> dict[str, Any]:
    """A rescan task as the templates show it: its counts and, once done, its lists."""
    counts = rescan.Counts.from_dict(report.progress) if report.progress else None
    done, total = counts.stage if counts is not None else (0, None)
    result = report.result if isinstance(report.result, dict) else {}
    return {
        "task": report,
        "counts": counts,
        "done": done,
        "total": total,
        "added": list(result.get("added", [])),
        "removed": list(result.get("removed", [])),
        "obsolete": list(result.get("obsolete", [])),
        "skipped": counts.skipped if counts is not None else [],
        "remove_obsolete": bool(report.args.get("remove_obsolete")),
        "invalidate_caches": bool(report.args.get("invalidate_caches")),
    }


async def mapping(request: Request, visitor: Visitor) -> Response:
    """Kallithea's ``/_admin/settings/mapping`` ("Remap and rescan repositories")."""
    return pages.redirect(request, visitor, "/_admin/server#rescan")


def routes() -> list[Route]:
    get = ["GET", "HEAD"]
    return [
        Route("/_admin", admin.admin_page(journal), methods=get),
        Route("/_admin/settings", admin.admin_page(settings), methods=get),
        Route("/_admin/settings/mapping", admin.admin_page(mapping), methods=get),
        Route("/_admin/server", admin.admin_page(server), methods=get),
        Route("/_admin/server/rescan", admin.admin_page(rescan_start), methods=[*get, "POST"]),
        Route("/_admin/server/rescan/{task_id}", admin.admin_page(rescan_report), methods=get),
    ]

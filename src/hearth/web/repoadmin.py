# SPDX-License-Identifier: GPL-3.0-or-later
"""Making and administering repositories in the browser (Kallithea's URLs): "New repository"
for whoever may create one, and a repository's settings page for its admins.

=============================================  ==================================================
``GET  /_admin/repos/new``                     the form (``?group=<id>`` preselects a group)
``POST /_admin/repos``                         ``repo_type``, ``repo_name``, ``repo_group``,
                                               ``repo_description``, ``repo_private``,
                                               ``clone_uri``, ``repo_copy_permissions``
``GET  /<repo>/settings``                      settings, permissions, lock, caches, delete;
                                               ``?explain=<user>``: the permission explainer
                                               about that user on this repository
``POST /<repo>/settings``                      ``action``: ``save`` (``repo_name``,
                                               ``repo_group``, ``repo_description``,
                                               ``repo_private``, ``repo_landing_rev``,
                                               ``clone_uri``, ``repo_enable_locking``,
                                               ``repo_enable_statistics``,
                                               ``repo_enable_downloads``, ``repo_owner``:
                                               ``update_repo``'s ``owner``, a site admin's
                                               only), ``perm`` (``holder``, ``name``,
                                               ``perm``), ``lock``, ``unlock``, ``invalidate``,
                                               ``pull``, ``delete`` (``forks``)
=============================================  ==================================================

Every action is the service call of its API method (``repos.create``/``update``/``delete``/
``invalidate``, ``repoperms``, ``locks.change``, ``remote.pull``) in one transaction: a refusal
shows its text on the form, keeping what was typed, and leaves no row and no directory. Who may
is the services' answer: the settings page asks ``repos.find`` for admin level on the repository
(anyone else gets the page a missing repository gets).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.errors import HearthError, NotFound
from hearth.services import (
    locks,
    lookup,
    pickers,
    remote,
    repogroups,
    repolisting,
    repoperms,
    repos,
)
from hearth.services.permissions import Actor, Level, group_levels, has_global
from hearth.web import admin, explainpage, pages, repopages
from hearth.web.pages import Visitor
from hearth.web.repopages import RepoPage

if TYPE_CHECKING:
    from hearth.config import Settings
    from hearth.runtime import Runtime

REPO_PERMS = ("repository.none", "repository.read", "repository.write", "repository.admin")
NEW_FIELDS = (
    "repo_type",
    "repo_name",
    "repo_group",
    "repo_description",
    "repo_private",
    "clone_uri",
    "repo_copy_permissions",
)
SAVE_FIELDS = (
    "repo_name",
    "repo_group",
    "repo_description",
    "repo_private",
    "repo_landing_rev",
    "clone_uri",
    "repo_enable_locking",
    "repo_enable_statistics",
    "repo_enable_downloads",
    "repo_owner",
)
DONE = {
    "saved": "Settings saved.",
    "granted": "Permission saved.",
    "revoked": "Permission removed.",
    "locked": "Repository locked.",
    "unlocked": "Repository unlocked.",
    "invalidated": "Caches invalidated.",
    "pulled": "Pulled from the remote.",
    "created": "Repository created.",
}


def _checked(data: dict[str, str], name: str) -> bool:
    return data.get(name, "") == "on"


def _writable_groups(db: Session, actor: Actor) -> list[dict[str, Any]]:
    """The groups the actor may create a repository in (``services.permissions``'s levels)."""
    levels = group_levels(db, actor)
    return [
        {"id": v.group.group_id, "path": v.group.group_name}
        for v in repogroups.list_all(db)
        if actor.admin or levels.get(v.group.group_id, 0) >= Level.WRITE
    ]


def _full_name(db: Session, group: str, name: str) -> str:
    name = name.strip()
    if not group.isdigit():
        return name
    return f"{lookup.repo_group(db, int(group)).group_name}/{name}"


# --- new repository ------------------------------------------------------------------------


async def _new_page(
    request: Request, visitor: Visitor, typed: dict[str, str], *, status: int = 200, error: str = ""
) -> Response:
    runtime: Runtime = request.app.state.runtime
    actor = visitor.actor
    assert actor is not None

    def load() -> list[dict[str, Any]]:
        with runtime.database.sessions() as db:
            return _writable_groups(db, actor)

    groups = await pages.blocking(load)
    return pages.render(
        request,
        visitor,
        "repo_new.html",
        status=status,
        typed=typed,
        groups=groups,
        error=error,
        types=("git", "hg"),
    )


async def new_repo(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    if not visitor.signed_in:
        return pages.to_login(request, visitor)
    typed = {k: "" for k in NEW_FIELDS}
    typed["repo_type"] = runtime.settings.default_repo_type
    typed["repo_group"] = request.query_params.get("group", "")
    return await _new_page(request, visitor, typed)


async def _all_repos(request: Request, visitor: Visitor) -> Response:
    """``GET /_admin/repos``: for admins every repository with a link to its settings (as
    ``get_repos`` lists them); anyone else is sent to the "New repository" form."""
    runtime: Runtime = request.app.state.runtime
    actor = visitor.actor
    if not visitor.admin or actor is None:
        return pages.redirect(request, visitor, "/_admin/repos/new")

    def load() -> list[dict[str, Any]]:
        with runtime.database.sessions() as db:
            views = repolisting.visible(db, actor, runtime.database.codepoint)
            return [
                {
                    "name": v.repo["repo_name"],
                    "type": v.repo["repo_type"],
                    "private": v.repo["private"],
                    "owner": v.owner,
                    "description": v.repo["description"],
                }
                for v in views
            ]

    rows = await pages.blocking(load)
    return admin.render(request, visitor, "admin_repos.html", "repos", repos=rows)


async def create_repo(request: Request, visitor: Visitor) -> Response:
    runtime: Runtime = request.app.state.runtime
    if not visitor.signed_in:
        return pages.to_login(request, visitor)
    if request.method != "POST":
        return await _all_repos(request, visitor)
    data = await pages.form(request, visitor)
    typed = {k: pages.field(data, k) for k in NEW_FIELDS}
    actor = visitor.actor
    assert actor is not None
    address = runtime.client_address(dict(request.scope))

    def create() -> str:
        with runtime.database.transaction(write=True) as db:
            new = repos.NewRepo(
                repo_name=_full_name(db, typed["repo_group"], typed["repo_name"]),
                owner=None,
                repo_type=typed["repo_type"] or None,
                description=typed["repo_description"],
                private=_checked(typed, "repo_private"),
                clone_uri=typed["clone_uri"].strip() or None,
                landing_rev="rev:tip",
                enable_statistics=None,
                enable_downloads=None,
                copy_permissions=_checked(typed, "repo_copy_permissions"),
                enable_locking=None,
            )
            return repos.create(db, actor, runtime.settings, new, client_ip=address).repo_name

    if not typed["repo_name"].strip():
        return await _new_page(request, visitor, typed, status=400, error="Name the repository.")
    try:
        name = await pages.blocking(create)
    except HearthError as exc:
        return await _new_page(request, visitor, typed, status=400, error=exc.text)
    return pages.redirect(request, visitor, "/" + quote(name))


# --- settings of one repository ------------------------------------------------------------


def _settings_of(db: Session, settings: Settings, actor: Actor, repo_id: int) -> dict[str, Any]:
    repo = repos.find(db, actor, repo_id, Level.ADMIN)
    held = locks.state(db, repo)
    group_path, _, last = repo.repo_name.rpartition("/")
    group = repogroups.by_path(db, group_path) if group_path else None
    return {
        "id": repo.repo_id,
        "name": repo.repo_name,
        "owner": lookup.user(db, repo.owner_id).username,
        "last": last,
        "type": repo.repo_type,
        "group_id": group.group_id if group is not None else None,
        "description": repo.description,
        "private": repo.private,
        "landing_rev": repo.landing_rev,
        "clone_uri": repos.masked_clone_uri(repo.clone_uri, actor.admin) or "",
        "has_remote": bool(repo.clone_uri),
        "enable_locking": repo.enable_locking,
        "enable_statistics": repo.enable_statistics,
        "enable_downloads": repo.enable_downloads,
        "lock": held,
        "members": repoperms.members(db, repo.repo_id),
        "groups": _writable_groups(db, actor),
        "landing_choices": _landing_choices(settings, repo),
        "holders": pickers.holders(db, actor),
    }


def _landing_choices(settings: Settings, repo: Any) -> list[str]:
    """``rev:tip`` and one ``branch:`` / ``tag:`` choice per name (what ``landing_rev`` takes)."""
    refs = repos.revision_names(settings, repo)
    return (
        ["rev:tip"]
        + [f"branch:{name}" for name in sorted(refs.branches)]
        + [f"tag:{name}" for name in sorted(refs.tags)]
    )


def _typed_from(s: dict[str, Any]) -> dict[str, str]:
    on = {True: "on", False: ""}
    return {
        "repo_name": s["last"],
        "repo_group": str(s["group_id"] or ""),
        "repo_description": s["description"],
        "repo_private": on[bool(s["private"])],
        "repo_landing_rev": s["landing_rev"],
        "clone_uri": s["clone_uri"],
        "repo_enable_locking": on[bool(s["enable_locking"])],
        "repo_enable_statistics": on[bool(s["enable_statistics"])],
        "repo_enable_downloads": on[bool(s["enable_downloads"])],
        "repo_owner": s["owner"],
    }


async def _settings_page(
    view: RepoPage,
    *,
    status: int = 200,
    error: str = "",
    perm_error: str = "",
    typed: dict[str, str] | None = None,
    perm_typed: dict[str, str] | None = None,
) -> Response:
    runtime = view.runtime

    def load() -> dict[str, Any]:
        with runtime.database.sessions() as db:
            return _settings_of(db, runtime.settings, view.actor, view.repo.repo_id)

    s = await pages.blocking(load)
    repo_url = "/" + quote(s["name"])
    explain = await explainpage.explain_widget(
        view.request, view.visitor, "repository", s["name"], action=repo_url + "/settings"
    )
    return view.render(
        "repo_settings.html",
        status=status,
        s=s,
        typed=typed or _typed_from(s),
        error=error,
        perm_error=perm_error,
        perm_typed=perm_typed or {"holder": "user", "name": "", "perm": "repository.read"},
        done=DONE.get(view.request.query_params.get("done", ""), ""),
        repo_perms=REPO_PERMS,
        apply_labels=None,
        holders=s["holders"],
        explain=explain,
        repo_url=repo_url,
    )


def _changes(db: Session, typed: dict[str, str], owner: str | None) -> dict[str, Any]:
    """``update_repo``'s changes from the form (``owner`` None: unchanged)."""
    group = typed["repo_group"]
    return {
        "owner": owner,
        "name": typed["repo_name"].strip(),
        "group": int(group) if group.isdigit() else "",
        "description": typed["repo_description"],
        "private": _checked(typed, "repo_private"),
        "landing_rev": typed["repo_landing_rev"] or None,
        "clone_uri": typed["clone_uri"].strip() if "*" not in typed["clone_uri"] else None,
        "enable_locking": _checked(typed, "repo_enable_locking"),
        "enable_statistics": _checked(typed, "repo_enable_statistics"),
        "enable_downloads": _checked(typed, "repo_enable_downloads"),
    }


def _perm_change(db: Session, actor: Actor, repo_id: int, typed: dict[str, str]) -> str:
    name, perm = typed["name"].strip(), typed["perm"]
    repos.find(db, actor, repo_id, Level.ADMIN)
    if typed["holder"] == "user_group":
        if perm == "revoke":
            repoperms.revoke_group_ref(db, actor, repo_id, name)
            return "revoked"
        repoperms.grant_group(db, actor, repo_id, name, perm)
        return "granted"
    if perm == "revoke":
        repoperms.revoke_user_ref(db, repo_id, name, actor.default_user_id)
        return "revoked"
    repoperms.grant_user(db, repo_id, name, perm)
    return "granted"


@repopages.page("settings", "settings:index", methods=("GET", "HEAD", "POST"))
async def settings_page(view: RepoPage) -> Response:
    runtime = view.runtime
    request = view.request
    actor = view.actor
    repo_id = view.repo.repo_id

    def admin_here() -> bool:
        with runtime.database.sessions() as db:
            try:
                repos.find(db, actor, repo_id, Level.ADMIN)
            except NotFound:
                return False
            return True

    if not view.visitor.signed_in or not await pages.blocking(admin_here):
        return pages.hidden(request, view.visitor)
    if request.method != "POST":
        return await _settings_page(view)
    data = await pages.form(request, view.visitor)
    action = pages.field(data, "action")
    address = runtime.client_address(dict(request.scope))
    settings = runtime.settings

    if action == "save":
        typed = {k: pages.field(data, k) for k in SAVE_FIELDS}
        # only a site admin's form has the owner field (the service refuses anyone else an
        # owner, as update_repo does); a form without it leaves the owner as it is
        owner = typed["repo_owner"].strip() if "repo_owner" in data else None
        problem = ""
        if not typed["repo_name"].strip():
            problem = "Name the repository."
        elif owner == "":
            problem = "Name the owner."
        if problem:
            return await _settings_page(view, status=400, error=problem, typed=typed)

        def save(db: Session) -> tuple[str, str]:
            repo = repos.update(db, actor, settings, repo_id, _changes(db, typed, owner))
            return repo.repo_name, "saved"

        work: Callable[[Session], tuple[str, str]] = save
    elif action == "perm":
        perm_typed = {k: pages.field(data, k) for k in ("holder", "name", "perm")}
        if not perm_typed["name"].strip():
            return await _settings_page(
                view, status=400, perm_error="Name a user or a user group.", perm_typed=perm_typed
            )

        def perm(db: Session) -> tuple[str, str]:
            return view.repo.repo_name, _perm_change(db, actor, repo_id, perm_typed)

        try:
            name, done = await _run(runtime, perm)
        except HearthError as exc:
            return await _settings_page(
                view, status=400, perm_error=exc.text, perm_typed=perm_typed
            )
        return pages.redirect(request, view.visitor, f"/{quote(name)}/settings?done={done}#perms")
    elif action in ("lock", "unlock"):

        def lock(db: Session) -> tuple[str, str]:
            repo = repos.find(db, actor, repo_id, Level.ADMIN)
            locks.change(db, repo, actor.user_id, action == "lock")
            return repo.repo_name, action + "ed"

        work = lock
    elif action == "invalidate":

        def invalidate(db: Session) -> tuple[str, str]:
            return repos.invalidate(db, actor, settings, repo_id).repo_name, "invalidated"

        work = invalidate
    elif action == "pull":

        def pull(db: Session) -> tuple[str, str]:
            repo = remote.pull(db, actor, settings, repo_id, client_ip=address)
            return repo.repo_name, "pulled"

        work = pull
    elif action == "delete":
        forks = pages.field(data, "forks")

        def remove(db: Session) -> tuple[str, str]:
            repos.delete(db, actor, settings, repo_id, forks, client_ip=address)
            return "", "deleted"

        try:
            await _run(runtime, remove)
        except HearthError as exc:
            return await _settings_page(view, status=409, error=exc.text)
        return pages.redirect(request, view.visitor, "/")
    else:
        return await _settings_page(view, status=400, error="Unknown action.")
    try:
        name, done = await _run(runtime, work)
    except HearthError as exc:
        kept = {k: pages.field(data, k) for k in SAVE_FIELDS} if action == "save" else None
        return await _settings_page(view, status=400, error=exc.text, typed=kept)
    return pages.redirect(request, view.visitor, f"/{quote(name)}/settings?done={done}")


FORK_FIELDS = ("fork_name", "repo_group", "description", "private", "copy_permissions")


async def _fork_page(
    view: RepoPage, typed: dict[str, str], *, status: int = 200, error: str = ""
) -> Response:
    runtime = view.runtime

    def load() -> list[dict[str, Any]]:
        with runtime.database.sessions() as db:
            return _writable_groups(db, view.actor)

    groups = await pages.blocking(load)
    return view.render(
        "repo_fork.html",
        status=status,
        typed=typed,
        groups=groups,
        error=error,
        repo_url="/" + quote(view.repo.repo_name),
    )


@repopages.page("fork", "fork:index", methods=("GET", "HEAD", "POST"))
async def fork_page(view: RepoPage) -> Response:
    """Fork this repository (``fork_repo``: the ``hg.fork.repository`` gate, then the service)."""
    runtime = view.runtime
    request = view.request
    actor = view.actor
    if not view.visitor.signed_in:
        return pages.to_login(request, view.visitor)

    def may_fork() -> bool:
        with runtime.database.sessions() as db:
            return has_global(db, actor, "hg.fork.repository")

    if not await pages.blocking(may_fork):
        return pages.forbidden(request, view.visitor, "You may not fork repositories.")
    source = view.repo.repo_name
    if request.method != "POST":
        typed = {k: "" for k in FORK_FIELDS}
        typed["fork_name"] = f"{view.visitor.username}-{source.rpartition('/')[2]}"
        return await _fork_page(view, typed)
    data = await pages.form(request, view.visitor)
    typed = {k: pages.field(data, k) for k in FORK_FIELDS}
    if not typed["fork_name"].strip():
        return await _fork_page(view, typed, status=400, error="Name the fork.")
    address = runtime.client_address(dict(request.scope))

    def make(db: Session) -> tuple[str, str]:
        new = repos.NewFork(
            fork_name=_full_name(db, typed["repo_group"], typed["fork_name"]),
            owner=None,
            description=typed["description"],
            copy_permissions=_checked(typed, "copy_permissions"),
            private=_checked(typed, "private"),
            landing_rev="rev:tip",
        )
        _, made = repos.fork(db, actor, runtime.settings, view.repo.repo_id, new, client_ip=address)
        return made.repo_name, ""

    try:
        name, _ = await _run(runtime, make)
    except HearthError as exc:
        return await _fork_page(view, typed, status=400, error=exc.text)
    return pages.redirect(request, view.visitor, "/" + quote(name))


async def _run(runtime: Runtime, work: Callable[[Session], tuple[str, str]]) -> tuple[str, str]:
    def run() -> tuple[str, str]:
        with runtime.database.transaction(write=True) as db:
            return work(db)

    return await pages.blocking(run)


def routes() -> list[Route]:
    return [
        Route("/_admin/repos/new", pages.page(new_repo), methods=["GET", "HEAD"]),
        Route("/_admin/repos", pages.page(create_repo), methods=["GET", "HEAD", "POST"]),
    ]

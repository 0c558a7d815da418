# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth repo …``: create, list, set the default branch, rescan (with a progress bar), delete.

The commands act as the first admin and call the services the API methods ``create_repo``,
``get_repos``, ``rescan_repos`` and ``delete_repo`` call (``api/methods/repos.py``,
``api/methods/maintenance.py``), so the rules and error texts are the API's; ``--json`` prints the
API's objects. Rescan runs here and now, never through the task queue, so that people can watch it
(``services/rescan.py``, ``web-and-vcs.md`` §7).
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

from hearth.cli.admin_context import acting_admin, connect, fail, settings
from hearth.cli.admin_output import JsonFlag, plain, print_json, show, table, yes
from hearth.config import Settings
from hearth.errors import enum_error
from hearth.services import mirrors, repolisting, repos, rescan
from hearth.services.permissions import Level
from hearth.shapes import repository

repo_app = typer.Typer(
    help="Repositories: create, list, set the default branch, rescan the repository root, delete.",
    no_args_is_help=True,
)

_FORKS = ("detach", "delete")


def base_url(config: Settings) -> str:
    """Where the server is reached: setting ``canonical_url``, else ``host`` and ``port``."""
    if config.canonical_url:
        return config.canonical_url
    host = config.host if config.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{config.port}"


def _last_change(shape: dict[str, Any]) -> str:
    changeset = shape["last_changeset"]
    if changeset["revision"] < 0:
        return "empty"
    return f"{changeset['short_id']} {changeset['date']}"


@repo_app.command("create")
def repo_create(
    name: Annotated[str, typer.Argument(help="Full name (`grp/name`); missing groups are made.")],
    repo_type: Annotated[str, typer.Option("--type", help="git or hg.")],
    owner: Annotated[
        str | None, typer.Option(help="The owner's username (default: the first admin).")
    ] = None,
    description: Annotated[
        str, typer.Option(help="Description (default: the last part of the name).")
    ] = "",
    private: Annotated[
        bool | None,
        typer.Option(
            "--private/--public", help="Visibility (default: setting default_repo_private)."
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create an empty repository, as the API's create_repo does (acting as the first admin)."""
    if repo_type not in repos.REPO_TYPES:
        raise fail(enum_error("--type", repos.REPO_TYPES).text, 2)
    config = settings()
    new = repos.NewRepo(
        repo_name=name,
        owner=owner,
        repo_type=repo_type,
        description=description,
        private=private,
        clone_uri=None,
        landing_rev="rev:tip",
        enable_statistics=None,
        enable_downloads=None,
        copy_permissions=False,
        enable_locking=None,
    )
    with connect(config) as (_database, db):
        repo = repos.create(db, acting_admin(db), config, new)
        shape = repository(repolisting.view(db, repo), base_url(config), admin=True)
        path = repos.path_of(config, repo.repo_name)
    msg = f"Created new repository `{shape['repo_name']}`"
    if json_output:
        print_json({"msg": msg, "success": True, "task": None, "repo": shape})
    else:
        typer.echo(f"{msg} (ID {shape['repo_id']}, {shape['repo_type']}) in {path}")


@repo_app.command("list")
def repo_list(json_output: JsonFlag = False) -> None:
    """List every repository by ID, as the API's get_repos shows them to an admin."""
    config = settings()
    with connect(config) as (database, db):
        views = repolisting.visible(db, acting_admin(db), database.codepoint)
        found = [repository(v, base_url(config), admin=True) for v in views]
    if json_output:
        print_json(found)
        return
    shown = table("ID", "name", "type", "owner", "private", "fork of", "last change", "description")
    for repo in found:
        shown.add_row(
            str(repo["repo_id"]),
            plain(repo["repo_name"]),
            repo["repo_type"],
            plain(repo["owner"]),
            yes(repo["private"]),
            plain(repo["fork_of"] or ""),
            plain(_last_change(repo)),
            plain(repo["description"]),
        )
    show(shown)


@repo_app.command("set-default-branch")
def repo_set_default_branch(
    name: Annotated[str, typer.Argument(help="Full name or ID of a git repository.")],
    branch: Annotated[str, typer.Argument(help="An existing branch.")],
    json_output: JsonFlag = False,
) -> None:
    """Point HEAD (what `git clone` checks out) at BRANCH, as update_repo landing_rev:branch:BRANCH."""
    config = settings()
    with connect(config) as (_database, db):
        repo = repos.set_default_branch(db, acting_admin(db), config, name, branch)
        msg = repos.update_message(repo, {"landing_rev": f"branch:{branch}"})
        shape = repository(repolisting.view(db, repo), base_url(config), admin=True)
    if json_output:
        print_json({"msg": msg, "repository": shape})
    else:
        typer.echo(f"HEAD of `{shape['repo_name']}` now points to branch `{branch}`")


@repo_app.command("rescan")
def repo_rescan(
    remove_obsolete: Annotated[
        bool,
        typer.Option(
            "--remove-obsolete",
            help="Delete the rows of repositories whose directory is gone (never the disk).",
        ),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Register repositories found under the repository root; report (or remove) missing ones."""
    config = settings()
    stderr = Console(stderr=True)
    with (
        connect(config) as (_database, db),
        Progress(
            SpinnerColumn(),
            TextColumn("[bold]rescan[/bold] {task.description}", markup=True),
            BarColumn(),
            TextColumn("{task.fields[counts]}"),
            console=stderr,
            transient=True,
            disable=json_output or not stderr.is_terminal,
        ) as progress,
    ):
        task = progress.add_task(str(config.repos), total=None, counts="")

        def notify(event: str, name: str, counts: rescan.Counts) -> None:
            done, total = counts.stage
            shown = f"{done} directories" if total is None else f"{done}/{total}"
            progress.update(
                task,
                description=f"{counts.phase} {name}",
                completed=done,
                total=total,
                counts=shown,
            )

        result = rescan.rescan(db, config, remove_obsolete=remove_obsolete, progress=notify)
    if json_output:
        lists = asdict(result)
        del lists["invalidated"]  # the command has no --invalidate-caches (the admin page has)
        print_json(lists)
        return
    changes = [
        (event, name)
        for event in ("added", "removed", "obsolete", "skipped")
        for name in getattr(result, event)
    ]
    if changes:
        shown = table("change", "repository")
        for event, name in changes:
            shown.add_row(event, plain(name))
        show(shown)
    typer.echo(
        f"{len(result.added)} added, {len(result.removed)} removed, "
        f"{len(result.obsolete)} obsolete, {len(result.skipped)} skipped."
    )
    if result.obsolete:
        typer.echo(
            "Obsolete repositories have no directory any more; "
            "`hearth repo rescan --remove-obsolete` deletes their rows."
        )
    if result.skipped:
        typer.echo(
            "Skipped directories have names Hearth cannot register (see `hearth repo create`)."
        )


def _confirmed(question: str) -> bool:
    """Ask on stderr, read the answer from stdin (stdout stays for the result); no answer is no."""
    typer.echo(f"{question} [y/N]: ", err=True, nl=False)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        answer = ""
    if not sys.stdin.isatty():  # the answer was not echoed: end the prompt's line
        typer.echo("", err=True)
    return answer.strip().lower() in ("y", "yes")


@repo_app.command("delete")
def repo_delete(
    name: Annotated[str, typer.Argument(help="Full name or ID.")],
    forks: Annotated[
        str | None, typer.Option(help="If it has forks: detach them, or delete them too.")
    ] = None,
    assume_yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Delete a repository, as the API's delete_repo does: the directory is renamed `rm__…`."""
    if forks is not None and forks not in _FORKS:
        raise fail(enum_error("--forks", _FORKS).text, 2)
    config = settings()
    with connect(config) as (_database, db):
        actor = acting_admin(db)
        found = repos.find(db, actor, name, Level.ADMIN)
        if not assume_yes and not _confirmed(f"Delete repository `{found.repo_name}`?"):
            raise fail("nothing deleted (confirm, or pass --yes)")
        deleted, count = repos.delete(db, actor, config, name, forks or "")
    suffix = {"": "", "detach": f" Detached {count} forks", "delete": f" Deleted {count} forks"}
    msg = f"Deleted repository `{deleted}`{suffix[forks or '']}"
    if json_output:
        print_json({"msg": msg, "success": True, "repo_name": deleted, "forks": count})
    else:
        typer.echo(msg)


@repo_app.command("mirror")
def repo_mirror(
    name: Annotated[str, typer.Argument(help="The repository (it needs a clone_uri).")],
    interval: Annotated[
        int | None,
        typer.Option(help="Pull every INTERVAL seconds; 0 stops mirroring. Omit to show."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Show or set the pull interval of a mirror, and its last success, error and duration."""
    config = settings()
    with connect(config) as (_database, db):
        actor = acting_admin(db)
        if interval is not None:
            repo = mirrors.set_interval(db, actor, name, interval)
        else:
            repo = repos.find(db, actor, name, Level.ADMIN)
        shown = {"repo_name": repo.repo_name, "clone_uri": repo.clone_uri, **mirrors.describe(repo)}
    if json_output:
        print_json(shown)
        return
    state = shown["mirror"]
    if state is None:
        typer.echo(f"{shown['repo_name']}: not mirrored")
        return
    typer.echo(f"{shown['repo_name']}: pulled every {shown['pull_interval']} s")
    for label, key in (
        ("last success", "last_success"),
        ("last error", "last_error"),
        ("last error at", "last_error_on"),
        ("duration (s)", "duration"),
        ("next pull", "next_pull"),
    ):
        typer.echo(f"  {label}: {state[key] if state[key] is not None else '-'}")

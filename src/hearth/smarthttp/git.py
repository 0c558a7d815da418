# SPDX-License-Identifier: GPL-3.0-or-later
"""Git smart HTTP on the live server: authorise, relay, book-keep (``web-and-vcs.md`` §3, §5-§7).

:func:`serve` is what the router calls for a git request (``gitproto.parse_git_request`` said
which). It asks ``smarthttp/auth.py`` (401/403/404/423 or go), then relays to ``git upload-pack`` /
``git receive-pack --stateless-rpc`` with ``gitproto.serve_git``.

Locking (§6) is checked on the ref advertisements (``GET info/refs``) and on the push itself;
the ``git-upload-pack`` POSTs that follow an advertisement are exempt, because the lock a pull
takes must not refuse the rest of that same clone (a v2 clone is ``ls-refs`` then ``fetch``; a v0
fetch may negotiate over several POSTs). A successful ``git-upload-pack`` POST is the "successful
pull" after which the lock is taken.

A push runs with Hearth's own ``post-receive`` hook (``services/gitpush.py``, shared with SSH),
which records the updated refs and prints Hearth's messages — that is how the lock holder sees
``Released lock on repo `<repo>``` although the release itself is written after the answer.
After the answer is sent (``serve_git``'s ``on_complete``), the updated refs become the pushed
revisions and ``smarthttp/pushes.py`` does the journal, the last changeset and the lock in a
worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from hearth.db.models import Repository
from hearth.services import locks, repos
from hearth.services.gitpush import hooks_dir, push_env, pushed_revisions, read_updates
from hearth.services.pushes import push_messages
from hearth.smarthttp import auth, gitproto, pushes
from hearth.smarthttp.gitproto import GitRequest, GitResult, Receive, Send

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger(__name__)

Scope = dict[str, Any]


async def serve(
    runtime: Runtime,
    scope: Scope,
    receive: Receive,
    send: Send,
    repo: Repository | None,
    request: GitRequest,
) -> None:
    """Answer one git smart-HTTP request for ``repo`` (None: no such repository)."""
    pull_rpc = request.access == "pull" and not request.advertise
    decision = await auth.authorize(
        runtime, scope, send, repo, request.access, lock_applies=not pull_rpc
    )
    if decision is None:
        return
    assert repo is not None and decision.actor is not None
    actor = decision.actor
    settings = runtime.settings
    path = repos.path_of(settings, repo.repo_name)

    if request.access == "push" and not request.advertise:
        hooks = await run_in_threadpool(hooks_dir, settings.repos)
        fd, log_path = tempfile.mkstemp(prefix="hearth-push-")
        os.close(fd)
        address = runtime.client_address(scope)

        async def after_push(result: GitResult) -> None:
            updates = await run_in_threadpool(read_updates, log_path)
            if not updates:
                return
            revisions = await run_in_threadpool(pushed_revisions, path, updates)
            await pushes.pushed(
                runtime, repo, actor, address, revisions, release_lock=decision.holds_lock
            )

        try:
            await gitproto.serve_git(
                scope,
                receive,
                send,
                path,
                request,
                extra_env=push_env(hooks, log_path, push_messages(repo.repo_name, decision)),
                on_complete=after_push,
            )
        finally:
            with contextlib.suppress(OSError):
                os.unlink(log_path)
        return

    async def after_pull(result: GitResult) -> None:
        if result.ok:
            await pushes.pulled(runtime, repo, actor)

    wants_lock = pull_rpc and locks.may_lock_on_pull(repo, actor)
    await gitproto.serve_git(
        scope, receive, send, path, request, on_complete=after_pull if wants_lock else None
    )

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
revisions (``git rev-list <new> --not <old> <every other ref>``) and ``smarthttp/bookkeeping.py`` does
the journal, the last changeset and the lock in a worker thread (the revisions come from
``services/transfers.py``, which asks ``vcs``).
Just before the last byte of the answer, HEAD is repaired if it names a branch that does not
exist (``services/transfers.py`` ``repair_head``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from hearth.services import locks, repos, transfers
from hearth.services.gitpush import hooks_dir, push_env, read_updates
from hearth.services.lookup import RepoRef
from hearth.services.transfers import push_messages
from hearth.smarthttp import auth, bookkeeping, gitproto
from hearth.smarthttp.gitproto import GitRequest, GitResult

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger(__name__)


async def serve(
    runtime: Runtime,
    scope: Scope,
    receive: Receive,
    send: Send,
    repo: RepoRef | None,
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

        updates: list[tuple[str, str, str]] | None = None

        async def finish(message: Message) -> None:
            # git and its post-receive hook have exited when the last body part comes: HEAD is
            # repaired before the client sees the push end, so its next clone checks out a branch
            nonlocal updates
            last = message["type"] == "http.response.body" and not message.get("more_body")
            if last and updates is None:
                updates = await run_in_threadpool(read_updates, log_path)
                if updates:
                    await run_in_threadpool(transfers.repair_head, settings, repo, updates)
            await send(message)

        async def after_push(result: GitResult) -> None:
            nonlocal updates
            if updates is None:
                updates = await run_in_threadpool(read_updates, log_path)
            if not updates:
                return
            revisions = await run_in_threadpool(
                transfers.pushed_revisions, settings, repo.repo_name, updates
            )
            await bookkeeping.pushed(
                runtime, repo, actor, address, revisions, release_lock=decision.holds_lock
            )

        try:
            await gitproto.serve_git(
                scope,
                receive,
                finish,
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
            await bookkeeping.pulled(runtime, repo, actor)

    wants_lock = pull_rpc and locks.may_lock_on_pull(repo, actor)
    await gitproto.serve_git(
        scope, receive, send, path, request, on_complete=after_pull if wants_lock else None
    )

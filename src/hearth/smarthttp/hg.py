# SPDX-License-Identifier: GPL-3.0-or-later
"""Mercurial over HTTP on the live server: authorise, serve with hgweb, book-keep
(``web-and-vcs.md`` §4-§7).

:func:`serve` is what the router calls for a request ``hgproto.parse_hg_request`` recognised. It
asks ``smarthttp/auth.py`` (401/403/404/423 or go), then runs hgweb for that one repository
(``hgproto.hgweb_app``) with push enabled only when the request is a push that was authorised
for write, and stream clones only when the ``default`` user may read the repository.

Locking (§6) applies to the commands that move changesets — ``getbundle``, ``stream_out``,
``changegroup``, ``changegroupsubset``, ``unbundle``, ``pushkey`` (alone or in a ``batch``);
``capabilities``, ``listkeys``, ``heads``, ``known`` and the rest of a clone's conversation are
exempt, so the lock a ``getbundle`` takes does not refuse the ``listkeys`` that follows it.

Two in-process hooks, installed on the process-wide hgweb host, see each push from inside
Mercurial (they run in hgweb's worker thread, in a copy of the request's context, so a context
variable tells them which request they serve): ``pretxnchangegroup`` prints Hearth's messages
(a 2xx lock warning, ``Released lock on repo `<repo>```; the client shows them as ``remote:``)
and ``changegroup`` collects the new changesets once the transaction is committed. After hgweb
has answered, ``smarthttp/bookkeeping.py`` does the journal, the last changeset and the lock.
"""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.types import Message, Receive, Scope, Send

from hearth.services import repos
from hearth.services.lookup import RepoRef
from hearth.services.transfers import push_messages
from hearth.smarthttp import auth, bookkeeping, hgproto
from hearth.smarthttp.hgproto import HgRequest

if TYPE_CHECKING:
    from hearth.runtime import Runtime

log = logging.getLogger(__name__)


#: Commands that transfer or change changesets: subject to locks (everything else is exempt).
LOCKED_COMMANDS = frozenset(
    {"getbundle", "stream_out", "changegroup", "changegroupsubset", "unbundle", "pushkey"}
)
#: The pull commands after which a successful answer counts as "a pull" (and may take the lock).
PULL_COMMANDS = frozenset({"getbundle", "stream_out", "changegroup", "changegroupsubset"})


@dataclass
class _PushState:
    """Shared between :func:`serve` and the hooks of one push request."""

    message: str
    revisions: list[str] = field(default_factory=list)
    changed: bool = False


_PUSH: contextvars.ContextVar[_PushState | None] = contextvars.ContextVar(
    "hearth_hg_push", default=None
)


def _show_messages(ui: Any, repo: Any, **kwargs: Any) -> bool:
    """``pretxnchangegroup``: print Hearth's messages for this push (shown as ``remote:``)."""
    state = _PUSH.get()
    if state is not None and state.message:
        ui.status(state.message.encode("utf-8") + b"\n")
    return False  # success


def _collect(ui: Any, repo: Any, node: bytes | None = None, **kwargs: Any) -> bool:
    """``changegroup``: remember the changesets the push added (committed by now)."""
    state = _PUSH.get()
    if state is None or not node:
        return False
    first = repo.unfiltered()[node].rev()
    changelog = repo.unfiltered().changelog
    last_node = kwargs.get("node_last") or node
    last = repo.unfiltered()[last_node].rev()
    state.revisions.extend(changelog.node(rev).hex() for rev in range(first, last + 1))
    state.changed = True
    return False


def install_hooks(host: hgproto.HgWebHost) -> None:
    host.hooks[b"pretxnchangegroup.hearth"] = _show_messages
    host.hooks[b"changegroup.hearth"] = _collect


install_hooks(hgproto.default_host())


def _commands(request: HgRequest) -> set[str]:
    return {c for c in (request.cmd, *request.batch) if c}


async def serve(
    runtime: Runtime,
    scope: Scope,
    receive: Receive,
    send: Send,
    repo: RepoRef | None,
    request: HgRequest,
    path: str,
) -> None:
    """Answer one Mercurial wire-protocol request; ``path`` is the URL path that named ``repo``
    (no leading ``/``), the prefix hgweb builds its URLs on."""
    commands = _commands(request)
    lock_applies = request.access == "push" or bool(commands & LOCKED_COMMANDS)
    decision = await auth.authorize(
        runtime, scope, send, repo, request.access, lock_applies=lock_applies
    )
    if decision is None:
        return
    assert repo is not None and decision.actor is not None
    actor = decision.actor
    push = request.access == "push"
    app = hgproto.hgweb_app(
        repos.path_of(runtime.settings, repo.repo_name),
        allow_push=push,
        stream_clones=decision.public,
        push_user=None if actor.is_anonymous else actor.username,
        repo_name=repo.repo_name,
        url_prefix=path,
    )
    status = 0

    async def tracked(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    if not push:
        await app(scope, receive, tracked)
        if status == 200 and commands & PULL_COMMANDS:
            await bookkeeping.pulled(runtime, repo, actor)
        return

    state = _PushState(push_messages(repo.repo_name, decision))
    token = _PUSH.set(state)
    try:
        await app(scope, receive, tracked)
    finally:
        _PUSH.reset(token)
    if state.changed:
        address = runtime.client_address(scope)
        await bookkeeping.pushed(
            runtime, repo, actor, address, state.revisions, release_lock=decision.holds_lock
        )

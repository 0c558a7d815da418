# SPDX-License-Identifier: GPL-3.0-or-later
"""Clone and push over SSH: which command runs, for whom, and what happens after (issue 16).

Both SSH edges — ``hearth ssh-serve KEY_ID`` (OpenSSH's forced command, ``cli/admin_ssh.py``)
and the built-in server (``ssh/server.py``) — hand the client's command line to
:func:`prepare` and run the :class:`Plan` it returns, then call :func:`finish`. So the rules live
once, here and in the services they call:

* **the command** (:func:`parse_command`): only ``git-upload-pack '<repo>'``,
  ``git-receive-pack '<repo>'`` and ``hg -R <repo> serve --stdio``, split like a POSIX shell
  would but never given to one; any other word, option or command is refused, and the
  repository is looked up by name in the database (``lookup.repository_by_path``, as the HTTP
  router does), so the path run is always ``<repos>/<name>`` — never the client's text;
* **who and whether** (:func:`prepare`): the key's user (``sshkeys.owner``: removed keys and
  inactive users are refused), then ``vcsauth.decide_user`` — the same IP rules, read/write
  levels and locks as smart HTTP. A repository the user may not read gets the same answer as a
  missing one;
* **after** (:func:`finish`): ``transfers.after_push`` (journal, ``last_changeset``, lock release)
  with the revisions the push brought, and ``transfers.after_pull`` (the pull-to-lock rule).

git runs as ``git upload-pack <path>`` / ``git receive-pack <path>`` with Hearth's hooks
(``services/gitpush.py``, as over HTTP). An hg session is one Mercurial SSH server (what
``hg serve --stdio`` runs, started by ``ssh/hgserve.py``) that may pull
and push, so it is authorised for reading, and the push and lock rules are enforced inside hg by
the hooks of ``ssh/hgserve.py``, told through the environment what is allowed: push refused
(``HEARTH_PUSH_REFUSAL``: no write access, or another user's lock), pull refused
(``HEARTH_PULL_REFUSAL``: locked), the messages a push shows; they write what happened (pulled,
pushed revisions) to ``HEARTH_PUSH_LOG``.

Refusals are :class:`Refused` with the text the client prints; nothing is run then.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from hearth.config import Settings
from hearth.db.models import User
from hearth.errors import TEXTS
from hearth.services import gitpush, heads, locks, lookup, repos, sshkeys, transfers, vcsauth
from hearth.services.permissions import Actor
from hearth.services.vcsauth import Decision, Outcome

Service = Literal["git-upload-pack", "git-receive-pack", "hg"]

HG_SERVER = "hearth.ssh.hgserve"
"""The module that runs Mercurial's SSH server with Hearth's hooks (started as a child, never
imported here)."""


class Refused(Exception):
    """The session is refused; ``str()`` is what the client is shown."""


@dataclass(frozen=True)
class SshCommand:
    service: Service
    path: str
    """The repository as the client named it, without a leading ``/``."""

    @property
    def repo_type(self) -> str:
        return "hg" if self.service == "hg" else "git"


def parse_command(text: str | None) -> SshCommand:
    """The command a client asked for; :class:`Refused` for anything else.

    git sends ``git-upload-pack '/repo'`` (``ssh://`` URLs) or ``'repo'`` (``host:repo``), hg
    ``hg -R repo serve --stdio``.
    """
    bad = Refused(TEXTS["ssh_bad_command"])
    if not text or len(text) > 4096 or any(c in text for c in "\0\n\r"):
        raise bad
    try:
        words = shlex.split(text, comments=False, posix=True)
    except ValueError:
        raise bad from None
    if len(words) == 2 and words[0] in ("git-upload-pack", "git-receive-pack"):
        service: Service = (
            "git-upload-pack" if words[0] == "git-upload-pack" else "git-receive-pack"
        )
        path = words[1]
    elif (
        len(words) == 5
        and words[0] == "hg"
        and words[1] == "-R"
        and words[3:]
        == [
            "serve",
            "--stdio",
        ]
    ):
        service, path = "hg", words[2]
    else:
        raise bad
    path = path.lstrip("/")
    if path.endswith("/"):
        path = path.rstrip("/")
    if not path or path.startswith("-") or path.startswith("~"):
        raise bad
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise Refused(TEXTS["vcs_repo_not_found"])
    return SshCommand(service, path)


@dataclass
class Plan:
    """What an SSH edge runs for one session, and what :func:`finish` needs afterwards."""

    argv: list[str]
    env: dict[str, str]
    service: Service
    repo_id: int
    repo_name: str
    actor: Actor
    address: str
    release_lock: bool = False
    log_path: str | None = None
    may_lock: bool = False
    """A successful pull may take the lock (``enable_locking``, unlocked, not anonymous)."""
    notices: list[str] = field(default_factory=list)
    """Lines shown on the client's stderr before the command runs (a 2xx lock warning)."""


def _refusal(decision: Decision) -> Refused:
    texts = {
        Outcome.FORBIDDEN: TEXTS["vcs_forbidden"],
        Outcome.NOT_FOUND: TEXTS["vcs_repo_not_found"],
        Outcome.PUSH_DENIED: TEXTS["vcs_push_denied"],
        Outcome.LOCKED: decision.lock.message or "",
    }
    return Refused(texts.get(decision.outcome, TEXTS["vcs_forbidden"]))


def _push_log() -> str:
    fd, path = tempfile.mkstemp(prefix="hearth-ssh-push-")
    os.close(fd)
    return path


def prepare(
    db: Session,
    settings: Settings,
    *,
    key_id: int,
    command: str | None,
    address: str,
    default_user_id: int,
    git_protocol: str | None = None,
) -> Plan:
    """Authorise one SSH session of key ``key_id``; the plan to run, or :class:`Refused`.

    Records the key's last use. The caller's session commits it.
    """
    owner = sshkeys.owner(db, key_id)
    if owner is None:
        raise Refused("Permission denied (publickey)")
    parsed = parse_command(command)
    user = db.get(User, owner.user_id)
    assert user is not None
    sshkeys.touch(db, key_id)
    found = lookup.ref_by_path(db, parsed.path)
    repo = found[0] if found is not None and found[1] == "" else None
    if repo is not None and repo.repo_type != parsed.repo_type:
        repo = None  # `git-upload-pack` of an hg repository: as missing

    def decide(access: vcsauth.Access, lock_applies: bool) -> Decision:
        return vcsauth.decide_user(
            db,
            repo=repo,
            access=access,
            user=user,
            address=address,
            default_user_id=default_user_id,
            lock_applies=lock_applies,
            lock_ret_code=settings.lock_ret_code,
        )

    if parsed.service != "hg":
        access: vcsauth.Access = "push" if parsed.service == "git-receive-pack" else "pull"
        decision = decide(access, True)
        if not decision.served:
            raise _refusal(decision)
        assert repo is not None and decision.actor is not None
        return _git_plan(settings, parsed.service, repo, decision, address, git_protocol)
    decision = decide("pull", False)
    if not decision.served:
        raise _refusal(decision)
    assert repo is not None and decision.actor is not None
    return _hg_plan(db, settings, repo, decision, decide("push", True), address)


def _git_plan(
    settings: Settings,
    service: Service,
    repo: lookup.RepoRef,
    decision: Decision,
    address: str,
    git_protocol: str | None,
) -> Plan:
    assert decision.actor is not None
    path = repos.path_of(settings, repo.repo_name)
    plan = Plan(
        argv=[],
        env={},
        service=service,
        repo_id=repo.repo_id,
        repo_name=repo.repo_name,
        actor=decision.actor,
        address=address,
    )
    if decision.lock.locked and decision.lock.message and service == "git-upload-pack":
        plan.notices.append(decision.lock.message)  # a 2xx lock_ret_code: shown, then served
    extra: dict[str, str] = {}
    if service == "git-receive-pack":
        plan.log_path = _push_log()
        plan.release_lock = decision.holds_lock
        hooks = gitpush.hooks_dir(settings.repos)
        extra = gitpush.push_env(
            hooks, plan.log_path, transfers.push_messages(repo.repo_name, decision)
        )
        plan.argv = [settings.git_path, "receive-pack", str(path)]
    else:
        plan.may_lock = locks.may_lock_on_pull(repo, decision.actor)
        plan.argv = [settings.git_path, "upload-pack", "--strict", str(path)]
    plan.env = gitpush.child_env(git_protocol, extra)
    return plan


def _hg_plan(
    db: Session,
    settings: Settings,
    repo: lookup.RepoRef,
    decision: Decision,
    push: Decision,
    address: str,
) -> Plan:
    actor = decision.actor
    assert actor is not None
    path = repos.path_of(settings, repo.repo_name)
    pull_lock = locks.check_pull(db, repo, actor, ret_code=settings.lock_ret_code)
    log_path = _push_log()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        {
            "HEARTH_PUSH_LOG": log_path,
            "HEARTH_PUSH_REFUSAL": "" if push.served else str(_refusal(push)),
            "HEARTH_PULL_REFUSAL": (pull_lock.message or "") if pull_lock.refused else "",
            "HEARTH_PUSH_MESSAGE": transfers.push_messages(repo.repo_name, push)
            if push.served
            else "",
            "HGPLAIN": "1",
        }
    )
    public = vcsauth.default_may_read(db, repo, actor.default_user_id, address)
    # stream clones copy the store as is: only for what anonymous users may read anyway, as
    # over HTTP, and never past a pull lock
    env["HEARTH_HG_STREAM"] = "1" if public and not pull_lock.refused else "0"
    argv = [sys.executable, "-m", HG_SERVER, str(path)]
    plan = Plan(
        argv=argv,
        env=env,
        service="hg",
        repo_id=repo.repo_id,
        repo_name=repo.repo_name,
        actor=actor,
        address=address,
        release_lock=push.holds_lock,
        log_path=log_path,
        may_lock=locks.may_lock_on_pull(repo, actor),
    )
    if pull_lock.locked and not pull_lock.refused and pull_lock.message:
        plan.notices.append(pull_lock.message)
    return plan


@dataclass(frozen=True)
class HgResult:
    """What one ``hg serve --stdio`` session did, as its hooks recorded it."""

    pulled: bool
    revisions: tuple[str, ...]
    changed: bool


def _hg_log(log_path: str) -> HgResult:
    """What the hg hooks wrote: ``pull`` lines, and ``push <node>`` lines oldest first."""
    try:
        text = Path(log_path).read_text("ascii", errors="replace")
    except OSError:
        text = ""
    pulled = False
    revisions: list[str] = []
    changed = False
    for line in text.splitlines():
        word, _, rest = line.partition(" ")
        if word == "pull":
            pulled = True
        elif word == "push":
            changed = True
            revisions.extend(rest.split())
    return HgResult(pulled, tuple(revisions), changed)


def finish(db: Session, settings: Settings, plan: Plan, returncode: int) -> str | None:
    """The bookkeeping after the command exited: journal, cache and lock after a push, the
    pull-to-lock rule after a clone/pull. Returns the lock-release message, if any."""
    try:
        if plan.service == "git-upload-pack":
            if returncode == 0 and plan.may_lock:
                transfers.after_pull(db, plan.repo_id, plan.actor)
            return None
        if plan.service == "git-receive-pack":
            assert plan.log_path is not None
            updates = gitpush.read_updates(plan.log_path)
            if not updates:
                return None
            path = repos.path_of(settings, plan.repo_name)
            # as over HTTP: a HEAD naming a missing branch moves to one the push brought
            heads.repair(path, "git", settings.default_branch, heads.pushed_branches(updates))
            revisions = gitpush.pushed_revisions(path, updates)
            changed = True
            pulled = False
        else:
            assert plan.log_path is not None
            result = _hg_log(plan.log_path)
            revisions, changed, pulled = list(result.revisions), result.changed, result.pulled
        released = None
        if changed:
            push = transfers.Push(
                plan.repo_id, plan.actor, plan.address, tuple(revisions), plan.release_lock
            )
            released = transfers.after_push(db, settings, push)
        elif pulled and plan.may_lock:
            transfers.after_pull(db, plan.repo_id, plan.actor)
        return released
    finally:
        discard(plan)


def discard(plan: Plan) -> None:
    """Remove the plan's temporary file (also when the command never ran)."""
    if plan.log_path:
        with contextlib.suppress(OSError):
            os.unlink(plan.log_path)

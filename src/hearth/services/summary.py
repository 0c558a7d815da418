# SPDX-License-Identifier: GPL-3.0-or-later
"""A repository's summary page: its facts, the latest changesets, its branches, tags and
bookmarks, its README, its followers; and following or unfollowing it.

Read access is checked here again (``services/repos.py`` ``find`` → ``services/permissions.py``):
a caller that forgot cannot leak a hidden repository. The README is returned as text; turning
Markdown into safe HTML is the page's job (``web/markup.py``).

Everything here blocks (database, disk): callers run it in a worker thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.config import Settings
from hearth.db.models import Follower, Repository, User
from hearth.errors import Forbidden
from hearth.services import journal, repos
from hearth.services.permissions import Actor

#: README names tried at the top of the tree, in this order
README_NAMES = (
    "README.md",
    "readme.md",
    "Readme.md",
    "README.markdown",
    "README.rst",
    "README.txt",
    "README",
    "readme.txt",
    "readme",
)
README_MAX_BYTES = 512 * 1024
LATEST = 10


@dataclass(frozen=True)
class Readme:
    path: str
    text: str
    markdown: bool
    truncated: bool


@dataclass(frozen=True)
class Summary:
    repo_id: int
    name: str
    repo_type: str
    description: str
    private: bool
    owner: str
    fork_of: str | None
    created_on: datetime
    enable_downloads: bool
    followers: int
    following: bool
    latest: list[vcs.Changeset]
    refs: vcs.Refs
    readme: Readme | None
    tip: vcs.Changeset | None  # None: empty repository


def _readme(handle: vcs.Repo, raw_id: str) -> Readme | None:
    for name in README_NAMES:
        try:
            if handle.path_kind(raw_id, name) != "file":
                continue
            info = handle.file_info(raw_id, name)
            if info.binary:
                continue
            data = handle.file(raw_id, name)
        except vcs.VcsError:
            continue
        truncated = len(data) > README_MAX_BYTES
        text = data[:README_MAX_BYTES].decode("utf-8", "replace")
        markdown = name.lower().endswith((".md", ".markdown"))
        return Readme(name, text, markdown, truncated)
    return None


def _latest(handle: vcs.Repo, limit: int) -> list[vcs.Changeset]:
    """The last ``limit`` changesets by revision number, newest first."""
    found: list[vcs.Changeset] = []
    number = handle.last_changeset().revision
    while number >= 0 and len(found) < limit:
        try:
            changeset = handle.changeset(str(number))
        except vcs.ChangesetNotFound:  # hg: a hidden revision number
            changeset = None
        if changeset is not None and changeset.revision == number:
            found.append(changeset)
        number -= 1
    return found


_CACHE_SIZE = 256
_cache: OrderedDict[tuple[object, ...], tuple[list[vcs.Changeset], Readme | None]] = OrderedDict()
_cache_lock = threading.Lock()


def _from_disk(
    path: str, repo_type: str, latest: int
) -> tuple[vcs.Changeset | None, list[vcs.Changeset], vcs.Refs, Readme | None]:
    """What the summary reads from disk. The latest changesets and the README are cached by
    what decides them — the tip and every branch, tag and bookmark — so a push shows at once
    and the visits between pushes only read the tip and the refs."""
    try:
        with vcs.open_repo(path, repo_type) as handle:
            last = handle.last_changeset()
            if last.revision < 0:
                return None, [], vcs.Refs(), None
            refs = handle.refs()
            key = (
                path,
                last.raw_id,
                latest,
                *(tuple(sorted(names.items())) for names in (refs.branches, refs.tags)),
                tuple(sorted(refs.bookmarks.items())),
            )
            with _cache_lock:
                found = _cache.get(key)
                if found is not None:
                    _cache.move_to_end(key)
            if found is None:
                found = (_latest(handle, latest), _readme(handle, last.raw_id))
                with _cache_lock:
                    _cache[key] = found
                    while len(_cache) > _CACHE_SIZE:
                        _cache.popitem(last=False)
            return last, found[0], refs, found[1]
    except vcs.RepositoryNotFound:
        return None, [], vcs.Refs(), None  # the directory is gone: an empty repository


def summary(
    db: Session, settings: Settings, actor: Actor, repo_id: int, *, latest: int = LATEST
) -> Summary:
    repo = repos.find(db, actor, repo_id)
    owner = db.scalar(select(User.username).where(User.user_id == repo.owner_id)) or ""
    fork_of = None
    if repo.fork_id is not None:
        fork_of = db.scalar(select(Repository.repo_name).where(Repository.repo_id == repo.fork_id))
    followers = int(
        db.scalar(select(func.count()).select_from(Follower).where(Follower.repo_id == repo_id))
        or 0
    )
    following = not actor.is_anonymous and (
        db.scalar(
            select(Follower.row_id).where(
                Follower.repo_id == repo_id, Follower.user_id == actor.user_id
            )
        )
        is not None
    )
    path = str(repos.path_of(settings, repo.repo_name))
    tip, changesets, refs, readme = _from_disk(path, repo.repo_type, latest)
    return Summary(
        repo_id=repo.repo_id,
        name=repo.repo_name,
        repo_type=repo.repo_type,
        description=repo.description or "",
        private=bool(repo.private),
        owner=owner,
        fork_of=fork_of,
        created_on=repo.created_on,
        enable_downloads=bool(repo.enable_downloads),
        followers=followers,
        following=following,
        latest=changesets,
        refs=refs,
        readme=readme,
        tip=tip,
    )


def set_following(db: Session, actor: Actor, repo_id: int, follow: bool, ip: str = "") -> str:
    """Follow or stop following a repository the actor may read; its name. Following twice
    changes nothing. The anonymous user follows nothing."""
    if actor.is_anonymous:
        raise Forbidden("web_login_required")
    repo = repos.find(db, actor, repo_id)
    row = db.scalar(
        select(Follower.row_id).where(
            Follower.repo_id == repo_id, Follower.user_id == actor.user_id
        )
    )
    if follow == (row is not None):
        return repo.repo_name
    if follow:
        repos.follow(db, repo_id, actor.user_id)
    else:
        db.execute(delete(Follower).where(Follower.row_id == row))
    journal.record(
        db,
        user_id=actor.user_id,
        username=actor.username,
        action="started_following_repo" if follow else "stopped_following_repo",
        repo_id=repo.repo_id,
        repo_name=repo.repo_name,
        ip_addr=ip,
    )
    return repo.repo_name

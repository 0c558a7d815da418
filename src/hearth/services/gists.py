# SPDX-License-Identifier: GPL-3.0-or-later
"""Gists (``methods.md`` §7): a row plus a Mercurial repository holding one commit of the files.

The repository is ``<repos root>/.rc_gist_store/<access_id>`` (``web-and-vcs.md`` §1). A public
gist's ``access_id`` is its id as text; a private gist's is 20 random letters and digits and is the
only way to reach it. Expired gists behave as missing everywhere (reading, listing, deleting) and
are removed by :func:`purge_expired`, which ``hearth admin purge-gists`` runs.

Nothing is half-created: the row is written first (its id names a public gist) and the repository
last; a failure while writing it removes the directory, and an undo hook (``db/undo.py``)
removes it when the transaction does not commit. Deleting flushes the row's deletion, then takes the
directory away (renamed aside, then removed); when that fails the whole deletion is rolled back.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import string
import time
import unicodedata
from collections.abc import Mapping
from datetime import UTC
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.clock import now_utc
from hearth.db import undo
from hearth.db.models import Gist, User
from hearth.errors import Failed, Forbidden, Invalid, NotFound, enum_error
from hearth.services import lookup
from hearth.services.lookup import as_id
from hearth.services.permissions import Actor
from hearth.vcs.base import check_commit_path

log = logging.getLogger("hearth.gists")

STORE = ".rc_gist_store"
PUBLIC, PRIVATE = "public", "private"
GIST_TYPES = (PUBLIC, PRIVATE)
ACL_LEVELS = ("acl_public", "acl_private")
NEVER = -1.0  # ``expires`` of a gist that never expires
LIFETIME_MAX = 1_000_000_000  # minutes (~1900 years): keeps ``expires`` a sane finite float
NAME_MAX = 255
ACCESS_ID_LENGTH = 20
_ACCESS_ALPHABET = string.ascii_letters + string.digits
_ACCESS_ID = re.compile(r"[A-Za-z0-9]+")
# files Mercurial reads from a changeset's own tree: a gist must not smuggle tags or subrepositories
_HG_RESERVED = frozenset({".hgtags", ".hgsub", ".hgsubstate"})


# --- where and when ---------------------------------------------------------------------------


def path_of(repos_root: Path, access_id: str) -> Path:
    """The gist's repository directory. ``access_id`` is letters and digits only, always."""
    if not _ACCESS_ID.fullmatch(access_id):
        raise ValueError(f"not a gist access id: {access_id!r}")
    return Path(repos_root) / STORE / access_id


def is_live(gist: Gist, now: float | None = None) -> bool:
    """False once the gist has expired (``expires`` passed); ``-1.0`` never expires."""
    moment = time.time() if now is None else now
    return gist.expires == NEVER or gist.expires > moment


def _live(now: float) -> Any:
    return or_(Gist.expires == NEVER, Gist.expires > now)


# --- reading ----------------------------------------------------------------------------------


def find(db: Session, actor: Actor, ref: int | str, *, manage: bool = False) -> Gist:
    """The gist ``ref`` names, if the actor may see it (``manage``: may delete it).

    ``ref`` is an ``access_id``; a public gist's id (int or digits) works too, a private gist is
    reached by its ``access_id`` only. Admins and the owner see the gist; anyone else only a public
    one, and never for ``manage``. Hidden, expired and missing gists all answer "does not exist".
    """
    gist = lookup.gist(db, ref)
    visible = (
        (gist.access_id == str(ref) or gist.gist_type == PUBLIC)
        and is_live(gist)
        and (
            actor.admin
            or gist.owner_id == actor.user_id
            or (not manage and gist.gist_type == PUBLIC)
        )
    )
    if not visible:
        raise NotFound("gist_not_found", x=ref)
    return gist


def owned_by(db: Session, user_id: int) -> list[Gist]:
    """The user's live gists, newest first (``get_gists``)."""
    query = (
        select(Gist)
        .where(Gist.owner_id == user_id, _live(time.time()))
        .order_by(Gist.created_on.desc(), Gist.gist_id.desc())
    )
    return list(db.scalars(query))


def public(db: Session, limit: int = 100) -> list[Gist]:
    """The newest live public gists (the gists page)."""
    query = (
        select(Gist)
        .where(Gist.gist_type == PUBLIC, _live(time.time()))
        .order_by(Gist.created_on.desc(), Gist.gist_id.desc())
        .limit(limit)
    )
    return list(db.scalars(query))


def contents(repos_root: Path, gist: Gist) -> dict[str, str]:
    """``{filename: text}`` read back from the gist's repository, at its last changeset."""
    try:
        with vcs.open_repo(str(path_of(repos_root, gist.access_id)), "hg") as repo:
            if repo.is_empty():
                return {}
            tip = repo.last_changeset().raw_id
            _dirs, files = repo.nodes(tip)
            return {
                node.path: repo.file(tip, node.path).decode("utf-8", "replace") for node in files
            }
    except (vcs.VcsError, OSError) as exc:
        log.warning("cannot read gist %s", gist.access_id, exc_info=True)
        raise Failed("gist_read_failed", x=gist.access_id) from exc


# --- creating ---------------------------------------------------------------------------------


def _names_self(actor: Actor, ref: int | str) -> bool:
    return as_id(ref) == actor.user_id or ref == actor.username


def _expires(lifetime: int, now: float) -> float:
    """``-1`` never expires; otherwise 1 to ``LIFETIME_MAX`` minutes from now. ``0`` and other
    negative values are refused: a gist that is missing the moment it is made helps nobody."""
    if lifetime == -1:
        return NEVER
    if not 1 <= lifetime <= LIFETIME_MAX:
        raise Invalid(
            "invalid_value",
            arg="lifetime",
            kind=f"-1 (never expires) or a number of minutes from 1 to {LIFETIME_MAX}",
            json=lifetime,
        )
    return now + lifetime * 60.0


def filename_problem(name: str) -> str | None:
    """Why ``name`` cannot name a gist file, or None when it can."""
    if not 1 <= len(name) <= NAME_MAX:
        return "a file name must be 1 to 255 characters"
    if "/" in name or name in (".", ".."):
        return "a file name must not contain `/` or be `.` or `..`"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "control characters are not allowed"
    if name.lower() in _HG_RESERVED:
        return "reserved by Mercurial"
    try:
        check_commit_path(name)
    except vcs.VcsError as exc:
        return str(exc)
    return None


def _files(files: Mapping[str, Any]) -> dict[str, bytes]:
    """``{name: {"content": str}}`` → ``{name: UTF-8 bytes}``; ``ValueError`` saying what is wrong.

    Other keys beside ``content`` (RhodeCode's ``lexer``) are ignored."""
    if not files:
        raise ValueError("no files")
    out: dict[str, bytes] = {}
    for name, spec in files.items():
        problem = filename_problem(name)
        if problem is not None:
            raise ValueError(f"{name!r}: {problem}")
        if not isinstance(spec, dict) or not isinstance(spec.get("content"), str):
            raise ValueError(f"{name!r}: expected {{'content': <text>}}")
        out[name] = spec["content"].encode("utf-8")  # lone surrogates: UnicodeEncodeError
    return out


def author_of(user: User) -> str:
    """``First Last <email>``, the username standing in for a missing name."""
    name = f"{user.firstname or ''} {user.lastname or ''}".strip() or user.username
    return f"{name} <{user.email}>" if user.email else name


def _commit_message(names: list[str]) -> str:
    """Kallithea's message for a new gist: ``added file: a`` / ``added files: a, b``."""
    return ("added files: " if len(names) > 1 else "added file: ") + ", ".join(names)


def _new_access_id() -> str:
    return "".join(secrets.choice(_ACCESS_ALPHABET) for _ in range(ACCESS_ID_LENGTH))


def create(
    db: Session,
    actor: Actor,
    repos_root: Path,
    *,
    files: Mapping[str, Any],
    owner: int | str | None,
    gist_type: str,
    lifetime: int,
    description: str,
    acl_level: str,
) -> Gist:
    """A new gist; checks in the order of ``methods.md`` §7 (``lifetime`` after ``acl_level``)."""
    if owner is not None and not actor.admin and not _names_self(actor, owner):
        raise Forbidden("only_admin_owner")
    if gist_type not in GIST_TYPES:
        raise enum_error("gist_type", GIST_TYPES)
    if acl_level not in ACL_LEVELS:
        raise enum_error("acl_level", ACL_LEVELS)
    created = now_utc()
    epoch = created.replace(tzinfo=UTC).timestamp()
    expires = _expires(lifetime, epoch)
    user = lookup.user(db, actor.user_id if owner is None else owner)
    failure = Failed("gist_create_failed")
    try:
        contents_ = _files(files)
    except (ValueError, UnicodeEncodeError) as exc:
        log.info("create_gist refused: %s", exc)
        raise failure from None

    private = gist_type == PRIVATE
    gist = Gist(
        # a public gist's access_id is its id, known after the insert: a placeholder until then
        access_id=_new_access_id() if private else f"new-{secrets.token_hex(16)}",
        gist_type=gist_type,
        description=description,
        owner_id=user.user_id,
        expires=expires,
        acl_level=acl_level,
        created_on=created,
        modified_at=created,
    )
    try:
        with db.begin_nested():
            db.add(gist)
            db.flush()
            if not private:
                gist.access_id = str(gist.gist_id)
                db.flush()
    except SQLAlchemyError as exc:
        log.warning("create_gist: database write failed", exc_info=True)
        raise failure from exc

    _write_repository(
        db,
        path_of(repos_root, gist.access_id),
        contents_,
        author=author_of(user),
        message=_commit_message(list(contents_)),
        date=epoch,
        failure=failure,
    )
    return gist


def _write_repository(
    db: Session,
    target: Path,
    files: dict[str, bytes],
    *,
    author: str,
    message: str,
    date: float,
    failure: Failed,
) -> None:
    """Make the repository with its one commit; gone again if anything fails, now or at commit."""
    if os.path.lexists(target):
        # Only an operation that died between writing here and committing leaves a directory at
        # an access_id whose row this transaction holds (SQLite hands out a rolled-back id again).
        # The store is Hearth's alone: replace the orphan rather than refuse that id forever.
        log.warning("replacing orphaned gist directory %s", target)
        try:
            _remove_tree(target)
        except OSError as exc:
            raise failure from exc
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        vcs.create(str(target), "hg")
        _commit(str(target), files, author=author, message=message, date=date)
    except (vcs.VcsError, OSError) as exc:
        log.warning("create_gist: writing %s failed", target, exc_info=True)
        shutil.rmtree(target, ignore_errors=True)
        raise failure from exc
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    undo.on_rollback(db, lambda: shutil.rmtree(target, ignore_errors=True))


def _commit(path: str, files: dict[str, bytes], *, author: str, message: str, date: float) -> None:
    from hearth.vcs import hg  # the backend loads Mercurial; only gists need it here

    hg.commit_files(path, files, author=author, message=message, date=date)


# --- deleting ---------------------------------------------------------------------------------


def _remove_tree(path: Path) -> None:
    """Take ``path`` away: renamed aside at once (nothing changes if that fails), then removed.
    If the removal fails, what is left is put back and the error raised. Missing: nothing to do."""
    aside = path.with_name(f"rm__{secrets.token_hex(8)}__{path.name}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    try:
        shutil.rmtree(aside)
    except OSError:
        try:
            os.rename(aside, path)
        except OSError:
            log.exception("could not put back %s as %s", aside, path)
        raise


def delete(db: Session, actor: Actor, repos_root: Path, ref: int | str) -> str:
    """Delete a gist the actor owns (admins: any); returns its ``access_id``.

    The row's deletion is flushed first, then the directory is removed; a missing directory is
    not an error (the row still goes). Any failure rolls the deletion back.
    """
    gist = find(db, actor, ref, manage=True)
    access_id = gist.access_id
    failure = Failed("gist_delete_failed", x=access_id)
    try:
        with db.begin_nested():
            db.delete(gist)
            db.flush()
    except SQLAlchemyError as exc:
        log.warning("delete_gist: database write failed", exc_info=True)
        raise failure from exc
    try:
        _remove_tree(path_of(repos_root, access_id))
    except OSError as exc:
        log.warning("delete_gist: removing %s failed", access_id, exc_info=True)
        raise failure from exc
    return access_id


def purge_expired(db: Session, repos_root: Path, now: float | None = None) -> list[str]:
    """Delete every expired gist, row and directory; returns their ``access_id`` in id order.

    For ``hearth admin purge-gists``, inside the caller's transaction. A gist whose directory
    cannot be removed keeps its row (it is tried again next time) and is logged, not returned.
    """
    moment = time.time() if now is None else now
    expired = db.scalars(
        select(Gist).where(Gist.expires != NEVER, Gist.expires <= moment).order_by(Gist.gist_id)
    ).all()
    purged: list[str] = []
    for gist in expired:
        access_id = gist.access_id
        try:
            with db.begin_nested():
                db.delete(gist)
                db.flush()
                _remove_tree(path_of(repos_root, access_id))
        except (SQLAlchemyError, OSError):
            log.warning("purge: could not delete gist %s", access_id, exc_info=True)
            continue
        purged.append(access_id)
    return purged

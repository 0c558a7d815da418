# SPDX-License-Identifier: GPL-3.0-or-later
"""Pull requests: propose, review, update, close and merge (``methods.md`` §9, issue 15).

A pull request proposes the changesets of a source ("org") ref that its target ("other") ref
lacks. Source and target are one repository or two of a fork family (the same root of
``fork_of``). Refs are ``<type>:<name>:<raw id>`` as Kallithea stores them; a ``branch``, ``book``
or ``tag`` follows its name, so when a push moves the source or the target
(:func:`after_push`) the changesets are recomputed and, if they changed, a new version is kept
beside the old ones, so a reviewer can see what changed since they looked.

Reviews are Kallithea's: a comment may carry a status (``not_reviewed``, ``under_review``,
``approved``, ``rejected``) recorded as one row per revision of the current version; a reviewer's
status is their latest row. Inline comments name a file and a line (``n12`` on the new side,
``o12`` on the old) and keep the line's text, so a later version shows them as outdated when that
line changed. Who may do what is decided in ``permissions.py``; a pull request whose source
repository the caller cannot read is hidden from listings.

Merging (:func:`merge`) needs write access to the target, an open pull request with the required
number of approvals (setting ``pr_required_approvals``) and no rejection on its current version;
it moves the target branch through ``vcs.proposals`` and then runs the bookkeeping of a push.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.clock import now_utc
from hearth.config import Settings
from hearth.db import undo
from hearth.db.models import (
    PullRequest,
    PullRequestComment,
    PullRequestReviewer,
    PullRequestStatus,
    PullRequestVersion,
    Repository,
    User,
)
from hearth.errors import Conflict, Failed, Forbidden, HearthError, Invalid, NotFound, enum_error
from hearth.services import journal, lookup, permissions, repos
from hearth.services.permissions import DEFAULT_USERNAME, Actor, Level
from hearth.vcs import proposals

log = logging.getLogger(__name__)

STATUSES = ("not_reviewed", "approved", "rejected", "under_review")
NOT_REVIEWED, APPROVED, REJECTED, UNDER_REVIEW = STATUSES
REF_TYPES = ("branch", "book", "tag", "rev")
MOVING_REF_TYPES = ("branch", "book", "tag")
NEW, CLOSED = "new", "closed"
NO_DESCRIPTION = "No description"
_LINE = re.compile(r"[on][1-9][0-9]{0,8}")
_SLUG = re.compile(r"[^-a-zA-Z0-9./]+")


# --- plain values the edges render -----------------------------------------------------------


@dataclass(frozen=True)
class CommentView:
    comment_id: int
    username: str
    text: str
    created_on: datetime
    f_path: str | None
    line_no: str | None
    version: int
    outdated: bool
    resolved: bool
    parent_id: int | None
    status: str | None  # the status this comment set, if any


@dataclass(frozen=True)
class StatusView:
    status: str
    modified_at: datetime
    reviewer: str
    revision: str
    version: int


@dataclass(frozen=True)
class ReviewerView:
    username: str
    status: str  # the latest status, ``not_reviewed`` without one
    current: bool  # given on the current version


@dataclass(frozen=True)
class VersionView:
    number: int
    org_raw_id: str
    merge_base: str
    revisions: list[str]
    created_on: datetime


@dataclass(frozen=True)
class PullRequestView:
    pull_request_id: int
    title: str
    description: str
    status: str
    owner: str
    org_repo: str
    org_repo_id: int
    other_repo: str
    other_repo_id: int
    repo_type: str
    org_ref_parts: list[str]
    other_ref_parts: list[str]
    other_head: str
    revisions: list[str]
    version: int
    merge_rev: str | None
    created_on: datetime
    updated_on: datetime
    reviewers: list[ReviewerView] = field(default_factory=list)
    comments: list[CommentView] = field(default_factory=list)
    statuses: list[StatusView] = field(default_factory=list)
    versions: list[VersionView] = field(default_factory=list)

    @property
    def slug(self) -> str:
        """Kallithea's URL tail: the source name, or the title when both names are equal."""
        source, target = self.org_ref_parts[1], self.other_ref_parts[1]
        text = "/_/" + (source if source != target else self.title)
        return _SLUG.sub("_", text).rstrip("_")

    @property
    def path(self) -> str:
        return f"/{self.other_repo}/pull-request/{self.pull_request_id}{self.slug}"


# --- refs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    kind: str
    name: str
    raw_id: str | None = None

    def text(self, raw_id: str) -> str:
        return f"{self.kind}:{self.name}:{raw_id}"


def parse_ref(text: str) -> Ref:
    """``<type>:<name>[:<raw id>]``; a bare name is a branch (``create_pull_request``)."""
    parts = text.split(":")
    if len(parts) == 1:
        parts = ["branch", parts[0]]
    if len(parts) > 3 or parts[0] not in REF_TYPES or not parts[1]:
        raise Invalid("pr_ref_format", x=text)
    if len(parts) == 3 and not parts[2]:
        raise Invalid("pr_ref_format", x=text)
    return Ref(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def stored_ref(text: str) -> Ref:
    kind, name, raw_id = text.split(":", 2)
    return Ref(kind, name, raw_id)


def _head(handle: vcs.Repo, ref: Ref) -> str:
    """The raw id ``ref`` names now (``Changeset <X> does not exist`` if nothing)."""
    try:
        if ref.kind == "rev":
            return handle.changeset(ref.name).raw_id
        refs = handle.refs()
        table = {"branch": refs.branches, "book": refs.bookmarks, "tag": refs.tags}[ref.kind]
        if ref.kind == "branch":
            table = {**refs.branches_closed, **table}
        if ref.name not in table:
            raise NotFound("changeset_not_found", x=ref.name)
        return table[ref.name]
    except (vcs.ChangesetNotFound, vcs.EmptyRepository):
        raise NotFound("changeset_not_found", x=ref.name) from None


def _pinned(handle: vcs.Repo, ref: Ref) -> str:
    """The raw id given with the ref (checked), else the one its name points at."""
    if ref.raw_id is None:
        return _head(handle, ref)
    try:
        return handle.changeset(ref.raw_id).raw_id
    except (vcs.ChangesetNotFound, vcs.EmptyRepository):
        raise NotFound("changeset_not_found", x=ref.raw_id) from None


def _path(settings: Settings, repo: Repository) -> str:
    return str(repos.path_of(settings, repo.repo_name))


def _open(settings: Settings, repo: Repository) -> vcs.Repo:
    return vcs.open_repo(_path(settings, repo), repo.repo_type)


# --- fork families ---------------------------------------------------------------------------


def _root(db: Session, repo: Repository) -> int:
    seen = {repo.repo_id}
    current = repo
    while current.fork_id is not None:
        parent = db.get(Repository, current.fork_id)
        if parent is None or parent.repo_id in seen:
            break
        seen.add(parent.repo_id)
        current = parent
    return current.repo_id


def same_family(db: Session, one: Repository, other: Repository) -> bool:
    """One repository, or two whose ``fork_of`` chains end at the same root."""
    return one.repo_id == other.repo_id or (
        one.repo_type == other.repo_type and _root(db, one) == _root(db, other)
    )


# --- reading ---------------------------------------------------------------------------------


def _find(db: Session, pull_request_id: int) -> PullRequest:
    row = db.get(PullRequest, pull_request_id) if -(2**31) <= pull_request_id < 2**31 else None
    if row is None:
        raise NotFound("pr_not_found", x=pull_request_id)
    return row


def _reviewer_ids(db: Session, pr_id: int) -> list[int]:
    return list(
        db.scalars(
            select(PullRequestReviewer.user_id)
            .where(PullRequestReviewer.pull_request_id == pr_id)
            .order_by(PullRequestReviewer.row_id)
        )
    )


def _usernames(db: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.execute(select(User.user_id, User.username).where(User.user_id.in_(wanted)))
    return {uid: name for uid, name in rows}


def _latest_statuses(db: Session, pr_id: int) -> dict[int, PullRequestStatus]:
    rows = db.scalars(
        select(PullRequestStatus)
        .where(PullRequestStatus.pull_request_id == pr_id)
        .order_by(PullRequestStatus.status_id)
    )
    latest: dict[int, PullRequestStatus] = {}
    for row in rows:
        latest[row.user_id] = row
    return latest


def view(
    db: Session, settings: Settings, pr: PullRequest, *, details: bool = True
) -> PullRequestView:
    """Everything the API and the pages show of ``pr``; ``details`` adds versions and marks
    outdated inline comments (which reads files of the source repository)."""
    org = db.get(Repository, pr.org_repo_id)
    other = db.get(Repository, pr.other_repo_id)
    assert org is not None and other is not None
    reviewer_ids = _reviewer_ids(db, pr.pull_request_id)
    comments = list(
        db.scalars(
            select(PullRequestComment)
            .where(PullRequestComment.pull_request_id == pr.pull_request_id)
            .order_by(PullRequestComment.comment_id)
        )
    )
    statuses = list(
        db.scalars(
            select(PullRequestStatus)
            .where(PullRequestStatus.pull_request_id == pr.pull_request_id)
            .order_by(PullRequestStatus.status_id)
        )
    )
    names = _usernames(
        db,
        [
            pr.owner_id,
            *reviewer_ids,
            *(c.user_id for c in comments),
            *(s.user_id for s in statuses),
        ],
    )
    latest: dict[int, PullRequestStatus] = {}
    status_of_comment: dict[int, str] = {}
    for row in statuses:
        latest[row.user_id] = row
        if row.comment_id is not None:
            status_of_comment[row.comment_id] = row.status
    outdated = _outdated(settings, org, pr, comments) if details else set()
    org_ref, other_ref = stored_ref(pr.org_ref), stored_ref(pr.other_ref)
    versions: list[VersionView] = []
    if details:
        versions = [
            VersionView(v.number, v.org_raw_id, v.merge_base, list(v.revisions), v.created_on)
            for v in db.scalars(
                select(PullRequestVersion)
                .where(PullRequestVersion.pull_request_id == pr.pull_request_id)
                .order_by(PullRequestVersion.number)
            )
        ]
    return PullRequestView(
        pull_request_id=pr.pull_request_id,
        title=pr.title,
        description=pr.description,
        status=pr.status,
        owner=names.get(pr.owner_id, ""),
        org_repo=org.repo_name,
        org_repo_id=org.repo_id,
        other_repo=other.repo_name,
        other_repo_id=other.repo_id,
        repo_type=other.repo_type,
        org_ref_parts=[org_ref.kind, org_ref.name, org_ref.raw_id or ""],
        other_ref_parts=[other_ref.kind, other_ref.name, other_ref.raw_id or ""],
        other_head=pr.other_head,
        revisions=list(pr.revisions),
        version=pr.version,
        merge_rev=pr.merge_rev,
        created_on=pr.created_on,
        updated_on=pr.updated_on,
        reviewers=[
            ReviewerView(
                names.get(uid, ""),
                latest[uid].status if uid in latest else NOT_REVIEWED,
                uid in latest and latest[uid].version == pr.version,
            )
            for uid in reviewer_ids
        ],
        comments=[
            CommentView(
                comment_id=c.comment_id,
                username=names.get(c.user_id, ""),
                text=c.text,
                created_on=c.created_on,
                f_path=c.f_path,
                line_no=c.line_no,
                version=c.version,
                outdated=c.comment_id in outdated,
                resolved=bool(c.resolved),
                parent_id=c.parent_id,
                status=status_of_comment.get(c.comment_id),
            )
            for c in comments
        ],
        statuses=[
            StatusView(s.status, s.modified_at, names.get(s.user_id, ""), s.revision, s.version)
            for s in statuses
        ],
        versions=versions,
    )


def get(db: Session, actor: Actor, settings: Settings, pull_request_id: int) -> PullRequestView:
    """``get_pullrequest``: ``not allowed`` without read on the source repository."""
    pr = _find(db, pull_request_id)
    if not permissions.may_read_pull_request(db, actor, pr.org_repo_id):
        raise Forbidden("pr_not_allowed")
    return view(db, settings, pr)


def comment_view(
    db: Session, settings: Settings, pull_request_id: int, comment_id: int
) -> CommentView:
    """One comment as the pages show it (the answer to a script that posted it)."""
    shown = view(db, settings, _find(db, pull_request_id), details=False)
    return next(c for c in shown.comments if c.comment_id == comment_id)


def for_target(
    db: Session, actor: Actor, settings: Settings, repo_id: int, status: str | None = None
) -> list[PullRequestView]:
    """Pull requests into ``repo_id`` (``with_pullrequests``, the repository's list), oldest
    first; those whose source the actor cannot read are left out."""
    query = select(PullRequest).where(PullRequest.other_repo_id == repo_id)
    if status is not None:
        query = query.where(PullRequest.status == status)
    rows = list(db.scalars(query.order_by(PullRequest.pull_request_id)))
    readable: set[int] = set()
    if not actor.admin:
        levels = permissions.repo_levels(db, actor, {r.org_repo_id for r in rows})
        readable = {rid for rid, level in levels.items() if level >= Level.READ}
    return [
        view(db, settings, r, details=False)
        for r in rows
        if actor.admin or r.org_repo_id in readable
    ]


def mine(
    db: Session, actor: Actor, settings: Settings
) -> tuple[list[PullRequestView], list[PullRequestView]]:
    """Open pull requests the actor opened, and those awaiting the actor's review."""
    opened = db.scalars(
        select(PullRequest)
        .where(PullRequest.owner_id == actor.user_id, PullRequest.status == NEW)
        .order_by(PullRequest.pull_request_id)
    )
    reviewing = db.scalars(
        select(PullRequest)
        .join(
            PullRequestReviewer, PullRequestReviewer.pull_request_id == PullRequest.pull_request_id
        )
        .where(PullRequestReviewer.user_id == actor.user_id, PullRequest.status == NEW)
        .order_by(PullRequest.pull_request_id)
    )

    def visible(rows: Iterable[PullRequest]) -> list[PullRequestView]:
        return [
            view(db, settings, r, details=False)
            for r in rows
            if permissions.may_read_pull_request(db, actor, r.org_repo_id)
        ]

    return visible(opened), visible(reviewing)


# --- creating --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPullRequest:
    source_repo: int | str
    target_repo: int | str
    source_ref: str
    target_ref: str
    owner: int | str | None = None
    title: str = ""
    description: str = ""
    reviewers: Sequence[Any] | None = None


def _reviewer_ref(item: Any) -> int | str:
    """A username or id, or RhodeCode's ``{"username": …}`` (other keys ignored)."""
    if isinstance(item, dict):
        item = item.get("username")
    if isinstance(item, bool) or not isinstance(item, int | str):
        raise NotFound("user_not_found", x=item)
    return item


def _reviewer_users(db: Session, refs: Iterable[Any]) -> list[User]:
    users: list[User] = []
    for item in refs:
        user = lookup.user(db, _reviewer_ref(item))
        if user.username == DEFAULT_USERNAME:
            raise Invalid("pr_default_reviewer", x=user.username)
        if user not in users:
            users.append(user)
    return users


def create(
    db: Session, actor: Actor, settings: Settings, new: NewPullRequest, *, client_ip: str = ""
) -> PullRequest:
    """``create_pull_request``: the checks in the order of ``methods.md`` §9, then one row,
    its first version, its reviewers, the creator's ``under_review`` comment and the journal."""
    source = repos.find(db, actor, new.source_repo, Level.READ)
    target = repos.find(db, actor, new.target_repo, Level.READ)
    if new.owner is not None and not actor.admin:
        raise Forbidden("only_admin_owner")
    owner = lookup.user(db, new.owner if new.owner is not None else actor.user_id)
    if not same_family(db, source, target):
        raise Invalid("pr_not_family", x=target.repo_name, y=source.repo_name)
    source_ref, target_ref = parse_ref(new.source_ref), parse_ref(new.target_ref)
    reviewers = _reviewer_users(db, new.reviewers or [])
    try:
        with _open(settings, source) as handle:
            source_head = _pinned(handle, source_ref)
        with _open(settings, target) as handle:
            target_head = _pinned(handle, target_ref)
        compared = proposals.compare(
            source.repo_type,
            _path(settings, source),
            _path(settings, target),
            source_head,
            target_head,
        )
    except vcs.VcsError as exc:
        log.warning("create_pull_request: %s", exc)
        raise Failed("pr_create_failed") from exc
    if compared.merge_base is None:
        raise Invalid("pr_no_ancestor")
    if not compared.revisions:
        raise Invalid("pr_no_commits")
    now = now_utc().replace(microsecond=0)
    title = new.title or (
        f"{source.repo_name}#{source_ref.name} to {target.repo_name}#{target_ref.name}"
    )
    revisions = [cs.raw_id for cs in compared.revisions]
    pr = PullRequest(
        title=title[:255],
        description=new.description or NO_DESCRIPTION,
        status=NEW,
        owner_id=owner.user_id,
        org_repo_id=source.repo_id,
        org_ref=source_ref.text(source_head),
        other_repo_id=target.repo_id,
        other_ref=target_ref.text(compared.merge_base),
        other_head=target_head,
        revisions=revisions,
        version=1,
        created_on=now,
        updated_on=now,
    )
    db.add(pr)
    db.flush()
    _add_version(db, pr, now)
    for user in reviewers:
        db.add(PullRequestReviewer(pull_request_id=pr.pull_request_id, user_id=user.user_id))
    creator = lookup.user(db, actor.user_id)
    comment = _add_comment(db, pr, creator.user_id, "", now)
    _set_status(db, pr, creator.user_id, UNDER_REVIEW, comment.comment_id, now)
    _journal(db, actor, "user_created_pull_request", target, pr, client_ip)
    db.flush()
    return pr


def _add_version(db: Session, pr: PullRequest, now: datetime) -> None:
    db.add(
        PullRequestVersion(
            pull_request_id=pr.pull_request_id,
            number=pr.version,
            org_raw_id=stored_ref(pr.org_ref).raw_id or "",
            merge_base=stored_ref(pr.other_ref).raw_id or "",
            other_head=pr.other_head,
            revisions=list(pr.revisions),
            created_on=now,
        )
    )


def _add_comment(
    db: Session,
    pr: PullRequest,
    user_id: int,
    text: str,
    now: datetime,
    *,
    f_path: str | None = None,
    line_no: str | None = None,
    line_text: str | None = None,
    parent_id: int | None = None,
) -> PullRequestComment:
    comment = PullRequestComment(
        pull_request_id=pr.pull_request_id,
        user_id=user_id,
        text=text,
        f_path=f_path,
        line_no=line_no,
        line_text=line_text,
        version=pr.version,
        parent_id=parent_id,
        resolved=False,
        created_on=now,
    )
    db.add(comment)
    db.flush()
    return comment


def _set_status(
    db: Session, pr: PullRequest, user_id: int, status: str, comment_id: int | None, now: datetime
) -> None:
    """Kallithea's rows: one per revision of the current version."""
    for revision in pr.revisions or [pr.other_head]:
        db.add(
            PullRequestStatus(
                pull_request_id=pr.pull_request_id,
                user_id=user_id,
                revision=revision,
                status=status,
                version=pr.version,
                comment_id=comment_id,
                modified_at=now,
            )
        )


def _journal(
    db: Session, actor: Actor, action: str, repo: Repository, pr: PullRequest, client_ip: str
) -> None:
    journal.record(
        db,
        user_id=actor.user_id,
        username=actor.username,
        action=action,
        repo_id=repo.repo_id,
        repo_name=repo.repo_name,
        detail=str(pr.pull_request_id),
        ip_addr=client_ip,
    )


# --- reviewing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewComment:
    text: str = ""
    status: str | None = None
    close: bool = False
    f_path: str | None = None
    line_no: str | None = None
    parent_id: int | None = None


def comment(
    db: Session,
    actor: Actor,
    settings: Settings,
    pull_request_id: int,
    new: NewComment,
    *,
    client_ip: str = "",
) -> PullRequestComment:
    """``comment_pullrequest`` (and the pages' inline comments and answers): checks in the order
    of ``methods.md`` §9, then the comment, the status rows, the closing, the journal."""
    if new.status is not None and new.status not in STATUSES:
        raise enum_error("status", STATUSES)
    pr = _find(db, pull_request_id)
    if not permissions.may_read_pull_request(db, actor, pr.org_repo_id):
        raise Forbidden("pr_no_comment")
    if new.close and not permissions.may_close_pull_request(actor, pr.owner_id):
        raise Forbidden("pr_no_close")
    if new.status is not None and not permissions.may_review_pull_request(
        actor, pr.owner_id, _reviewer_ids(db, pr.pull_request_id)
    ):
        raise Forbidden("pr_no_status")
    if pr.status == CLOSED:
        raise Conflict("pr_closed")
    line_text = None
    f_path = new.f_path
    if new.parent_id is not None:
        parent = db.get(PullRequestComment, new.parent_id)
        if parent is None or parent.pull_request_id != pr.pull_request_id:
            raise NotFound("pr_comment_not_found", x=new.parent_id)
        f_path, line_no = parent.f_path, parent.line_no
        line_text = parent.line_text
    elif f_path is not None or new.line_no is not None:
        f_path, line_no, line_text = _inline_target(
            db, settings, pr, f_path or "", new.line_no or ""
        )
    else:
        line_no = None
    now = now_utc().replace(microsecond=0)
    row = _add_comment(
        db,
        pr,
        actor.user_id,
        new.text,
        now,
        f_path=f_path,
        line_no=line_no,
        line_text=line_text,
        parent_id=new.parent_id,
    )
    other = db.get(Repository, pr.other_repo_id)
    assert other is not None
    _journal(db, actor, "user_commented_pull_request", other, pr, client_ip)
    if new.status is not None:
        _set_status(db, pr, actor.user_id, new.status, row.comment_id, now)
    if new.close:
        pr.status = CLOSED
        pr.updated_on = now
        _journal(db, actor, "user_closed_pull_request", other, pr, client_ip)
    db.flush()
    return row


def _inline_target(
    db: Session, settings: Settings, pr: PullRequest, f_path: str, line_no: str
) -> tuple[str, str, str]:
    """Check that ``f_path`` is in the current diff and ``line_no`` exists on its side; return
    them with the line's text (for telling later whether the comment is outdated)."""
    if not _LINE.fullmatch(line_no):
        raise Invalid("pr_bad_line", x=line_no)
    org = db.get(Repository, pr.org_repo_id)
    assert org is not None
    path = vcs.base.normalize_path(f_path)
    head = stored_ref(pr.org_ref).raw_id or ""
    base = stored_ref(pr.other_ref).raw_id or ""
    try:
        with _open(settings, org) as handle:
            if not path or not handle.diff_between(base, head, path=path).strip():
                raise NotFound("pr_path_not_in_diff", x=f_path)
            text = _line(handle, base if line_no[0] == "o" else head, path, int(line_no[1:]))
    except vcs.VcsError as exc:
        raise NotFound("pr_path_not_in_diff", x=f_path) from exc
    if text is None:
        raise Invalid("pr_bad_line", x=line_no)
    return path, line_no, text


def _line(handle: vcs.Repo, rev: str, path: str, number: int) -> str | None:
    try:
        lines = handle.file(rev, path).decode("utf-8", "replace").splitlines()
    except vcs.NodeNotFound:
        return None
    return lines[number - 1] if 0 < number <= len(lines) else None


def _outdated(
    settings: Settings, org: Repository, pr: PullRequest, comments: list[PullRequestComment]
) -> set[int]:
    """Inline comments of older versions whose line now reads differently (or is gone)."""
    old = [c for c in comments if c.f_path and c.line_no and c.version < pr.version]
    if not old:
        return set()
    head = stored_ref(pr.org_ref).raw_id or ""
    base = stored_ref(pr.other_ref).raw_id or ""
    found: set[int] = set()
    try:
        with _open(settings, org) as handle:
            for c in old:
                assert c.f_path is not None and c.line_no is not None
                rev = base if c.line_no[0] == "o" else head
                if _line(handle, rev, c.f_path, int(c.line_no[1:])) != c.line_text:
                    found.add(c.comment_id)
    except vcs.VcsError:
        return {c.comment_id for c in old}
    return found


def resolve_comment(
    db: Session, actor: Actor, comment_id: int, resolved: bool
) -> PullRequestComment:
    """Mark an inline comment (resolved or not): its author, the owner, or an admin."""
    row = db.get(PullRequestComment, comment_id)
    if row is None:
        raise NotFound("pr_comment_not_found", x=comment_id)
    pr = _find(db, row.pull_request_id)
    if not permissions.may_read_pull_request(db, actor, pr.org_repo_id):
        raise NotFound("pr_comment_not_found", x=comment_id)
    if actor.user_id != row.user_id and not permissions.may_close_pull_request(actor, pr.owner_id):
        raise Forbidden("pr_no_close")
    row.resolved = resolved
    db.flush()
    return row


@dataclass(frozen=True)
class ReviewerChange:
    added: list[str]
    already_present: list[str]
    removed: list[str]


def edit_reviewers(
    db: Session,
    actor: Actor,
    pull_request_id: int,
    add: Sequence[int | str] | None,
    remove: Sequence[int | str] | None,
) -> ReviewerChange:
    """``edit_reviewers``: every named user is looked up before anything changes."""
    add, remove = list(add or []), list(remove or [])
    if not add and not remove:
        raise Invalid("pr_reviewers_missing")
    pr = _find(db, pull_request_id)
    if not permissions.may_edit_reviewers(db, actor, pr.owner_id, pr.other_repo_id):
        raise Forbidden("pr_no_reviewers_edit")
    if pr.status == CLOSED:
        raise Conflict("pr_reviewers_closed")
    to_add = [lookup.user(db, ref) for ref in add]
    to_remove = [lookup.user(db, ref) for ref in remove]
    to_add = _reviewer_users(db, [user.user_id for user in to_add])
    present = set(_reviewer_ids(db, pr.pull_request_id))
    added, already = [], []
    for user in to_add:
        if user.user_id in present:
            already.append(user.username)
        else:
            db.add(PullRequestReviewer(pull_request_id=pr.pull_request_id, user_id=user.user_id))
            present.add(user.user_id)
            added.append(user.username)
    db.flush()
    removed = []
    for user in to_remove:
        row = db.scalar(
            select(PullRequestReviewer).where(
                PullRequestReviewer.pull_request_id == pr.pull_request_id,
                PullRequestReviewer.user_id == user.user_id,
            )
        )
        if row is not None:
            db.delete(row)
        removed.append(user.username)
    pr.updated_on = now_utc().replace(microsecond=0)
    db.flush()
    return ReviewerChange(sorted(added), sorted(already), sorted(set(removed)))


# --- updates: the source or the target moved -------------------------------------------------


def refresh(db: Session, settings: Settings, pr: PullRequest) -> bool:
    """Recompute an open pull request from its refs; a change is kept as a new version.

    Returns whether a new version was made. A ref whose name is gone leaves the pull request
    as it was."""
    if pr.status != NEW:
        return False
    org = db.get(Repository, pr.org_repo_id)
    other = db.get(Repository, pr.other_repo_id)
    if org is None or other is None:
        return False
    org_ref, other_ref = stored_ref(pr.org_ref), stored_ref(pr.other_ref)
    try:
        with _open(settings, org) as handle:
            source_head = (
                _head(handle, org_ref) if org_ref.kind in MOVING_REF_TYPES else org_ref.raw_id
            )
        with _open(settings, other) as handle:
            target_head = (
                _head(handle, other_ref) if other_ref.kind in MOVING_REF_TYPES else pr.other_head
            )
    except (vcs.VcsError, HearthError):
        return False
    if source_head == org_ref.raw_id and target_head == pr.other_head:
        return False
    assert source_head is not None
    try:
        compared = proposals.compare(
            org.repo_type, _path(settings, org), _path(settings, other), source_head, target_head
        )
    except vcs.VcsError as exc:
        log.warning("pull request %s: cannot recompute: %s", pr.pull_request_id, exc)
        return False
    revisions = [cs.raw_id for cs in compared.revisions]
    base = compared.merge_base or other_ref.raw_id or ""
    pr.other_head = target_head
    if revisions == list(pr.revisions) and source_head == org_ref.raw_id:
        pr.other_ref = other_ref.text(base)  # the target moved without changing the proposal
        return False
    now = now_utc().replace(microsecond=0)
    pr.org_ref = org_ref.text(source_head)
    pr.other_ref = other_ref.text(base)
    pr.revisions = revisions
    pr.version += 1
    pr.updated_on = now
    _add_version(db, pr, now)
    db.flush()
    return True


def after_push(db: Session, settings: Settings, repo_id: int) -> None:
    """After a push into (or a merge in) ``repo_id``: refresh the open pull requests from or
    into it. Never fails the push's bookkeeping."""
    rows = db.scalars(
        select(PullRequest).where(
            PullRequest.status == NEW,
            (PullRequest.org_repo_id == repo_id) | (PullRequest.other_repo_id == repo_id),
        )
    )
    for pr in list(rows):
        try:
            # a savepoint each: a concurrent update of the same pull request (its new version
            # number taken meanwhile) or any other failure must not lose the push's journal entry
            with db.begin_nested():
                refresh(db, settings, pr)
        except Exception:
            log.exception("pull request %s: refresh after push failed", pr.pull_request_id)


# --- merging ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeCheck:
    """Whether the actor may merge now, and if not why (a text of ``errors.TEXTS``)."""

    error: HearthError | None
    approvals: int
    needed: int


def merge_check(
    db: Session, actor: Actor, settings: Settings, pr: PullRequest, fast_forward: bool = False
) -> MergeCheck:
    """The rules a merge must pass, without touching a repository (pages show the reason)."""
    needed = settings.pr_required_approvals
    latest = _latest_statuses(db, pr.pull_request_id)
    reviewers = _reviewer_ids(db, pr.pull_request_id)
    current = {
        uid: latest[uid] for uid in reviewers if uid in latest and latest[uid].version == pr.version
    }
    approvals = sum(1 for row in current.values() if row.status == APPROVED)
    rejected = sorted(
        _usernames(db, [uid for uid, row in current.items() if row.status == REJECTED]).values()
    )

    def refuse(error: HearthError) -> MergeCheck:
        return MergeCheck(error, approvals, needed)

    if not permissions.may_merge_pull_request(db, actor, pr.other_repo_id):
        return refuse(Forbidden("pr_no_merge"))
    if pr.status == CLOSED:
        return refuse(Conflict("pr_closed"))
    other_ref = stored_ref(pr.other_ref)
    if other_ref.kind != "branch":
        return refuse(Invalid("pr_merge_ref", kind=other_ref.kind, x=other_ref.name))
    if not pr.revisions:
        return refuse(Conflict("pr_nothing_to_merge"))
    if rejected:
        return refuse(Conflict("pr_rejected", x=", ".join(rejected)))
    if approvals < needed:
        return refuse(Conflict("pr_not_approved", needed=needed, have=approvals))
    if fast_forward and other_ref.raw_id != pr.other_head:
        return refuse(Conflict("pr_cannot_ff", x=other_ref.name))
    return MergeCheck(None, approvals, needed)


def merge(
    db: Session,
    actor: Actor,
    settings: Settings,
    pull_request_id: int,
    *,
    fast_forward: bool = False,
    client_ip: str = "",
) -> PullRequest:
    """Merge into the target branch (git: a merge commit, or a fast-forward when asked and
    possible; hg: a merge changeset), close the pull request, and run a push's bookkeeping on
    the target (journal ``push``, last changeset, refreshed pull requests)."""
    from hearth.services import locks, transfers

    pr = _find(db, pull_request_id)
    if not permissions.may_read_pull_request(db, actor, pr.org_repo_id):
        raise Forbidden("pr_not_allowed")
    refresh(db, settings, pr)  # merge what the refs hold now, approved or not
    check = merge_check(db, actor, settings, pr, fast_forward)
    if check.error is not None:
        raise check.error
    org = db.get(Repository, pr.org_repo_id)
    other = db.get(Repository, pr.other_repo_id)
    assert org is not None and other is not None
    held = locks.current(other)
    if held is not None and other.locked_by != actor.user_id:
        holder = db.get(User, other.locked_by)
        raise Conflict("repo_locked", x=other.repo_name, user=holder.username if holder else "")
    user = lookup.user(db, actor.user_id)
    name = " ".join(part for part in (user.firstname, user.lastname) if part) or user.username
    other_ref = stored_ref(pr.other_ref)
    message = (
        f"Merge pull request #{pr.pull_request_id} from {org.repo_name} "
        f"{stored_ref(pr.org_ref).name}\n\n{pr.title}\n"
    )
    try:
        merged = proposals.merge(
            other.repo_type,
            _path(settings, org),
            _path(settings, other),
            branch=other_ref.name,
            source_head=stored_ref(pr.org_ref).raw_id or "",
            target_head=pr.other_head,
            fast_forward=fast_forward,
            author=f"{name} <{user.email}>",
            message=message,
        )
    except proposals.MergeConflict as exc:
        raise Conflict("pr_conflict", x=", ".join(exc.paths)) from exc
    except proposals.TargetMoved as exc:
        raise Conflict("pr_target_moved", x=other_ref.name) from exc
    except vcs.VcsError as exc:
        log.warning("merge of pull request %s failed: %s", pr.pull_request_id, exc)
        raise Failed("pr_merge_failed", x=pr.pull_request_id) from exc
    target_path, old_head = _path(settings, other), pr.other_head
    undo.on_rollback(
        db,
        lambda: proposals.undo_merge(
            other.repo_type, target_path, other_ref.name, merged, old_head
        ),
    )
    now = now_utc().replace(microsecond=0)
    pr.status = CLOSED
    pr.merge_rev = merged.new_head
    pr.updated_on = now
    _journal(db, actor, "user_merged_pull_request", other, pr, client_ip)
    db.flush()
    transfers.after_push(
        db,
        settings,
        transfers.Push(
            repo_id=other.repo_id, actor=actor, address=client_ip, revisions=tuple(merged.revisions)
        ),
    )
    return pr


def approvals_needed(settings: Settings) -> int:
    return settings.pr_required_approvals


def count(db: Session, repo_id: int, status: str = NEW) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(PullRequest)
            .where(PullRequest.other_repo_id == repo_id, PullRequest.status == status)
        )
        or 0
    )


# --- RhodeCode's methods: edits, updates, merge state, the summary of reviews -----------------


def _editable(db: Session, actor: Actor, pull_request_id: int) -> PullRequest:
    """Editing (title, description, recomputing) is who may edit the reviewers, on an open one."""
    pr = _find(db, pull_request_id)
    if not permissions.may_read_pull_request(db, actor, pr.org_repo_id):
        raise Forbidden("pr_not_allowed")
    if pr.status == CLOSED:
        raise Conflict("pr_closed")
    if not permissions.may_edit_reviewers(db, actor, pr.owner_id, pr.other_repo_id):
        raise Forbidden("pr_no_edit")
    return pr


def edit(db: Session, actor: Actor, pull_request_id: int, title: str, description: str) -> None:
    """``update_pull_request``'s title and description; an empty value keeps the old one."""
    pr = _editable(db, actor, pull_request_id)
    if title:
        pr.title = title
    if description:
        pr.description = description
    if title or description:
        pr.updated_on = now_utc().replace(microsecond=0)
    db.flush()


def update_commits(
    db: Session, actor: Actor, settings: Settings, pull_request_id: int
) -> tuple[list[str], list[str]]:
    """Recompute from the refs now (a new version if they moved): the revisions before and after."""
    pr = _editable(db, actor, pull_request_id)
    before = list(pr.revisions)
    refresh(db, settings, pr)
    return before, list(pr.revisions)


def may_set_status(db: Session, actor: Actor, pull_request_id: int) -> bool:
    pr = _find(db, pull_request_id)
    return permissions.may_review_pull_request(
        actor, pr.owner_id, _reviewer_ids(db, pr.pull_request_id)
    )


def mergeable(db: Session, actor: Actor, settings: Settings, pull_request_id: int) -> MergeCheck:
    """Whether the actor could merge now (the rules only; a conflict shows when merging)."""
    return merge_check(db, actor, settings, _find(db, pull_request_id))


def review_status(view: PullRequestView, settings: Settings) -> str:
    """The pull request's review in one word, from its reviewers' statuses on this version:
    any rejection rejects it, enough approvals approve it (the merge rule), any vote is a
    review under way."""
    current = [r.status for r in view.reviewers if r.current]
    if REJECTED in current:
        return REJECTED
    if current.count(APPROVED) >= settings.pr_required_approvals and APPROVED in current:
        return APPROVED
    if any(status != NOT_REVIEWED for status in current):
        return UNDER_REVIEW
    return NOT_REVIEWED


def set_reviewers(
    db: Session, actor: Actor, pull_request_id: int, reviewers: Sequence[Any]
) -> ReviewerChange:
    """``update_pull_request``'s ``reviewers``: the new list (names, ids or RhodeCode's
    ``{"username": …}``); those missing are added, those left out removed."""
    wanted = [user.user_id for user in _reviewer_users(db, reviewers)]
    present = _reviewer_ids(db, _find(db, pull_request_id).pull_request_id)
    add = [uid for uid in wanted if uid not in present]
    remove = [uid for uid in present if uid not in wanted]
    if not add and not remove:
        return ReviewerChange([], [], [])
    return edit_reviewers(db, actor, pull_request_id, add, remove)


def changeset_reviews(db: Session, repo_id: int, raw_id: str) -> list[StatusView]:
    """``get_changeset``'s ``with_reviews``: the latest status each reviewer gave a pull
    request from ``repo_id`` that proposes ``raw_id`` (Kallithea records pull-request statuses
    per revision, on the source repository), oldest first."""
    rows = db.scalars(
        select(PullRequestStatus)
        .join(PullRequest, PullRequest.pull_request_id == PullRequestStatus.pull_request_id)
        .where(PullRequest.org_repo_id == repo_id, PullRequestStatus.revision == raw_id)
        .order_by(PullRequestStatus.status_id)
    )
    latest: dict[int, PullRequestStatus] = {}
    for row in rows:
        latest.pop(row.user_id, None)
        latest[row.user_id] = row
    names = _usernames(db, latest)
    return [
        StatusView(s.status, s.modified_at, names.get(s.user_id, ""), s.revision, s.version)
        for s in latest.values()
    ]

# SPDX-License-Identifier: GPL-3.0-or-later
"""What the pull-request pages show, decided here so the pages only render.

A pull request's page lives under its target repository; one whose source the visitor cannot
read answers like a missing one (Kallithea decides a pull request's visibility by its source).
The diff and changesets come from ``codeview.compare`` (merge base → source head, across a fork
when the source is one), which checks read access on both repositories itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hearth.config import Settings
from hearth.db.models import PullRequest, Repository, User
from hearth.errors import HearthError, NotFound
from hearth.services import codeview, permissions, pullrequests, webcontent
from hearth.services.codeview import ComparePage, Lru
from hearth.services.lookup import RepoRef
from hearth.services.permissions import Actor
from hearth.services.pullrequests import MergeCheck, PullRequestView

# comparisons by (target, source, merge base, head): raw ids name immutable content, and a pull
# request's page is read far more often than its source moves
_COMPARED: Lru[tuple[str, str, str, str], ComparePage] = Lru(32)


@dataclass(frozen=True)
class PullRequestPage:
    pr: PullRequestView
    compare: ComparePage | None  # None when the repositories cannot be compared any more
    compare_error: str
    check: MergeCheck
    may_comment: bool
    may_review: bool
    may_close: bool
    may_edit_reviewers: bool
    may_merge: bool
    can_fast_forward: bool
    reviewer_status: str | None  # the visitor's own status, when a reviewer


def find(db: Session, actor: Actor | None, repo: RepoRef, pull_request_id: int) -> PullRequest:
    row = db.get(PullRequest, pull_request_id) if 0 < pull_request_id < 2**31 else None
    if (
        row is None
        or row.other_repo_id != repo.repo_id
        or actor is None
        or not permissions.may_read_pull_request(db, actor, row.org_repo_id)
    ):
        raise NotFound("pr_not_found", x=pull_request_id)
    return row


def page(
    db: Session, actor: Actor, settings: Settings, repo: RepoRef, pull_request_id: int
) -> PullRequestPage:
    row = find(db, actor, repo, pull_request_id)
    view = pullrequests.view(db, settings, row)
    compared: ComparePage | None = None
    error = ""
    org = db.get(Repository, row.org_repo_id)
    assert org is not None
    base, head = view.other_ref_parts[2], view.org_ref_parts[2]
    try:
        codeview.require_read(db, actor, RepoRef.of(org))  # the cache below asks nobody
        compared = _COMPARED.get_or_make(
            (repo.repo_name, org.repo_name, base, head),
            lambda: codeview.compare(
                db, actor, settings, repo, base, head, other_name=org.repo_name
            ),
        )
    except HearthError as exc:
        error = exc.text
    check = pullrequests.merge_check(db, actor, settings, row)
    reviewer_ids = set(
        db.scalars(
            select(User.user_id).where(User.username.in_([r.username for r in view.reviewers]))
        )
    )
    mine = next((r.status for r in view.reviewers if r.username == actor.username), None)
    return PullRequestPage(
        pr=view,
        compare=compared,
        compare_error=error,
        check=check,
        may_comment=not actor.is_anonymous and row.status == pullrequests.NEW,
        may_review=not actor.is_anonymous
        and permissions.may_review_pull_request(actor, row.owner_id, reviewer_ids),
        may_close=permissions.may_close_pull_request(actor, row.owner_id),
        may_edit_reviewers=permissions.may_edit_reviewers(db, actor, row.owner_id, repo.repo_id),
        may_merge=permissions.may_merge_pull_request(db, actor, repo.repo_id),
        can_fast_forward=view.repo_type == "git" and view.other_ref_parts[2] == view.other_head,
        reviewer_status=mine if not actor.is_anonymous else None,
    )


def listing(
    db: Session, actor: Actor, settings: Settings, repo: RepoRef, status: str
) -> list[PullRequestView]:
    webviews_ok = webcontent.can_read(db, actor, repo.repo_id)
    if not webviews_ok:
        raise NotFound("web_repo_not_found")
    return pullrequests.for_target(db, actor, settings, repo.repo_id, status)


@dataclass(frozen=True)
class NewPage:
    """The "new pull request" form: the repositories of the family the visitor may read, the
    refs of the chosen source and target, and the preview of what would be proposed."""

    sources: list[str]
    source_repo: str
    source_refs: list[str]
    target_refs: list[str]
    source_ref: str
    target_ref: str
    preview: ComparePage | None
    preview_error: str


def _ref_choices(settings: Settings, repo: RepoRef, given: str) -> tuple[list[str], str]:
    """The refs one may pick in ``repo``, and ``given`` as one of them: a typed ref stays, a
    bare name becomes the branch, bookmark or tag it names, anything else a ``rev:``."""
    with webcontent.opened(settings, repo) as handle:
        refs = handle.refs()
    choices = [f"branch:{name}" for name in refs.branches]
    choices += [f"book:{name}" for name in refs.bookmarks]
    choices += [f"tag:{name}" for name in refs.tags if name != "tip"]
    chosen = given
    if given and given.split(":", 1)[0] not in pullrequests.REF_TYPES:
        for kind, table in (
            ("branch", refs.branches),
            ("book", refs.bookmarks),
            ("tag", refs.tags),
        ):
            if given in table:
                chosen = f"{kind}:{given}"
                break
        else:
            chosen = f"rev:{given}"
    if chosen and chosen not in choices:
        choices.append(chosen)
    return choices, chosen


def new_page(
    db: Session,
    actor: Actor,
    settings: Settings,
    repo: RepoRef,
    source_repo: str,
    source_ref: str,
    target_ref: str,
) -> NewPage:
    target = db.get(Repository, repo.repo_id)
    assert target is not None
    family = [
        r
        for r in db.scalars(select(Repository).where(Repository.repo_type == repo.repo_type))
        if r.state == "ready" and pullrequests.same_family(db, r, target)
    ]
    levels = permissions.repo_levels(db, actor, [r.repo_id for r in family])
    readable = [
        r for r in family if actor.admin or levels.get(r.repo_id, 0) >= permissions.Level.READ
    ]
    names = sorted(r.repo_name for r in readable)
    source_name = source_repo if source_repo in names else repo.repo_name
    source = RepoRef.of(next(r for r in readable if r.repo_name == source_name))
    source_refs, source_ref = _ref_choices(settings, source, source_ref)
    target_refs, target_ref = _ref_choices(settings, repo, target_ref)
    preview, error = None, ""
    if source_ref and target_ref:
        try:
            preview = codeview.compare(
                db,
                actor,
                settings,
                repo,
                pullrequests.parse_ref(target_ref).name,
                pullrequests.parse_ref(source_ref).name,
                other_name=source_name,
                merge=True,
            )
        except HearthError as exc:
            error = exc.text
    return NewPage(
        names, source_name, source_refs, target_refs, source_ref, target_ref, preview, error
    )

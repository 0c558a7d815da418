# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a new repository goes (``create_repo``, ``fork``, the rescan): its parent group, and the
missing groups on the way, created when ``repo_group_auto_create`` and the caller's rights allow
(``methods.md`` §4 steps 2-4, ``web-and-vcs.md`` §7).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from hearth.db.models import RepoGroup, User
from hearth.errors import Conflict, Forbidden, NotFound
from hearth.services import names, permissions
from hearth.services.permissions import Actor, Level
from hearth.services.repogroups import by_path, create, lookup_repo_at


@dataclass(frozen=True)
class ParentPlan:
    """Where a new repository goes: the existing deepest ancestor and the groups to create."""

    existing: RepoGroup | None
    missing: list[str]


def plan_parent(db: Session, parent_path: str) -> ParentPlan:
    existing = None
    missing: list[str] = []
    for path in names.ancestors(parent_path):
        group = by_path(db, path) if not missing else None
        if group is None:
            missing.append(path)
        else:
            existing = group
    return ParentPlan(existing, missing)


def check_create_in(
    db: Session, actor: Actor, parent_path: str, *, auto_create: bool
) -> ParentPlan:
    """``create_repo`` steps 2-4: may the actor create a repository under ``parent_path``?"""
    plan = plan_parent(db, parent_path)
    if plan.missing:
        allowed = auto_create and (
            actor.admin
            or (
                plan.existing is not None
                and permissions.allows(db, actor, Level.ADMIN, plan.existing)
            )
        )
        if not allowed:
            raise NotFound("repo_group_missing", x=parent_path)
        return plan
    if plan.existing is not None:
        refusal = Forbidden("no_create_in_group", x=parent_path)
        permissions.require(db, actor, Level.WRITE, plan.existing, refusal)
    elif not permissions.has_global(db, actor, "hg.create.repository"):
        raise Forbidden("no_create_top_level")
    return plan


def create_missing(
    db: Session, actor: Actor, repos_root: Path, plan: ParentPlan, creator: User
) -> RepoGroup | None:
    """Auto-create ``plan.missing`` (owner = the caller; ``web-and-vcs.md`` §7)."""
    group = plan.existing
    for path in plan.missing:
        if lookup_repo_at(db, path):
            raise Conflict("repo_exists", x=path)
        group = create(db, actor, repos_root, path, description=f"{path} group", owner=creator)
    return group

# SPDX-License-Identifier: GPL-3.0-or-later
"""The permission explainer (issue 14 item 6): a user's effective permission on one repository,
repository group or user group, and every rule behind it.

The level and the rules come from :func:`hearth.services.permissions.explain`, which reads the
same rows the access checks take the MAX of, so an explanation cannot disagree with a decision.
A row that a repository group's grant wrote on something inside it (``apply_to_children``, or
``copy_permissions`` at creation) names that group (``inherited_from``). The ``permission`` of
the answer is the name ``get_user`` reports for the object
(``services.users.permission_report``): the API method, the CLI and the page all call
:func:`explain_permission`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hearth.db.models import RepoGroup, User, UserGroup
from hearth.errors import Forbidden, Invalid, NotFound
from hearth.services import lookup, permissions
from hearth.services.lookup import as_id
from hearth.services.permissions import Actor

#: object type word of the answer -> (permission kind, not-found code)
TYPES = {
    "repository": ("repository", "repo_not_found"),
    "repository_group": ("group", "repo_group_not_found"),
    "user_group": ("usergroup", "user_group_not_found"),
}


@dataclass(frozen=True)
class Because:
    rule: str
    permission: str
    via: str
    effective: bool
    inherited_from: str | None = None  # the repository group whose grant wrote the row here

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "permission": self.permission,
            "via": self.via,
            "effective": self.effective,
            "inherited_from": self.inherited_from,
        }


@dataclass(frozen=True)
class Answer:
    user: str
    object_type: str
    object_name: str
    permission: str
    because: list[Because]

    def as_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "object": {"type": self.object_type, "name": self.object_name},
            "permission": self.permission,
            "because": [b.as_json() for b in self.because],
        }


def _object(db: Session, object_type: str, ref: int | str) -> tuple[int, str]:
    if object_type == "repository":
        repo = lookup.repository(db, ref)
        return repo.repo_id, repo.repo_name
    if object_type == "repository_group":
        group = lookup.repo_group(db, ref)
        return group.group_id, group.group_name
    ugroup = lookup.user_group(db, ref)
    return ugroup.users_group_id, ugroup.group_name


def _via(db: Session, reason: permissions.Reason) -> str:
    if reason.via_group_id is not None:
        group = db.get(UserGroup, reason.via_group_id)
        return group.group_name if group is not None else str(reason.via_group_id)
    if reason.via_user_id is not None:
        user = db.get(User, reason.via_user_id)
        return user.username if user is not None else str(reason.via_user_id)
    return ""


def _origin(db: Session, reason: permissions.Reason) -> str | None:
    if reason.from_group_id is None:
        return None
    group = db.get(RepoGroup, reason.from_group_id)
    return group.group_name if group is not None else None


def explain_for(db: Session, subject: User, default_user_id: int, object_type: str, obj_id: int,
                obj_name: str) -> Answer:  # fmt: skip
    """The answer for ``subject`` on an object already looked up."""
    kind, _ = TYPES[object_type]
    actor = permissions.actor_for(db, subject, default_user_id)
    found = permissions.explain(db, actor, kind, obj_id)
    because = [
        Because(
            r.rule,
            permissions.permission_name(kind, r.level),
            _via(db, r),
            r.effective,
            _origin(db, r),
        )
        for r in found.reasons
    ]
    name = permissions.permission_name(kind, found.level)
    return Answer(subject.username, object_type, obj_name, name, because)


def explain_permission(
    db: Session,
    caller: Actor,
    userid: int | str | None,
    repoid: int | str | None = None,
    repogroupid: int | str | None = None,
    usergroupid: int | str | None = None,
) -> Answer:
    """Admins may ask about anyone; others only about themselves, and only about objects they
    can see at all (one they cannot is answered as missing, as ``get_repo`` would)."""
    given = [
        (t, ref)
        for t, ref in (
            ("repository", repoid),
            ("repository_group", repogroupid),
            ("user_group", usergroupid),
        )
        if ref is not None
    ]
    if len(given) != 1:
        raise Invalid("explain_one_object")
    himself = userid is None or as_id(userid) == caller.user_id or userid == caller.username
    if not caller.admin and not himself:
        raise Forbidden("not_same_user")
    subject = lookup.user(db, caller.user_id if userid is None else userid)
    object_type, ref = given[0]
    obj_id, obj_name = _object(db, object_type, ref)
    answer = explain_for(db, subject, caller.default_user_id, object_type, obj_id, obj_name)
    if not caller.admin and answer.permission.endswith(".none"):
        raise NotFound(TYPES[object_type][1], x=ref)
    return answer


def parse_object(text: str) -> tuple[str, str]:
    """``hearth perms explain USER OBJECT``'s OBJECT: ``repo:NAME``, ``group:NAME`` or
    ``usergroup:NAME``; a bare name is a repository."""
    prefix, sep, rest = text.partition(":")
    words = {"repo": "repository", "repository": "repository", "group": "repository_group",
             "repogroup": "repository_group", "usergroup": "user_group", "user_group": "user_group"}  # fmt: skip
    if sep and prefix in words and rest:
        return words[prefix], rest
    return "repository", text

# SPDX-License-Identifier: GPL-3.0-or-later
"""Mapping a Kallithea instance (``kallithea_source.Source``) onto a Hearth target: the plan.

The plan is computed against the target without changing it, so ``--dry-run`` and the real
import see the same thing: the rows to insert (as column dicts of Hearth's tables, ids already
chosen) and every skip with its reason. The rules (``docs/migrating-from-kallithea.md``):

* Kallithea's ``default`` user is the target's ``default`` user: its IP rules and global
  permissions (the defaults) replace the target's; its password and key are not taken (it never
  signs in).
* On a fresh target (only ``default`` and the first admin, nothing else), the first admin is merged
  with the Kallithea user of the same name: it takes that user's password, profile and keys.
  Any other user whose name or e-mail exists in the target is skipped, never overwritten; so are
  groups, repositories and gists whose name (or access id) is taken, and everything below a
  skipped group. What belonged to a skipped user is re-owned by the target's first admin; rows
  naming a skipped user or object (permissions, memberships, followers) go with it.
* Ids are kept where they are free in the target (a fresh target: always), so scripts that use ids
  keep working; otherwise a new id is chosen after the largest one in use.
* Names are checked with Hearth's own rules (``services.users``, ``services.names``,
  ``services.ipaccess``, ``services.permissions``); a name Hearth cannot hold is a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hearth import vcs
from hearth.db.models import (
    ApiKey,
    Follower,
    Gist,
    GroupUserGroupPerm,
    GroupUserPerm,
    JournalEntry,
    RepoGroup,
    Repository,
    RepoUserGroupPerm,
    RepoUserPerm,
    User,
    UserEmail,
    UserGlobalPerm,
    UserGroup,
    UserGroupGlobalPerm,
    UserGroupMember,
    UserGroupUserGroupPerm,
    UserGroupUserPerm,
    UserIpRule,
)
from hearth.errors import HearthError
from hearth.services import bootstrap, gists, ipaccess, keys, locks, names, repos, users
from hearth.services.kallithea_source import Source
from hearth.services.permissions import (
    ADMIN_PERMISSION,
    DEFAULT_USERNAME,
    LEVEL_WORDS,
    PERMISSIONS,
)

_LEVELS = {word: int(level) for level, word in LEVEL_WORDS.items()}
#: Kallithea's journal actions with a ``:<detail>`` tail kept in Hearth's ``detail`` column
ACTION_MAX = 64


@dataclass(frozen=True)
class Skip:
    """Something that does not come over, and why."""

    kind: str
    name: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class RepoCopy:
    """A repository directory to bring over: from ``source`` to ``<repos root>/<name>``."""

    repo_id: int
    name: str
    repo_type: str
    source: Path


@dataclass(frozen=True)
class GistCopy:
    access_id: str
    source: Path


@dataclass
class Plan:
    """What an import writes: rows per table (Hearth's column names), directories, skips."""

    fingerprint: str
    rows: dict[type, list[dict[str, Any]]] = field(default_factory=dict)
    #: existing target rows to update: (model, primary key, changes)
    updates: list[tuple[type, int, dict[str, Any]]] = field(default_factory=list)
    #: global permission holders whose target rows are replaced: (model, column, id)
    replace_globals: list[tuple[type, str, int]] = field(default_factory=list)
    repo_copies: list[RepoCopy] = field(default_factory=list)
    gist_copies: list[GistCopy] = field(default_factory=list)
    group_paths: list[str] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    merged_admin: str | None = None
    left_behind: dict[str, int] = field(default_factory=dict)

    def add(self, model: type, row: dict[str, Any]) -> None:
        self.rows.setdefault(model, []).append(row)

    def skip(self, kind: str, name: str, reason: str) -> None:
        self.skips.append(Skip(kind, name, reason))

    def counts(self) -> dict[str, int]:
        """Rows per kind, by the names of the final report."""
        shown = {
            "users": User,
            "emails": UserEmail,
            "ip_rules": UserIpRule,
            "api_keys": ApiKey,
            "user_groups": UserGroup,
            "members": UserGroupMember,
            "repo_groups": RepoGroup,
            "repositories": Repository,
            "gists": Gist,
            "followers": Follower,
            "journal": JournalEntry,
        }
        out = {kind: len(self.rows.get(model, [])) for kind, model in shown.items()}
        out["users"] += 1 if self.merged_admin else 0
        out["permissions"] = sum(
            len(self.rows.get(m, []))
            for m in (
                RepoUserPerm,
                RepoUserGroupPerm,
                GroupUserPerm,
                GroupUserGroupPerm,
                UserGroupUserPerm,
                UserGroupUserGroupPerm,
            )
        )
        out["global_permissions"] = len(self.rows.get(UserGlobalPerm, [])) + len(
            self.rows.get(UserGroupGlobalPerm, [])
        )
        out["skipped"] = len(self.skips)
        return out


class _Ids:
    """Ids for one target table: the source's id when free, else the next after the largest."""

    def __init__(self, db: Session, column: Any, wanted: Iterable[int]) -> None:
        self.taken = set(db.scalars(select(column)))
        self.next = max([0, *self.taken, *wanted]) + 1

    def choose(self, wanted: int) -> int:
        if wanted not in self.taken:
            self.taken.add(wanted)
            return wanted
        chosen = self.next
        self.next += 1
        self.taken.add(chosen)
        return chosen


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _is_fresh(db: Session, default_id: int) -> bool:
    """Only ``default`` and one admin, nothing else: what ``hearth init`` leaves."""
    others = db.scalar(select(func.count(User.user_id)).where(User.user_id != default_id))
    if others != 1:
        return False
    return all(
        not db.scalar(select(func.count()).select_from(model))
        for model in (Repository, RepoGroup, UserGroup, Gist)
    )


def _taken_emails(db: Session) -> set[str]:
    primary = {e.lower() for e in db.scalars(select(User.email)) if e}
    extra = {e.lower() for e in db.scalars(select(UserEmail.email)) if e}
    return primary | extra


def build(db: Session, source: Source, repos_dir: Path, target_root: Path) -> Plan:
    """The plan for importing ``source`` (repositories read from ``repos_dir``) into ``db``, whose
    repository root is ``target_root``."""
    default_id = bootstrap.default_user_id(db)
    if default_id is None:
        raise RuntimeError("the target is not initialised")
    plan = Plan(fingerprint=source.fingerprint(), left_behind=dict(source.left_behind))
    perm_names = source.permission_names()
    mapper = _Mapper(db, source, plan, default_id, perm_names, target_root)
    mapper.users()
    mapper.user_groups()
    mapper.repo_groups()
    mapper.repositories(repos_dir)
    mapper.object_permissions()
    mapper.global_permissions()
    mapper.followers()
    mapper.gists(repos_dir)
    mapper.journal()
    return plan


class _Mapper:
    def __init__(
        self,
        db: Session,
        source: Source,
        plan: Plan,
        default_id: int,
        perm_names: dict[int, str],
        target_root: Path,
    ) -> None:
        self.db = db
        self.target_root = target_root
        self.src = source
        self.plan = plan
        self.default_id = default_id
        self.perm_names = perm_names
        self.user_ids: dict[int, int] = {}
        self.usernames: dict[int, str] = {}
        self.group_ids: dict[int, int] = {}  # user groups
        self.repo_group_ids: dict[int, int] = {}
        self.repo_ids: dict[int, int] = {}
        self.repo_names: dict[int, str] = {}
        self.group_names: dict[int, str] = {}
        self.repo_group_names: dict[int, str] = {}
        admin = bootstrap.first_admin(db)
        self.admin_id = admin.user_id if admin is not None else default_id
        self.admin_name = admin.username if admin is not None else DEFAULT_USERNAME
        self.fresh = _is_fresh(db, default_id) and admin is not None

    # -- people ---------------------------------------------------------------------------------

    def users(self) -> None:
        rows = self.src.table("users")
        ids = _Ids(self.db, User.user_id, [r["user_id"] for r in rows])
        taken_names = {n.lower() for n in self.db.scalars(select(User.username_lower))}
        taken_emails = _taken_emails(self.db)
        key_hashes = set(self.db.scalars(select(ApiKey.key_hash)))
        for row in rows:
            kid, name = row["user_id"], row["username"]
            self.usernames[kid] = name
            if name == DEFAULT_USERNAME:
                self.user_ids[kid] = self.default_id
                continue
            email = _text(row["email"]).lower()
            merge = self.fresh and name == self.admin_name
            if merge:
                target_id = self.admin_id
                self.plan.merged_admin = name
                changes = self._profile(row)
                # the merged admin stays an active admin: the target must keep someone in charge
                changes.pop("admin")
                changes.pop("active")
                if email in taken_emails and email != self._target_email(self.admin_id):
                    changes.pop("email")
                self.plan.updates.append((User, target_id, changes))
                taken_emails.add(email)
            else:
                try:
                    users.validate_username(name)
                except HearthError as exc:
                    self.plan.skip("user", name, exc.text)
                    continue
                if name.lower() in taken_names:
                    self.plan.skip("user", name, "a user of that name exists in the target")
                    continue
                if email and email in taken_emails:
                    self.plan.skip("user", name, f"e-mail {email} exists in the target")
                    continue
                target_id = ids.choose(kid)
                self.plan.add(
                    User,
                    {
                        "user_id": target_id,
                        "username": name,
                        "username_lower": name.lower(),
                        "description": "",
                        "force_password_change": False,
                        **self._profile(row),
                    },
                )
                taken_names.add(name.lower())
                if email:
                    taken_emails.add(email)
            self.user_ids[kid] = target_id
            self._main_key(row, target_id, merge, key_hashes)
        self._emails(taken_emails)
        self._ip_rules()
        self._extra_keys(key_hashes)

    def _target_email(self, user_id: int) -> str:
        return _text(self.db.scalar(select(User.email).where(User.user_id == user_id))).lower()

    @staticmethod
    def _profile(row: dict[str, Any]) -> dict[str, Any]:
        """The columns Kallithea and Hearth share; the bcrypt hash is kept as it is."""
        return {
            "password": _text(row["password"]),
            "email": _text(row["email"]).lower(),
            "firstname": _text(row["firstname"]),
            "lastname": _text(row["lastname"]),
            "active": bool(row["active"]),
            "admin": bool(row["admin"]),
            "extern_type": _text(row["extern_type"]) or "internal",
            "extern_name": _text(row["extern_name"]),
            "last_login": row["last_login"],
            "created_on": row["created_on"],
        }

    def _key_row(
        self, key: str, user_id: int, description: str, expires: float, main: bool, created: Any
    ) -> dict[str, Any]:
        return {
            "user_id": user_id,
            "key_hash": keys.hash_key(key),
            "hint": key[-4:],
            "description": description,
            "expires": float(expires),
            "role": "all",
            "is_main": main,
            "created_on": created,
        }

    def _main_key(self, row: dict[str, Any], target_id: int, merge: bool, hashes: set[str]) -> None:
        key = _text(row["api_key"])
        if not key:
            return
        if keys.hash_key(key) in hashes:
            self.plan.skip("api_key", f"{row['username']} main key", "the key exists in the target")
            return
        hashes.add(keys.hash_key(key))
        # a merged admin keeps the key ``hearth init`` gave it as its main key
        description = "Kallithea main key" if merge else "main key"
        self.plan.add(
            ApiKey,
            self._key_row(key, target_id, description, -1.0, not merge, row["created_on"]),
        )

    def _extra_keys(self, hashes: set[str]) -> None:
        for row in self.src.table("user_api_keys"):
            owner = self.user_ids.get(row["user_id"])
            label = (
                f"{self.usernames.get(row['user_id'], row['user_id'])} key {row['description']!r}"
            )
            if owner is None or owner == self.default_id:
                self.plan.skip("api_key", label, "its user is not imported")
                continue
            key = _text(row["api_key"])
            if keys.hash_key(key) in hashes:
                self.plan.skip("api_key", label, "the key exists in the target")
                continue
            hashes.add(keys.hash_key(key))
            self.plan.add(
                ApiKey,
                self._key_row(
                    key, owner, _text(row["description"]), row["expires"], False, row["created_on"]
                ),
            )

    def _emails(self, taken: set[str]) -> None:
        for row in self.src.table("user_email_map"):
            owner = self.user_ids.get(row["user_id"])
            email = _text(row["email"]).lower()
            if owner is None or owner == self.default_id:
                self.plan.skip("email", email, "its user is not imported")
                continue
            if not email or email in taken:
                self.plan.skip("email", email, "the e-mail exists in the target")
                continue
            taken.add(email)
            self.plan.add(UserEmail, {"user_id": owner, "email": email})

    def _ip_rules(self) -> None:
        seen: set[tuple[int, str]] = set()
        existing = {
            (r.user_id, r.ip_addr)
            for r in self.db.execute(select(UserIpRule.user_id, UserIpRule.ip_addr))
        }
        for row in self.src.table("user_ip_map"):
            owner = self.user_ids.get(row["user_id"])
            label = f"{self.usernames.get(row['user_id'], row['user_id'])} {row['ip_addr']}"
            if owner is None:
                self.plan.skip("ip_rule", label, "its user is not imported")
                continue
            try:
                rule = ipaccess.normalise_rule(_text(row["ip_addr"]))
            except ValueError:
                self.plan.skip("ip_rule", label, "not an IP address or network")
                continue
            if (owner, rule) in seen or (owner, rule) in existing:
                continue
            seen.add((owner, rule))
            self.plan.add(
                UserIpRule, {"user_id": owner, "ip_addr": rule, "active": bool(row["active"])}
            )

    def _owner(self, kallithea_user: int, kind: str, name: str) -> int:
        owner = self.user_ids.get(kallithea_user)
        if owner is None or owner == self.default_id:
            self.plan.skip(
                kind,
                name,
                f"owner {self.usernames.get(kallithea_user, kallithea_user)} is not imported; "
                f"owned by {self.admin_name} instead",
            )
            return self.admin_id
        return owner

    def user_groups(self) -> None:
        rows = self.src.table("users_groups")
        ids = _Ids(self.db, UserGroup.users_group_id, [r["users_group_id"] for r in rows])
        taken = set(self.db.scalars(select(UserGroup.group_name)))
        for row in rows:
            kid, name = row["users_group_id"], row["users_group_name"]
            self.group_names[kid] = name
            if name in taken:
                self.plan.skip("user_group", name, "a user group of that name exists in the target")
                continue
            target_id = ids.choose(kid)
            self.group_ids[kid] = target_id
            taken.add(name)
            self.plan.add(
                UserGroup,
                {
                    "users_group_id": target_id,
                    "group_name": name,
                    "description": _text(row["user_group_description"]),
                    "active": bool(row["users_group_active"]),
                    "owner_id": self._owner(row["user_id"], "user_group", name),
                    "created_on": row["created_on"],
                },
            )
        seen: set[tuple[int, int]] = set()
        for row in self.src.table("users_groups_members"):
            group = self.group_ids.get(row["users_group_id"])
            user = self.user_ids.get(row["user_id"])
            if group is None or user is None:
                self.plan.skip(
                    "member",
                    f"{self.usernames.get(row['user_id'])} in "
                    f"{self.group_names.get(row['users_group_id'])}",
                    "its user or user group is not imported",
                )
                continue
            if (group, user) in seen:
                continue
            seen.add((group, user))
            self.plan.add(UserGroupMember, {"users_group_id": group, "user_id": user})

    # -- repository groups and repositories -------------------------------------------------------

    def _path_taken(self) -> set[str]:
        return set(self.db.scalars(select(RepoGroup.group_name))) | set(
            self.db.scalars(select(Repository.repo_name))
        )

    def repo_groups(self) -> None:
        rows = sorted(
            self.src.table("groups"), key=lambda r: (r["group_name"].count("/"), r["group_id"])
        )
        ids = _Ids(self.db, RepoGroup.group_id, [r["group_id"] for r in rows])
        taken = self._path_taken()
        by_id = {r["group_id"]: r for r in rows}
        for row in rows:
            kid, name = row["group_id"], row["group_name"]
            self.repo_group_names[kid] = name
            parent_kid = row["group_parent_id"]
            parent = None
            if parent_kid is not None:
                parent = self.repo_group_ids.get(parent_kid)
                if parent is None:
                    self.plan.skip("repo_group", name, "its parent group is not imported")
                    continue
                if names.parent_of(name) != by_id[parent_kid]["group_name"]:
                    self.plan.skip("repo_group", name, "its path does not match its parent's")
                    continue
            elif "/" in name:
                self.plan.skip("repo_group", name, "a nested path without a parent group")
                continue
            try:
                names.check_group_name(name)
            except HearthError as exc:
                self.plan.skip("repo_group", name, exc.text)
                continue
            if name in taken:
                self.plan.skip("repo_group", name, "the name exists in the target")
                continue
            target_id = ids.choose(kid)
            self.repo_group_ids[kid] = target_id
            taken.add(name)
            self.plan.group_paths.append(name)
            self.plan.add(
                RepoGroup,
                {
                    "group_id": target_id,
                    "group_name": name,
                    "parent_id": parent,
                    "description": _text(row["group_description"]),
                    "owner_id": self._owner(row["user_id"], "repo_group", name),
                    "created_on": row["created_on"],
                },
            )

    def repositories(self, repos_dir: Path) -> None:
        rows = self.src.table("repositories")
        ids = _Ids(self.db, Repository.repo_id, [r["repo_id"] for r in rows])
        taken = self._path_taken() | set(self.plan.group_paths)
        planned: list[dict[str, Any]] = []
        fork_of: dict[int, int | None] = {}
        for row in rows:
            kid, name = row["repo_id"], row["repo_name"]
            self.repo_names[kid] = name
            reason = self._repo_problem(row, repos_dir, taken)
            if reason:
                self.plan.skip("repository", name, reason)
                continue
            landing = repos.parse_landing_rev(_text(row["landing_revision"]) or "rev:tip")
            target_id = ids.choose(kid)
            self.repo_ids[kid] = target_id
            taken.add(name)
            group = row["group_id"]
            fork_of[target_id] = row["fork_id"]
            planned.append(
                {
                    "repo_id": target_id,
                    "repo_name": name,
                    "repo_type": row["repo_type"],
                    "clone_uri": row["clone_uri"] or None,
                    "private": bool(row["private"]),
                    "description": _text(row["description"]),
                    "created_on": row["created_on"],
                    "updated_on": row["updated_on"],
                    "owner_id": self._owner(row["user_id"], "repository", name),
                    "fork_id": None,
                    "group_id": self.repo_group_ids[group] if group is not None else None,
                    "landing_rev": landing or "rev:tip",
                    "enable_statistics": bool(row["statistics"]),
                    "enable_downloads": bool(row["downloads"]),
                    "state": "ready",
                    **self._lock(row),
                }
            )
            self.plan.repo_copies.append(
                RepoCopy(target_id, name, row["repo_type"], repos_dir / name)
            )
        for repo in planned:
            parent = fork_of[repo["repo_id"]]
            if parent is not None:
                repo["fork_id"] = self.repo_ids.get(parent)
                if repo["fork_id"] is None:
                    self.plan.skip(
                        "fork_parent",
                        repo["repo_name"],
                        f"fork of {self.repo_names.get(parent, parent)}, which is not imported; "
                        "imported as a standalone repository",
                    )
            self.plan.add(Repository, repo)

    def _lock(self, row: dict[str, Any]) -> dict[str, Any]:
        """Locking columns: Kallithea 0.7 has none (it dropped locking); older schemas have
        ``enable_locking`` and ``locked`` = ``<user id>:<epoch seconds>[:<reason>]``."""
        out: dict[str, Any] = {
            "enable_locking": bool(row.get("enable_locking") or False),
            "locked_by": None,
            "locked_date": None,
            "lock_reason": None,
        }
        parts = _text(row.get("locked")).split(":")
        if len(parts) >= 2 and parts[0].isdigit():
            holder = self.user_ids.get(int(parts[0]))
            try:
                since = float(parts[1])
            except ValueError:
                holder = None
            if holder is not None:
                reason = parts[2] if len(parts) > 2 else ""
                reason = reason if reason in (locks.LOCK_API, locks.LOCK_AUTO) else locks.LOCK_API
                out.update(locked_by=holder, locked_date=since, lock_reason=reason)
        return out

    def _repo_problem(self, row: dict[str, Any], repos_dir: Path, taken: set[str]) -> str | None:
        name = row["repo_name"]
        if row["repo_state"] != "repo_state_created":
            return f"state {row['repo_state']} (not finished in Kallithea)"
        if row["repo_type"] not in repos.REPO_TYPES:
            return f"unknown repository type {row['repo_type']!r}"
        try:
            names.check_repo_name(name)
        except HearthError as exc:
            return exc.text
        group = row["group_id"]
        if group is not None:
            if group not in self.repo_group_ids:
                return "its group is not imported"
            if names.parent_of(name) != self.repo_group_names[group]:
                return "its path does not match its group's"
        elif "/" in name:
            return "a nested path without a group"
        if name in taken:
            return "the name exists in the target"
        path = repos_dir / name
        if not path.is_dir():
            return f"directory {name} missing under --repos"
        if vcs.detect_type(str(path)) != row["repo_type"]:
            return f"directory {name} is not a {row['repo_type']} repository"
        if os.path.lexists(self._final(name)):
            return "a directory of that name exists in the target's repository root"
        return None

    def _final(self, name: str) -> Path:
        return self.target_root / name

    # -- permissions --------------------------------------------------------------------------

    def _level(self, perm_id: int, kind: str, label: str) -> int | None:
        name = self.perm_names.get(perm_id)
        prefix, _, word = (name or "").partition(".")
        if name is None or prefix != kind or word not in _LEVELS:
            self.plan.skip("permission", label, f"unknown permission {name or perm_id!r}")
            return None
        return _LEVELS[word]

    def object_permissions(self) -> None:
        specs = (
            ("repo_to_perm", RepoUserPerm, "repository", "repository_id", "repo_id",
             self.repo_ids, self.repo_names, "user_id", "user_id", self.user_ids, self.usernames),
            ("users_group_repo_to_perm", RepoUserGroupPerm, "repository", "repository_id",
             "repo_id", self.repo_ids, self.repo_names, "users_group_id", "users_group_id",
             self.group_ids, self.group_names),
            ("user_repo_group_to_perm", GroupUserPerm, "group", "group_id", "group_id",
             self.repo_group_ids, self.repo_group_names, "user_id", "user_id", self.user_ids,
             self.usernames),
            ("users_group_repo_group_to_perm", GroupUserGroupPerm, "group", "group_id", "group_id",
             self.repo_group_ids, self.repo_group_names, "users_group_id", "users_group_id",
             self.group_ids, self.group_names),
            ("user_user_group_to_perm", UserGroupUserPerm, "usergroup", "user_group_id",
             "target_id", self.group_ids, self.group_names, "user_id", "user_id", self.user_ids,
             self.usernames),
            ("user_group_user_group_to_perm", UserGroupUserGroupPerm, "usergroup",
             "target_user_group_id", "target_id", self.group_ids, self.group_names,
             "user_group_id", "users_group_id", self.group_ids, self.group_names),
        )  # fmt: skip
        for (
            table, model, kind, src_obj, dst_obj, obj_ids, obj_names,
            src_who, dst_who, who_ids, who_names,
        ) in specs:  # fmt: skip
            best: dict[tuple[int, int], int] = {}
            for row in self.src.table(table):
                label = (
                    f"{table}: {who_names.get(row[src_who], row[src_who])} on "
                    f"{obj_names.get(row[src_obj], row[src_obj])}"
                )
                level = self._level(row["permission_id"], kind, label)
                if level is None:
                    continue
                obj, who = obj_ids.get(row[src_obj]), who_ids.get(row[src_who])
                if obj is None or who is None:
                    self.plan.skip("permission", label, "its holder or object is not imported")
                    continue
                # Kallithea has no unique constraint here; the highest level is what it grants
                best[(obj, who)] = max(level, best.get((obj, who), -1))
            for (obj, who), level in best.items():
                self.plan.add(model, {dst_obj: obj, dst_who: who, "level": level})

    def global_permissions(self) -> None:
        for table, model, column, ids, id_names in (
            ("user_to_perm", UserGlobalPerm, "user_id", self.user_ids, self.usernames),
            ("users_group_to_perm", UserGroupGlobalPerm, "users_group_id", self.group_ids,
             self.group_names),
        ):  # fmt: skip
            chosen: dict[tuple[int, str], str] = {}
            for row in self.src.table(table):
                holder = row[column]
                name = self.perm_names.get(row["permission_id"])
                label = f"{table}: {id_names.get(holder, holder)} {name or row['permission_id']}"
                if name == ADMIN_PERMISSION:
                    continue  # admin comes from users.admin, in Kallithea as in Hearth
                if name is None or name not in PERMISSIONS:
                    self.plan.skip("global_permission", label, f"unknown permission {name!r}")
                    continue
                target = ids.get(holder)
                if target is None:
                    self.plan.skip("global_permission", label, "its holder is not imported")
                    continue
                kind, weight = PERMISSIONS[name]
                previous = chosen.get((target, kind))
                if previous is None or PERMISSIONS[previous][1] < weight:
                    chosen[(target, kind)] = name
            holders = sorted({target for target, _kind in chosen})
            for target in holders:
                self.plan.replace_globals.append((model, column, target))
            for (target, kind), name in sorted(chosen.items()):
                self.plan.add(model, {column: target, "kind": kind, "permission": name})

    # -- the rest --------------------------------------------------------------------------------

    def followers(self) -> None:
        seen: set[tuple[int, int]] = set()
        following_users = 0
        for row in self.src.table("user_followings"):
            if row["follows_repository_id"] is None:
                following_users += 1
                continue
            repo = self.repo_ids.get(row["follows_repository_id"])
            user = self.user_ids.get(row["user_id"])
            if repo is None or user is None or (repo, user) in seen:
                continue
            seen.add((repo, user))
            self.plan.add(
                Follower, {"repo_id": repo, "user_id": user, "follows_from": row["follows_from"]}
            )
        if following_users:
            self.plan.left_behind["user_followings (of users)"] = following_users

    def gists(self, repos_dir: Path) -> None:
        rows = self.src.table("gists")
        ids = _Ids(self.db, Gist.gist_id, [r["gist_id"] for r in rows])
        taken = set(self.db.scalars(select(Gist.access_id)))
        for row in rows:
            access = _text(row["gist_access_id"])
            try:
                source = gists.path_of(repos_dir, access)
                final = gists.path_of(self.target_root, access)
            except ValueError:
                self.plan.skip("gist", access, "not a valid access id")
                continue
            owner = self.user_ids.get(row["user_id"])
            if owner is None or owner == self.default_id:
                self.plan.skip("gist", access, "its owner is not imported")
                continue
            if access in taken or os.path.lexists(final):
                self.plan.skip("gist", access, "a gist with that access id exists in the target")
                continue
            if vcs.detect_type(str(source)) != "hg":
                self.plan.skip("gist", access, f"{gists.STORE}/{access} missing under --repos")
                continue
            gist_type = row["gist_type"] if row["gist_type"] in gists.GIST_TYPES else gists.PUBLIC
            taken.add(access)
            self.plan.add(
                Gist,
                {
                    "gist_id": ids.choose(row["gist_id"]),
                    "access_id": access,
                    "gist_type": gist_type,
                    "description": _text(row["gist_description"]),
                    "owner_id": owner,
                    "expires": float(row["gist_expires"]),
                    "acl_level": "acl_private" if gist_type == gists.PRIVATE else "acl_public",
                    "created_on": row["created_on"],
                    "modified_at": row["modified_at"],
                },
            )
            self.plan.gist_copies.append(GistCopy(access, source))

    def journal(self) -> None:
        rows = self.src.table("user_logs")
        ids = _Ids(self.db, JournalEntry.entry_id, [r["user_log_id"] for r in rows])
        for row in rows:
            action, _, detail = _text(row["action"]).partition(":")
            repo = row["repository_id"]
            self.plan.add(
                JournalEntry,
                {
                    "entry_id": ids.choose(row["user_log_id"]),
                    "user_id": self.user_ids.get(row["user_id"]) if row["user_id"] else None,
                    "username": _text(row["username"]),
                    "repo_id": self.repo_ids.get(repo) if repo is not None else None,
                    "repo_name": row["repository_name"] or None,
                    "action": action[:ACTION_MAX],
                    "detail": detail,
                    "ip_addr": _text(row["user_ip"]),
                    "action_date": row["action_date"],
                },
            )

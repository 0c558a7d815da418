# SPDX-License-Identifier: GPL-3.0-or-later
"""The tables, as SQLAlchemy 2 typed models. Only ``hearth.db`` knows them by name.

Permission rows store the *level* (0 none, 1 read, 3 write, 4 admin) rather than a permission id, so
that effective permissions are ``MAX(level)`` in one SQL query (``services/permissions.py``). Global
permission rows store the permission name; there are few of them per holder.

Times are stored as naive UTC datetimes; rendering in the server's time zone happens at the edge.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _fk(target: str, nullable: bool = False, ondelete: str = "CASCADE") -> Mapped[int]:
    return mapped_column(ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


def _origin() -> Mapped[int | None]:
    """The repository group whose grant wrote a permission row on something inside it
    (``apply_to_children``, or ``copy_permissions`` at creation); NULL for a row written on the
    object itself. The permission explainer names the group; access checks never read it."""
    return _fk("repo_groups.group_id", nullable=True, ondelete="SET NULL")  # type: ignore[return-value]


class User(Base):
    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    # lower-cased copy: usernames are unique ignoring case (README #8)
    username_lower: Mapped[str] = mapped_column(String(255), unique=True)
    password: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), index=True)
    firstname: Mapped[str] = mapped_column(String(255), default="")
    lastname: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    extern_type: Mapped[str] = mapped_column(String(255), default="internal")
    extern_name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    force_password_change: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_on: Mapped[datetime] = mapped_column(DateTime)


class UserEmail(Base):
    __tablename__ = "user_emails"

    email_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _fk("users.user_id")
    email: Mapped[str] = mapped_column(String(255), unique=True)


class UserIpRule(Base):
    __tablename__ = "user_ip_rules"

    ip_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _fk("users.user_id")
    ip_addr: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiKey(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _fk("users.user_id")
    # sha256 hex of the key; the key itself is never stored
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # last four characters, to tell keys apart in listings
    hint: Mapped[str] = mapped_column(String(8), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    expires: Mapped[float] = mapped_column(Float, default=-1.0)
    role: Mapped[str] = mapped_column(String(16), default="all")
    is_main: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[datetime] = mapped_column(DateTime)
    #: epoch seconds of the last request the key authenticated, to the minute (``services/keys.py``)
    last_used: Mapped[float | None] = mapped_column(Float, nullable=True)


class UserGroup(Base):
    __tablename__ = "user_groups"

    users_group_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[int] = _fk("users.user_id", ondelete="RESTRICT")
    created_on: Mapped[datetime] = mapped_column(DateTime)


class UserGroupMember(Base):
    __tablename__ = "user_group_members"
    __table_args__ = (UniqueConstraint("users_group_id", "user_id"),)

    member_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    users_group_id: Mapped[int] = _fk("user_groups.users_group_id")
    user_id: Mapped[int] = _fk("users.user_id")


class UserGlobalPerm(Base):
    """A global permission held by a user; ``kind`` is the permission's family (one row per kind)."""

    __tablename__ = "user_global_perms"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _fk("users.user_id")
    kind: Mapped[str] = mapped_column(String(32))
    permission: Mapped[str] = mapped_column(String(64))


class UserGroupGlobalPerm(Base):
    __tablename__ = "user_group_global_perms"
    __table_args__ = (UniqueConstraint("users_group_id", "kind"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    users_group_id: Mapped[int] = _fk("user_groups.users_group_id")
    kind: Mapped[str] = mapped_column(String(32))
    permission: Mapped[str] = mapped_column(String(64))


class RepoGroup(Base):
    __tablename__ = "repo_groups"

    group_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_name: Mapped[str] = mapped_column(String(255), unique=True)  # full path
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("repo_groups.group_id", ondelete="RESTRICT"), nullable=True, index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = _fk("users.user_id", ondelete="RESTRICT")
    created_on: Mapped[datetime] = mapped_column(DateTime)


class Repository(Base):
    __tablename__ = "repositories"

    repo_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_name: Mapped[str] = mapped_column(String(255), unique=True)  # full path
    repo_type: Mapped[str] = mapped_column(String(8))
    clone_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    created_on: Mapped[datetime] = mapped_column(DateTime)
    updated_on: Mapped[datetime] = mapped_column(DateTime, index=True)
    owner_id: Mapped[int] = _fk("users.user_id", ondelete="RESTRICT")
    fork_id: Mapped[int | None] = mapped_column(
        ForeignKey("repositories.repo_id", ondelete="SET NULL"), nullable=True, index=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("repo_groups.group_id", ondelete="RESTRICT"), nullable=True, index=True
    )
    landing_rev: Mapped[str] = mapped_column(String(255), default="rev:tip")
    enable_statistics: Mapped[bool] = mapped_column(Boolean, default=False)
    enable_downloads: Mapped[bool] = mapped_column(Boolean, default=False)
    enable_locking: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.user_id", ondelete="SET NULL"), nullable=True
    )
    locked_date: Mapped[float | None] = mapped_column(Float, nullable=True)
    lock_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # cached last changeset (brief form, dates as epoch seconds); refreshed on every change
    changeset_cache: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # "ready", or "pending" while a queued create/fork reserves the name
    state: Mapped[str] = mapped_column(String(16), default="ready")
    # mirrors (a clone_uri pulled every pull_interval seconds; migration 0005)
    pull_interval: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mirror_next_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    mirror_success_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    mirror_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    mirror_error_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    mirror_duration: Mapped[float | None] = mapped_column(Float, nullable=True)


class RepoUserPerm(Base):
    __tablename__ = "repo_user_perms"
    __table_args__ = (UniqueConstraint("repo_id", "user_id"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = _fk("repositories.repo_id")
    user_id: Mapped[int] = _fk("users.user_id")
    level: Mapped[int] = mapped_column(SmallInteger)
    from_group_id: Mapped[int | None] = _origin()


class RepoUserGroupPerm(Base):
    __tablename__ = "repo_user_group_perms"
    __table_args__ = (UniqueConstraint("repo_id", "users_group_id"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = _fk("repositories.repo_id")
    users_group_id: Mapped[int] = _fk("user_groups.users_group_id")
    level: Mapped[int] = mapped_column(SmallInteger)
    from_group_id: Mapped[int | None] = _origin()


class GroupUserPerm(Base):
    __tablename__ = "group_user_perms"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = _fk("repo_groups.group_id")
    user_id: Mapped[int] = _fk("users.user_id")
    level: Mapped[int] = mapped_column(SmallInteger)
    from_group_id: Mapped[int | None] = _origin()


class GroupUserGroupPerm(Base):
    __tablename__ = "group_user_group_perms"
    __table_args__ = (UniqueConstraint("group_id", "users_group_id"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = _fk("repo_groups.group_id")
    users_group_id: Mapped[int] = _fk("user_groups.users_group_id")
    level: Mapped[int] = mapped_column(SmallInteger)
    from_group_id: Mapped[int | None] = _origin()


class UserGroupUserPerm(Base):
    """A user's permission on a user group (the target)."""

    __tablename__ = "user_group_user_perms"
    __table_args__ = (UniqueConstraint("target_id", "user_id"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = _fk("user_groups.users_group_id")
    user_id: Mapped[int] = _fk("users.user_id")
    level: Mapped[int] = mapped_column(SmallInteger)


class UserGroupUserGroupPerm(Base):
    """A user group's (the source's) permission on another user group (the target)."""

    __tablename__ = "user_group_user_group_perms"
    __table_args__ = (UniqueConstraint("target_id", "users_group_id"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = _fk("user_groups.users_group_id")
    users_group_id: Mapped[int] = _fk("user_groups.users_group_id")
    level: Mapped[int] = mapped_column(SmallInteger)


class Follower(Base):
    __tablename__ = "followers"
    __table_args__ = (UniqueConstraint("repo_id", "user_id"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = _fk("repositories.repo_id")
    user_id: Mapped[int] = _fk("users.user_id")
    follows_from: Mapped[datetime] = mapped_column(DateTime)


class JournalEntry(Base):
    """Who did what where. Names are kept as text so entries outlive users and repositories."""

    __tablename__ = "journal"
    __table_args__ = (Index("ix_journal_repo_date", "repo_name", "action_date"),)

    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.user_id", ondelete="SET NULL"), nullable=True, index=True
    )
    username: Mapped[str] = mapped_column(String(255))
    repo_id: Mapped[int | None] = mapped_column(
        ForeignKey("repositories.repo_id", ondelete="SET NULL"), nullable=True, index=True
    )
    repo_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    ip_addr: Mapped[str] = mapped_column(String(64), default="")
    action_date: Mapped[datetime] = mapped_column(DateTime)


class Gist(Base):
    __tablename__ = "gists"

    gist_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    access_id: Mapped[str] = mapped_column(String(64), unique=True)
    gist_type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = _fk("users.user_id", ondelete="RESTRICT")
    expires: Mapped[float] = mapped_column(Float, default=-1.0)
    acl_level: Mapped[str] = mapped_column(String(16), default="acl_public")
    created_on: Mapped[datetime] = mapped_column(DateTime)
    modified_at: Mapped[datetime] = mapped_column(DateTime)


class Task(Base):
    """A background job started by an API call (``get_task``)."""

    __tablename__ = "tasks"

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    method: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.user_id", ondelete="SET NULL"), nullable=True
    )
    state: Mapped[str] = mapped_column(String(16), default="queued")
    result: Mapped[dict | list | str | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_on: Mapped[datetime] = mapped_column(DateTime)
    finished_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # what the task was asked (to undo it if its worker is lost) and its worker's last sign of life
    args: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    heartbeat_on: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # how far the work has got, as the job reports it (``services/rescan.Counts``); a worker
    # commits it with the work it counts, so it never runs ahead of what is done
    progress: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class AuthFailure(Base):
    """One failed authentication, counted by every server process (``services/failures.py``)."""

    __tablename__ = "auth_failures"

    failure_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    failed_on: Mapped[datetime] = mapped_column(DateTime, index=True)


class PullRequest(Base):
    """A proposal to bring the changesets of a source ("org") ref into a target ("other") ref.

    ``org_ref`` and ``other_ref`` are ``<type>:<name>:<raw id>`` as Kallithea stores them: the
    source's raw id is its head, the target's the merge base. ``revisions`` (raw ids, oldest first)
    and the heads are those of the current version; every earlier version is kept in
    :class:`PullRequestVersion`.
    """

    __tablename__ = "pull_requests"

    pull_request_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="new")
    owner_id: Mapped[int] = _fk("users.user_id", ondelete="RESTRICT")
    org_repo_id: Mapped[int] = _fk("repositories.repo_id")
    org_ref: Mapped[str] = mapped_column(String(512))
    other_repo_id: Mapped[int] = _fk("repositories.repo_id")
    other_ref: Mapped[str] = mapped_column(String(512))
    # the target ref's head when the revisions were computed: a merge refuses if it moved since
    other_head: Mapped[str] = mapped_column(String(40))
    revisions: Mapped[list] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    merge_rev: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_on: Mapped[datetime] = mapped_column(DateTime)
    updated_on: Mapped[datetime] = mapped_column(DateTime)


class PullRequestVersion(Base):
    """One state of a pull request's changesets: version 1 at creation, one more per update."""

    __tablename__ = "pull_request_versions"
    __table_args__ = (UniqueConstraint("pull_request_id", "number"),)

    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pull_request_id: Mapped[int] = _fk("pull_requests.pull_request_id")
    number: Mapped[int] = mapped_column(Integer)
    org_raw_id: Mapped[str] = mapped_column(String(40))
    merge_base: Mapped[str] = mapped_column(String(40))
    other_head: Mapped[str] = mapped_column(String(40))
    revisions: Mapped[list] = mapped_column(JSON, default=list)
    created_on: Mapped[datetime] = mapped_column(DateTime)


class PullRequestReviewer(Base):
    __tablename__ = "pull_request_reviewers"
    __table_args__ = (UniqueConstraint("pull_request_id", "user_id"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pull_request_id: Mapped[int] = _fk("pull_requests.pull_request_id")
    user_id: Mapped[int] = _fk("users.user_id")


class PullRequestComment(Base):
    """A general comment (no ``f_path``) or an inline one on line ``line_no`` (``n12`` new side,
    ``o12`` old side) of ``f_path`` in the diff of version ``version``. ``line_text`` is that
    line as it was, so a later version can tell whether the comment is outdated."""

    __tablename__ = "pull_request_comments"

    comment_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pull_request_id: Mapped[int] = _fk("pull_requests.pull_request_id")
    user_id: Mapped[int] = _fk("users.user_id")
    text: Mapped[str] = mapped_column(Text, default="")
    f_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    line_no: Mapped[str | None] = mapped_column(String(16), nullable=True)
    line_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("pull_request_comments.comment_id", ondelete="CASCADE"), nullable=True
    )
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[datetime] = mapped_column(DateTime)


class PullRequestStatus(Base):
    """A review status as Kallithea records it: one row per revision of the pull request per
    status change (``statuses`` lists them all); a reviewer's status is their latest row."""

    __tablename__ = "pull_request_statuses"

    status_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pull_request_id: Mapped[int] = _fk("pull_requests.pull_request_id")
    user_id: Mapped[int] = _fk("users.user_id")
    revision: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("pull_request_comments.comment_id", ondelete="SET NULL"), nullable=True
    )
    modified_at: Mapped[datetime] = mapped_column(DateTime)


class SshKey(Base):
    """A user's SSH public key (issue 16): one key belongs to one user, hence the unique
    fingerprint; ``public_key`` is the ``<type> <base64>`` line without its comment."""

    __tablename__ = "ssh_keys"

    key_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _fk("users.user_id")
    # "SHA256:<base64 without padding>", as ssh-keygen -l prints it
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    key_type: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    created_on: Mapped[datetime] = mapped_column(DateTime)
    last_used: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ImportRun(Base):
    """A finished import from another forge (``hearth admin import-kallithea``).

    Written in the import's own transaction, so it exists exactly when the import committed: a
    rerun against the same source (same ``fingerprint``) finds it and changes nothing.
    """

    __tablename__ = "import_runs"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "kallithea"
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(Text)  # the source database URL, password masked
    report: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    finished_on: Mapped[datetime] = mapped_column(DateTime)

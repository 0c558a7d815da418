# SPDX-License-Identifier: GPL-3.0-or-later
"""Who clones or pushes over HTTP, and whether they may (``spec/web-and-vcs.md`` §5, §6).

:func:`decide` runs the ordered steps of §5 for one git or hg request and returns a
:class:`Decision`; it knows nothing of HTTP (``smarthttp/auth.py`` turns a decision into the
401/403/404/423 answers). The steps:

1. the repository was resolved by the router (``None`` = missing);
2. the anonymous ``default`` user is tried first: active, its IP rules admit the client and its
   level on the repository is enough (pull: read, push: write) → served anonymously, credentials
   or not, and locking never applies (``permissions.md`` §3);
3. no credentials → :attr:`Outcome.LOGIN_REQUIRED`;
4. username **or e-mail** (e-mail case-insensitive, username exact) plus the password or one of
   the user's API keys whose role admits ``vcs`` (``all``, ``vcs``) → else
   :attr:`Outcome.BAD_CREDENTIALS`; the ``default`` user never logs in; a password only signs in
   a user whose ``extern_type`` is ``internal`` (Hearth has no other authentication plugin, so an
   ``ldap`` user imported from Kallithea uses API keys, as Kallithea without its LDAP plugin
   would); a hash imported from Kallithea (bcrypt) that verifies is replaced by argon2 then;
5. inactive user or IP rules fail → :attr:`Outcome.FORBIDDEN`;
6. repository missing or unreadable → :attr:`Outcome.NOT_FOUND` (one answer for both); push
   without write → :attr:`Outcome.PUSH_DENIED`;
7. locking (``services/locks.py``) when the caller says the request is subject to it.

Passwords are checked in constant time: a login naming nobody still pays one argon2
verification against a dummy hash. A clone is several requests, each carrying the password, so
:class:`VerifiedPasswords` remembers successful verifications for a while, keyed by (user id,
stored hash, HMAC-SHA-256 of the password under a per-process random key): a changed password
(new stored hash) or another password never hits, and the password itself is not kept.

Everything here blocks on the database; callers run it in a worker thread.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hearth.db.models import User, UserEmail
from hearth.services import ipaccess, keys, locks, permissions
from hearth.services.locks import LockDecision
from hearth.services.lookup import RepoRef
from hearth.services.passwords import hash_password, needs_rehash, verify_password
from hearth.services.permissions import DEFAULT_USERNAME, Actor, Level

Access = Literal["pull", "push"]

_NEEDS: dict[str, Level] = {"pull": Level.READ, "push": Level.WRITE}


@dataclass(frozen=True)
class Credentials:
    """What HTTP Basic carried: a username or e-mail, and a password or an API key."""

    login: str
    secret: str


class Outcome(enum.Enum):
    SERVE = "serve"
    LOGIN_REQUIRED = "login_required"  # no credentials: 401 (or setting auth_ret_code)
    BAD_CREDENTIALS = "bad_credentials"  # wrong ones: 401 again, and the failure is throttled
    FORBIDDEN = "forbidden"  # inactive user or IP rules: 403
    NOT_FOUND = "not_found"  # missing or unreadable repository: 404
    PUSH_DENIED = "push_denied"  # readable, no write: 403
    LOCKED = "locked"  # refused by the lock: setting lock_ret_code


@dataclass(frozen=True)
class Decision:
    """The answer of :func:`decide` for one request."""

    outcome: Outcome
    actor: Actor | None = None
    """Who is served (the anonymous ``default`` actor for anonymous requests); None unless served
    or locked out."""
    lock: LockDecision = locks.ALLOWED
    """The lock as it concerns this request: refused (``LOCKED``), or a 2xx ``lock_ret_code`` whose
    message the client is shown while the request is served."""
    holds_lock: bool = False
    """A push by the user holding the lock: the lock is released after it succeeds."""
    public: bool = False
    """The ``default`` user may read the repository (hg stream clones are allowed then)."""

    @property
    def served(self) -> bool:
        return self.outcome is Outcome.SERVE


# --- passwords ---------------------------------------------------------------------------------


class VerifiedPasswords:
    """An LRU of recent successful password verifications (see the module docstring).

    Only successes are stored; an entry lives ``ttl`` seconds. Thread-safe: verifications run in
    the thread pool.
    """

    def __init__(self, size: int = 1024, ttl: float = 600.0) -> None:
        self.size = size
        self.ttl = ttl
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[tuple[int, str, bytes], float] = OrderedDict()
        self._lock = threading.Lock()
        self._dummy: str | None = None

    def _entry(self, user_id: int, stored: str, password: str) -> tuple[int, str, bytes]:
        mac = hmac.new(self._key, password.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return (user_id, stored, mac.digest())

    def verify(self, user_id: int, stored: str, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (argon2 or imported bcrypt), cached on success."""
        if not stored or not password:
            return False
        entry = self._entry(user_id, stored, password)
        now = time.monotonic()
        with self._lock:
            since = self._seen.get(entry)
            if since is not None:
                if now - since < self.ttl:
                    self._seen.move_to_end(entry)
                    return True
                del self._seen[entry]
        if not verify_password(stored, password):
            return False
        with self._lock:
            self._seen[entry] = now
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)
        return True

    def waste(self, password: str) -> None:
        """One argon2 verification that cannot succeed: a login naming nobody costs the same."""
        if self._dummy is None:
            self._dummy = hash_password(secrets.token_hex(16))
        verify_password(self._dummy, password or "-")

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


# --- the steps -----------------------------------------------------------------------------------

_DEFAULT_ACTIVE = select(User.active).where(User.user_id == bindparam("did"))
_BY_USERNAME = select(User).where(User.username == bindparam("login"))
_BY_EMAIL = select(User).where(func.lower(User.email) == bindparam("email"))
_BY_EXTRA_EMAIL = (
    select(User)
    .join(UserEmail, UserEmail.user_id == User.user_id)
    .where(func.lower(UserEmail.email) == bindparam("email"))
)


def find_login(db: Session, login: str) -> User | None:
    """The user a login names: an exact username, else a case-insensitive e-mail (primary, then
    extra addresses). Usernames cannot contain ``@``, so a login with one is an e-mail."""
    if not login or len(login) > 255:
        return None
    if "@" not in login:
        return db.scalar(_BY_USERNAME, {"login": login})
    email = login.lower()
    return db.scalar(_BY_EMAIL, {"email": email}) or db.scalar(_BY_EXTRA_EMAIL, {"email": email})


def check_credentials(
    db: Session, credentials: Credentials, default_user_id: int, passwords: VerifiedPasswords
) -> User | None:
    """The user whose password or ``vcs`` API key ``credentials`` carry; None if wrong.

    Activity and IP rules are the caller's (they answer 403, not 401).
    """
    user = find_login(db, credentials.login)
    if user is None or user.user_id == default_user_id or user.username == DEFAULT_USERNAME:
        passwords.waste(credentials.secret)
        return None
    owner = keys.authenticate(db, credentials.secret, "vcs")
    if owner is not None and owner.user_id == user.user_id:
        return user
    if user.extern_type != PASSWORD_EXTERN_TYPE:
        passwords.waste(credentials.secret)
        return None
    if passwords.verify(user.user_id, user.password, credentials.secret):
        if needs_rehash(user.password):
            rehash(db, user, credentials.secret)
        return user
    return None


PASSWORD_EXTERN_TYPE = "internal"


def rehash(db: Session, user: User, password: str) -> None:
    """Store a current argon2 hash of ``password`` (which just verified) for ``user``.

    Committed at once, on the caller's session: the sign-in that triggers it is otherwise a read.
    Only replaces the hash that was verified; a failure (say, the database busy) leaves the old
    hash, which keeps working and is replaced at a later sign-in.
    """
    old, new = user.password, hash_password(password)
    try:
        db.execute(
            update(User)
            .where(User.user_id == user.user_id, User.password == old)
            .values(password=new)
            .execution_options(synchronize_session=False)
        )
        db.commit()
    except SQLAlchemyError:
        db.rollback()
        return
    set_committed_value(user, "password", new)  # as stored now; nothing left to flush


def _anonymous(
    db: Session, repo: RepoRef, need: Level, default_user_id: int, address: str
) -> tuple[bool, bool]:
    """Step 2: (served anonymously, ``default`` may read the repository)."""
    if not db.scalar(_DEFAULT_ACTIVE, {"did": default_user_id}):
        return False, False
    anonymous = Actor(default_user_id, DEFAULT_USERNAME, False, default_user_id)
    level = permissions.repo_level(db, anonymous, repo.repo_id)
    public = level >= Level.READ
    if level < need:
        return False, public
    allowed = ipaccess.ip_allowed(db, default_user_id, default_user_id, address)
    return allowed, public


def default_may_read(db: Session, repo: RepoRef, default_user_id: int, address: str) -> bool:
    """Whether the anonymous ``default`` user may read ``repo`` (stream clones are allowed then)."""
    return _anonymous(db, repo, Level.READ, default_user_id, address)[1]


def decide(
    db: Session,
    *,
    repo: RepoRef | None,
    access: Access,
    credentials: Credentials | None,
    address: str,
    default_user_id: int,
    passwords: VerifiedPasswords,
    lock_applies: bool = True,
    lock_ret_code: int = locks.DEFAULT_RET_CODE,
) -> Decision:
    """Steps 2-7 of ``web-and-vcs.md`` §5 for one request (step 1 is the caller's ``repo``).

    ``lock_applies`` is false for requests §6 exempts (hg ``listkeys`` and the other hg commands
    that move no changesets); anonymous requests are never subject to locks.
    """
    need = _NEEDS[access]
    public = False
    if repo is not None:
        served, public = _anonymous(db, repo, need, default_user_id, address)
        if served:
            anonymous = Actor(default_user_id, DEFAULT_USERNAME, False, default_user_id)
            return Decision(Outcome.SERVE, anonymous, public=public)
    if credentials is None:
        return Decision(Outcome.LOGIN_REQUIRED)
    user = check_credentials(db, credentials, default_user_id, passwords)
    if user is None:
        return Decision(Outcome.BAD_CREDENTIALS)
    return decide_user(
        db,
        repo=repo,
        access=access,
        user=user,
        address=address,
        default_user_id=default_user_id,
        lock_applies=lock_applies,
        lock_ret_code=lock_ret_code,
        public=public,
    )


def decide_user(
    db: Session,
    *,
    repo: RepoRef | None,
    access: Access,
    user: User,
    address: str,
    default_user_id: int,
    lock_applies: bool = True,
    lock_ret_code: int = locks.DEFAULT_RET_CODE,
    public: bool = False,
) -> Decision:
    """Steps 5-7 for a user already identified: by HTTP credentials (:func:`decide`) or by the
    SSH key they proved (``services/sshaccess.py``) — one copy of the rules for both edges."""
    need = _NEEDS[access]
    if not user.active or not ipaccess.ip_allowed(db, user.user_id, default_user_id, address):
        return Decision(Outcome.FORBIDDEN)
    actor = Actor(user.user_id, user.username, bool(user.admin), default_user_id)
    if repo is None:
        return Decision(Outcome.NOT_FOUND)
    level = permissions.repo_level(db, actor, repo.repo_id)
    if level < Level.READ:
        return Decision(Outcome.NOT_FOUND)
    if level < need:
        return Decision(Outcome.PUSH_DENIED)
    lock = locks.ALLOWED
    if lock_applies:
        check = locks.check_push if access == "push" else locks.check_pull
        lock = check(db, repo, actor, ret_code=lock_ret_code)
        if lock.refused:
            return Decision(Outcome.LOCKED, actor, lock, public=public)
    holds = access == "push" and repo.locked_by is not None and repo.locked_by == user.user_id
    return Decision(Outcome.SERVE, actor, lock, holds_lock=holds, public=public)

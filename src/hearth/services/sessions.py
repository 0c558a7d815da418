# SPDX-License-Identifier: GPL-3.0-or-later
"""Browser sessions: signing in with a password, the signed session token, CSRF tokens.

Signing in applies the rules clone/push applies to a password (``services/vcsauth.py``): a user
name (exact) or an e-mail (case-insensitive, extra addresses too), the ``default`` user never signs
in, a login naming nobody costs one argon2 verification like a wrong password, an inactive user or
one whose IP rules refuse the client is turned away only after the password was right. API keys are
not passwords here: a browser session is a person's.

The session token is ``v1.<payload>.<signature>``: base64url JSON ``{"u": user id, "p": password
fingerprint, "t": issued (epoch seconds), "n": nonce}`` signed with HMAC-SHA-256 under the server's
secret (``<home>/secret_key``, made on first use, shared by every worker). Nothing secret is in the
payload; the fingerprint (a hash of the stored password hash) makes a password change end every
other session of that user, and the token is checked against the user row on every request, so a
deactivated user is out at once. CSRF tokens are an HMAC of the session's nonce (or, before
signing in, of a random nonce the browser keeps in a cookie): a page from another site can neither
read nor compute one.

Everything here that touches the database blocks: callers run it in a worker thread.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hearth.clock import now_utc
from hearth.db.models import User
from hearth.services import ipaccess
from hearth.services.passwords import needs_rehash
from hearth.services.permissions import DEFAULT_USERNAME, Actor
from hearth.services.vcsauth import PASSWORD_EXTERN_TYPE, VerifiedPasswords, find_login, rehash

#: how long a session lasts after signing in (seconds)
MAX_AGE = 14 * 24 * 3600
_VERSION = "v1"

# --- the server's secret ----------------------------------------------------------------------

_secrets: dict[Path, bytes] = {}
_secrets_lock = threading.Lock()


def secret(home: Path) -> bytes:
    """The signing secret of the server whose home is ``home``: read, or made once (0600).

    Workers may start together: the secret is written to a file of its own and linked into
    place, so a reader sees either no file or the whole secret, and the first link wins.
    """
    path = home / "secret_key"
    with _secrets_lock:
        known = _secrets.get(path)
        if known is not None:
            return known
        if not path.exists():
            fresh = home / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_bytes(32).hex() + "\n")
            try:
                os.link(fresh, path)
            except FileExistsError:
                pass  # another worker was first: use its secret
            finally:
                fresh.unlink()
        value = bytes.fromhex(path.read_text().strip())
        if len(value) < 16:
            raise ValueError(f"{path}: the secret is too short; delete the file to make a new one")
        _secrets[path] = value
        return value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, data: str) -> bytes:
    return hmac.new(key, f"{purpose}|{data}".encode(), hashlib.sha256).digest()


# --- tokens --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """What a valid session token says; still to be checked against the user row."""

    user_id: int
    fingerprint: str
    issued: float
    nonce: str


def fingerprint(stored_password: str) -> str:
    """A short hash of the stored password hash: it changes with the password."""
    return hashlib.sha256(("session|" + stored_password).encode()).hexdigest()[:16]


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def issue(key: bytes, user_id: int, stored_password: str, now: float | None = None) -> str:
    """A new session token for ``user_id`` (a fresh nonce: the CSRF token changes too)."""
    payload = {
        "u": user_id,
        "p": fingerprint(stored_password),
        "t": int(now if now is not None else time.time()),
        "n": new_nonce(),
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{_VERSION}.{body}.{_b64(_mac(key, 'session', body))}"


def read(key: bytes, token: str | None, now: float | None = None) -> Claim | None:
    """The claim of a well-signed, unexpired token; None for anything else."""
    if not token or len(token) > 1024:
        return None
    version, _, rest = token.partition(".")
    body, _, signature = rest.partition(".")
    if version != _VERSION or not body or not signature:
        return None
    try:
        given = _unb64(signature)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(given, _mac(key, "session", body)):
        return None
    try:
        data = json.loads(_unb64(body))
        claim = Claim(int(data["u"]), str(data["p"]), float(data["t"]), str(data["n"]))
    except (ValueError, TypeError, KeyError):
        return None
    moment = now if now is not None else time.time()
    if not claim.issued - 60 <= moment <= claim.issued + MAX_AGE:
        return None
    return claim


def csrf_token(key: bytes, nonce: str) -> str:
    """The CSRF token of forms shown to the holder of ``nonce``."""
    return _b64(_mac(key, "csrf", nonce)[:18])


def csrf_valid(key: bytes, nonce: str | None, given: str | None) -> bool:
    if not nonce or not given:
        return False
    return hmac.compare_digest(csrf_token(key, nonce).encode(), given.encode("utf-8", "replace"))


# --- who the session is ---------------------------------------------------------------------------

_SESSION_USER = select(User.user_id, User.username, User.admin, User.active, User.password).where(
    User.user_id == bindparam("uid")
)


def actor(db: Session, claim: Claim, address: str, default_user_id: int) -> Actor | None:
    """The user a session speaks for, if it still may: same password, active, IP rules admit
    ``address``, not the ``default`` user. None otherwise (the session is then ignored)."""
    if claim.user_id == default_user_id:
        return None
    row = db.execute(_SESSION_USER, {"uid": claim.user_id}).first()
    if row is None or not row.active or row.username == DEFAULT_USERNAME:
        return None
    if not hmac.compare_digest(fingerprint(row.password), claim.fingerprint):
        return None
    if not ipaccess.ip_allowed(db, row.user_id, default_user_id, address):
        return None
    return Actor(row.user_id, row.username, bool(row.admin), default_user_id)


# --- signing in -------------------------------------------------------------------------------------


class Outcome(enum.Enum):
    SIGNED_IN = "signed_in"
    BAD_CREDENTIALS = "bad_credentials"  # the caller throttles these
    INACTIVE = "inactive"
    IP_DENIED = "ip_denied"


@dataclass(frozen=True)
class SignIn:
    outcome: Outcome
    user_id: int = 0
    username: str = ""
    stored_password: str = ""


def sign_in(
    db: Session,
    login: str,
    password: str,
    address: str,
    default_user_id: int,
    passwords: VerifiedPasswords,
) -> SignIn:
    """Check a user name or e-mail and a password; record the login time when they are right."""
    user = find_login(db, login.strip())
    if user is None or user.user_id == default_user_id or user.username == DEFAULT_USERNAME:
        passwords.waste(password)
        return SignIn(Outcome.BAD_CREDENTIALS)
    if user.extern_type != PASSWORD_EXTERN_TYPE:
        # as over clone/push: a user of an authentication plugin Hearth lacks (an imported
        # ``ldap`` user) has no password here, only API keys
        passwords.waste(password)
        return SignIn(Outcome.BAD_CREDENTIALS)
    if not passwords.verify(user.user_id, user.password, password):
        return SignIn(Outcome.BAD_CREDENTIALS)
    if needs_rehash(user.password):  # an imported bcrypt hash becomes argon2 at first sign-in
        rehash(db, user, password)
    if not user.active:
        return SignIn(Outcome.INACTIVE)
    if not ipaccess.ip_allowed(db, user.user_id, default_user_id, address):
        return SignIn(Outcome.IP_DENIED)
    user.last_login = now_utc()
    return SignIn(Outcome.SIGNED_IN, user.user_id, user.username, user.password)


def safe_return_path(came_from: str | None) -> str:
    """Where to go after signing in: a path of this site only (``/x``, never ``//host`` or a URL)."""
    if not came_from or not came_from.startswith("/") or came_from.startswith("//"):
        return "/"
    if "\\" in came_from or any(ord(c) < 32 for c in came_from):
        return "/"
    if came_from.startswith(("/_admin/login", "/_admin/logout")):
        return "/"
    return came_from

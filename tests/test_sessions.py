# SPDX-License-Identifier: GPL-3.0-or-later
"""Session tokens and CSRF tokens of ``services/sessions.py``: what a forged, altered, expired or
foreign token gets (nothing), and the return path after signing in (this site only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hearth.services import sessions


def test_tokens_round_trip_and_refuse_tampering(tmp_path: Path) -> None:
    key = sessions.secret(tmp_path)
    token = sessions.issue(key, 7, "stored-hash", now=1_000_000)
    claim = sessions.read(key, token, now=1_000_100)
    assert claim is not None and claim.user_id == 7
    assert claim.fingerprint == sessions.fingerprint("stored-hash")
    assert claim.fingerprint != sessions.fingerprint("another-hash")
    version, body, signature = token.split(".")
    other = sessions.issue(key, 8, "stored-hash", now=1_000_000).split(".")[1]
    for forged in (
        f"{version}.{other}.{signature}",  # another payload under this signature
        f"v2.{body}.{signature}",
        f"{version}.{body}.{signature[:-2]}AA",
        f"{version}.{body}",
        "",
        "x" * 2000,
    ):
        assert sessions.read(key, forged, now=1_000_100) is None, forged
    assert sessions.read(b"k" * 32, token, now=1_000_100) is None  # another server's secret
    assert sessions.read(key, token, now=1_000_000 + sessions.MAX_AGE + 1) is None  # expired
    assert sessions.read(key, token, now=1_000_000 - 3600) is None  # from the future


def test_csrf_tokens(tmp_path: Path) -> None:
    key = sessions.secret(tmp_path)
    token = sessions.csrf_token(key, "nonce-a")
    assert sessions.csrf_valid(key, "nonce-a", token)
    assert not sessions.csrf_valid(key, "nonce-b", token)
    assert not sessions.csrf_valid(key, "nonce-a", "")
    assert not sessions.csrf_valid(key, None, token)
    assert not sessions.csrf_valid(key, "nonce-a", token + "x")


def test_one_secret_for_workers_starting_together(tmp_path: Path) -> None:
    """Worker processes starting at once all read the one secret the first of them wrote."""
    code = "import sys; from pathlib import Path; from hearth.services import sessions; "
    code += "print(sessions.secret(Path(sys.argv[1])).hex())"
    workers = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE)
        for _ in range(6)
    ]
    found = {worker.communicate(timeout=60)[0].strip() for worker in workers}
    assert all(worker.returncode == 0 for worker in workers)
    assert len(found) == 1 and len(bytes.fromhex(found.pop().decode())) == 32
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_return_path_stays_on_this_site() -> None:
    assert sessions.safe_return_path("/team/tools/files/tip/README?x=1") == (
        "/team/tools/files/tip/README?x=1"
    )
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil", "evil", "", None):
        assert sessions.safe_return_path(bad) == "/", bad
    assert sessions.safe_return_path("/_admin/logout") == "/"

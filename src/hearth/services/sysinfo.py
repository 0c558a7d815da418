# SPDX-License-Identifier: GPL-3.0-or-later
"""Versions of the tools Hearth drives, for ``get_server_info`` and ``hearth admin doctor``."""

from __future__ import annotations

import functools
import subprocess


@functools.cache
def git_version(git: str = "git") -> str:
    try:
        out = subprocess.run([git, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip().rsplit(" ", 1)[-1] if out.returncode == 0 else ""


@functools.cache
def hg_version() -> str:
    try:
        from mercurial import util

        return util.version().decode()
    except Exception:  # an unusable Mercurial is reported as no version, not a crash
        return ""

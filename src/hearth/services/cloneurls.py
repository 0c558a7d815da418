# SPDX-License-Identifier: GPL-3.0-or-later
"""The SSH clone URL of a repository (issue 16), shared by the summary page and ``get_repo``
so both show the same one.

The built-in server listens on setting ``ssh_port`` (0: off, and then there is no SSH URL) and
accepts any user name, so the URL carries setting ``ssh_user`` — with OpenSSH in front that is
the system account whose logins ``hearth ssh-keys`` answers. The host is the one of the page's
or the API's base URL (``canonical_url`` or the request's ``Host``): the name the client already
reaches this instance by. The path is the repository's name, as the server expects it
(``services/sshaccess.py`` accepts git's leading slash and hg's relative path alike).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from hearth.config import Settings


def ssh_url(settings: Settings, base_url: str, repo_name: str) -> str | None:
    """``ssh://<ssh_user>@<host>:<ssh_port>/<repo>``, or None when SSH is off."""
    if not settings.ssh_port:
        return None
    host = urlsplit(base_url).hostname or "localhost"
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    user = quote(settings.ssh_user, safe="")
    return f"ssh://{user}@{host}:{settings.ssh_port}/{quote(repo_name)}"

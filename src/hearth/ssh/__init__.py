# SPDX-License-Identifier: GPL-3.0-or-later
"""The SSH edge (issue 16): the built-in server (``server.py``) and the hooks hg runs for an SSH
session (``hgserve.py``: Mercurial's SSH server with Hearth's hooks). The rules — which command, for whom, what after — are
``services/sshaccess.py``, shared with ``hearth ssh-serve`` (OpenSSH's forced command)."""

# SPDX-License-Identifier: GPL-3.0-or-later
"""Web views: what a browser or a build farm fetches over plain HTTP GETs (``spec/web-and-vcs.md`` §8).

* ``views.handle`` — the views below a repository (raw files, diffs, patches, archives, feeds); the
  router (``hearth/routing.py``) calls it with the repository row and the rest of the path.
* ``routes.routes`` — the routes outside repositories (the journal feeds).
* ``access`` — view names, the whitelist, where a key comes from, who the request acts as.
* ``archives`` — the archive cache and streaming; ``feeds`` — RSS 2.0 / Atom 1.0 rendering.

Data and access decisions come from ``services/webcontent.py`` (which asks ``services/permissions.py``).
"""

# SPDX-License-Identifier: GPL-3.0-or-later
"""The web views that can take an API key, under their three names, and the whitelist's rules.

``spec/web-and-vcs.md`` §8: every view has three names (Kallithea's, RhodeCode's, Hearth's); the
feed views always take a key, the others only when setting ``api_access_controllers_whitelist`` has a
glob pattern matching one of their names (case-sensitive, ``fnmatch.fnmatchcase``). The table lives
here, below the edges, so that ``web/access.py`` applies it and ``hearth serve`` and ``hearth doctor``
can check a whitelist against it: an entry matching no name (``FilesControler:raw``) enables
nothing, silently — :func:`unmatched` names such entries and the closest view name.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class View:
    """One web view under its three names; ``feed`` views always take a key (role ``feed`` too)."""

    name: str
    kallithea: str
    rhodecode: str
    feed: bool = False

    @property
    def names(self) -> tuple[str, str, str]:
        return (self.kallithea, self.rhodecode, self.name)

    @property
    def key_use(self) -> str:
        """The key use of ``services/keys.py``: which key roles this view admits."""
        return "feed" if self.feed else "http"


_TABLE = (
    View("changeset:raw", "ChangesetController:changeset_raw", "RepoCommitsView:repo_commit_raw"),
    View(
        "changeset:patch",
        "ChangesetController:changeset_patch",
        "RepoCommitsView:repo_commit_patch",
    ),
    View(
        "changeset:download",
        "ChangesetController:changeset_download",
        "RepoCommitsView:repo_commit_download",
    ),
    View("files:raw", "FilesController:raw", "RepoFilesView:repo_file_raw"),
    View("files:download", "FilesController:rawfile", "RepoFilesView:repo_file_download"),
    View("files:diff", "FilesController:diff", "RepoFilesView:repo_files_diff"),
    View("files:archive", "FilesController:archivefile", "RepoFilesView:repo_archivefile"),
    View("feed:rss", "FeedController:rss", "RepoFeedView:rss", feed=True),
    View("feed:atom", "FeedController:atom", "RepoFeedView:atom", feed=True),
    View("journal:rss", "JournalController:journal_rss", "JournalView:journal_rss", feed=True),
    View("journal:atom", "JournalController:journal_atom", "JournalView:journal_atom", feed=True),
    View(
        "journal:public_rss",
        "JournalController:public_journal_rss",
        "JournalView:journal_public_rss",
        feed=True,
    ),
    View(
        "journal:public_atom",
        "JournalController:public_journal_atom",
        "JournalView:journal_public_atom",
        feed=True,
    ),
)
VIEWS: dict[str, View] = {view.name: view for view in _TABLE}


@functools.lru_cache(maxsize=16)
def api_enabled_views(whitelist: tuple[str, ...]) -> frozenset[str]:
    """Hearth names of the views that take a key: the feeds, and every view one of whose names
    matches a pattern of ``whitelist``. Computed once per whitelist (the table is finite)."""
    patterns = [pattern.strip() for pattern in whitelist if pattern.strip()]
    return frozenset(
        view.name
        for view in _TABLE
        if view.feed
        or any(fnmatchcase(name, pattern) for name in view.names for pattern in patterns)
    )


ALL_NAMES: tuple[str, ...] = tuple(name for view in _TABLE for name in view.names)


@dataclass(frozen=True)
class Unmatched:
    """A whitelist entry that matches no view name, and the name it is closest to."""

    entry: str
    closest: str

    @property
    def warning(self) -> str:
        return (
            f"api_access_controllers_whitelist: `{self.entry}` matches no view name and enables "
            f"nothing; did you mean `{self.closest}`?"
        )


def unmatched(whitelist: tuple[str, ...]) -> list[Unmatched]:
    """Entries of ``whitelist`` that match none of the views' names, in the whitelist's order."""
    found = []
    for entry in (pattern.strip() for pattern in whitelist):
        if entry and not any(fnmatchcase(name, entry) for name in ALL_NAMES):
            closest = difflib.get_close_matches(entry, ALL_NAMES, n=1, cutoff=0.0)
            found.append(Unmatched(entry, closest[0] if closest else ALL_NAMES[0]))
    return found

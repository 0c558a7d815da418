# SPDX-License-Identifier: GPL-3.0-or-later
"""The one table of web views: names, key use, the paths below a repository, the handler.

Every web view is one :class:`View` row. ``web/access.py`` reads the names (which views take an API
key, ``spec/web-and-vcs.md`` §8), ``web/views.py`` finds the row a path below a repository names and
calls its handler. A page module adds its views with one decorator each::

    @web_view("files:tree", "FilesController:index", "RepoFilesView:repo_files", words=("files",),
              parse=rev_path)
    async def files_page(req: WebRequest) -> Response | None: ...

and is imported once in ``web/views.py`` (the import is what registers it). Views served outside a
repository (the journal feeds of ``web/routes.py``) are rows without ``words``: only their names and
key use matter here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from starlette.responses import Response

    from hearth.web.request import WebRequest

#: A view: answers through ``req.send`` (returns None) or returns a Starlette response to send.
Handler = Callable[["WebRequest"], Awaitable["Response | None"]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class Target:
    """What a path below a repository names: the view, and the revision and file path in it."""

    view: str
    rev: str = ""
    path: str = ""


#: How the rest of a path after a view's word becomes (rev, path); None: not this view.
Parser = Callable[[str], "tuple[str, str] | None"]


def rev_only(tail: str) -> tuple[str, str] | None:
    """``<word>/<rev>`` (empty: ``tip``)."""
    return tail.rstrip("/"), ""


def rev_path(tail: str) -> tuple[str, str] | None:
    """``<word>/<rev>/<path>``."""
    rev, _, path = tail.partition("/")
    return rev, path


def path_required(tail: str) -> tuple[str, str] | None:
    """``<word>/<path>``, a path there must be."""
    return ("", tail) if tail else None


def rev_required(tail: str) -> tuple[str, str] | None:
    """``<word>/<rev>``, a revision there must be (used as it stands)."""
    return (tail, "") if tail else None


def exact(tail: str) -> tuple[str, str] | None:
    """Nothing after the words (``feed/rss``; a trailing ``/`` is allowed)."""
    return ("", "") if not tail.strip("/") else None


@dataclass(frozen=True)
class View:
    """One web view under its three names (Kallithea's, RhodeCode's, Hearth's).

    ``feed`` views always take a key (role ``feed`` too). ``words`` are the first path segments
    below a repository that name the view (``raw``, or ``feed/rss`` with :func:`exact`); ``parse``
    reads the rest of the path.
    """

    name: str
    kallithea: str
    rhodecode: str
    feed: bool = False
    words: tuple[str, ...] = ()
    parse: Parser = rev_only
    handler: Handler | None = None
    methods: tuple[str, ...] = ("GET", "HEAD")

    @property
    def names(self) -> tuple[str, str, str]:
        return (self.kallithea, self.rhodecode, self.name)

    @property
    def key_use(self) -> str:
        """The key use of ``services/keys.py``: which key roles this view admits."""
        return "feed" if self.feed else "http"


VIEWS: dict[str, View] = {}
_BY_WORD: dict[str, View] = {}
_listeners: list[Callable[[], None]] = []


def register(view: View) -> View:
    """Add ``view`` to the table; a name or word used twice is a programming error."""
    if view.name in VIEWS:
        raise ValueError(f"web view {view.name!r} registered twice")
    clash = [word for word in view.words if word in _BY_WORD]
    if clash:
        raise ValueError(f"web view {view.name!r}: path word {clash[0]!r} is taken")
    VIEWS[view.name] = view
    for word in view.words:
        _BY_WORD[word] = view
    for listener in _listeners:
        listener()
    return view


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever a view is added (``web/access.py`` drops its cached answers)."""
    _listeners.append(listener)


def web_view(
    name: str,
    kallithea: str,
    rhodecode: str,
    *,
    words: tuple[str, ...],
    parse: Parser = rev_only,
    feed: bool = False,
    methods: tuple[str, ...] = ("GET", "HEAD"),
) -> Callable[[H], H]:
    """Decorator: register the decorated coroutine as the handler of a view below a repository."""

    def add(handler: H) -> H:
        register(View(name, kallithea, rhodecode, feed, words, parse, handler, methods))
        return handler

    return add


def match(rest: str) -> tuple[View, Target] | None:
    """The view a path below a repository names, or None (not one of ours).

    A view whose words hold a ``/`` (``feed/rss``) is matched on the whole path, the others on its
    first segment.
    """
    rest = rest.lstrip("/")
    whole = rest.rstrip("/")
    view = _BY_WORD.get(whole) if "/" in whole or whole == "" else None
    tail = ""
    if view is None:
        head, _, tail = rest.partition("/")
        view = _BY_WORD.get(head)
    if view is None:
        return None
    parsed = view.parse(tail)
    if parsed is None:
        return None
    return view, Target(view.name, rev=parsed[0], path=parsed[1])

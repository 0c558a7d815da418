# SPDX-License-Identifier: GPL-3.0-or-later
"""The one table of where web views below a repository are served: path words, parser, handler.

``web/views.py`` finds the row a path below a repository names and calls its handler; the names a
view is known by to the API-key whitelist are ``services/viewnames.py`` (by the same Hearth name;
a page that takes no key needs no row there). A page module adds its views with one decorator
each::

    @web_view("files:tree", words=("files",), parse=rev_path)
    async def files_page(req: WebRequest) -> Response | None: ...

and is imported once in ``web/views.py`` (the import is what registers it).
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
class Route:
    """Where one view is served: ``words`` are the first path segments below a repository that
    name it (``raw``, or ``feed/rss`` with :func:`exact`); ``parse`` reads the rest of the path."""

    view: str
    words: tuple[str, ...]
    handler: Handler
    parse: Parser = rev_only
    methods: tuple[str, ...] = ("GET", "HEAD")


ROUTES: dict[str, Route] = {}
_BY_WORD: dict[str, Route] = {}


def register(route: Route) -> Route:
    """Add ``route``; a view or a word served twice is a programming error."""
    if route.view in ROUTES:
        raise ValueError(f"web view {route.view!r} registered twice")
    clash = [word for word in route.words if word in _BY_WORD]
    if clash:
        raise ValueError(f"web view {route.view!r}: path word {clash[0]!r} is taken")
    ROUTES[route.view] = route
    for word in route.words:
        _BY_WORD[word] = route
    return route


def web_view(
    view: str,
    *,
    words: tuple[str, ...],
    parse: Parser = rev_only,
    methods: tuple[str, ...] = ("GET", "HEAD"),
) -> Callable[[H], H]:
    """Decorator: serve the decorated coroutine as ``view`` below a repository."""

    def add(handler: H) -> H:
        register(Route(view, words, handler, parse, methods))
        return handler

    return add


def match(rest: str) -> tuple[Route, Target] | None:
    """The view a path below a repository names, or None (not one of ours).

    A view whose words hold a ``/`` (``feed/rss``) is matched on the whole path, the others on its
    first segment.
    """
    rest = rest.lstrip("/")
    whole = rest.rstrip("/")
    route = _BY_WORD.get(whole) if "/" in whole or whole == "" else None
    tail = ""
    if route is None:
        head, _, tail = rest.partition("/")
        route = _BY_WORD.get(head)
    if route is None:
        return None
    parsed = route.parse(tail)
    if parsed is None:
        return None
    return route, Target(route.view, rev=parsed[0], path=parsed[1])

# SPDX-License-Identifier: GPL-3.0-or-later
"""Repository text shown as HTML: Markdown rendered with markdown-it-py (CommonMark plus tables and
strikethrough, raw HTML kept) and then sanitised with nh3, so nothing a repository holds can run in
the page: no script, no event handler, no ``javascript:`` link, no style. Links get
``rel="noopener noreferrer nofollow"``. The result is ``Markup``: the templates must not escape it
again, and nothing else may be marked so.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s",
    "samp", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "code": {"class"},
    "h1": {"id"},
    "h2": {"id"},
    "h3": {"id"},
    "details": {"open"},
}


@functools.lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def sanitise(html: str) -> Markup:
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)


@functools.lru_cache(maxsize=256)
def markdown(text: str) -> Markup:
    """Markdown as safe HTML; the same text (a README between two pushes) is rendered once."""
    return sanitise(_parser().render(text))

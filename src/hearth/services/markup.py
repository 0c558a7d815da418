# SPDX-License-Identifier: GPL-3.0-or-later
"""Markdown written by users (pull-request descriptions and comments) as safe HTML.

markdown-it-py renders CommonMark with raw HTML disabled; nh3 (ammonia) then keeps only a list of
harmless tags and attributes, so neither a ``<script>`` nor a ``javascript:`` link survives
whatever the renderer lets through. Links get ``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt

_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "img", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
}


@functools.cache
def _renderer() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": False, "linkify": False})
        .enable("table")
        .enable("strikethrough")
    )


def render(text: str) -> str:
    """Sanitised HTML for ``text``."""
    html = _renderer().render(text)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )

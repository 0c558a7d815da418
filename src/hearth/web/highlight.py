# SPDX-License-Identifier: GPL-3.0-or-later
"""Syntax highlighting with Pygments, one escaped HTML string per source line.

Pages need lines, not one ``<pre>``: every line of a file carries its number anchor, and a diff
shows the lines of both sides in its own rows. So tokens are turned into ``<span class="…">``
here, split at newlines (a token spanning lines — a docstring — is closed and reopened on each).
The classes are Pygments' short names; ``web/static/code.css`` colours them for both schemes.

The lexer is chosen by file name only (guessing from content costs more than highlighting), and
files with no known lexer, or too long to be worth it, are escaped without colour.
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import STANDARD_TYPES, _TokenType
from pygments.util import ClassNotFound

HIGHLIGHT_LIMIT = 512 * 1024
"""Texts above this many characters are shown without colour (lexing them takes too long)."""


@lru_cache(maxsize=512)
def lexer_for(filename: str) -> Lexer | None:
    """Pygments' lexer for ``filename`` (by its name), or None."""
    name = filename.rsplit("/", 1)[-1]
    try:
        return get_lexer_for_filename(name, stripnl=False, ensurenl=False, stripall=False)
    except ClassNotFound:
        return None


def lexer_name(filename: str) -> str:
    lexer = lexer_for(filename)
    return lexer.name if lexer is not None else "text"


@lru_cache(maxsize=1024)
def _css_class(token: _TokenType) -> str:
    while token not in STANDARD_TYPES:
        token = token.parent
    return STANDARD_TYPES[token]


def _escape(text: str) -> str:
    return str(escape(text))


def plain_lines(text: str) -> list[Markup]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [Markup(_escape(line)) for line in lines]


def highlight_lines(text: str, filename: str) -> list[Markup]:
    """``text`` as escaped HTML lines with highlighting spans (no trailing empty line for a final
    newline). Same number of lines as ``text.split("\\n")`` minus that last empty one."""
    lexer = lexer_for(filename)
    if lexer is None or len(text) > HIGHLIGHT_LIMIT:
        return plain_lines(text)
    lines: list[Markup] = []
    current: list[str] = []
    # adjacent tokens of one class share a span, whitespace gets none: a 5,000-line file's
    # page is a third smaller, and its size is most of what the page costs
    open_css = ""
    run: list[str] = []

    def close_run() -> None:
        if run:
            text = "".join(run)
            current.append(f'<span class="{open_css}">{text}</span>' if open_css else text)
            run.clear()

    for token, value in lexer.get_tokens(text):
        css = _css_class(token)
        parts = value.split("\n")
        for n, part in enumerate(parts):
            if n:
                close_run()
                open_css = ""
                lines.append(Markup("".join(current)))
                current = []
            if not part:
                continue
            if css == "w" or part.isspace():
                run.append(part)  # inside the open run, whatever its class: no span of its own
                continue
            if css != open_css:
                close_run()
                open_css = css
            run.append(_escape(part))
    close_run()
    if current:
        lines.append(Markup("".join(current)))
    expected = text.count("\n") + (0 if not text or text.endswith("\n") else 1)
    if len(lines) != expected:  # a lexer that dropped or added newlines: keep numbers right
        return plain_lines(text)
    return lines

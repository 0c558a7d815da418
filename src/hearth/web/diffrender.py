# SPDX-License-Identifier: GPL-3.0-or-later
"""A parsed diff (``services/codeview.Diff``) as rows for ``templates/_diff.html``: unified or
side by side, every line highlighted in the language of its file.

Highlighting line by line would lose what spans lines (a docstring, a comment block), so each
side of a file is highlighted as one text — the old side is its context and removed lines, the
new side its context and added lines, hunk after hunk — and the lines are handed back to their
rows. Side by side pairs a run of removed lines with the run of added lines that follows it.

Rendering a large diff costs more than reading it, and a changeset never changes: the whole
rendered fragment is cached under the changeset id and the options (``render_cached``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup

from hearth.services.codeview import Diff, Lru
from hearth.vcs.diffparse import DiffFile, DiffLine
from hearth.web import highlight

Mode = Literal["unified", "sbs"]


@dataclass(frozen=True, slots=True)
class Row:
    """A unified row: ``kind`` ctx/add/del/note/hunk, both line numbers, the line's HTML."""

    kind: str
    old: int | None
    new: int | None
    html: Markup


@dataclass(frozen=True, slots=True)
class Cell:
    kind: str  # ctx, add, del, empty
    number: int | None
    html: Markup


@dataclass(frozen=True, slots=True)
class SideRow:
    """A side-by-side row; a hunk header or a note spans both sides (``left.kind``)."""

    left: Cell
    right: Cell


@dataclass(frozen=True, slots=True)
class FileView:
    index: int
    file: DiffFile
    rows: list[Row]
    side_rows: list[SideRow]
    cut: bool


_EMPTY = Markup("")


def _highlighted(file: DiffFile) -> dict[int, Markup]:
    """HTML for every line of ``file`` by ``id()`` of its ``DiffLine``."""
    name = file.path
    old_lines: list[DiffLine] = []
    new_lines: list[DiffLine] = []
    for hunk in file.hunks:
        for line in hunk.lines:
            if line.kind in ("ctx", "del"):
                old_lines.append(line)
            if line.kind in ("ctx", "add"):
                new_lines.append(line)
    html: dict[int, Markup] = {}
    for lines in (old_lines, new_lines):
        if not lines:
            continue
        text = "\n".join(line.text for line in lines) + "\n"
        rendered = highlight.highlight_lines(text, name)
        if len(rendered) != len(lines):
            rendered = highlight.plain_lines(text)
        for line, markup in zip(lines, rendered, strict=False):
            html.setdefault(id(line), markup)  # a context line: its new-side HTML equals the old
    return html


def unified_rows(file: DiffFile, html: dict[int, Markup]) -> list[Row]:
    rows: list[Row] = []
    for hunk in file.hunks:
        rows.append(Row("hunk", None, None, Markup.escape(hunk.header)))
        for line in hunk.lines:
            if line.kind == "note":
                rows.append(Row("note", None, None, Markup.escape(line.text)))
            else:
                rows.append(Row(line.kind, line.old, line.new, html.get(id(line), _EMPTY)))
    return rows


_BLANK = Cell("empty", None, _EMPTY)


def _pair(
    removed: list[DiffLine], added: list[DiffLine], html: dict[int, Markup], rows: list[SideRow]
) -> None:
    """Removed lines beside the added lines that replace them, row by row; then forget both."""
    for n in range(max(len(removed), len(added))):
        left = removed[n] if n < len(removed) else None
        right = added[n] if n < len(added) else None
        rows.append(
            SideRow(
                Cell("del", left.old, html.get(id(left), _EMPTY)) if left else _BLANK,
                Cell("add", right.new, html.get(id(right), _EMPTY)) if right else _BLANK,
            )
        )
    removed.clear()
    added.clear()


def side_rows(file: DiffFile, html: dict[int, Markup]) -> list[SideRow]:
    rows: list[SideRow] = []
    for hunk in file.hunks:
        header = Cell("hunk", None, Markup.escape(hunk.header))
        rows.append(SideRow(header, header))
        removed: list[DiffLine] = []
        added: list[DiffLine] = []
        for line in hunk.lines:
            if line.kind == "del":
                if added:
                    _pair(removed, added, html, rows)
                removed.append(line)
            elif line.kind == "add":
                added.append(line)
            else:
                _pair(removed, added, html, rows)
                if line.kind == "note":
                    note = Cell("note", None, Markup.escape(line.text))
                    rows.append(SideRow(note, note))
                else:
                    markup = html.get(id(line), _EMPTY)
                    rows.append(
                        SideRow(Cell("ctx", line.old, markup), Cell("ctx", line.new, markup))
                    )
        _pair(removed, added, html, rows)
    return rows


def file_views(diff: Diff, mode: Mode) -> list[FileView]:
    views = []
    cut = set(diff.cut)
    for index, file in enumerate(diff.files):
        html = _highlighted(file) if file.hunks else {}
        views.append(
            FileView(
                index,
                file,
                unified_rows(file, html) if mode == "unified" else [],
                side_rows(file, html) if mode == "sbs" else [],
                file.path in cut,
            )
        )
    return views


_RENDERED: Lru[tuple[object, ...], bytes] = Lru(64, weigh=len, budget=96 << 20)


def render_cached(key: tuple[object, ...] | None, make: Callable[[], bytes]) -> bytes:
    """``make()``'s fragment, remembered under ``key`` (None: not cacheable, always made)."""
    if key is None:
        return make()
    return _RENDERED.get_or_make(key, make)

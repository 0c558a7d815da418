# SPDX-License-Identifier: GPL-3.0-or-later
"""A strict check that a page's HTML is well-formed: every element that is opened is closed, in
order (void elements excepted), attributes are not repeated, ids are unique, and the document has
exactly one ``<html>``, ``<head>``, ``<body>`` and ``<main>``. Python's own parser, no dependency."""

from __future__ import annotations

from html.parser import HTMLParser

VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, tuple[int, int]]] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()
        self.counts: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            self.errors.append(f"repeated attribute in <{tag}> at {self.getpos()}")
        for name, value in attrs:
            if name == "id" and value is not None:
                if value in self.ids:
                    self.errors.append(f"duplicate id {value!r} at {self.getpos()}")
                self.ids.add(value)
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.errors.append(f"self-closed <{tag}/> at {self.getpos()}")
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.errors.append(f"end tag of void <{tag}> at {self.getpos()}")
            return
        if not self.stack or self.stack[-1][0] != tag:
            opened = self.stack[-1] if self.stack else None
            self.errors.append(f"</{tag}> at {self.getpos()} closes {opened}")
            return
        self.stack.pop()


def check(text: str) -> None:
    """Raise AssertionError describing the first problems of ``text``."""
    checker = _Checker()
    checker.feed(text)
    checker.close()
    errors = list(checker.errors)
    if checker.stack:
        errors.append(f"never closed: {checker.stack[-5:]}")
    for tag in ("html", "head", "body", "main"):
        if checker.counts.get(tag, 0) != 1:
            errors.append(f"{checker.counts.get(tag, 0)} <{tag}> elements")
    assert text.lstrip().lower().startswith("<!doctype html>"), "no doctype"
    assert not errors, "\n".join(errors[:10])

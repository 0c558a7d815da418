# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for page tests over plain HTTP: a signed-in client (through the real sign-in form), the
CSRF token of a page, and a strict check that a page is well-formed HTML that runs nothing inline.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from tests.live import LiveServer

HTML = {"accept": "text/html,application/xhtml+xml"}
VOID = frozenset(
    "area base br col embed hr img input link meta source track wbr".split()  # noqa: SIM905
)
# elements HTML lets one leave open (we do not, but a parser closes them implicitly)
_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int]] = []
        self.problems: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"line {line}: inline style on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"line {line}: event handler {name} on <{tag}>")
            if name == "id" and value:
                if value in self.ids:
                    self.problems.append(f"line {line}: duplicate id {value!r}")
                self.ids.add(value)
            if name in ("href", "src", "action") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"line {line}: javascript: URL")
        if tag == "script" and not dict(attrs).get("src"):
            self.problems.append(f"line {line}: inline <script>")
        if tag not in VOID:
            self.stack.append((tag, line))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.problems.append(f"line {self.getpos()[0]}: self-closed <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        if tag in VOID:
            self.problems.append(f"line {line}: end tag of void <{tag}>")
            return
        if not self.stack or self.stack[-1][0] != tag:
            top = self.stack[-1] if self.stack else ("nothing", 0)
            self.problems.append(f"line {line}: </{tag}> closes <{top[0]}> of line {top[1]}")
            if any(open_tag == tag for open_tag, _ in self.stack):
                while self.stack and self.stack[-1][0] != tag:
                    self.stack.pop()
                self.stack.pop()
            return
        self.stack.pop()


def check_html(text: str) -> None:
    """Fail unless ``text`` is a whole, balanced HTML document without inline code or style."""
    assert text.lstrip().lower().startswith("<!doctype html>"), text[:200]
    checker = _Checker()
    checker.feed(text)
    checker.close()
    for tag, line in checker.stack:
        checker.problems.append(f"<{tag}> of line {line} never closed")
    assert not checker.problems, "\n".join(checker.problems)


def csrf_of(text: str) -> str:
    found = _CSRF.search(text)
    assert found, "no CSRF field on the page"
    return found.group(1)


def client(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=60, headers=HTML)


def signed_in(server: LiveServer, login: str, password: str) -> httpx.Client:
    """A client holding a session, signed in through the form."""
    browser = client(server)
    token = csrf_of(browser.get("/_admin/login").text)
    answer = browser.post(
        "/_admin/login",
        data={"username": login, "password": password, "_csrf": token, "came_from": "/"},
    )
    assert answer.status_code == 303, answer.text
    assert "hearth_session" in browser.cookies
    return browser


def page_of(browser: httpx.Client, path: str, status: int = 200) -> str:
    """The HTML of ``path``, checked for its status, headers and well-formedness."""
    answer = browser.get(path)
    assert answer.status_code == status, (path, answer.status_code, answer.text[:500])
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    check_html(answer.text)
    return answer.text

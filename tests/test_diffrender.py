# SPDX-License-Identifier: GPL-3.0-or-later
"""Side-by-side pairing and per-side highlighting of ``web/diffrender.py`` on parsed diffs."""

from __future__ import annotations

import html
import re

from hearth.services.codeview import Diff
from hearth.vcs import diffparse
from hearth.web import diffrender

RAW = b"""diff --git a/m.py b/m.py
index 1111111..2222222 100644
--- a/m.py
+++ b/m.py
@@ -1,6 +1,6 @@ def head():
 keep = 1
-old_a = '''start
-still string'''
+new_a = '''start
+still string'''
+added = 2
 middle = 3
-gone = 4
 end = 5
"""


def text(markup: object) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", str(markup)))


def test_side_by_side_pairs_removed_with_added_lines() -> None:
    (file,) = diffparse.parse(RAW)
    (view,) = diffrender.file_views(Diff([file], [], False, False), "sbs")
    rows = [
        (
            r.left.kind,
            r.left.number,
            text(r.left.html),
            r.right.kind,
            r.right.number,
            text(r.right.html),
        )
        for r in view.side_rows
    ]
    assert rows == [
        ("hunk", None, "@@ -1,6 +1,6 @@ def head():", "hunk", None, "@@ -1,6 +1,6 @@ def head():"),
        ("ctx", 1, "keep = 1", "ctx", 1, "keep = 1"),
        ("del", 2, "old_a = '''start", "add", 2, "new_a = '''start"),
        ("del", 3, "still string'''", "add", 3, "still string'''"),
        ("empty", None, "", "add", 4, "added = 2"),
        ("ctx", 4, "middle = 3", "ctx", 5, "middle = 3"),
        ("del", 5, "gone = 4", "empty", None, ""),
        ("ctx", 6, "end = 5", "ctx", 6, "end = 5"),
    ]


def test_each_side_is_highlighted_as_one_text() -> None:
    (file,) = diffparse.parse(RAW)
    (view,) = diffrender.file_views(Diff([file], [], False, False), "unified")
    by_text = {text(r.html): str(r.html) for r in view.rows if r.kind != "hunk"}
    # the second line of a triple-quoted string is a string on both sides, not code
    assert 'class="s' in by_text["still string'''"]
    assert [r.kind for r in view.rows] == [
        "hunk",
        "ctx",
        "del",
        "del",
        "add",
        "add",
        "add",
        "ctx",
        "del",
        "ctx",
    ]
    assert [(r.old, r.new) for r in view.rows[1:3]] == [(1, 1), (2, None)]


def test_lru_keeps_within_its_count_and_weight() -> None:
    from hearth.services.codeview import Lru

    cache: Lru[str, bytes] = Lru(3, weigh=len, budget=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # a is now the most recent
    cache.put("c", b"1234")  # 12 > 10: the least recent (b) goes
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    assert cache.put("huge", b"x" * 11) == b"x" * 11  # returned, not kept
    assert cache.get("huge") is None and cache.get("a") and cache.get("c")
    small: Lru[int, int] = Lru(2)
    for n in range(5):
        small.put(n, n)
    assert [small.get(n) for n in range(5)] == [None, None, None, 3, 4]

# SPDX-License-Identifier: GPL-3.0-or-later
"""A git-style unified diff, as both backends write it, split into files, hunks and lines.

The web pages show diffs file by file (status, renames, binary files, line numbers on both sides,
added/removed counts); both backends already produce the same git-style text (``Repo.diff``,
``Repo.diff_between``), so one parser serves both and the pages cannot tell git from hg apart.
Paths are unquoted from git's C-style quoting; undecodable bytes are replaced.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import Literal

LineKind = Literal["ctx", "add", "del", "note"]
FileStatus = Literal["added", "modified", "deleted", "renamed", "copied"]

_FILE_START = re.compile(rb"^(?=diff --git )", re.MULTILINE)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")


@dataclass(slots=True)
class DiffLine:
    """One line of a hunk: ``old``/``new`` are its line numbers on each side (None where absent).
    ``note`` is git's ``\\ No newline at end of file``."""

    kind: LineKind
    old: int | None
    new: int | None
    text: str


@dataclass(slots=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str  # the text after the second @@ (a function name, often)
    lines: list[DiffLine] = field(default_factory=list)

    @property
    def header(self) -> str:
        head = f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"
        return f"{head} {self.section}" if self.section else head


@dataclass(slots=True)
class DiffFile:
    """One file of a diff. ``old_path`` is None for an added file, ``new_path`` for a deleted one."""

    old_path: str | None
    new_path: str | None
    status: FileStatus = "modified"
    binary: bool = False
    added: int = 0
    removed: int = 0
    old_mode: str | None = None
    new_mode: str | None = None
    similarity: int | None = None
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The name to show: the new path, or the old one for a deletion."""
        return self.new_path or self.old_path or ""

    @property
    def line_count(self) -> int:
        return sum(len(h.lines) for h in self.hunks)


def _unquote(text: str) -> str:
    text = text.rstrip("\t")  # git ends ---/+++ names that hold a space with a tab
    if len(text) >= 2 and text[0] == text[-1] == '"':
        raw = codecs.escape_decode(text[1:-1].encode("utf-8"))[0]
        return raw.decode("utf-8", "replace")
    return text


def _side(text: str, prefix: str) -> str | None:
    text = _unquote(text)
    if text == "/dev/null":
        return None
    return text[len(prefix) :] if text.startswith(prefix) else text


def _header_paths(first: str) -> tuple[str | None, str | None]:
    """Both paths of ``diff --git a/P b/P`` when they are equal (the only unambiguous case), or
    of the quoted form ``diff --git "a/P" "b/Q"``."""
    rest = first[len("diff --git ") :]
    if rest.startswith('"'):
        match = re.match(r'^("(?:[^"\\]|\\.)*")\s+(.*)$', rest)
        if match:
            return _side(match[1], "a/"), _side(match[2], "b/")
    size = (len(rest) - 5) // 2
    path = rest[2 : 2 + size]
    if size > 0 and rest == f"a/{path} b/{path}":
        return path, path
    return None, None


def parse(raw: bytes) -> list[DiffFile]:
    """Every file of the git-style diff ``raw``, in the order the diff lists them."""
    files = []
    for section in _FILE_START.split(raw):
        if section.startswith(b"diff --git "):
            files.append(_parse_file(section.decode("utf-8", "replace").split("\n")))
    return files


def _parse_file(lines: list[str]) -> DiffFile:
    old_path, new_path = _header_paths(lines[0])
    out = DiffFile(old_path, new_path)
    hunk: Hunk | None = None
    old_no = new_no = 0
    for line in lines[1:]:
        if hunk is not None:
            if line.startswith("@@"):
                hunk = None  # a new hunk: parsed below
            else:
                tag = line[:1]
                if tag == "+":
                    hunk.lines.append(DiffLine("add", None, new_no, line[1:]))
                    new_no += 1
                    out.added += 1
                elif tag == "-":
                    hunk.lines.append(DiffLine("del", old_no, None, line[1:]))
                    old_no += 1
                    out.removed += 1
                elif tag == " ":
                    hunk.lines.append(DiffLine("ctx", old_no, new_no, line[1:]))
                    old_no += 1
                    new_no += 1
                elif tag == "\\":
                    hunk.lines.append(DiffLine("note", None, None, line[1:].strip()))
                continue
        match = _HUNK.match(line)
        if match:
            hunk = Hunk(
                int(match[1]),
                int(match[2]) if match[2] is not None else 1,
                int(match[3]),
                int(match[4]) if match[4] is not None else 1,
                match[5],
            )
            out.hunks.append(hunk)
            old_no, new_no = hunk.old_start, hunk.new_start
        elif line.startswith("new file mode "):
            out.status, out.new_mode, out.old_path = "added", line[14:], None
        elif line.startswith("deleted file mode "):
            out.status, out.old_mode, out.new_path = "deleted", line[18:], None
        elif line.startswith("old mode "):
            out.old_mode = line[9:]
        elif line.startswith("new mode "):
            out.new_mode = line[9:]
        elif line.startswith("similarity index "):
            out.similarity = int(line[17:].rstrip("%") or 0)
        elif line.startswith("rename from "):
            out.status, out.old_path = "renamed", _unquote(line[12:])
        elif line.startswith("rename to "):
            out.new_path = _unquote(line[10:])
        elif line.startswith("copy from "):
            out.status, out.old_path = "copied", _unquote(line[10:])
        elif line.startswith("copy to "):
            out.new_path = _unquote(line[8:])
        elif line.startswith("--- "):
            side = _side(line[4:], "a/")
            if side is not None or out.status == "added":
                out.old_path = side
        elif line.startswith("+++ "):
            side = _side(line[4:], "b/")
            if side is not None or out.status == "deleted":
                out.new_path = side
        elif line.startswith(("GIT binary patch", "Binary files ", "Binary file ")):
            out.binary = True
            break  # the rest is encoded data, nothing to show
    return out

# SPDX-License-Identifier: GPL-3.0-or-later
"""RSS 2.0 and Atom 1.0 documents for the repository and journal feeds (``web-and-vcs.md`` §8).

Pure rendering: a :class:`Feed` of :class:`Entry` values in, UTF-8 bytes out, written with the
standard library's ``xml.etree`` so every text is escaped. RSS 2.0 per https://www.rssboard.org/rss-specification
(channel: title, link, description; items: title, link, description, author, pubDate, guid); Atom per
RFC 4287 (feed: id, title, updated, link; entries: id, title, updated, author, link, content).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

from hearth import vcs

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR = "Hearth"
#: changed paths listed per entry; the rest is summarised as "… and N more"
MAX_PATHS = 100
# characters XML 1.0 cannot carry at all (a commit message may hold them)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Entry:
    title: str
    link: str
    #: a stable unique id (the link for changesets; the journal uses its own)
    guid: str
    author: str  # "Name <email>" or a plain name
    date: datetime  # aware (UTC)
    description_html: str


@dataclass(frozen=True)
class Feed:
    title: str
    link: str  # the page the feed is about
    self_link: str  # the feed's own URL
    description: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def updated(self) -> datetime:
        if self.entries:
            return max(entry.date for entry in self.entries)
        return datetime.now(UTC).replace(microsecond=0)


def utc(moment: datetime) -> datetime:
    """A naive-UTC datetime (the database's) or an aware one, as aware UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def epoch_utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def first_line(message: str) -> str:
    for line in message.splitlines():
        if line.strip():
            return line.strip()
    return "(no message)"


def changes_html(message: str, changes: vcs.FileChanges) -> str:
    """The description of a changeset entry: its message, then one line per path (A/M/D)."""
    lines = [f"A {path}" for path in changes.added]
    lines += [f"M {path}" for path in changes.changed]
    lines += [f"D {path}" for path in changes.removed]
    if len(lines) > MAX_PATHS:
        rest = len(lines) - MAX_PATHS
        lines = [*lines[:MAX_PATHS], f"… and {rest} more"]
    listing = "\n".join(html.escape(line) for line in lines)
    return f"<pre>{html.escape(message.rstrip())}</pre>\n<pre>{listing}</pre>"


def _add(
    parent: ET.Element, tag: str, text: str, attrs: dict[str, str] | None = None
) -> ET.Element:
    """A child element holding ``text`` with the characters XML cannot carry replaced."""
    element = ET.SubElement(parent, tag, attrs or {})
    element.text = _NOT_XML.sub("\ufffd", text)
    return element


def _rss_author(author: str) -> str:
    """RSS wants ``email (Name)``; without an e-mail the name alone."""
    name, email = vcs.split_author(author)
    if email:
        return f"{email} ({name})" if name else email
    return name or author


def render_rss(feed: Feed) -> bytes:
    rss = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS})
    channel = ET.SubElement(rss, "channel")
    _add(channel, "title", feed.title)
    _add(channel, "link", feed.link)
    _add(channel, "description", feed.description)
    ET.SubElement(
        channel,
        "atom:link",
        {"href": feed.self_link, "rel": "self", "type": RSS_TYPE.split(";")[0]},
    )
    _add(channel, "generator", GENERATOR)
    _add(channel, "lastBuildDate", format_datetime(feed.updated, usegmt=True))
    for entry in feed.entries:
        item = ET.SubElement(channel, "item")
        _add(item, "title", entry.title)
        _add(item, "link", entry.link)
        _add(item, "description", entry.description_html)
        _add(item, "author", _rss_author(entry.author))
        _add(item, "pubDate", format_datetime(entry.date, usegmt=True))
        permalink = "true" if entry.guid == entry.link else "false"
        _add(item, "guid", entry.guid, {"isPermaLink": permalink})
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


def render_atom(feed: Feed) -> bytes:
    root = ET.Element("feed", {"xmlns": ATOM_NS})
    _add(root, "id", feed.self_link)
    _add(root, "title", feed.title)
    _add(root, "subtitle", feed.description)
    _add(root, "updated", feed.updated.isoformat())
    ET.SubElement(root, "link", {"href": feed.link, "rel": "alternate"})
    ET.SubElement(
        root, "link", {"href": feed.self_link, "rel": "self", "type": ATOM_TYPE.split(";")[0]}
    )
    _add(root, "generator", GENERATOR)
    for item in feed.entries:
        entry = ET.SubElement(root, "entry")
        _add(entry, "id", item.guid)
        _add(entry, "title", item.title)
        _add(entry, "updated", item.date.isoformat())
        _add(entry, "published", item.date.isoformat())
        author = ET.SubElement(entry, "author")
        name, email = vcs.split_author(item.author)
        _add(author, "name", name or email or item.author or "unknown")
        if email:
            _add(author, "email", email)
        ET.SubElement(entry, "link", {"href": item.link, "rel": "alternate"})
        _add(entry, "content", item.description_html, {"type": "html"})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def render(feed: Feed, kind: str) -> tuple[bytes, str]:
    """(document, content type) for ``kind`` ``rss`` or ``atom``."""
    if kind == "atom":
        return render_atom(feed), ATOM_TYPE
    return render_rss(feed), RSS_TYPE

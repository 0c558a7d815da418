# SPDX-License-Identifier: GPL-3.0-or-later
"""What type a file is, by its name: one table for the API and the raw views.

Python's built-in table only (``mimetypes.MimeTypes()``, not the module-level functions that read
the system's ``mime.types``): the answers must not differ between hosts. Two rules read it:

* :func:`mimetype` — ``get_repo_file``'s ``mimetype`` (RhodeCode's rule);
* :func:`raw_content_type` — the ``Content-Type`` a raw file is served with
  (``web-and-vcs.md`` §8): only types a browser merely shows or saves are served as what they
  are, never anything it could run.
"""

from __future__ import annotations

import codecs
import mimetypes

_MIME = mimetypes.MimeTypes()
TEXT_PLAIN = "text/plain; charset=utf-8"


def mimetype(name: str, binary: bool) -> str:
    """RhodeCode's rule: by file name; unknown names are ``application/octet-stream`` when binary,
    else the first MIME type of the Pygments lexer for the name, else ``text/plain``."""
    guessed, _encoding = _MIME.guess_type(name)
    if guessed is not None:
        return guessed
    if binary:
        return "application/octet-stream"
    try:
        from pygments.lexers import get_lexer_for_filename
        from pygments.util import ClassNotFound
    except ImportError:  # pragma: no cover - pygments comes with rich
        return "text/plain"
    try:
        types = get_lexer_for_filename(name).mimetypes
    except ClassNotFound:
        return "text/plain"
    return types[0] if types else "text/plain"


# Binary types a browser only displays or saves: served as what they are. Everything else binary is
# application/octet-stream, and types a browser could run (HTML, SVG, XML, JavaScript) text/plain.
_SAFE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/x-ms-bmp",
        "image/tiff",
        "image/x-icon",
        "image/vnd.microsoft.icon",
        "image/avif",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/java-archive",
        "application/zstd",
    }
)
# a browser may run what it renders as any of these (text/html, image/svg+xml, application/javascript…)
_EXECUTABLE_WORDS = ("html", "xml", "svg", "javascript", "ecmascript")
_EXTRA_TYPES = {
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".tgz": "application/gzip",
    ".gz": "application/gzip",
    ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz",
    ".7z": "application/x-7z-compressed",
    ".rar": "application/vnd.rar",
    ".jar": "application/java-archive",
    ".zst": "application/zstd",
}


def raw_content_type(path: str, data: bytes, binary: bool, whole: bool = True) -> str:
    """The ``Content-Type`` of a raw file (web-and-vcs.md §8); ``data`` is the file or, when
    ``whole`` is false, its first bytes."""
    name = path.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    guessed = _EXTRA_TYPES.get(name[dot:]) if dot >= 0 else None
    if guessed is None:
        guessed, _encoding = _MIME.guess_type(name, strict=False)
        if _encoding == "gzip":
            guessed = "application/gzip"
        elif _encoding == "bzip2":
            guessed = "application/x-bzip2"
        elif _encoding == "xz":
            guessed = "application/x-xz"
    if guessed in _SAFE_TYPES and (binary or not _is_utf8(data, whole)):
        return guessed
    if not binary:
        return TEXT_PLAIN
    if guessed is not None and any(word in guessed for word in _EXECUTABLE_WORDS):
        return "text/plain"
    return "application/octet-stream"


def _is_utf8(data: bytes, whole: bool = True) -> bool:
    """Valid UTF-8 (for the first bytes of a file, a sequence cut at the end still counts)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=whole)
    except UnicodeDecodeError:
        return False
    return True

"""Telling the format of a path from its extension, its first bytes or its files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from kmlang.errors import ReaderError, UnknownFormatError
from kmlang.io.readers._xml import root_tag
from kmlang.io.readers._zip import check_member
from kmlang.io.readers.slack import find_root

__all__ = ["detect_format"]

_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl",
               ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet", ".mbox": "mbox"}
_XML_ROOTS = {"mediawiki": "mediawiki", "posts": "stackexchange", "comments": "stackexchange"}
_SNIFF = 64 * 1024


def _unknown(path: Path, why: str) -> UnknownFormatError:
    from kmlang.io.readers import FORMATS

    return UnknownFormatError(f"Cannot tell the format of {path}: {why}. Pass format= one of: "
                              f"{', '.join(FORMATS)}.")


def _json_kind(path: Path, head: bytes) -> str | None:
    text = head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return "json"
    if not text.startswith("{"):
        return None
    if '"post_stream"' in text:
        return "discourse"
    first = text.split("\n", 1)[0]
    try:
        if isinstance(json.loads(first), dict):
            return "jsonl"
    except json.JSONDecodeError:
        pass
    if path.stat().st_size <= 256 * 1024**2:  # a pretty-printed object: look inside
        try:
            data = json.loads(path.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        if isinstance(data, dict) and isinstance(data.get("post_stream"), dict):
            return "discourse"
    return None


def _sniff(path: Path) -> str | None:
    with open(path, "rb") as f:
        head = f.read(_SNIFF)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"From "):
        return "mbox"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    if stripped.startswith(b"<"):
        return _XML_ROOTS.get(root_tag(head) or "")
    if stripped[:1] in (b"{", b"["):
        return _json_kind(path, head)
    return None


def _zip_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise ReaderError(f"{path}: not a readable zip archive ({e})") from e
    for name in names:
        check_member(path, name)
    return "slack" if find_root(names) is not None else None


def detect_format(path: Path) -> str:
    """The format name of ``path``, or :class:`~kmlang.errors.UnknownFormatError`.

    A folder holding ``Posts.xml`` (or ``Comments.xml``) is a Stack Exchange dump, one (or a zip)
    holding ``users.json``/``channels.json`` a Slack export. Files go by
    extension (``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``, ``.parquet``,
    ``.mbox``); ``.json``, ``.xml``, ``.zip`` and anything else by content: a
    ``From `` line is mbox, an XML root ``<mediawiki>`` MediaWiki and
    ``<posts>`` or ``<comments>`` Stack Exchange, a JSON array ``json``, an object with
    ``post_stream`` Discourse, an object per line JSON Lines.
    """
    if path.is_dir():
        names = {p.name.lower() for p in path.iterdir()}
        if "posts.xml" in names or "comments.xml" in names:
            return "stackexchange"
        if find_root([p.relative_to(path).as_posix() for p in path.rglob("*.json")]) is not None:
            return "slack"
        raise _unknown(path, "a folder without Posts.xml or Comments.xml (Stack Exchange) or "
                             "users.json / channels.json (Slack)")
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    if by_extension is not None:
        return by_extension
    found = _sniff(path)
    if found is None:
        raise _unknown(path, f"neither the extension {path.suffix or '(none)'!r} nor the first "
                             f"bytes match a known format")
    return found

"""Streaming XML: elements one at a time, memory cleared behind them.

Every XML reader of kmlang parses through :func:`iter_children`, which holds
these rules for files written by strangers:

* **No DTDs.** A ``<!DOCTYPE`` (and so any entity declaration, which can only
  live in one) is refused with a :class:`~kmlang.errors.ReaderError` before
  anything of the document is read: internal entities can turn a 10 MB file
  into a gigabyte passage while staying under expat's amplification limit.
  Stack Exchange dumps and MediaWiki exports never have one.
* **Linear time on huge tokens.** The parser is fed blocks of
  :data:`BLOCK_BYTES`; while one token (a start tag with a huge attribute, a
  long text) stays open, the next block is as large as what is pending, so
  expat (2.5 rescans an unfinished token on every block, CVE-2023-52425)
  rescans at most about twice the token's size in all.
* **Bounded records.** More than :func:`max_record_bytes` bytes between two
  tags (one start tag's attributes, or one text) is an error naming the
  element, its row number and byte offset. The limit is 64 MiB by default;
  set ``KMLANG_XML_MAX_RECORD_BYTES`` (bytes) or pass ``max_record_bytes=``.
* **Flat memory.** Each wanted element is cleared once the caller is done
  with it and removed from its parent, at any depth; elements outside the
  wanted ones (wrappers, unknown siblings) are dropped as they end.
* **Say what was lost.** A parse error stops reading (XML cannot be resumed
  after a break): with ``errors="skip"`` the entry in ``df.attrs["skipped"]``
  and a warning give the byte offset where reading stopped and how many bytes
  after it were not read.

External entities are never fetched (expat is not given a handler for them).
"""

from __future__ import annotations

import os
import pyexpat
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from kmlang.errors import ReaderError
from kmlang.io.readers._report import Report

__all__ = ["local", "iter_children", "root_tag", "max_record_bytes", "BLOCK_BYTES",
           "MAX_RECORD_BYTES"]

#: Size of the blocks read from the file and fed to the parser.
BLOCK_BYTES = 64 * 1024
#: Default limit on the bytes between two tags (one start tag, or one text).
MAX_RECORD_BYTES = 64 * 1024**2
_ENV = "KMLANG_XML_MAX_RECORD_BYTES"


def local(tag: str) -> str:
    """Tag name without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def max_record_bytes() -> int:
    """The record size limit: ``KMLANG_XML_MAX_RECORD_BYTES`` if set, else the default."""
    raw = os.environ.get(_ENV)
    if raw is None or not raw.strip():
        return MAX_RECORD_BYTES
    try:
        value = int(raw.strip())
    except ValueError:
        raise ReaderError(f"{_ENV}={raw!r} is not a whole number of bytes") from None
    if value < 1:
        raise ReaderError(f"{_ENV} must be a positive number of bytes, got {value}")
    return value


_configured_limit = max_record_bytes


class _Refused(Exception):
    """Raised from inside expat handlers to stop at a DTD."""

    def __init__(self, what: str, line: int, column: int, offset: int):
        super().__init__(what)
        self.what, self.line, self.column, self.offset = what, line, column, offset


def _name(tag: str) -> str:
    return "{" + tag if "}" in tag else tag


def iter_children(path: Path, report: Report, names: frozenset[str],
                  nested: frozenset[str] = frozenset(),
                  max_record_bytes: int | None = None) -> Iterator[ET.Element]:
    """Elements below the root whose local name is in ``names``, as they end.

    Each element is cleared from the tree after the caller is done with it,
    and removed from its parent, whatever its depth. Elements named in
    ``nested`` (descendants of those elements) are passed on to the caller
    too, before their parent ends, so it can keep or drop them. A parse error
    (a truncated or broken file) is reported with the line, column and byte
    offset of the break and how much of the file was not read; under
    ``errors="skip"`` reading stops there, keeping what came before. A DTD,
    or more than ``max_record_bytes`` between two tags, raises
    :class:`~kmlang.errors.ReaderError` (see the module docstring).
    """
    limit = max_record_bytes if max_record_bytes is not None else _configured_limit()
    size = path.stat().st_size
    builder = ET.TreeBuilder()
    parser = pyexpat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    # (is_start, kind, element); kind: 2 a record (in ``names``), 1 in ``nested``, 0 other
    events: list[tuple[bool, int, ET.Element]] = []
    tags: dict[str, tuple[int, str]] = {}  # expat's tag -> (kind, ElementTree's tag)
    mark = 0  # byte index of the last tag seen

    def info(tag: str) -> tuple[int, str]:
        name = local(tag)
        tags[tag] = found = (2 if name in names else 1 if name in nested else 0, _name(tag))
        return found

    def start(tag, attrs):
        nonlocal mark
        mark = parser.CurrentByteIndex
        if attrs and "}" in "".join(attrs):
            attrs = {_name(k): v for k, v in attrs.items()}
        what, name = tags.get(tag) or info(tag)
        events.append((True, what, builder.start(name, attrs)))

    def end(tag):
        nonlocal mark
        mark = parser.CurrentByteIndex
        what, name = tags[tag]
        events.append((False, what, builder.end(name)))

    def refuse_doctype(name, *_):
        raise _Refused(f"a DTD (<!DOCTYPE {name or ''} ...>)", parser.CurrentLineNumber,
                       parser.CurrentColumnNumber + 1, parser.CurrentByteIndex)

    def refuse_entity(name, *_):
        raise _Refused(f"an entity declaration (<!ENTITY {name} ...>)", parser.CurrentLineNumber,
                       parser.CurrentColumnNumber + 1, parser.CurrentByteIndex)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity

    stack: list[ET.Element] = []  # open elements, root first
    inside = 0  # open elements named in ``names`` (records) below the root
    rows = 0  # records seen, for error messages
    fed = 0
    final = False
    broken: pyexpat.ExpatError | None = None
    try:
        with open(path, "rb") as f:
            while not final:
                pending = fed - mark
                if pending > limit:
                    raise ReaderError(
                        f"{path}: more than {limit:,} bytes in one XML token (a start tag's "
                        f"attributes or a text) from about byte {mark:,} (after "
                        f"{rows:,} record(s), inside <{'><'.join(local(e.tag) for e in stack)}>); "
                        f"kmlang stops there rather than hold it in memory. Raise the limit "
                        f"with the environment variable {_ENV} (bytes) if the file is trusted.")
                # while a token is open, grow the block with it: expat rescans it per block
                block = f.read(max(BLOCK_BYTES, min(pending, limit + 1 - pending)))
                final = not block
                fed += len(block)
                try:
                    parser.Parse(block, final)
                except pyexpat.ExpatError as e:
                    broken = e  # pass on the records completed before the break first
                for is_start, what, elem in events:
                    if is_start:
                        stack.append(elem)
                        if what == 2 and len(stack) > 1:
                            inside += 1
                        continue
                    stack.pop()
                    if not stack:  # the root
                        continue
                    if what == 2:
                        inside -= 1
                        rows += 1
                        yield elem
                        elem.clear()
                    elif what == 1:
                        yield elem
                    if inside == 0:  # not inside a record: drop what has ended
                        del stack[-1][:]
                events.clear()
                if broken is not None:
                    raise broken
    except _Refused as e:
        raise ReaderError(
            f"{path}, line {e.line}, column {e.column}: the file declares {e.what}. kmlang refuses "
            f"DTDs and entity declarations in XML input: entities can expand a small file into "
            f"gigabytes of text. Stack Exchange dumps and MediaWiki exports have no DTD; remove "
            f"the <!DOCTYPE ...> declaration if the file is trusted.") from None
    except pyexpat.ExpatError as e:
        offset = parser.ErrorByteIndex if parser.ErrorByteIndex >= 0 else fed
        # at the end of the file the break is a truncation: nothing after it to lose
        lost = 0 if final else max(0, size - offset)
        reason = f"XML is broken or truncated ({pyexpat.ErrorString(e.code)})"
        entry = {"line": e.lineno, "column": e.offset + 1, "byte_offset": offset}
        if lost:
            share = f"{100 * lost / size:.0f}%" if size else "?"
            reason += (f"; reading stopped at byte {offset:,} of {size:,}: the remaining "
                       f"{lost:,} bytes ({share} of the file) were not read, so any records "
                       f"after this point are missing ({rows:,} record(s) were read before it)")
            entry["unread_bytes"] = lost
        report.bad(reason, **entry)
        if lost:
            report.notes.append(f"Reading {path} stopped at byte {offset:,} (line {e.lineno}) "
                                f"after an XML error: the remaining {lost:,} bytes were not "
                                f"read, so any records after that point are missing; "
                                f"df.attrs['skipped'] has the details.")


def root_tag(head: bytes) -> str | None:
    """Local name of the root element from the first bytes of an XML file, if any.

    A ``<!DOCTYPE name ...>`` names the root element itself, so a file with an
    internal DTD subset (however long) is recognised here and refused by the
    reader with a clear message.
    """
    text = head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")
    text = re.sub(r"\A(?:\s*(?:<\?.*?\?>|<!--.*?-->))*", "", text, flags=re.S).lstrip()
    m = re.match(r"<!DOCTYPE\s+([A-Za-z_][\w.:-]*)|<([A-Za-z_][\w.:-]*)", text)
    if m is None:
        return None
    return local((m.group(1) or m.group(2)).split(":")[-1])

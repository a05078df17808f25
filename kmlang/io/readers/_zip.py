"""Files of a folder or a zip archive, streamed with bounds; unsafe archives refused.

A zip archive is never extracted to disk. Its members are read as streams that
count the bytes actually decompressed (the sizes in the zip headers are not
trusted), and reading stops with a :class:`~kmlang.errors.ReaderError` naming the
member and the limit as soon as:

* one member unpacks to more than ``max_member_bytes`` (default
  :data:`MAX_MEMBER_BYTES`, 256 MiB);
* a member, or the archive as a whole, unpacks to more than ``max_ratio``
  (default :data:`MAX_RATIO`, 100) times its compressed size, once more than
  :data:`RATIO_FLOOR` bytes (1 MiB) have been unpacked (small files may
  compress very well);
* the archive unpacks to more than ``limit`` bytes in all (default
  :data:`MAX_UNCOMPRESSED`, 2 GiB).

The declared sizes are checked first as well, so an honest bomb is refused
before anything is decompressed. In a folder, symbolic links that lead out of
the folder are refused (as ``..`` members of a zip are), and links to folders
are not followed.

The limits are read when a tree is opened, so they can be raised for a process
by setting the module attributes (``kmlang.io.readers._zip.MAX_MEMBER_BYTES =
...``) or per call with the keyword arguments of the readers that use them.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from kmlang.errors import ReaderError
from kmlang.io.readers._frame import no_surrogates

__all__ = ["MAX_UNCOMPRESSED", "MAX_MEMBER_BYTES", "MAX_RATIO", "RATIO_FLOOR", "MAX_TEXT_CHARS",
           "Tree", "ZipTree", "check_member", "open_tree", "iter_json_array", "JSONStreamError",
           "RecordTooLarge", "cap_text"]

#: Total uncompressed bytes a zip archive may hold (a guard against zip bombs).
MAX_UNCOMPRESSED = 2 * 1024**3
#: Uncompressed bytes one zip member may hold.
MAX_MEMBER_BYTES = 256 * 1024**2
#: Largest ratio of uncompressed to compressed size (per member and for the archive).
MAX_RATIO = 100
#: The ratio is only checked once this many bytes have been unpacked.
RATIO_FLOOR = 1024**2
#: Characters of text one record (message, post) may hold; longer text is truncated.
MAX_TEXT_CHARS = 1_000_000

_HOW = ("unpack the archive yourself and pass the folder, or raise the limit "
        "(kmlang.io.readers._zip.{const} = ..., or {kw}= of the reader's iter_frames)")


def _limit(value, default, name: str) -> int | float:
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value


class Tree:
    """Files under a folder, by relative POSIX path.

    Symbolic links that resolve outside the folder are refused with a
    :class:`~kmlang.errors.ReaderError`; links to folders are not followed.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real = root.resolve()
        names = []
        for folder, dirs, files in os.walk(root, followlinks=False):
            here = Path(folder)
            for d in dirs:
                if (here / d).is_symlink():
                    self._inside(here / d)  # refuse links out of the folder, skip the others
            for f in files:
                p = here / f
                if p.is_symlink():
                    self._inside(p)
                    if not p.is_file():
                        continue
                elif not p.is_file():
                    continue
                names.append(p.relative_to(root).as_posix())
        self.names = sorted(names)

    def _inside(self, path: Path) -> Path:
        """The real path of ``path``; refused when it leads out of the folder."""
        real = path.resolve()
        if real != self._real and self._real not in real.parents:
            raise ReaderError(f"{self.root}: refusing symbolic link {path.relative_to(self.root)} "
                              f"-> {os.readlink(path) if path.is_symlink() else real}: it leads "
                              f"outside the export folder (links are not followed out of it, as "
                              f"'..' members of a zip are refused)")
        return real

    def open(self, name: str) -> BinaryIO:
        """A binary stream of file ``name`` (re-checked against links out of the folder)."""
        return open(self._inside(self.root / name), "rb")

    def read(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()

    def label(self, name: str) -> str:
        """How ``name`` is shown in messages and ``attrs['skipped']``."""
        return str(self.root / name)


class ZipTree(Tree):
    """Members of a zip archive, streamed; never extracted to disk.

    Members with absolute paths, drive letters or ``..`` parts are refused; the
    size and ratio limits of the module docstring are checked on the declared
    sizes and again on the bytes actually decompressed.
    """

    def __init__(self, path: Path, limit: int | None = None, *,
                 max_member_bytes: int | None = None, max_ratio: float | None = None) -> None:
        self.root = path
        self.limit = _limit(limit, MAX_UNCOMPRESSED, "limit")
        self.max_member_bytes = _limit(max_member_bytes, MAX_MEMBER_BYTES, "max_member_bytes")
        self.max_ratio = _limit(max_ratio, MAX_RATIO, "max_ratio")
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as e:
            raise ReaderError(f"{path}: not a readable zip archive ({e})") from e
        infos = self.zf.infolist()
        for info in infos:
            check_member(path, info.filename)
        total = sum(info.file_size for info in infos)
        if total > self.limit:
            raise ReaderError(f"{path}: the archive unpacks to {total:,} bytes, more than the "
                              f"{self.limit:,} allowed; "
                              + _HOW.format(const="MAX_UNCOMPRESSED", kw="max_total_bytes"))
        # compressed sizes as declared, but never more than the file holds (a header may lie)
        self.packed = max(1, min(sum(info.compress_size for info in infos), path.stat().st_size))
        for info in infos:
            self._check(info.filename, info.file_size, min(info.compress_size, self.packed),
                        declared=True)
        self.names = sorted(i.filename for i in infos if not i.is_dir())
        self.used = 0

    def _check(self, name: str, size: int, packed: int, declared: bool = False) -> None:
        what = "declares" if declared else "unpacks to"
        if size > self.max_member_bytes:
            raise ReaderError(f"{self.root}: member {name!r} {what} more than the "
                              f"{self.max_member_bytes:,} bytes allowed for one member "
                              f"(max_member_bytes); "
                              + _HOW.format(const="MAX_MEMBER_BYTES", kw="max_member_bytes"))
        if size > RATIO_FLOOR and size > self.max_ratio * max(packed, 1):
            raise ReaderError(f"{self.root}: member {name!r} {what} {size:,} bytes from "
                              f"{packed:,} compressed, more than {self.max_ratio:g} times its "
                              f"compressed size (max_ratio; a zip bomb?); "
                              + _HOW.format(const="MAX_RATIO", kw="max_ratio"))
        if not declared:
            if self.used > self.limit:
                raise ReaderError(f"{self.root}: member {name!r} unpacks to more than the "
                                  f"{self.limit:,} bytes allowed for the archive; "
                                  + _HOW.format(const="MAX_UNCOMPRESSED", kw="max_total_bytes"))
            if self.used > RATIO_FLOOR and self.used > self.max_ratio * self.packed:
                raise ReaderError(f"{self.root}: the archive unpacks to more than "
                                  f"{self.max_ratio:g} times its compressed size "
                                  f"({self.packed:,} bytes) by member {name!r} (max_ratio; a "
                                  f"zip bomb?); " + _HOW.format(const="MAX_RATIO", kw="max_ratio"))

    def open(self, name: str) -> BinaryIO:
        """A stream of member ``name`` that counts and bounds what it decompresses."""
        try:
            member = self.zf.open(name)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
            raise ReaderError(f"{self.root}: member {name!r} cannot be read ({e})") from e
        return _Bounded(self, name, member)  # type: ignore[return-value]

    def read(self, name: str) -> bytes:
        chunks = []
        with self.open(name) as member:
            while block := member.read(1 << 20):
                chunks.append(block)
        return b"".join(chunks)

    def label(self, name: str) -> str:
        return f"{self.root}:{name}"


class _Bounded(io.RawIOBase):
    """A zip member's stream; every read counts the bytes decompressed and checks the limits."""

    def __init__(self, tree: ZipTree, name: str, member) -> None:
        self.tree, self.name, self.member = tree, name, member
        self.packed = min(tree.zf.getinfo(name).compress_size, tree.packed)
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1 << 20  # never more than a block at a time, whatever the caller asks
        try:
            data = self.member.read(min(n, 1 << 20))
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
            # RuntimeError: encrypted member; NotImplementedError: unknown compression;
            # BadZipFile: bad CRC, e.g. a header that lies about the size
            raise ReaderError(f"{self.tree.root}: member {self.name!r} cannot be read "
                              f"({e})") from e
        self.size += len(data)
        self.tree.used += len(data)
        self.tree._check(self.name, self.size, self.packed)
        return data

    def readinto(self, b) -> int:  # pragma: no cover - read() is what the readers use
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.member.close()
        super().close()


def check_member(path: Path, name: str) -> None:
    posix = name.replace("\\", "/")
    if (posix.startswith("/") or re.match(r"^[A-Za-z]:", posix)
            or ".." in PurePosixPath(posix).parts):
        raise ReaderError(f"{path}: refusing archive member {name!r}: absolute paths and '..' "
                          f"parts could write or read outside the archive (path traversal)")


def open_tree(path: Path, *, max_total_bytes: int | None = None,
              max_member_bytes: int | None = None, max_ratio: float | None = None) -> Tree:
    """A :class:`Tree` over a folder or a :class:`ZipTree` over a zip file."""
    if path.is_dir():
        return Tree(path)
    return ZipTree(path, max_total_bytes, max_member_bytes=max_member_bytes, max_ratio=max_ratio)


# --- streamed JSON arrays ---------------------------------------------------------------------

class JSONStreamError(ValueError):
    """Invalid JSON at ``line``/``column`` of the whole file."""

    def __init__(self, msg: str, line: int, column: int) -> None:
        super().__init__(f"{msg}: line {line} column {column}")
        self.msg, self.lineno, self.colno = msg, line, column


class RecordTooLarge(ValueError):
    """One element of the array is longer than allowed."""

    def __init__(self, item: int, line: int, size: int, limit: int) -> None:
        super().__init__(f"item {item} is more than {limit:,} characters of JSON")
        self.item, self.line, self.size, self.limit = item, line, size, limit


_WS = re.compile(r"[ \t\n\r]*")
_AFTER = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_NUMBER_CHARS = frozenset("0123456789.eE+-")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_KINDS = {"{": "dict", '"': "str", "t": "bool", "f": "bool", "n": "NoneType"}


def iter_json_array(stream: BinaryIO, max_record_chars: int,
                    block: int = 1 << 16) -> Iterator[tuple[int, object]]:
    """``(index, value)`` of each element of a UTF-8 JSON array, read a block at a time.

    Lone surrogates are replaced as by :func:`._frame.load_json`. Memory holds
    one element (at most ``max_record_chars`` characters of JSON,
    else :class:`RecordTooLarge`) and a block, never the whole array. Raises
    :class:`JSONStreamError` (with the line and column in the file),
    ``UnicodeDecodeError`` (with ``start`` the byte offset in the file) and
    ``TypeError`` when the top-level value is not an array (the message names its
    type, as ``type(value).__name__``).
    """
    scan = json.JSONDecoder().scan_once
    utf8 = codecs.getincrementaldecoder("utf-8-sig")()
    buf, pos, eof, read_bytes = "", 0, False, 0
    lines_before, tail_col = 0, 0  # newlines in the text dropped from buf; columns after the last

    def fill(size: int) -> None:
        nonlocal buf, eof, read_bytes
        data = stream.read(size)
        pending = len(utf8.getstate()[0])
        try:
            text = utf8.decode(data, final=not data)
        except UnicodeDecodeError as e:
            raise UnicodeDecodeError("utf-8", e.object, read_bytes - pending + e.start,
                                     read_bytes - pending + e.end, e.reason) from None
        read_bytes += len(data)
        eof = not data
        buf += text

    def where(p: int) -> tuple[int, int]:
        nl = buf.count("\n", 0, p)
        if nl:
            return lines_before + nl + 1, p - buf.rfind("\n", 0, p)
        return lines_before + 1, tail_col + p + 1

    def error(msg: str, p: int) -> JSONStreamError:
        return JSONStreamError(msg, *where(p))

    def skip_ws() -> None:
        nonlocal pos
        while True:
            pos = _WS.match(buf, pos).end()
            if pos < len(buf) or eof:
                return
            fill(block)

    def compact() -> None:
        nonlocal buf, pos, lines_before, tail_col
        if pos > block:
            dropped = buf[:pos]
            nl = dropped.count("\n")
            lines_before += nl
            tail_col = len(dropped) - dropped.rfind("\n") - 1 if nl else tail_col + len(dropped)
            buf, pos = buf[pos:], 0

    fill(block)
    skip_ws()
    if pos >= len(buf):
        raise error("Expecting value", pos)
    if buf[pos] != "[":
        kind = _KINDS.get(buf[pos], "number" if buf[pos] in "-0123456789" else None)
        if kind is None:
            raise error("Expecting value", pos)
        raise TypeError(kind)
    pos += 1
    skip_ws()
    if buf.startswith("]", pos):
        pos += 1
    else:
        index = 0
        while True:
            if pos > block:
                compact()
            if pos >= len(buf) or buf[pos] in " \t\n\r":
                skip_ws()
            size = block
            while True:
                try:
                    value, end = scan(buf, pos)
                    if eof or (end < len(buf) and not (isinstance(value, (int, float))
                                                       and buf[end] in _NUMBER_CHARS)):
                        break  # else the value may go on in the next block
                except StopIteration as e:  # what raw_decode reports as "Expecting value"
                    if eof or e.value < len(buf) - 32:
                        raise error("Expecting value", e.value) from None
                except json.JSONDecodeError as e:
                    incomplete = e.pos >= len(buf) - 32 or e.msg.startswith("Unterminated")
                    if eof or not incomplete:
                        raise error(e.msg, e.pos) from None
                if len(buf) - pos > max_record_chars:
                    raise RecordTooLarge(index, where(pos)[0], len(buf) - pos, max_record_chars)
                fill(size)
                size = min(size * 2, 1 << 24)
            if end - pos > max_record_chars:
                raise RecordTooLarge(index, where(pos)[0], end - pos, max_record_chars)
            if _SURROGATE_ESCAPE.search(buf, pos, end):
                value = no_surrogates(value)
            yield index, value
            index += 1
            m = _AFTER.match(buf, end)  # the common case: the separator and the next value
            if m is not None:
                closed = m.group(1) == "]"
                if closed or m.end() < len(buf):
                    pos = m.end()
                    if closed:
                        break
                    continue
            pos = end
            skip_ws()
            if buf.startswith("]", pos):
                pos += 1
                break
            if not buf.startswith(",", pos):
                raise error("Expecting ',' delimiter", pos)
            pos += 1
    skip_ws()
    if pos < len(buf):
        raise error("Extra data", pos)


def cap_text(text: str, max_chars: int) -> tuple[str, int]:
    """``(text, characters cut)``: ``text`` cut to at most ``max_chars`` characters."""
    if len(text) <= max_chars:
        return text, 0
    return text[:max_chars], len(text) - max_chars

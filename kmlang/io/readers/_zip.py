"""Files of a folder or a zip archive, read in memory; unsafe archives refused."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from kmlang.errors import ReaderError

__all__ = ["MAX_UNCOMPRESSED", "Tree", "ZipTree", "check_member", "open_tree"]

#: Total uncompressed bytes a zip archive may hold (a guard against zip bombs).
MAX_UNCOMPRESSED = 2 * 1024**3


class Tree:
    """Files under a folder, by relative POSIX path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def label(self, name: str) -> str:
        """How ``name`` is shown in messages and ``attrs['skipped']``."""
        return str(self.root / name)


class ZipTree(Tree):
    """Members of a zip archive; never extracted to disk.

    Members with absolute paths, drive letters or ``..`` parts are refused, and
    so is an archive whose members add up to more than ``MAX_UNCOMPRESSED``
    bytes (checked on the declared sizes and again while reading).
    """

    def __init__(self, path: Path, limit: int | None = None) -> None:
        self.root = path
        self.limit = MAX_UNCOMPRESSED if limit is None else limit
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
                              f"{self.limit:,} allowed; unpack it yourself and pass the folder")
        self.names = sorted(i.filename for i in infos if not i.is_dir())
        self.used = 0

    def read(self, name: str) -> bytes:
        chunks = []
        try:
            with self.zf.open(name) as member:
                while block := member.read(1 << 20):
                    self.used += len(block)
                    if self.used > self.limit:
                        raise ReaderError(f"{self.root}: member {name!r} unpacks to more than "
                                          f"the {self.limit:,} bytes allowed for the archive")
                    chunks.append(block)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
            # RuntimeError: encrypted member; NotImplementedError: unknown compression
            raise ReaderError(f"{self.root}: member {name!r} cannot be read ({e})") from e
        return b"".join(chunks)

    def label(self, name: str) -> str:
        return f"{self.root}:{name}"


def check_member(path: Path, name: str) -> None:
    posix = name.replace("\\", "/")
    if (posix.startswith("/") or re.match(r"^[A-Za-z]:", posix)
            or ".." in PurePosixPath(posix).parts):
        raise ReaderError(f"{path}: refusing archive member {name!r}: absolute paths and '..' "
                          f"parts could write or read outside the archive (path traversal)")


def open_tree(path: Path) -> Tree:
    """A :class:`Tree` over a folder or a :class:`ZipTree` over a zip file."""
    return Tree(path) if path.is_dir() else ZipTree(path)

"""What went wrong while reading one source: raise at once, or record and carry on."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kmlang.errors import ReaderError

__all__ = ["Report", "ERRORS"]

#: Values accepted by ``errors=``.
ERRORS = ("raise", "skip")


def where(entry: dict) -> str:
    """``"file, line 4, column 2"`` for a skipped-record entry (or a would-be one)."""
    parts = [str(entry["file"])]
    for key in ("line", "column", "offset", "row", "item"):
        if entry.get(key) is not None:
            parts.append(f"{key} {entry[key]}")
    return ", ".join(parts)


@dataclass
class Report:
    """Collects skipped records and notes for one call of ``read``/``iter_read``.

    ``bad`` is for broken input: with ``errors="raise"`` it raises
    :class:`~kmlang.errors.ReaderError` naming the file and position, with
    ``errors="skip"`` it records the entry and reading goes on. ``filtered`` is
    for records that are fine but are not passages (a Slack ``channel_join``):
    always recorded, never an error.
    """

    source: Path
    errors: Literal["raise", "skip"] = "raise"
    skipped: list[dict] = field(default_factory=list)
    encoding: str | None = None
    unparsed_timestamps: int = 0
    notes: list[str] = field(default_factory=list)
    n_bad: int = 0

    def bad(self, reason: str, file: str | Path | None = None, **position) -> None:
        """A broken record or file: raise, or record it under ``errors="skip"``."""
        entry = {"file": str(file if file is not None else self.source), **position,
                 "reason": reason}
        if self.errors == "raise":
            raise ReaderError(f"{where(entry)}: {reason}. Fix the input, or pass errors='skip' "
                              f"to read the good records and list the bad ones in "
                              f"df.attrs['skipped'].")
        self.skipped.append(entry)
        self.n_bad += 1

    def truncated(self, file: str | Path, count: int, limit: int, what: str = "message") -> None:
        """Note that ``count`` texts of ``file`` were cut to ``limit`` characters (if any were)."""
        if count:
            self.notes.append(f"{file}: {count} {what}(s) longer than {limit:,} characters were "
                              "truncated (column text_truncated: characters cut)")

    def filtered(self, reason: str, file: str | Path | None = None, **position) -> None:
        """A record that is not a passage (e.g. a join message): counted, not an error."""
        self.skipped.append({"file": str(file if file is not None else self.source), **position,
                             "reason": reason})

    def attrs(self, fmt: str, skipped: list[dict] | None = None) -> dict:
        """The ``DataFrame.attrs`` of a result (``skipped`` defaults to all entries)."""
        out: dict = {"source": str(self.source), "format": fmt,
                     "skipped": list(self.skipped if skipped is None else skipped)}
        if self.encoding is not None:
            out["encoding"] = self.encoding
        if self.unparsed_timestamps:
            out["unparsed_timestamps"] = self.unparsed_timestamps
        return out

    def warn(self, stacklevel: int = 3) -> None:
        """Warn about bad records skipped, timestamps not understood and other notes."""
        if self.n_bad:
            warnings.warn(f"Skipped {self.n_bad} bad record(s) while reading {self.source}; "
                          f"df.attrs['skipped'] says where and why.", UserWarning,
                          stacklevel=stacklevel)
        if self.unparsed_timestamps:
            warnings.warn(f"{self.unparsed_timestamps} timestamp(s) in {self.source} could not "
                          f"be parsed and are NaT.", UserWarning, stacklevel=stacklevel)
        for note in self.notes:
            warnings.warn(note, UserWarning, stacklevel=stacklevel)

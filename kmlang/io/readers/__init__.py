"""Readers: exported discussion text into one standard frame.

``read(path)`` returns a DataFrame with the columns ``text``, ``author``,
``doc_id``, ``timestamp`` (``datetime64[ns, UTC]``), ``id`` and
``parent_id`` first, then every other field of the source; one row per
passage, in file order. ``iter_read`` yields the same frame in chunks.
The formats are listed in :data:`FORMATS`; each has its own module.

Broken input raises :class:`~kmlang.errors.ReaderError` naming the file and
the line (or offset); with ``errors="skip"`` the good records are read, the
bad ones listed in ``df.attrs["skipped"]`` and a warning says how many.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from kmlang.errors import ReaderError, UnknownFormatError
from kmlang.io.readers import discourse, mbox, mediawiki, slack, stackexchange, tabular
from kmlang.io.readers._frame import STANDARD, empty_frame, to_utc
from kmlang.io.readers._report import ERRORS, Report
from kmlang.io.readers.detect import detect_format

__all__ = ["FORMATS", "TABULAR", "MAPPABLE", "read", "iter_read", "detect_format", "to_utc",
           "STANDARD"]

#: Format names accepted by ``format=``, with what each reads.
FORMATS: Mapping[str, str] = MappingProxyType({
    "csv": "comma-separated values with a header line (UTF-8, UTF-16 with BOM or cp1252)",
    "tsv": "tab-separated values with a header line",
    "jsonl": "JSON Lines: one JSON object per line (.jsonl, .ndjson)",
    "json": "a JSON array of objects",
    "parquet": "Apache Parquet (needs pyarrow)",
    "stackexchange": "Stack Exchange data dump: Posts.xml (+ Comments.xml unless comments=False, "
                     "Users.xml beside it), or Comments.xml alone",
    "mediawiki": "MediaWiki Special:Export XML; talk pages split into signed comments",
    "mbox": "Unix mbox mail archive",
    "slack": "Slack workspace export: folder or .zip with users.json and channel folders",
    "discourse": "Discourse topic JSON as served at /t/<id>.json",
})
#: The tabular formats: files of rows and named columns.
TABULAR = frozenset({"csv", "tsv", "jsonl", "json", "parquet"})
#: Formats whose source columns can be mapped with ``text=``, ``author=``, ...
#: (Stack Exchange: attributes of the rows, e.g. ``text="Title"``).
MAPPABLE = TABULAR | {"stackexchange"}

_FOLDER_FORMATS = frozenset({"stackexchange", "slack"})
_ALIASES = {"ndjson": "jsonl"}
_READ_CHUNK = 50_000

Frames = Iterator[pd.DataFrame]
_TABULAR_READERS: dict[str, Callable[..., Frames]] = {
    "csv": tabular.iter_csv, "tsv": tabular.iter_tsv, "jsonl": tabular.iter_jsonl,
    "json": tabular.iter_json, "parquet": tabular.iter_parquet}
_OTHER_READERS: dict[str, Callable[..., Frames]] = {
    "mediawiki": mediawiki.iter_frames, "mbox": mbox.iter_frames, "slack": slack.iter_frames,
    "discourse": discourse.iter_frames}


def _format_name(fmt: str | None, path: Path) -> str:
    if fmt is None:
        return detect_format(path)
    if not isinstance(fmt, str):
        raise TypeError(f"format must be a string or None, got {type(fmt).__name__}")
    name = _ALIASES.get(fmt.strip().lower(), fmt.strip().lower())
    if name not in FORMATS:
        raise UnknownFormatError(f"Unknown format {fmt!r}; the formats are: "
                                 f"{', '.join(FORMATS)} (or format=None to detect it).")
    return name


def _check_columns(columns: Mapping[str, object], fmt: str) -> dict[str, str | None]:
    for role, source in columns.items():
        if role not in STANDARD:
            raise TypeError(f"Unknown argument {role}=; map source columns onto "
                            f"{', '.join(STANDARD)} (e.g. text='body')")
        if source is not None and not isinstance(source, str):
            raise TypeError(f"{role}= must name a column (a string), got "
                            f"{type(source).__name__}")
    given = {k: v for k, v in columns.items() if v is not None}
    if given and fmt not in MAPPABLE:
        raise TypeError(f"Column mappings ({', '.join(f'{k}=' for k in given)}) apply to the "
                        f"tabular formats ({', '.join(sorted(TABULAR))}) and stackexchange; "
                        f"{fmt} has fixed fields.")
    return dict(columns)  # type: ignore[arg-type]


def _check_comments(comments: object, fmt: str) -> bool:
    if comments is None:
        return True
    if not isinstance(comments, bool):
        raise TypeError(f"comments= must be True or False, got {comments!r}")
    if fmt != "stackexchange":
        raise ValueError(f"comments= (--no-comments) applies to Stack Exchange dumps, "
                         f"the Comments.xml beside Posts.xml; format {fmt} has no comments file.")
    return comments


def _check_max_record_chars(value: object, fmt: str) -> int:
    if value is None:
        return tabular.MAX_RECORD_CHARS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_record_chars must be a positive integer, got {value!r}")
    if fmt not in TABULAR and fmt not in _RECORD_CAPPED:
        raise ValueError(f"max_record_chars= applies to the tabular formats "
                         f"({', '.join(sorted(TABULAR))}), slack and discourse; format {fmt} has its "
                         "own limits.")
    return value


#: Other formats whose reader takes ``max_record_chars`` (one message's JSON / one post's HTML).
_RECORD_CAPPED = ("slack", "discourse")


def _open(path: str | os.PathLike, fmt: str | None, chunksize: int, errors: str,
          columns: Mapping[str, object], comments: bool | None = None,
          max_record_chars: int | None = None) -> tuple[str, Report, Frames]:
    """Check the arguments, detect the format and start its reader."""
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {', '.join(map(repr, ERRORS))}, got {errors!r}")
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        raise ValueError(f"chunksize must be a positive integer, got {chunksize!r}")
    source = Path(os.fspath(path)).expanduser()
    if not source.exists():
        raise FileNotFoundError(errno.ENOENT, "No such file or folder", str(source))
    name = _format_name(fmt, source)
    if source.is_dir() and name not in _FOLDER_FORMATS:
        raise ReaderError(f"{source} is a folder; format {name!r} reads a file (folders are read "
                          f"as {' or '.join(sorted(_FOLDER_FORMATS))} exports)")
    mapping = _check_columns(columns, name)
    with_comments = _check_comments(comments, name)
    cap = _check_max_record_chars(max_record_chars, name)
    report = Report(source, errors)  # type: ignore[arg-type]
    if name in TABULAR:
        frames = _TABULAR_READERS[name](source, report, chunksize, mapping, max_record_chars=cap)
    elif name == "stackexchange":
        frames = stackexchange.iter_frames(source, report, chunksize, with_comments, mapping)
    elif name in _RECORD_CAPPED and max_record_chars is not None:
        frames = _OTHER_READERS[name](source, report, chunksize, max_record_chars=cap)
    else:
        frames = _OTHER_READERS[name](source, report, chunksize)
    return name, report, frames


def read(path: str | os.PathLike, format: str | None = None, errors: str = "raise", *,
         comments: bool | None = None, max_record_chars: int | None = None,
         **columns: str | None) -> pd.DataFrame:
    """Read an export into the standard frame.

    Parameters
    ----------
    path : str or path
        A file, or a folder for Stack Exchange dumps and Slack exports. For a
        Stack Exchange dump, ``Posts.xml`` or its folder gives the posts and
        then the comments of the ``Comments.xml`` beside it (the ``kind``
        column says which is which); ``Comments.xml`` gives its comments alone.
    format : str, optional
        One of :data:`FORMATS`; detected from the extension and content if
        omitted (:class:`~kmlang.errors.UnknownFormatError` if it cannot be).
    errors : {"raise", "skip"}
        ``"raise"``: a broken record raises :class:`~kmlang.errors.ReaderError`
        naming the file and line/offset. ``"skip"``: good records are read, the
        bad ones listed in ``df.attrs["skipped"]`` and a warning is issued.
    comments : bool, optional
        Stack Exchange only: ``False`` reads ``Posts.xml`` without the
        ``Comments.xml`` beside it (so that scoring both files does not count
        the comments twice). Default: comments are read with the posts.
    max_record_chars : int, optional
        Tabular formats: the longest record read, in characters of its source
        text (a CSV/TSV record, a JSON line or array element, the string cells
        of a Parquet row); default ``tabular.MAX_RECORD_CHARS`` (16,777,216).
        A longer record is a bad record naming its line or row (an error, or
        skipped under ``errors="skip"``) and is not held whole in memory
        (except in a JSON array, which is read whole).
    **columns : str
        Tabular formats: source columns for the standard ones, e.g.
        ``text="body", author="user", timestamp="created"``. A named column
        that does not exist raises ``KeyError`` listing the columns. Stack
        Exchange: attributes of the rows, e.g. ``text="Title"``; one that no
        row has gives a warning listing the attributes.

    Returns
    -------
    pandas.DataFrame
        ``text, author, doc_id, timestamp, id, parent_id`` then the other
        fields: e.g. ``kind`` (``question``, ``answer``, ``comment``...) for
        Stack Exchange; ``quoted_text`` (quoted and forwarded words, not in
        ``text``) and ``quoted_only`` (a pure forward) for mbox. ``attrs``
        holds ``source``, ``format``, ``skipped`` (a list of
        ``{"file", "line"/"offset"/..., "reason"}``; Slack joins and other
        non-passages are listed here too), ``encoding`` (CSV/TSV),
        ``decoding_fallbacks`` (CSV/TSV mostly in UTF-8: the records that were
        not valid UTF-8 and were decoded as cp1252, with a warning) and
        ``unparsed_timestamps`` when some could not be parsed.
    """
    fmt, report, frames = _open(path, format, _READ_CHUNK, errors, columns, comments,
                                max_record_chars)
    parts = list(frames)
    df = pd.concat(parts, ignore_index=True) if parts else empty_frame()
    df.attrs = report.attrs(fmt)
    report.warn(stacklevel=3)
    return df


def _chunks(fmt: str, report: Report, frames: Frames) -> Frames:
    """Frames with their ``attrs``, one behind the reader so the last gets the tail notes.

    If the reader raises, the frame held back is yielded first, then the error.
    """
    held, held_mark, start = None, 0, 0
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            break
        except Exception:
            if held is not None:
                held.attrs = report.attrs(fmt, report.skipped[start:held_mark])
                yield held
            raise
        mark = len(report.skipped)
        if held is not None:
            held.attrs = report.attrs(fmt, report.skipped[start:held_mark])
            start = held_mark
            yield held
        held, held_mark = frame, mark
    if held is None:
        held = empty_frame()
    held.attrs = report.attrs(fmt, report.skipped[start:])
    report.warn(stacklevel=3)
    yield held


def iter_read(path: str | os.PathLike, format: str | None = None, chunksize: int = 10_000,
              errors: str = "raise", *, comments: bool | None = None,
              max_record_chars: int | None = None, **columns: str | None) -> Frames:
    """Read an export in standard frames of at most ``chunksize`` rows.

    Same arguments and frame as :func:`read`. CSV, TSV, JSON Lines, Parquet,
    the XML formats and mbox are streamed, so memory stays flat; JSON arrays,
    Discourse topics and Slack day files are read a file at a time. Each
    chunk's ``attrs["skipped"]`` lists the records skipped among its rows (the
    last chunk also those after them, such as a truncated end); at least one
    (possibly empty) frame is yielded. The path, format and arguments are
    checked at the call; the columns of tabular files when the first chunk is
    read. ``decoding_fallbacks`` counts the records decoded so far.
    """
    fmt, report, frames = _open(path, format, chunksize, errors, columns, comments,
                                max_record_chars)
    return _chunks(fmt, report, frames)

"""Slack workspace exports: a folder or a .zip with ``users.json``, ``channels.json``
and one folder per channel holding a JSON array of messages per day.

Channels are read in name order, days in date order, messages in file order.
``author`` is the user's display name (else real name, else handle) from
``users.json``; ``<@U123>`` mentions become ``@name``, ``<#C1|general>``
``#general``, ``<!here>`` ``@here`` and ``<url|label>`` the label. ``id`` is
``"<channel>/<ts>"``, ``doc_id`` ``"<channel>/<thread_ts>"`` (or the message's own
ts when it starts no thread), ``parent_id`` the thread's first message for a
reply. Messages with a subtype other than ``thread_broadcast``, ``file_share``
and ``me_message`` (joins, topic changes, bots, ...) are skipped and counted in
``attrs["skipped"]``. Zip archives are read in memory, never extracted (see :mod:`._zip`).

Reading is bounded: zip members are streamed and capped (``max_member_bytes``,
``max_ratio``, ``max_total_bytes``, see :mod:`._zip`); day files are decoded a
message at a time, never read whole; one message may hold at most
``max_record_chars`` characters of JSON (default :data:`MAX_RECORD_CHARS`,
16 Mi; a larger one is a bad record naming the file and item, and the rest of
that day file is not read); a message's text longer than ``max_text_chars``
(default :data:`~kmlang.io.readers._zip.MAX_TEXT_CHARS`, 1,000,000) is truncated,
with ``text_truncated`` giving the number of characters cut and a warning; and an
export yielding more than ``max_passages`` messages (default
:data:`MAX_PASSAGES`, 10 million) is refused. Symbolic links leading out of an
export folder are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pandas as pd

from kmlang.errors import ReaderError
from kmlang.io.readers import _zip
from kmlang.io.readers._frame import frames_from_records
from kmlang.io.readers._report import Report
from kmlang.io.readers._zip import (
    JSONStreamError,
    RecordTooLarge,
    Tree,
    cap_text,
    iter_json_array,
    open_tree,
)

__all__ = ["KEEP_SUBTYPES", "MAX_RECORD_CHARS", "MAX_PASSAGES", "find_root", "slack_to_text",
           "iter_records", "iter_frames"]

#: Characters of JSON one message may take in a day file.
MAX_RECORD_CHARS = 16 * 1024**2
#: Messages one export may yield.
MAX_PASSAGES = 10_000_000

#: Subtypes read as passages; messages with any other subtype are skipped.
KEEP_SUBTYPES = frozenset({"thread_broadcast", "file_share", "me_message"})
_META = ("users.json", "channels.json")
_TOKEN = re.compile(r"<([^<>]*)>")


def find_root(names: list[str]) -> str | None:
    """The folder (``""`` for the top) holding ``users.json``/``channels.json``, if any."""
    hits = [PurePosixPath(n) for n in names if PurePosixPath(n).name in _META]
    if not hits:
        return None
    top = min(hits, key=lambda p: len(p.parts)).parent
    return "" if str(top) == "." else top.as_posix()


def _user_name(user: dict) -> str | None:
    profile = user.get("profile") or {}
    for value in (profile.get("display_name"), user.get("real_name"),
                  profile.get("real_name"), user.get("name")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def slack_to_text(text: str, users: dict[str, str]) -> str:
    """Slack message markup to plain text (mentions resolved, links reduced)."""
    def token(m: re.Match) -> str:
        inner = m.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (users.get(target[1:]) or label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            if label:
                return label if label.startswith("@") else "@" + label
            return "@" + target[1:].split("^")[0]
        return label or target

    text = _TOKEN.sub(token, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _items(tree: Tree, name: str, report: Report, max_record_chars: int,
           what: str = "messages") -> Iterator[tuple]:
    """``(index, value)`` of the elements of the JSON array in ``name``, streamed.

    Broken or oversized input is a bad record (raised, or recorded and the rest
    of the file left unread under ``errors="skip"``).
    """
    label = tree.label(name)
    with tree.open(name) as stream:
        try:
            yield from iter_json_array(stream, max_record_chars)
        except UnicodeDecodeError as e:
            report.bad(f"not valid UTF-8 ({e.reason})", file=label, offset=e.start)
        except JSONStreamError as e:
            report.bad(f"invalid JSON ({e.msg})", file=label, line=e.lineno, column=e.colno)
        except RecordTooLarge as e:
            report.bad(f"message is more than {e.limit:,} characters of JSON (max_record_chars; "
                       f"raise kmlang.io.readers.slack.MAX_RECORD_CHARS to read it); the rest of "
                       f"the file is not read", file=label, line=e.line, item=e.item)
        except TypeError as e:
            report.bad(f"expected a JSON array of {what}, found {e}", file=label)


def _users(tree: Tree, root: str, report: Report, max_record_chars: int) -> dict[str, str]:
    name = f"{root}/users.json" if root else "users.json"
    if name not in tree.names:
        return {}
    users = {}
    for _, u in _items(tree, name, report, max_record_chars, "users"):
        if isinstance(u, dict) and "id" in u and (n := _user_name(u)) is not None:
            users[u["id"]] = n
    return users


def _day_files(tree: Tree, root: str) -> list[tuple[str, str]]:
    """``(channel, member name)`` of each day file, channels and days in name order."""
    prefix = f"{root}/" if root else ""
    out = []
    for name in tree.names:
        if not name.startswith(prefix) or not name.endswith(".json"):
            continue
        parts = PurePosixPath(name[len(prefix):]).parts
        if len(parts) == 2:
            out.append((parts[0], name))
    return sorted(out)


def _message(msg: dict, channel: str, users: dict[str, str]) -> dict:
    ts = str(msg["ts"])
    thread = msg.get("thread_ts")
    thread = str(thread) if thread is not None else None
    profile = msg.get("user_profile") or {}
    user = msg.get("user")
    author = (users.get(user) if user else None) or _user_name(profile) or msg.get("username") \
        or user
    extras = {k: v for k, v in msg.items() if k not in ("text", "id")}
    return {"text": slack_to_text(msg.get("text") or "", users), "author": author,
            "doc_id": f"{channel}/{thread or ts}", "timestamp": ts, "id": f"{channel}/{ts}",
            "parent_id": f"{channel}/{thread}" if thread and thread != ts else None,
            "channel": channel, **extras}


def iter_records(path: Path, report: Report, *, max_total_bytes: int | None = None,
                 max_member_bytes: int | None = None, max_ratio: float | None = None,
                 max_record_chars: int | None = None, max_text_chars: int | None = None,
                 max_passages: int | None = None) -> Iterator[dict]:
    """Records of the messages of an export folder or zip (limits: see the module docstring)."""
    max_record_chars = _zip._limit(max_record_chars, MAX_RECORD_CHARS, "max_record_chars")
    max_text_chars = _zip._limit(max_text_chars, _zip.MAX_TEXT_CHARS, "max_text_chars")
    max_passages = _zip._limit(max_passages, MAX_PASSAGES, "max_passages")
    tree = open_tree(path, max_total_bytes=max_total_bytes, max_member_bytes=max_member_bytes,
                     max_ratio=max_ratio)
    root = find_root(tree.names)
    if root is None:
        raise ReaderError(f"{path}: not a Slack export: no users.json or channels.json found")
    users = _users(tree, root, report, max_record_chars)
    passages = truncated = 0
    for channel, name in _day_files(tree, root):
        label = tree.label(name)
        for i, msg in _items(tree, name, report, max_record_chars):
            if not isinstance(msg, dict) or msg.get("ts") is None:
                report.bad("message is not an object with a 'ts'", file=label, item=i)
                continue
            subtype = msg.get("subtype")
            if subtype and subtype not in KEEP_SUBTYPES:
                report.filtered(f"subtype {subtype}", file=label, item=i)
                continue
            passages += 1
            if passages > max_passages:
                raise ReaderError(f"{path}: the export holds more than {max_passages:,} messages "
                                  f"(max_passages; a zip bomb?); raise "
                                  f"kmlang.io.readers.slack.MAX_PASSAGES to read it all")
            record = _message(msg, channel, users)
            record["text"], cut = cap_text(record["text"], max_text_chars)
            if cut:
                record["text_truncated"] = cut
                truncated += 1
            yield record
    report.truncated(path, truncated, max_text_chars, "message")


def iter_frames(path: Path, report: Report, chunksize: int, **limits) -> Iterator[pd.DataFrame]:
    """Standard frames of at most ``chunksize`` messages (``limits``: see :func:`iter_records`)."""
    return frames_from_records(iter_records(path, report, **limits), chunksize, report,
                               path.name)

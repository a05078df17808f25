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
``attrs["skipped"]``. Zip archives are read in memory (see :mod:`._zip`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pandas as pd

from kmlang.errors import ReaderError
from kmlang.io.readers._frame import frames_from_records, load_json
from kmlang.io.readers._report import Report
from kmlang.io.readers._zip import Tree, open_tree

__all__ = ["KEEP_SUBTYPES", "find_root", "slack_to_text", "iter_records", "iter_frames"]

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


def _load(tree: Tree, name: str, report: Report):
    try:
        return load_json(tree.read(name).decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        report.bad(f"not valid UTF-8 ({e.reason})", file=tree.label(name), offset=e.start)
    except json.JSONDecodeError as e:
        report.bad(f"invalid JSON ({e.msg})", file=tree.label(name), line=e.lineno,
                   column=e.colno)
    return None


def _users(tree: Tree, root: str, report: Report) -> dict[str, str]:
    name = f"{root}/users.json" if root else "users.json"
    if name not in tree.names:
        return {}
    data = _load(tree, name, report) or []
    return {u["id"]: n for u in data if isinstance(u, dict) and "id" in u
            and (n := _user_name(u)) is not None}


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


def iter_records(path: Path, report: Report) -> Iterator[dict]:
    """Records of the messages of an export folder or zip."""
    tree = open_tree(path)
    root = find_root(tree.names)
    if root is None:
        raise ReaderError(f"{path}: not a Slack export: no users.json or channels.json found")
    users = _users(tree, root, report)
    for channel, name in _day_files(tree, root):
        label = tree.label(name)
        day = _load(tree, name, report)
        if day is None:
            continue
        if not isinstance(day, list):
            report.bad(f"expected a JSON array of messages, found {type(day).__name__}",
                       file=label)
            continue
        for i, msg in enumerate(day):
            if not isinstance(msg, dict) or msg.get("ts") is None:
                report.bad("message is not an object with a 'ts'", file=label, item=i)
                continue
            subtype = msg.get("subtype")
            if subtype and subtype not in KEEP_SUBTYPES:
                report.filtered(f"subtype {subtype}", file=label, item=i)
                continue
            yield _message(msg, channel, users)


def iter_frames(path: Path, report: Report, chunksize: int) -> Iterator[pd.DataFrame]:
    """Standard frames of at most ``chunksize`` messages."""
    return frames_from_records(iter_records(path, report), chunksize, report, path.name)

"""Discourse topics as served at ``/t/<id>.json``: one passage per post.

The text is the ``cooked`` HTML stripped (quotes of other posts, link
previews and code blocks dropped). ``author`` is ``username``, ``id`` the
post ``id``, ``parent_id`` the post named by ``reply_to_post_number`` (when it
is in the file), ``doc_id`` the topic id, and the topic ``title`` is added to
every row. Small-action posts ("closed the topic") are skipped and counted in
``attrs["skipped"]``. A topic JSON holds the first posts only (20 by default);
when ``post_stream.stream`` lists more, a warning says so.

Reading is bounded: a topic file of more than ``max_file_bytes``
(:data:`MAX_FILE_BYTES`, 256 MiB; a real one is well under 1 MB) is refused with
an error before it is read, a post whose ``cooked`` HTML is longer than
``max_record_chars`` (:data:`MAX_RECORD_CHARS`, 16 Mi characters) is a bad record
naming the post, and a post's text longer than ``max_text_chars``
(:data:`MAX_TEXT_CHARS`, 1,000,000) is truncated, with ``text_truncated`` giving
the characters cut and a warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from kmlang.errors import ReaderError
from kmlang.io.readers._frame import frames_from_records, load_json
from kmlang.io.readers._html import html_to_text
from kmlang.io.readers._report import Report

__all__ = ["SMALL_ACTION", "MAX_FILE_BYTES", "MAX_RECORD_CHARS", "MAX_TEXT_CHARS",
           "iter_records", "iter_frames"]

#: Bytes a topic file may take.
MAX_FILE_BYTES = 256 * 1024**2
#: Characters of ``cooked`` HTML one post may take.
MAX_RECORD_CHARS = 16 * 1024**2
#: Characters of text one post may hold; longer text is truncated.
MAX_TEXT_CHARS = 1_000_000

#: ``post_type`` of posts that record an action (closing, pinning), not a message.
SMALL_ACTION = 3


def _positive(value, default, name: str):
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value


def _topic(path: Path, report: Report, max_file_bytes: float) -> dict | None:
    size = path.stat().st_size
    if size > max_file_bytes:
        raise ReaderError(f"{path}: the topic file is {size:,} bytes, more than the "
                          f"{max_file_bytes:,} allowed (max_file_bytes; raise "
                          f"kmlang.io.readers.discourse.MAX_FILE_BYTES to read it)")
    try:
        with open(path, "rb") as f:
            data = load_json(f.read(int(max_file_bytes) + 1).decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        report.bad(f"not valid UTF-8 ({e.reason})", offset=e.start)
        return None
    except json.JSONDecodeError as e:
        report.bad(f"invalid JSON ({e.msg})", line=e.lineno, column=e.colno)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("post_stream"), dict):
        raise ReaderError(f"{path}: not a Discourse topic: expected a JSON object with "
                          f"'post_stream' (as served at /t/<id>.json)")
    return data


def iter_records(path: Path, report: Report, *, max_file_bytes: int | None = None,
                 max_record_chars: int | None = None,
                 max_text_chars: int | None = None) -> Iterator[dict]:
    """Records of the posts of one topic, in post order (limits: see the module docstring)."""
    max_file_bytes = _positive(max_file_bytes, MAX_FILE_BYTES, "max_file_bytes")
    max_record_chars = _positive(max_record_chars, MAX_RECORD_CHARS, "max_record_chars")
    max_text_chars = _positive(max_text_chars, MAX_TEXT_CHARS, "max_text_chars")
    topic = _topic(path, report, max_file_bytes)
    if topic is None:
        return
    posts = topic["post_stream"].get("posts") or []
    stream = topic["post_stream"].get("stream") or []
    if len(stream) > len(posts):
        report.notes.append(f"{path}: the topic has {len(stream)} posts but the file holds "
                            f"{len(posts)}; fetch the others from /t/<id>/posts.json")
    by_number = {p.get("post_number"): p.get("id") for p in posts if isinstance(p, dict)}
    topic_id = topic.get("id")
    truncated = 0
    for i, post in enumerate(posts):
        if not isinstance(post, dict) or post.get("id") is None:
            report.bad("post is not an object with an 'id'", item=i)
            continue
        if post.get("post_type") == SMALL_ACTION:
            report.filtered(f"small action {post.get('action_code') or ''}".strip(), item=i)
            continue
        cooked = post.get("cooked") or ""
        if not isinstance(cooked, str):
            cooked = str(cooked)
        if len(cooked) > max_record_chars:
            report.bad(f"post {post['id']} has {len(cooked):,} characters of HTML, more than the "
                       f"{max_record_chars:,} allowed (max_record_chars; raise kmlang.io."
                       f"readers.discourse.MAX_RECORD_CHARS to read it)", item=i)
            continue
        text = html_to_text(cooked)
        cut = 0
        if len(text) > max_text_chars:
            text, cut = text[:max_text_chars], len(text) - max_text_chars
            truncated += 1
        reply_to = post.get("reply_to_post_number")
        extras = {k: v for k, v in post.items() if k not in ("cooked", "id")}
        if cut:
            extras["text_truncated"] = cut
        yield {"text": text, "author": post.get("username"),
               "doc_id": post.get("topic_id", topic_id), "timestamp": post.get("created_at"),
               "id": post["id"], "parent_id": by_number.get(reply_to) if reply_to else None,
               "title": topic.get("title"), **extras}
    report.truncated(path, truncated, max_text_chars, "post")


def iter_frames(path: Path, report: Report, chunksize: int, **limits) -> Iterator[pd.DataFrame]:
    """Standard frames of at most ``chunksize`` posts (``limits``: see :func:`iter_records`)."""
    return frames_from_records(iter_records(path, report, **limits), chunksize, report,
                               path.name)

"""Discourse topics as served at ``/t/<id>.json``: one passage per post.

The text is the ``cooked`` HTML stripped (quotes of other posts, link
previews and code blocks dropped). ``author`` is ``username``, ``id`` the
post ``id``, ``parent_id`` the post named by ``reply_to_post_number`` (when it
is in the file), ``doc_id`` the topic id, and the topic ``title`` is added to
every row. Small-action posts ("closed the topic") are skipped and counted in
``attrs["skipped"]``. A topic JSON holds the first posts only (20 by default);
when ``post_stream.stream`` lists more, a warning says so.
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

__all__ = ["SMALL_ACTION", "iter_records", "iter_frames"]

#: ``post_type`` of posts that record an action (closing, pinning), not a message.
SMALL_ACTION = 3


def _topic(path: Path, report: Report) -> dict | None:
    try:
        data = load_json(path.read_bytes().decode("utf-8-sig"))
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


def iter_records(path: Path, report: Report) -> Iterator[dict]:
    """Records of the posts of one topic, in post order."""
    topic = _topic(path, report)
    if topic is None:
        return
    posts = topic["post_stream"].get("posts") or []
    stream = topic["post_stream"].get("stream") or []
    if len(stream) > len(posts):
        report.notes.append(f"{path}: the topic has {len(stream)} posts but the file holds "
                            f"{len(posts)}; fetch the others from /t/<id>/posts.json")
    by_number = {p.get("post_number"): p.get("id") for p in posts if isinstance(p, dict)}
    topic_id = topic.get("id")
    for i, post in enumerate(posts):
        if not isinstance(post, dict) or post.get("id") is None:
            report.bad("post is not an object with an 'id'", item=i)
            continue
        if post.get("post_type") == SMALL_ACTION:
            report.filtered(f"small action {post.get('action_code') or ''}".strip(), item=i)
            continue
        reply_to = post.get("reply_to_post_number")
        extras = {k: v for k, v in post.items() if k not in ("cooked", "id")}
        yield {"text": html_to_text(post.get("cooked") or ""), "author": post.get("username"),
               "doc_id": post.get("topic_id", topic_id), "timestamp": post.get("created_at"),
               "id": post["id"], "parent_id": by_number.get(reply_to) if reply_to else None,
               "title": topic.get("title"), **extras}


def iter_frames(path: Path, report: Report, chunksize: int) -> Iterator[pd.DataFrame]:
    """Standard frames of at most ``chunksize`` posts."""
    return frames_from_records(iter_records(path, report), chunksize, report, path.name)

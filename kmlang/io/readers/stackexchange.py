"""Stack Exchange data dumps: ``Posts.xml``, with ``Comments.xml`` and ``Users.xml`` beside it.

Questions, answers and other posts come first, in file order, then comments.
Ids: posts keep their ``Id``; comments are ``"c<Id>"`` (the two number
ranges overlap). ``parent_id`` is the question for an answer (``ParentId``)
and the post for a comment (``PostId``). ``doc_id`` is ``"q<question id>"``
for questions, answers and comments on either, ``"p<Id>"`` for other posts
(tag wikis, nominations). The author is the ``DisplayName`` from
``Users.xml`` where present, else ``OwnerDisplayName``/``UserDisplayName``,
else the user id. Bodies are HTML: code blocks and quotations are dropped.
Every other attribute (except ``Id``, which is in ``id``) is kept under its
own name; counts become numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from kmlang.errors import ReaderError
from kmlang.io.readers._frame import frames_from_records
from kmlang.io.readers._html import html_to_text
from kmlang.io.readers._report import Report
from kmlang.io.readers._xml import iter_children

__all__ = ["find_posts", "iter_records", "iter_frames", "POST_KINDS"]

#: ``PostTypeId`` -> the ``kind`` column.
POST_KINDS = {"1": "question", "2": "answer", "3": "orphaned_tag_wiki", "4": "tag_wiki_excerpt",
              "5": "tag_wiki", "6": "moderator_nomination", "7": "wiki_placeholder",
              "8": "privilege_wiki"}
_COUNTS = ("Score", "ViewCount", "AnswerCount", "CommentCount", "FavoriteCount")
_ROW = frozenset({"row"})


def _beside(folder: Path, name: str) -> Path | None:
    """``folder/name`` matched case-insensitively (dumps differ), or ``None``."""
    exact = folder / name
    if exact.is_file():
        return exact
    for p in folder.iterdir():
        if p.name.lower() == name.lower() and p.is_file():
            return p
    return None


def find_posts(path: Path) -> Path:
    """The ``Posts.xml`` of a dump folder, or ``path`` itself if it is a file."""
    if path.is_file():
        return path
    posts = _beside(path, "Posts.xml")
    if posts is None:
        raise ReaderError(f"{path}: no Posts.xml in this folder; pass the Posts.xml of a Stack "
                          f"Exchange data dump or the folder that holds it")
    return posts


def _users(path: Path, report: Report) -> dict[str, str]:
    users = {}
    for row in iter_children(path, report, _ROW):
        if row.get("Id") is not None and row.get("DisplayName"):
            users[row.get("Id")] = row.get("DisplayName")
    return users


def _counts(attrs: dict) -> dict:
    for key in _COUNTS:
        if key in attrs:
            try:
                attrs[key] = int(attrs[key])
            except ValueError:
                pass
    return attrs


def _author(users: dict[str, str], user_id: str | None, display: str | None) -> str | None:
    if user_id is not None and user_id in users:
        return users[user_id]
    return display or user_id


def _posts(path: Path, users: dict[str, str], answers: dict[str, str],
           report: Report) -> Iterator[dict]:
    for n, row in enumerate(iter_children(path, report, _ROW), 1):
        attrs = dict(row.attrib)
        post_id = attrs.pop("Id", None)
        if not post_id:
            report.bad("post row has no Id", file=path, row=n)
            continue
        kind = POST_KINDS.get(attrs.get("PostTypeId", ""), "post")
        parent = attrs.get("ParentId")
        if kind == "question":
            doc = f"q{post_id}"
        elif kind == "answer" and parent:
            answers[post_id] = parent
            doc = f"q{parent}"
        else:
            doc = f"p{post_id}"
        body = attrs.pop("Body", None)
        yield {"text": html_to_text(body) if body is not None else None,
               "author": _author(users, attrs.get("OwnerUserId"), attrs.get("OwnerDisplayName")),
               "doc_id": doc, "timestamp": attrs.get("CreationDate"), "id": post_id,
               "parent_id": parent, "kind": kind, **_counts(attrs)}


def _comments(path: Path, users: dict[str, str], answers: dict[str, str],
              report: Report) -> Iterator[dict]:
    for n, row in enumerate(iter_children(path, report, _ROW), 1):
        attrs = dict(row.attrib)
        comment_id, post_id = attrs.pop("Id", None), attrs.get("PostId")
        if not comment_id or not post_id:
            report.bad("comment row has no Id or no PostId", file=path, row=n)
            continue
        yield {"text": attrs.pop("Text", None),
               "author": _author(users, attrs.get("UserId"), attrs.get("UserDisplayName")),
               "doc_id": f"q{answers.get(post_id, post_id)}",
               "timestamp": attrs.get("CreationDate"), "id": f"c{comment_id}",
               "parent_id": post_id, "kind": "comment", **_counts(attrs)}


def iter_records(path: Path, report: Report) -> Iterator[dict]:
    """Records of posts, then of comments when ``Comments.xml`` is beside the posts."""
    posts = find_posts(path)
    folder = posts.parent
    users_file = _beside(folder, "Users.xml")
    users = _users(users_file, report) if users_file is not None else {}
    answers: dict[str, str] = {}  # answer id -> question id, for the comments' doc_id
    yield from _posts(posts, users, answers, report)
    comments = _beside(folder, "Comments.xml")
    if comments is not None and comments != posts:
        yield from _comments(comments, users, answers, report)


def iter_frames(path: Path, report: Report, chunksize: int) -> Iterator[pd.DataFrame]:
    """Standard frames of at most ``chunksize`` passages."""
    return frames_from_records(iter_records(path, report), chunksize, report, path.name)

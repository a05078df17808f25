"""Stack Exchange data dumps: ``Posts.xml``, with ``Comments.xml`` and ``Users.xml`` beside it.

Reading ``Posts.xml`` (or the dump folder) gives the questions, answers and
other posts, in file order, then the comments of the ``Comments.xml`` beside
it: ``comments=False`` (``kmlang score --no-comments``) leaves them out, so
that scoring both files does not count the comments twice. Reading ``Comments.xml`` itself gives
its comments alone. Comments are read as the same ``stackexchange`` format,
not a format of their own: a comment row is the same whether it comes from
the folder or from its own file (same ``id``, ``doc_id`` and columns), so the
two reads can be joined or compared, and ``format="stackexchange"`` works on
either file. The file's root element (``<posts>`` or ``<comments>``) tells
which one it is. The ``kind`` column says what each row is: ``comment``, or
for posts ``question``, ``answer``, ``tag_wiki``... (:data:`POST_KINDS`).

Ids: posts keep their ``Id``; comments are ``"c<Id>"`` (the two number
ranges overlap). ``parent_id`` is the question for an answer (``ParentId``)
and the post for a comment (``PostId``). ``doc_id`` is ``"q<question id>"``
for questions, answers and comments on either, ``"p<Id>"`` for other posts
(tag wikis, nominations). ``Comments.xml`` read alone takes the threads from
the ``Posts.xml`` beside it (one pass reading only the ids); without one, a
comment's ``doc_id`` is ``"p<PostId>"``, as its thread is unknown. The author is the ``DisplayName``
from ``Users.xml`` where present, else ``OwnerDisplayName``/``UserDisplayName``,
else the user id. Post bodies are HTML: code blocks and quotations are
dropped; comment ``Text`` is plain. Every other attribute (except ``Id``,
which is in ``id``) is kept under its own name; counts become numbers.

Column mappings name attributes: ``text="Title"`` takes the text from each
row's ``Title`` (``None`` where a row has none), ``author="UserId"`` the raw
user id, and so on; a mapped attribute is not kept again under its own name.
``Body`` is always read as HTML. A mapped attribute that no row of a file has
is reported in a warning listing the attributes the rows do have.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from kmlang.errors import ReaderError
from kmlang.io.readers._frame import frames_from_records
from kmlang.io.readers._html import html_to_text
from kmlang.io.readers._report import Report
from kmlang.io.readers._xml import iter_children, root_tag

__all__ = ["find_posts", "is_comments", "iter_records", "iter_frames", "POST_KINDS"]

#: ``PostTypeId`` -> the ``kind`` column.
POST_KINDS = {"1": "question", "2": "answer", "3": "orphaned_tag_wiki", "4": "tag_wiki_excerpt",
              "5": "tag_wiki", "6": "moderator_nomination", "7": "wiki_placeholder",
              "8": "privilege_wiki"}
_COUNTS = ("Score", "ViewCount", "AnswerCount", "CommentCount", "FavoriteCount")
_ROW = frozenset({"row"})
_SNIFF = 64 * 1024


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
    """The file to read: ``path`` itself, or a folder's ``Posts.xml`` (else ``Comments.xml``)."""
    if path.is_file():
        return path
    found = _beside(path, "Posts.xml") or _beside(path, "Comments.xml")
    if found is None:
        raise ReaderError(f"{path}: no Posts.xml or Comments.xml in this folder; pass a file of a "
                          f"Stack Exchange data dump or the folder that holds it")
    return found


def is_comments(path: Path) -> bool:
    """Whether ``path`` is a ``Comments.xml`` (its root element is ``<comments>``)."""
    with open(path, "rb") as f:
        return root_tag(f.read(_SNIFF)) == "comments"


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


def _record(fields: dict, attrs: dict, own: dict[str, str], mapping: Mapping[str, str]) -> dict:
    """``fields`` with the mapped attributes in their place, then the row's other attributes.

    ``own`` names the attributes the default fields hold (``id``: ``Id``,
    ``text``: ``Body`` or ``Text``); they are not repeated, unless their
    field is mapped to another attribute. Mapped attributes are not repeated.
    """
    drop = {source for role, source in own.items() if role not in mapping}
    for role, source in mapping.items():
        value = attrs.get(source)
        if role == "text" and source == "Body" and value is not None:
            value = html_to_text(value)
        fields[role] = value
        drop.add(source)
    return {**fields, **_counts({k: v for k, v in attrs.items() if k not in drop})}


def _note_unmapped(path: Path, mapping: Mapping[str, str], seen: set[str],
                   report: Report) -> None:
    for role, source in mapping.items():
        if seen and source not in seen:
            report.notes.append(f"No row of {path} has the attribute {source!r} (named by "
                                f"{role}=), so none has a {role}; its rows have: "
                                f"{', '.join(sorted(seen))}.")


def _doc(post_id: str, attrs: dict, docs: dict[str, str]) -> tuple[str, str]:
    """``(kind, doc_id)`` of a post; answers and other non-questions are noted in ``docs``."""
    kind = POST_KINDS.get(attrs.get("PostTypeId", ""), "post")
    parent = attrs.get("ParentId")
    if kind == "question":
        return kind, f"q{post_id}"
    docs[post_id] = f"q{parent}" if kind == "answer" and parent else f"p{post_id}"
    return kind, docs[post_id]


def _threads(path: Path, report: Report) -> dict[str, str]:
    """The ``docs`` map of a ``Posts.xml`` (post id -> doc id, questions left out)."""
    docs: dict[str, str] = {}
    for row in iter_children(path, report, _ROW):
        if row.get("Id"):
            _doc(row.get("Id"), row.attrib, docs)
    return docs


def _posts(path: Path, users: dict[str, str], docs: dict[str, str], report: Report,
           mapping: Mapping[str, str]) -> Iterator[dict]:
    seen: set[str] = set()
    for n, row in enumerate(iter_children(path, report, _ROW), 1):
        attrs = dict(row.attrib)
        seen.update(attrs)
        post_id = attrs.get("Id")
        if not post_id:
            report.bad("post row has no Id", file=path, row=n)
            continue
        kind, doc = _doc(post_id, attrs, docs)
        body = attrs.get("Body") if "text" not in mapping else None
        yield _record({"text": html_to_text(body) if body is not None else None,
                       "author": _author(users, attrs.get("OwnerUserId"),
                                         attrs.get("OwnerDisplayName")),
                       "doc_id": doc, "timestamp": attrs.get("CreationDate"), "id": post_id,
                       "parent_id": attrs.get("ParentId"), "kind": kind},
                      attrs, {"id": "Id", "text": "Body"}, mapping)
    _note_unmapped(path, mapping, seen, report)


def _comments(path: Path, users: dict[str, str], docs: dict[str, str], thread: str,
              report: Report, mapping: Mapping[str, str]) -> Iterator[dict]:
    """Comment records; ``thread`` prefixes the ``PostId`` of posts not in ``docs``."""
    seen: set[str] = set()
    for n, row in enumerate(iter_children(path, report, _ROW), 1):
        attrs = dict(row.attrib)
        seen.update(attrs)
        comment_id, post_id = attrs.get("Id"), attrs.get("PostId")
        if not comment_id or not post_id:
            report.bad("comment row has no Id or no PostId", file=path, row=n)
            continue
        yield _record({"text": attrs.get("Text"),
                       "author": _author(users, attrs.get("UserId"), attrs.get("UserDisplayName")),
                       "doc_id": docs.get(post_id, f"{thread}{post_id}"),
                       "timestamp": attrs.get("CreationDate"), "id": f"c{comment_id}",
                       "parent_id": post_id, "kind": "comment"},
                      attrs, {"id": "Id", "text": "Text"}, mapping)
    _note_unmapped(path, mapping, seen, report)


def iter_records(path: Path, report: Report, comments: bool = True,
                 mapping: Mapping[str, str] | None = None) -> Iterator[dict]:
    """Records of posts, then of the comments beside them (if ``comments``); or of a Comments.xml.

    ``mapping`` maps standard fields to attributes (see the module docstring).
    """
    mapping = {k: v for k, v in (mapping or {}).items() if v is not None}
    first = find_posts(path)
    folder = first.parent
    users_file = _beside(folder, "Users.xml")
    users = _users(users_file, report) if users_file is not None else {}
    docs: dict[str, str] = {}  # post id -> doc id for non-questions, for the comments' doc_id
    if is_comments(first):
        posts = _beside(folder, "Posts.xml")
        if posts is not None:
            docs = _threads(posts, report)
        yield from _comments(first, users, docs, "p" if posts is None else "q", report, mapping)
        return
    yield from _posts(first, users, docs, report, mapping)
    sibling = _beside(folder, "Comments.xml") if comments else None
    if sibling is not None and sibling != first:
        yield from _comments(sibling, users, docs, "q", report, mapping)


def iter_frames(path: Path, report: Report, chunksize: int, comments: bool = True,
                mapping: Mapping[str, str] | None = None) -> Iterator[pd.DataFrame]:
    """Standard frames of at most ``chunksize`` passages (see :func:`iter_records`)."""
    first = find_posts(path)
    if not comments and is_comments(first):
        raise ValueError(f"{first} holds comments only: comments=False (--no-comments) "
                         f"leaves out the Comments.xml beside a Posts.xml, here it would leave "
                         f"nothing to read")
    return frames_from_records(iter_records(path, report, comments, mapping), chunksize, report,
                               path.name)

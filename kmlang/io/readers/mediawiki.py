"""MediaWiki ``Special:Export`` XML: talk pages split into signed comments.

Each page is read at its latest revision (an export with history lists older
revisions first). A talk page (odd namespace) becomes one passage per signed
comment: the author and time come from the signature (``[[User:Name|Name]]
([[User talk:Name|talk]]) 12:34, 5 May 2010 (UTC)``, or ``{{unsigned|Name|...}}``)
and the signature is cut from the text. A comment indented with ``:``/``*``
replies to the nearest earlier, less indented comment of its section; one that
starts with ``{{outdent}}`` replies to the comment just before it. Text left
unsigned at the end of a section is a passage of its own with no author.
Other pages are one passage each, by the revision's contributor. Markup is
stripped with mwparserfromhell. ``doc_id`` is the page title; ids are
``"<file>:<n>"``, n counting passages from 1. Redirects are skipped (counted
in ``attrs["skipped"]``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from kmlang.io.readers._frame import frames_from_records
from kmlang.io.readers._html import tidy
from kmlang.io.readers._report import Report
from kmlang.io.readers._xml import iter_children, local

__all__ = ["split_talk", "wiki_to_text", "iter_records", "iter_frames"]

_MONTHS = {m: i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"], 1)}
_TS = r"(\d{1,2}):(\d{2}), (\d{1,2}) ([A-Z][a-z]+) (\d{4}) \(UTC\)"
_SIG_END = re.compile(r"(?P<tpl>\{\{\s*[Uu]nsigned(?:IP)?(?P<two>2)?\s*\|(?P<args>[^{}]*)\}\})"
                      r"|(?P<ts>" + _TS + ")")
_TS_RE = re.compile(_TS)
_USER_LINK = re.compile(r"\[\[\s*:?\s*(?:user(?:[ _]talk)?\s*:\s*(?P<a>[^|\]/#]+)"
                        r"|special\s*:\s*contrib(?:ution)?s\s*/\s*(?P<b>[^|\]/#]+))[^\]]*\]\]",
                        re.I)
# pieces a signature is made of, matched backwards from its timestamp
_SIG_PIECE = re.compile(r"(?:\[\[[^\[\]\n]*\]\]|<[^<>\n]*>|&[a-zA-Z]+;|&#\d+;"
                        r"|[ \t\-\u2013\u2014~()|\u2022\u00b7\u00a0])\Z")
_SIG_LEAD = re.compile(r"(?:<[^<>\n]*>|&[a-zA-Z]+;|[ \t\-\u2013\u2014~\u00a0])\Z")
_HEADING = re.compile(r"^(={1,6})[ \t]*(.+?)[ \t]*\1[ \t]*$", re.M)
_INDENT = re.compile(r"^[:*#]+")
_OUTDENT = re.compile(r"^\s*\{\{\s*(?:outdent|od|out|unindent)\s*(?:\|[^{}]*)?\}\}\s*", re.I)
_DROP_TAGS = frozenset({"ref", "references", "gallery", "math", "syntaxhighlight", "source",
                        "pre", "nowiki", "score", "timeline", "graph"})
_DROP_LINKS = re.compile(r"^\s*:?\s*(?:file|image|category|media)\s*:", re.I)


def _name(raw: str) -> str:
    name = raw.replace("_", " ").strip()
    return name[:1].upper() + name[1:]


def _time(m: re.Match | None) -> datetime | None:
    if m is None:
        return None
    hour, minute, day, month, year = m.groups()[-5:]
    if month not in _MONTHS:
        return None
    try:
        return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), tzinfo=UTC)
    except ValueError:
        return None


def _signature(body: str, ts_start: int, floor: int) -> tuple[int, str] | None:
    """Start and user name of the signature whose timestamp starts at ``ts_start``."""
    pos, start, name = ts_start, None, None
    low = max(floor, ts_start - 600)
    while pos > low:
        m = _SIG_PIECE.search(body, low, pos)
        if m is None:
            break
        user = _USER_LINK.fullmatch(m.group(0))
        if user:
            start = m.start()
            name = name or _name(user.group("a") or user.group("b"))
        pos = m.start()
    if start is None or name is None:
        return None
    while start > low and (m := _SIG_LEAD.search(body, low, start)):
        start = m.start()
    return start, name


def _cuts(body: str) -> list[tuple[int, int, str | None, datetime | None]]:
    """``(signature start, end, author, time)`` of each signature in a section."""
    cuts = []
    floor = 0
    for m in _SIG_END.finditer(body):
        if m.group("tpl"):
            args = [a.strip() for a in m.group("args").split("|") if "=" not in a]
            user, when = (args[1:2], args[:1]) if m.group("two") else (args[:1], args[1:2])
            author = _name(user[0]) if user and user[0] else None
            stamp = _TS_RE.search(when[0]) if when else None
            cuts.append((m.start(), m.end(), author, _time(stamp)))
        else:
            sig = _signature(body, m.start(), floor)
            if sig is None:
                eol = body.find("\n", m.end())
                rest = body[m.end():eol if eol >= 0 else len(body)]  # not a copy of the section
                if rest.strip():  # a date in running text, not a signature
                    continue
                sig = (m.start(), None)
            cuts.append((sig[0], m.end(), sig[1], _time(m)))
        floor = m.end()
    return cuts


def _sections(text: str) -> Iterator[tuple[str | None, str]]:
    pos, title = 0, None
    for m in _HEADING.finditer(text):
        yield title, text[pos:m.start()]
        title, pos = wiki_to_text(m.group(2)), m.end()
    yield title, text[pos:]


def split_talk(text: str) -> list[dict]:
    """Comments of a talk page's wikitext, in order.

    Each is a dict with ``text`` (markup and signature stripped), ``author``,
    ``timestamp`` (aware UTC datetime or ``None``), ``section``, ``depth`` (the
    indentation), ``signed`` and ``parent`` (index of the replied-to comment in
    the returned list, or ``None``).
    """
    comments: list[dict] = []
    for section, body in _sections(text):
        first = len(comments)
        # earlier comments of the section with strictly increasing depth (the last is the
        # latest): the nearest less indented one is found without rescanning the section
        open_: list[int] = []
        pos = 0
        pieces = []
        for start, end, author, when in _cuts(body):
            pieces.append((body[pos:start], author, when, True))
            pos = end
        pieces.append((body[pos:], None, None, False))
        for raw, author, when, signed in pieces:
            head = next((line for line in raw.split("\n") if line.strip()), "")
            indent = _INDENT.match(head)
            depth = len(indent.group(0)) if indent else 0
            outdent = bool(_OUTDENT.match(head[depth:]))
            clean = wiki_to_text("\n".join(_OUTDENT.sub("", _INDENT.sub("", line))
                                           for line in raw.split("\n")))
            if not clean:
                continue
            parent = None
            while open_ and comments[open_[-1]]["depth"] >= depth:
                open_.pop()
            if outdent and len(comments) > first:
                parent = len(comments) - 1
            elif depth > 0 and open_:
                parent = open_[-1]
            open_.append(len(comments))
            comments.append({"text": clean, "author": author, "timestamp": when,
                             "section": section, "depth": depth, "signed": signed,
                             "parent": parent})
    return comments


def wiki_to_text(wikitext: str) -> str:
    """Plain text of wikitext: templates, comments, footnotes and file/category links removed."""
    import mwparserfromhell

    code = mwparserfromhell.parse(wikitext)
    drop = [link for link in code.filter_wikilinks() if _DROP_LINKS.match(str(link.title))]
    drop += [tag for tag in code.filter_tags() if str(tag.tag).strip().lower() in _DROP_TAGS]
    for node in drop:
        try:
            code.remove(node)
        except ValueError:  # already gone with an enclosing node
            pass
    text = code.strip_code(normalize=True, collapse=True).replace("\xa0", " ")
    return tidy(re.sub(r"[ \t]+", " ", text))


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in elem if local(c.tag) == name), None)


def _text(elem: ET.Element, name: str) -> str | None:
    child = _child(elem, name)
    return child.text if child is not None else None


def _revision(elem: ET.Element) -> dict:
    contributor = _child(elem, "contributor")
    user = None
    if contributor is not None:
        user = _text(contributor, "username") or _text(contributor, "ip")
    return {"revision_id": _text(elem, "id"), "revision_timestamp": _text(elem, "timestamp"),
            "revision_user": user, "revision_comment": _text(elem, "comment"),
            "wikitext": _text(elem, "text") or ""}


def _is_talk(ns: str | None, title: str) -> bool:
    if ns is not None and ns.strip().lstrip("-").isdigit():
        return int(ns) % 2 == 1
    return "talk:" in title.lower()


def iter_records(path: Path, report: Report) -> Iterator[dict]:
    """Passages of an export, page by page; comments of talk pages in order."""
    latest: dict | None = None
    n = 0
    for elem in iter_children(path, report, frozenset({"page"}), frozenset({"revision"})):
        if local(elem.tag) == "revision":
            latest = _revision(elem)
            elem.clear()  # keep only what the latest revision needs
            continue
        title = _text(elem, "title") or ""
        ns = _text(elem, "ns")
        rev, latest = latest, None
        page = {"title": title, "ns": int(ns) if ns and ns.strip().isdigit() else ns,
                "page_id": _text(elem, "id")}
        if _child(elem, "redirect") is not None:
            report.filtered("redirect page", file=path, page=title)
            continue
        if rev is None:
            report.bad("page has no revision", file=path, page=title)
            continue
        wikitext = rev.pop("wikitext")
        if _is_talk(ns, title):
            comments = split_talk(wikitext)
            first = n
            for c in comments:
                n += 1
                parent = c.pop("parent")
                yield {"text": c.pop("text"), "author": c.pop("author"), "doc_id": title,
                       "timestamp": c.pop("timestamp"), "id": f"{path.name}:{n}",
                       "parent_id": None if parent is None else f"{path.name}:{first + parent + 1}",
                       **page, **c, **rev}
        else:
            n += 1
            yield {"text": wiki_to_text(wikitext), "author": rev["revision_user"],
                   "doc_id": title, "timestamp": rev["revision_timestamp"],
                   "id": f"{path.name}:{n}", "parent_id": None, **page, "section": None,
                   "depth": 0, "signed": False, **rev}


def iter_frames(path: Path, report: Report, chunksize: int) -> Iterator[pd.DataFrame]:
    """Standard frames of at most ``chunksize`` passages."""
    return frames_from_records(iter_records(path, report), chunksize, report, path.name)

"""Unix mbox mail archives: one passage per message, quoted and forwarded text kept apart.

Messages are split at ``From `` lines that open the file or follow a blank
line, and each is parsed with :mod:`email` (``policy=email.policy.default``).
``author`` is the ``From`` display name (else the address), ``timestamp`` the
``Date``, ``id`` the ``Message-ID``, ``parent_id`` the first id in
``In-Reply-To``, and ``doc_id`` the thread root: the first id in
``References``, else the root of the replied-to message, else the message
itself. Every header is kept as a lower-case column (``subject``, ``to``, ...).

The body is the text/plain part (the text/html one stripped, when that is all
there is; inline text parts of a mixed message are joined). Charsets and
transfer encodings are decoded with ``errors="replace"``; a multipart message
whose boundary is missing or wrong is re-split at the boundary its body uses.

Only the sender's own words are in ``text``. Quoted and forwarded text is
someone else's: it goes to ``quoted_text`` (``>`` markers removed, blocks in
their order), and is not scored as the sender's. Quoted text is:

* lines quoted with ``>``, with the attribution above them (``On <date>,
  <name> wrote:``, on one line or two, or ``<name> wrote:``);
* everything from a line that opens a forwarded or replied-to message to the
  end: Outlook ``-----Original Message-----`` (also ``----- Forwarded Message
  -----``, Thunderbird's ``-------- Original Message --------``) or a pasted
  header block (a ``From:`` or ``To:`` line, then two more of ``Sent:``,
  ``Date:``, ``To:``, ``Cc:``, ``Subject:``, not only ``To:`` and ``Cc:``, as
  Outlook writes under a rule); Lotus Notes ``---------- Forwarded by
  Name/Org on 01/02/2001 10:00 AM ----------`` (also when the line is wrapped)
  and its reply header (``Name on 01/30/2001 03:15 AM``, or the name and the
  date on two lines, then ``To:``); Gmail
  ``---------- Forwarded message ---------``; Apple Mail ``Begin forwarded
  message:``; and ``On <date>, <name> wrote:`` followed by unquoted text.

The signature after ``-- `` is dropped (quoted lines and a forwarded block
after it are still quoted text). ``quoted_only`` is true for a message whose own text is empty
but which quotes or forwards something: a pure forward, which scoring can
tell from an empty message. In HTML-only mail, ``<blockquote>`` quotations are
dropped with the HTML (see :func:`~kmlang.io.readers._html.html_to_text`), not
moved to ``quoted_text``.

Reading is bounded: a message of more than ``max_message_bytes`` raw bytes
(:data:`MAX_MESSAGE_BYTES`, 64 MiB) is a bad record naming its line (memory
never holds more than that of it, however long its lines), and a body longer
than ``max_text_chars`` (:data:`MAX_TEXT_CHARS`, 1,000,000) is truncated, with
``text_truncated`` giving the characters cut.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

import pandas as pd

from kmlang.errors import ReaderError
from kmlang.io.readers._frame import frames_from_records
from kmlang.io.readers._html import html_to_text, tidy
from kmlang.io.readers._report import Report

__all__ = ["MAX_MESSAGE_BYTES", "MAX_TEXT_CHARS", "split_mbox", "message_record", "split_body",
           "clean_body", "iter_records",
           "iter_frames"]

_FROM_LINE = re.compile(rb"^From \S*.*\d:\d\d")
_ESCAPED = re.compile(rb"^>+From ")  # mboxrd: one ">" was added when the message was stored
_MSGID = re.compile(r"<[^<>\s]+>")
_ON_WROTE = re.compile(r"^\s*On\b.{0,200}\bwrote\s*:\s*$")
_WROTE = re.compile(r"^.{0,200}\bwrote\s*:\s*$", re.I)
# a line after which the rest is a forwarded or replied-to message: Outlook / Thunderbird /
# Yahoo "--- Original Message ---" or "--- Forwarded Message ---", Lotus Notes "--- Forwarded
# by Name/Org on <date> ---" (often wrapped after the date), Gmail "--- Forwarded message ---",
# Apple Mail "Begin forwarded message:"
_FORWARD = re.compile(r"^\s*(?:-{2,}\s*(?:Original|Forwarded) Message\s*-{2,}"
                      r"|-{3,}\s*Forwarded by\b.*|Begin forwarded message\s*:)\s*$", re.I)
# Lotus Notes header of a replied-to or forwarded message, then "To:": "Name <addr> on
# 01/30/2001 03:15:09 AM", "From: Name   01/30/2001 03:15 PM", or "Name" above "19/04/2000 16:22"
_DATE_TIME = r"\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AP]M)?\s*$"
_NOTES = re.compile(rf"^\s*\S.*\s{_DATE_TIME}")
_NOTES_DATE = re.compile(rf"^\s*{_DATE_TIME}")
# the header lines of a pasted message: "From:" or "To:", then "Sent:"/"Date:"/"Subject:"
_HEADER_START = re.compile(r"^\s*(?:From|To)\s*:\s*\S", re.I)
_FIELD = re.compile(r"^\s*(Sent|Date|To|Cc|Subject)\s*:", re.I)
_RULE = re.compile(r"^\s*_{8,}\s*$")  # Outlook's rule above the header block
_QUOTE_MARKS = re.compile(r"^\s*(?:>[ \t]?)+")
_ASCII = {"us-ascii", "ascii", "ansi_x3.4-1968", "646"}


#: Raw bytes one message may take (headers, body and attachments).
MAX_MESSAGE_BYTES = 64 * 1024**2
#: Characters of text (own text, and quoted text) one message may hold; more is truncated.
MAX_TEXT_CHARS = 1_000_000
_LINE_BLOCK = 1 << 20  # a line longer than this is read in pieces


def _split(path: Path, max_bytes: float) -> Iterator[tuple[int, bytes | None, int]]:
    """``(line of the From_ line, raw message or None when over max_bytes, size in bytes)``."""
    with open(path, "rb") as f:
        first = f.readline(_LINE_BLOCK)
        if not first.startswith(b"From "):
            raise ReaderError(f"{path}, line 1: not an mbox file: it must start with a 'From ' "
                              f"line, found {first[:40]!r}")
        while first and not first.endswith(b"\n"):  # the rest of a very long From_ line
            first = f.readline(_LINE_BLOCK)
        start, lines, size, blank, number, at_start = 1, [], 0, False, 1, True
        while line := f.readline(_LINE_BLOCK):
            whole = at_start  # the piece starts a line (a long line is read in pieces)
            at_start = line.endswith(b"\n")
            if whole:
                number += 1
                if blank and line.startswith(b"From ") and _FROM_LINE.match(line):
                    yield start, (b"".join(lines) if size <= max_bytes else None), size
                    start, lines, size, blank = number, [], 0, False
                    continue
                if _ESCAPED.match(line):
                    line = line[1:]
                blank = not line.strip()
            else:
                blank = False
            size += len(line)
            if size <= max_bytes:
                lines.append(line)
            elif lines:
                lines = []  # over the cap: hold nothing more, but find where the next one starts
        yield start, (b"".join(lines) if size <= max_bytes else None), size


def split_mbox(path: Path, max_bytes: int | None = None) -> Iterator[tuple[int, bytes]]:
    """``(line of the From_ line, raw message)`` for each message, streamed.

    A ``From `` line starts a message when it follows a blank line and carries a
    time (``hh:mm``), so body lines such as "From the start..." do not split
    one. ``>From`` lines lose one ``>`` (the mboxrd escape). A message of more
    than ``max_bytes`` (default :data:`MAX_MESSAGE_BYTES`) raises
    :class:`~kmlang.errors.ReaderError`; memory holds one message at most.
    """
    limit = MAX_MESSAGE_BYTES if max_bytes is None else max_bytes
    for start, raw, size in _split(path, limit):
        if raw is None:
            raise ReaderError(_too_large(path, start, size, limit))
        yield start, raw


def _too_large(path: Path, line: int, size: int, limit: int) -> str:
    return (f"{path}, line {line}: message is {size:,} bytes, more than the {limit:,} allowed "
            f"for one message (max_message_bytes; raise kmlang.io.readers.mbox."
            f"MAX_MESSAGE_BYTES to read it)")


def _header(value) -> str:
    """A raw header value unfolded and RFC 2047-decoded; undecodable bytes replaced."""
    text = str(value)
    if re.search("[\udc80-\udcff]", text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = re.sub(r"\r?\n[ \t]+", " ", text).strip()
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (ValueError, LookupError, UnicodeError):
            pass
    return text


def _decode(data: bytes, charset: str | None) -> str:
    """Bytes to text with the declared charset; undeclared or ASCII: UTF-8, then cp1252."""
    label = (charset or "").lower()
    if label and label not in _ASCII:
        try:
            codecs.lookup(label)
        except LookupError:
            label = ""
    if not label or label in _ASCII:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")
    try:
        return data.decode(label)
    except UnicodeDecodeError:
        if label.replace("-", "").replace("_", "") == "utf8":
            return data.decode("cp1252", "replace")
        return data.decode(label, "replace")


def _leaf(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, str):  # pragma: no cover - defensive
        payload = payload.encode("utf-8", "surrogateescape")
    return _decode(payload or b"", part.get_content_charset())


def _resplit(part: Message) -> str | None:
    """Text of a multipart part whose declared boundary does not occur in its body."""
    body = part.get_payload()
    if not isinstance(body, str):
        return None
    m = re.search(r"^--([^\s]{3,}?)(?:--)?[ \t]*$", body, re.M)
    if m is None:
        return None
    synthetic = (f'MIME-Version: 1.0\nContent-Type: {part.get_content_type()}; '
                 f'boundary="{m.group(1)}"\n\n{body}')
    fixed = email.message_from_string(synthetic, policy=email.policy.default)
    return _body(fixed) if fixed.is_multipart() else None


def _body(part: Message) -> str:
    """The text of a message or part (see the module docstring for the choices)."""
    ctype = part.get_content_type()
    if part.get_content_maintype() == "multipart":
        if not part.is_multipart():  # broken boundary: the body was left as one string
            text = _resplit(part)
            return text if text is not None else _leaf(part)
        subparts = [p for p in part.get_payload()
                    if p.get_content_disposition() != "attachment"]
        if ctype == "multipart/alternative":
            for wanted in ("text/plain", "text/html"):
                best = next((p for p in subparts if p.get_content_type() == wanted), None)
                if best is not None:
                    return _body(best)
            return next((t for t in map(_body, subparts) if t.strip()), "")
        return "\n\n".join(t for t in map(_body, subparts) if t.strip())
    if ctype == "text/html":
        return html_to_text(_leaf(part))
    if part.get_content_maintype() == "text" or ctype == "message/delivery-status":
        return _leaf(part)
    return ""


def split_body(text: str) -> tuple[str, str]:
    """``(own text, quoted text)`` of a mail body (see the module docstring for the rules)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    own: list[str] = []
    quoted: list[str] = []
    signature = False
    for i, line in enumerate(lines):
        on_wrote = _on_wrote(lines, i)
        if _opens_block(lines, i) or (on_wrote is not None
                                      and not _next_text(lines, on_wrote).startswith(">")):
            quoted.extend(_QUOTE_MARKS.sub("", rest) for rest in lines[i:])
            break
        if line.rstrip() == "--":
            signature = True
        elif on_wrote is not None or line.lstrip().startswith(">") or _wrote(lines, i):
            quoted.append(_QUOTE_MARKS.sub("", line))
        elif not signature:
            own.append(line)
    return tidy("\n".join(own)), tidy("\n".join(quoted))


def clean_body(text: str) -> str:
    """The sender's own words of a mail body: :func:`split_body` without the quoted text."""
    return split_body(text)[0]


def _opens_block(lines: list[str], i: int) -> bool:
    """Whether line ``i`` starts a forwarded or replied-to message that runs to the end."""
    line = lines[i]
    if _FORWARD.match(line):
        return True
    if _NOTES.match(line):
        return _next_text(lines, i).startswith("To:")
    if line.strip() and i + 1 < len(lines) and _NOTES_DATE.match(lines[i + 1]):
        return _next_text(lines, i + 1).startswith("To:")
    if _RULE.match(line):  # a rule right above the header block belongs to it
        return i + 1 < len(lines) and _opens_block(lines, i + 1)
    if _HEADER_START.match(line):
        fields = {m.group(1).lower() for m in map(_FIELD.match, lines[i + 1:i + 6]) if m}
        return len(fields) >= 2 and bool(fields & {"sent", "date", "subject"})
    return False


def _on_wrote(lines: list[str], i: int) -> int | None:
    """The last line of an ``On <date>, <name> wrote:`` attribution starting at line ``i``."""
    if _ON_WROTE.match(lines[i]):
        return i
    if _opens_on(lines[i]) and i + 1 < len(lines) and _WROTE.match(lines[i + 1]):
        return i + 1  # "On <date>, <name>" with "<address> wrote:" on the next line
    return None


def _wrote(lines: list[str], i: int) -> bool:
    """``<name> wrote:`` above a ``>`` quote, or the second line of an ``On ...`` attribution."""
    return _WROTE.match(lines[i]) is not None and (
        _next_text(lines, i).startswith(">") or _opens_on(lines[i - 1] if i else ""))


def _opens_on(line: str) -> bool:
    """The first line of an attribution broken over two lines ("On Tue, 3 Mar ...")."""
    return line.lstrip().startswith("On ") and not line.rstrip().endswith((".", "?", "!", ":"))


def _next_text(lines: list[str], i: int) -> str:
    return next((line.strip() for line in lines[i + 1:i + 4] if line.strip()), "")


def _ids(value: str | None) -> list[str]:
    return _MSGID.findall(value or "")


def message_record(raw: bytes, roots: dict[str, str], max_text_chars: int | None = None) -> dict:
    """The record of one raw message; ``roots`` maps message ids to thread roots.

    A body longer than ``max_text_chars`` is cut to that length before it is
    split, and ``text_truncated`` holds the number of characters cut.
    """
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    headers: dict[str, str] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        value = _header(value)
        headers[key] = f"{headers[key]}\n{value}" if key in headers else value
    sender = getaddresses([headers.get("from", "")])
    name, address = sender[0] if sender else ("", "")
    author = name.strip() or None
    xfrom = re.sub(r"\s*<[^<>]*>\s*$", "", headers.get("x-from", "")).strip().strip('"')
    if author is None and xfrom and "@" not in xfrom:
        author = xfrom
    author = author or address or None
    when = None
    if headers.get("date"):
        try:
            when = parsedate_to_datetime(headers["date"])
        except (TypeError, ValueError, IndexError):
            when = headers["date"]  # left to the frame's parser (NaT and counted if it fails)
    own = next(iter(_ids(headers.get("message-id"))), None)
    reply_to = next(iter(_ids(headers.get("in-reply-to"))), None)
    refs = _ids(headers.get("references"))
    root = refs[0] if refs else roots.get(reply_to, reply_to) if reply_to else own
    if own is not None and root is not None:
        roots[own] = root
    body, cut = _body(msg), 0
    if max_text_chars is not None and len(body) > max_text_chars:
        body, cut = body[:max_text_chars], len(body) - max_text_chars
    text, quoted = split_body(body)
    extra = {"text_truncated": cut} if cut else {}
    return {"text": text, "author": author, "doc_id": root, "timestamp": when, "id": own,
            "parent_id": reply_to, "quoted_text": quoted, "quoted_only": bool(quoted and not text),
            **headers, **extra}


def iter_records(path: Path, report: Report, *, max_message_bytes: int | None = None,
                 max_text_chars: int | None = None) -> Iterator[dict]:
    """Records of the messages of an mbox file, in file order.

    A message of more than ``max_message_bytes`` raw bytes (default
    :data:`MAX_MESSAGE_BYTES`) is a bad record: an error naming its line, or
    skipped and listed under ``errors="skip"``. Text longer than
    ``max_text_chars`` (default :data:`MAX_TEXT_CHARS`) is truncated: the body is
    cut before it is split into own and quoted text, ``text_truncated`` gives the
    number of characters cut, and a warning says how many messages were.
    """
    max_bytes = MAX_MESSAGE_BYTES if max_message_bytes is None else max_message_bytes
    max_chars = MAX_TEXT_CHARS if max_text_chars is None else max_text_chars
    for name, value in (("max_message_bytes", max_bytes), ("max_text_chars", max_chars)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    roots: dict[str, str] = {}
    truncated = 0
    for n, (line, raw, size) in enumerate(_split(path, max_bytes), 1):
        if raw is None:
            report.bad(f"message is {size:,} bytes, more than the {max_bytes:,} allowed for one "
                       f"message (max_message_bytes; raise kmlang.io.readers.mbox."
                       f"MAX_MESSAGE_BYTES to read it)", line=line)
            continue
        try:
            record = message_record(raw, roots, max_chars)
        except Exception as e:  # noqa: BLE001 - any parser failure is a bad record
            report.bad(f"message cannot be parsed ({type(e).__name__}: {e})", line=line)
            continue
        if record["id"] is None:
            record["id"] = f"{path.name}:{n}"
            if record["doc_id"] is None:
                record["doc_id"] = record["id"]
        truncated += bool(record.get("text_truncated"))
        yield record
    report.truncated(path, truncated, max_chars, "message")


def iter_frames(path: Path, report: Report, chunksize: int, **limits) -> Iterator[pd.DataFrame]:
    """Standard frames of at most ``chunksize`` messages (``limits``: see :func:`iter_records`)."""
    return frames_from_records(iter_records(path, report, **limits), chunksize, report,
                               path.name)

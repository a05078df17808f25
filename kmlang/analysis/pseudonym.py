"""Keyed pseudonyms for the names of people: in the HTML report, in plots and in tables.

:func:`pseudonym` turns a name into ``author-`` + the first 16 hex digits (64
bits) of a keyed HMAC-SHA256 of it. Without a key, a random key made once per
Python process is used (stable within the process, different in the next);
with the same key (``pseudonym_key=``, at least 16 bytes), the same name gets
the same pseudonym everywhere. Without the key nobody can check a guessed name
against a pseudonym. A pseudonym keeps a name off a page or a figure, it does
not anonymise.

Which values are names (:func:`pseudonymise`, the plots of
:mod:`kmlang.analysis.plot`, the report):

- every value of a *name column*, one whose name says it holds people
  (:func:`is_name_column`: ``author``, ``user``, ``username``, ``user_id``,
  ``sender``, ``from``, ``email``, ``ip``... or a name ending in ``_author``,
  ``_user``, ``_username``, ``_user_id``, ``_email``, ``_sender``; case,
  spaces and hyphens ignored), numbers included;
- inside the values of other text columns (``doc_id``, ``title``, a thread or
  channel name...): the user name of a MediaWiki user page (``User:Name``,
  ``User talk:Name/Archive``...), any name of a name column of the same frame,
  and any IPv4/IPv6 or e-mail address, each replaced by its pseudonym; the
  rest of the value is kept;
- ``period`` and ``period_index``, numbers, timestamps and missing values are
  never changed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable

import pandas as pd

__all__ = ["NAME_COLUMNS", "PSEUDONYM_KEY_ENV", "is_name_column", "pseudonym", "pseudonymise"]

#: Environment variable read by ``kmlang report`` for the pseudonym key.
PSEUDONYM_KEY_ENV = "KMLANG_PSEUDONYM_KEY"
_MIN_KEY_BYTES = 16
_PSEUDONYM_HEX = 16  # 64 bits
_PROCESS_KEY = secrets.token_bytes(32)  # pseudonym(name) without a key: stable in this process only


def _key_bytes(key) -> bytes:
    """``key`` as bytes; ``None`` becomes a fresh random 256-bit key."""
    if key is None:
        return secrets.token_bytes(32)
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"pseudonym_key must be str or bytes, got {type(key).__name__}")
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"pseudonym_key must be at least {_MIN_KEY_BYTES} bytes long (a short "
                         "key can be guessed, and with it every name); make one with: python -c "
                         "\"import secrets; print(secrets.token_hex(32))\"")
    return bytes(key)


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def pseudonym(name, key: str | bytes | None = None) -> str | None:
    """``"author-"`` + 16 hex digits of the HMAC-SHA256 of ``name`` under ``key``.

    ``None``/NaN stays ``None``. Without ``key`` a random key made once per
    Python process is used: stable within the process, different in the next.
    :func:`kmlang.analysis.report.build_report` uses a fresh key per report unless given one.
    """
    if _missing(name):
        return None
    k = _PROCESS_KEY if key is None else _key_bytes(key)
    return "author-" + hmac.new(k, str(name).encode("utf-8"), hashlib.sha256).hexdigest()[
        :_PSEUDONYM_HEX]


def _visible_text(value) -> str:
    """``value`` as text without invisible formatting characters (Unicode Cf: bidirectional
    overrides, embeddings and isolates U+202A-202E and U+2066-2069, marks U+200E/200F and
    U+061C, zero-width characters, BOM...); control characters become spaces."""
    out = []
    for ch in str(value):
        cat = unicodedata.category(ch)
        if cat == "Cf":
            continue
        out.append(" " if cat == "Cc" else ch)
    return "".join(out)


def _clean_label(value):
    if not isinstance(value, str):
        return value
    text = _visible_text(value)
    return value if text == str(value) else text


_WORD = re.compile(r"[^\W_]+")
_MAX_NAME_WORDS = 12
#: MediaWiki pages named after a user: ``User:Name``, ``User talk:Name/Archive``...
_USER_PAGE = re.compile(
    r"^(?P<ns>\s*(?:user|user[ _]talk|benutzer(?:in)?|benutzer(?:in)?[ _]diskussion|utilisateur"
    r"|utilisatrice|discussion[ _]utilisat(?:eur|rice)|usuario|usuaria|usuario[ _]discusi\u00f3n"
    r"|usu\u00e1rio\(?a?\)?|utente|discussioni[ _]utente|gebruiker|overleg[ _]gebruiker"
    r"|special:contributions|special:contribs|special:emailuser)\s*[:/]\s*)"
    r"(?P<name>[^/#]+?)(?P<rest>\s*(?:[/#].*)?)$", re.IGNORECASE | re.DOTALL)


class _Pseudonymiser:
    """Keyed pseudonyms for one report: authors, and labels (doc ids, titles) naming them."""

    def __init__(self, key, authors):
        self.key = _key_bytes(key)
        self._cache: dict = {}
        self._names: dict[tuple[str, ...], str] = {}
        for name in authors:
            if _missing(name):
                continue
            words = tuple(w.casefold() for w in _WORD.findall(_visible_text(name)))
            if words and len(words) <= _MAX_NAME_WORDS:
                self._names.setdefault(words, str(name))
        self._longest = max(map(len, self._names), default=0)

    def author(self, name):
        return pseudonym(name, self.key)

    def _replace_names(self, text: str) -> str:
        if not self._longest:
            return text
        words = list(_WORD.finditer(text))
        folded = [m.group(0).casefold() for m in words]
        out, pos, i = [], 0, 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                name = self._names.get(tuple(folded[i:i + n]))
                if name is not None:
                    out.append(text[pos:words[i].start()])
                    out.append(self.author(name))
                    pos = words[i + n - 1].end()
                    i += n
                    break
            else:
                i += 1
        out.append(text[pos:])
        return "".join(out)

    def label(self, value):
        """A doc id or title with every user name in it replaced by its pseudonym."""
        if not isinstance(value, str):  # numbers, timestamps: no name in them
            return value
        if value in self._cache:
            return self._cache[value]
        text = _visible_text(value)
        m = _USER_PAGE.match(text)
        if m:
            user = " ".join(m.group("name").replace("_", " ").split())
            words = tuple(w.casefold() for w in _WORD.findall(user))
            known = self._names.get(words)
            text = (m.group("ns") + self.author(known if known is not None else user)
                    + self._replace_names(m.group("rest")))
        else:
            text = self._replace_names(text)
        if text == str(value):
            text = value  # unchanged: keep its type (e.g. numeric ids)
        self._cache[value] = text
        return text


# ------------------------------------------------------------- names in group columns

#: Column names (lower case, spaces and hyphens as ``_``) whose values are people.
NAME_COLUMNS = frozenset({
    "author", "author_id", "author_name", "authors", "user", "user_id", "userid", "user_name",
    "username", "users", "owner", "owner_user_id", "owner_display_name", "display_name", "name",
    "sender", "from", "from_name", "from_address", "email", "e_mail", "mail", "login", "handle",
    "nick", "nickname", "speaker", "poster", "editor", "contributor", "creator", "committer",
    "commenter", "member", "participant", "person", "ip", "ip_address",
})
_NAME_SUFFIXES = ("_author", "_user", "_username", "_user_name", "_user_id", "_email",
                  "_sender")
_NEVER = frozenset({"period", "period_index"})
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\w)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def is_name_column(column) -> bool:
    """Whether the values of a column called ``column`` are names of people (see above)."""
    if not isinstance(column, str):
        return False
    c = re.sub(r"[\s\-]+", "_", column.strip().casefold())
    return c in NAME_COLUMNS or c.endswith(_NAME_SUFFIXES)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _replace_addresses(text: str, fn: Callable[[str], str]) -> str:
    """``text`` with every IPv4, IPv6 and e-mail address in it replaced by ``fn(address)``."""
    if _is_ip(text.strip()):
        return fn(text.strip())
    text = _EMAIL.sub(lambda m: fn(m.group(0)), text)
    text = _IPV4.sub(lambda m: fn(m.group(0)) if _is_ip(m.group(0)) else m.group(0), text)
    return _IPV6.sub(lambda m: fn(m.group(0)) if _is_ip(m.group(0)) else m.group(0), text)


class GroupNames:
    """How the values of ``columns`` of ``frame`` are shown without names (the rule above).

    ``GroupNames(frame, columns, key)(column, value)`` is the value to show.
    The names known to be names are the values of ``frame``'s name columns
    (any of its columns, not only ``columns``). ``key=None`` uses the
    per-process key, so a plot and a table of the same session agree.
    """

    def __init__(self, frame: pd.DataFrame, columns: Iterable, key: str | bytes | None = None):
        self.columns = list(columns)
        self.name_columns = {c for c in frame.columns if is_name_column(c)}
        authors: list = []
        for c in self.name_columns:
            try:
                authors += list(frame[c].dropna().unique())
            except TypeError:  # unhashable values
                authors += [v for v in frame[c] if not _missing(v)]
        self._p = _Pseudonymiser(_PROCESS_KEY if key is None else key, authors)
        self._texts: dict = {}

    def __call__(self, column, value):
        if column in _NEVER or _missing(value):
            return value
        if column in self.name_columns:
            return self._p.author(value)
        if not isinstance(value, str):  # numeric ids, timestamps: no name in them
            return value
        if value not in self._texts:
            text = self._p.label(value)
            text = _replace_addresses(str(text), self._p.author)
            self._texts[value] = value if text == value else text
        return self._texts[value]


def pseudonymise(frame: pd.DataFrame, columns: Iterable | None = None, *,
                 key: str | bytes | None = None) -> pd.DataFrame:
    """A copy of ``frame`` with the names in ``columns`` replaced by pseudonyms.

    Use it before printing or plotting a table of groups, e.g. authors ranked
    by ``overall``: ``pseudonymise(by_author).sort_values("overall")``.

    Parameters
    ----------
    frame : DataFrame
        Any table; typically the output of :func:`kmlang.aggregate` or the
        ``slopes`` of :func:`kmlang.trend`.
    columns : column names, optional
        Columns to treat (the rule in the module docstring decides what in
        them is a name). Default: the group columns of an aggregate (those
        before ``n_passages`` or ``n_periods``); for any other frame, its name
        columns and ``doc_id``/``title``.
    key : str or bytes, optional
        Secret key of the pseudonyms (at least 16 bytes); default: the
        per-process key of :func:`pseudonym`.
    """
    cols = list(frame.columns)
    if columns is None:
        end = next((c for c in ("n_passages", "n_periods") if c in cols), None)
        columns = (cols[:cols.index(end)] if end is not None else
                   [c for c in cols if is_name_column(c) or c in ("doc_id", "title")])
    columns = list(columns)
    missing = [c for c in columns if c not in cols]
    if missing:
        raise KeyError(f"Column(s) {', '.join(map(repr, missing))} not in the frame")
    shown = GroupNames(frame, columns, key)
    out = frame.copy()
    for c in columns:
        before = frame[c].tolist()
        values = [shown(c, v) for v in before]
        if any(a is not b for a, b in zip(values, before, strict=True)):
            out[c] = pd.Series(values, index=frame.index, dtype="object")
    out.attrs = dict(frame.attrs)
    return out

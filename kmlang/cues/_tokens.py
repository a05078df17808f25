"""Token attributes of a batch of docs as flat arrays.

``Doc.to_array`` computes lexical flags (``IS_ALPHA``, ``LIKE_NUM``, ...) token
by token, and each flag costs about as much as the tokenizer's own work per
word. The flags depend only on a token's text, so :class:`LexemeTable` computes
them once per distinct word (kept per vocabulary, growing with it) and
:func:`token_table` looks them up for a whole batch with one binary search.
Only ``ORTH`` and ``NORM`` are read per token (``NORM`` is a token attribute:
tokenizer exceptions may set it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from spacy.attrs import NORM, ORTH
from spacy.tokens import Doc

__all__ = ["FLAGS", "LexemeTable", "TokenTable", "token_table", "lexeme_table"]

#: Lexeme flags kept per distinct word, as bits of ``TokenTable.flags``.
#: ``NON_LATIN`` (kmlang's own) marks words whose letters are mostly outside the
#: Latin script (above U+024F).
FLAGS: dict[str, int] = {name: 1 << i for i, name in enumerate((
    "IS_ALPHA", "IS_TITLE", "LIKE_NUM", "LIKE_URL", "IS_SPACE", "IS_STOP", "IS_ASCII", "IS_PUNCT",
    "IS_DIGIT", "IS_LOWER", "IS_UPPER", "IS_BRACKET", "IS_QUOTE", "IS_CURRENCY", "LIKE_EMAIL", "NON_LATIN",
))}
_LEX_ATTRS = [(bit, name.lower()) for name, bit in FLAGS.items() if name != "NON_LATIN"]


def _non_latin(word: str) -> bool:
    if word.isascii():
        return False
    letters = [c for c in word if c.isalpha()]
    return sum(ord(c) > 0x024F for c in letters) * 2 > len(letters) > 0


class LexemeTable:
    """``LOWER`` and lexeme flags per ``ORTH`` hash, for one vocabulary.

    Flags are read from the vocabulary the first time a word is seen; later
    changes to a lexeme's flags (``nlp.vocab["x"].is_stop = True``) are not
    seen by a table that already holds the word. Safe to share between
    threads: readers use one snapshot of the arrays, and growing the table
    replaces the snapshot in one assignment.
    """

    def __init__(self, vocab) -> None:
        self.vocab = vocab
        self._lock = threading.Lock()
        empty = np.empty(0, dtype=np.uint64)
        # keys as a hashed index (one O(1) look-up per token), lower and flags in the same order
        self._data = (pd.Index(empty), empty, np.empty(0, dtype=np.uint32))

    def __len__(self) -> int:
        return len(self._data[0])

    def lookup(self, orth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, flags)`` of each ``ORTH`` hash (adding words not seen before)."""
        keys, lower, flags = self._data
        pos = keys.get_indexer(orth) if len(keys) else np.full(len(orth), -1)
        missing = pos < 0
        if missing.any():
            keys, lower, flags = self._add(np.unique(orth[missing]))
            pos = keys.get_indexer(orth)
        return lower[pos], flags[pos]

    def _add(self, new: np.ndarray):
        with self._lock:
            keys, lower, flags = self._data
            if len(keys):  # another thread may have added some meanwhile
                new = new[keys.get_indexer(new) < 0]
            vocab = self.vocab
            new_lower = np.empty(len(new), dtype=np.uint64)
            new_flags = np.zeros(len(new), dtype=np.uint32)
            for i, h in enumerate(new.tolist()):
                lex = vocab[h]
                new_lower[i] = lex.lower
                f = 0
                for bit, attr in _LEX_ATTRS:
                    if getattr(lex, attr):
                        f |= bit
                if _non_latin(lex.orth_):
                    f |= FLAGS["NON_LATIN"]
                new_flags[i] = f
            all_keys = pd.Index(np.concatenate([keys.to_numpy(dtype=np.uint64), new]))
            self._data = (all_keys, np.concatenate([lower, new_lower]), np.concatenate([flags, new_flags]))
            return self._data


_TABLES: OrderedDict[int, LexemeTable] = OrderedDict()
_MAX_TABLES = 8


_TABLES_LOCK = threading.Lock()


def lexeme_table(vocab) -> LexemeTable:
    """The table of ``vocab`` (kept for the last few vocabularies used)."""
    key = id(vocab)
    with _TABLES_LOCK:
        table = _TABLES.get(key)  # the table holds its vocab, so the id is not reused meanwhile
        if table is None:
            table = _TABLES[key] = LexemeTable(vocab)
            while len(_TABLES) > _MAX_TABLES:
                _TABLES.popitem(last=False)
        _TABLES.move_to_end(key)
        return table


@dataclass
class TokenTable:
    """Attributes of all tokens of a batch of docs, concatenated.

    ``offsets[i]:offsets[i + 1]`` are the tokens of doc ``i``; ``doc_end[j]`` is the
    end offset of the doc that token ``j`` belongs to.
    """

    orth: np.ndarray
    norm: np.ndarray
    lower: np.ndarray
    flags: np.ndarray
    offsets: np.ndarray

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    @cached_property
    def doc_id(self) -> np.ndarray:
        """The doc index of every token."""
        return np.repeat(np.arange(self.n_docs), np.diff(self.offsets))

    def doc_end(self) -> np.ndarray:
        return np.repeat(self.offsets[1:], np.diff(self.offsets))

    def has(self, flag: str) -> np.ndarray:
        return (self.flags & FLAGS[flag]) != 0


def token_table(docs: Sequence[Doc]) -> TokenTable:
    """One :class:`TokenTable` for ``docs`` (which must share one vocabulary)."""
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] == 0:
        empty = np.empty(0, dtype=np.uint64)
        return TokenTable(empty, empty, empty, np.empty(0, dtype=np.uint32), offsets)
    arr = np.concatenate([d.to_array([ORTH, NORM]) for d in docs if len(d)])
    orth, norm = arr[:, 0], arr[:, 1]
    lower, flags = lexeme_table(docs[0].vocab).lookup(orth)
    return TokenTable(orth, norm, lower, flags, offsets)

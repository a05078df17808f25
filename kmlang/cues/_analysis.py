"""What the cue component finds in a batch of docs, as arrays (no Span objects).

:meth:`kmlang.component.CueComponent.analyse` returns a :class:`CueAnalysis`;
the component's spaCy interface turns it into spans, and the scoring path reads
counts and the author's tokens from it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kmlang.cues._tokens import TokenTable

__all__ = ["CueAnalysis", "select_longest", "rates_per_100"]


@dataclass
class CueAnalysis:
    """Cues and author tokens of a batch of docs.

    Attributes
    ----------
    families : tuple of str
        Cue family names; ``cue_family`` indexes into it.
    table : TokenTable
        Token attributes of the batch (global token positions).
    author : ndarray of bool
        Per token: written by the author (not whitespace, not on a quoted line).
    cue_doc, cue_family, cue_start, cue_end : ndarray of int
        The cues kept (longest, non-overlapping within a family), sorted by doc,
        start and end; ``cue_start``/``cue_end`` are positions within the doc.
    quotes : dict
        Doc index -> quoted ``(start_char, end_char)`` ranges (docs with quotes only).
    strings : StringStore
        The docs' string store (hashes to strings).
    """

    families: tuple[str, ...]
    table: TokenTable
    author: np.ndarray
    cue_doc: np.ndarray
    cue_family: np.ndarray
    cue_start: np.ndarray
    cue_end: np.ndarray
    quotes: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    strings: Any = None

    @property
    def n_docs(self) -> int:
        return self.table.n_docs

    @property
    def n_tokens(self) -> np.ndarray:
        """Author tokens per doc."""
        return np.bincount(self.table.doc_id[self.author], minlength=self.n_docs)

    @property
    def counts(self) -> np.ndarray:
        """``(n_docs, n_families)`` cue counts."""
        n_f = len(self.families)
        flat = np.bincount(self.cue_doc * n_f + self.cue_family, minlength=self.n_docs * n_f)
        return flat.reshape(self.n_docs, n_f)


def rates_per_100(counts: np.ndarray, n_tokens: np.ndarray) -> np.ndarray:
    """Cue counts per 100 author tokens: ``(n_docs, n_families)`` counts, ``(n_docs,)`` tokens.

    A passage without tokens has rate 0.0; NaN counts (unparsed rows) stay NaN.
    """
    n = np.asarray(n_tokens, dtype=np.float64)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        zero = np.where(np.isnan(counts), np.nan, 0.0)
        return np.where(n > 0, 100.0 * counts / np.maximum(n, 1.0), zero)


def select_longest(doc: np.ndarray, fam: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Deduplicate matches and keep, per doc and family, what ``spacy.util.filter_spans`` keeps.

    Groups whose matches do not overlap (almost all) are kept whole with array
    operations; only groups with overlaps go through the greedy longest-first rule.
    Returns the kept ``(doc, fam, start, end)`` sorted by doc, start and end.
    """
    if len(doc) == 0:
        return doc, fam, start, end
    # sorted by doc, fam, start, end
    rows = np.unique(np.stack([doc, fam, start, end], axis=1).astype(np.int64), axis=0)
    d, f, s, e = rows.T
    same = (d[1:] == d[:-1]) & (f[1:] == f[:-1])
    # a group overlaps when a start falls before the largest end seen so far in it
    group = np.concatenate([[0], np.cumsum(~same)])
    big = group.astype(np.int64) << 40  # makes the running maximum restart in each group
    run = np.maximum.accumulate(big + e)
    overlap = np.zeros(len(d), dtype=bool)
    overlap[1:] = same & (s[1:] < run[:-1] - big[1:])
    bad_groups = np.unique(group[overlap])
    keep = ~np.isin(group, bad_groups)
    out = [rows[keep]]
    for g in bad_groups.tolist():
        sub = rows[np.searchsorted(group, g):np.searchsorted(group, g, side="right")]
        order = sorted(range(len(sub)), key=lambda i: (sub[i, 3] - sub[i, 2], -sub[i, 2]), reverse=True)
        seen: set[int] = set()
        chosen = []
        for i in order:
            a, b = int(sub[i, 2]), int(sub[i, 3])
            if a not in seen and (b - 1) not in seen:
                chosen.append(i)
                seen.update(range(a, b))
        out.append(sub[sorted(chosen)])
    rows = np.concatenate(out)
    rows = rows[np.lexsort((rows[:, 3], rows[:, 2], rows[:, 0]))]
    return rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]

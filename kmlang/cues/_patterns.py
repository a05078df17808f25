"""Token patterns matched on a whole batch at once, with numpy.

:class:`PatternSet` compiles spaCy Matcher token patterns (the subset the
lexicon uses: ``NORM``/``LOWER``/``ORTH``/``TEXT`` equal to, ``IN`` or ``NOT_IN``
a list of strings; lexeme flags such as ``IS_ALPHA`` or ``LIKE_NUM``; operators
none, ``?``, ``*``, ``+``, ``{n}``, ``{n,m}``, ``{n,}``, ``{,m}``) and finds every
``(start, end)`` at which a pattern matches, as spaCy's ``Matcher`` does with its
default ``greedy=None`` (a test checks both agree on real text). A batch is run
as a set of threads (start, position, step) advanced together with array
operations, so the Python cost is per pattern step, not per token.

Patterns outside that subset raise :class:`Unsupported`; the component then
falls back to spaCy's ``Matcher``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from kmlang.cues._tokens import FLAGS, TokenTable

__all__ = ["PatternSet", "Unsupported"]

_STRING_ATTRS = {"NORM": "norm", "LOWER": "lower", "ORTH": "orth", "TEXT": "orth"}


class Unsupported(ValueError):
    """A pattern uses a feature this matcher does not implement."""


@dataclass
class _Test:
    column: str  # "norm", "lower", "orth" or "flags"
    values: np.ndarray | None  # sorted hashes (string tests)
    negate: bool = False
    bit: int = 0
    want: bool = True

    def __call__(self, table: TokenTable, pos: np.ndarray) -> np.ndarray:
        if self.column == "flags":
            return ((table.flags[pos] & self.bit) != 0) == self.want
        col = getattr(table, self.column)[pos]
        vals = self.values
        if len(vals) == 0:
            hit = np.zeros(len(pos), dtype=bool)
        elif len(vals) <= 4:  # a few words: comparing is cheaper than a binary search
            hit = col == vals[0]
            for v in vals[1:]:
                hit |= col == v
        else:
            i = np.searchsorted(vals, col)
            hit = vals[np.minimum(i, len(vals) - 1)] == col
        return ~hit if self.negate else hit


def _compile_token(spec: dict, strings) -> list[_Test]:
    tests = []
    for key, value in spec.items():
        k = key.upper()
        if k == "OP":
            continue
        if k in _STRING_ATTRS:
            negate = False
            if isinstance(value, str):
                words = [value]
            elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("IN", "NOT_IN"):
                (op, words), = value.items()
                negate = op == "NOT_IN"
                if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                    raise Unsupported(f"{key}: {op} needs a list of strings")
            else:
                raise Unsupported(f"{key}: {value!r}")
            hashes = np.array(sorted({strings.add(w) for w in words}), dtype=np.uint64)
            tests.append(_Test(_STRING_ATTRS[k], hashes, negate=negate))
        elif k in FLAGS and k != "NON_LATIN" and isinstance(value, bool):
            tests.append(_Test("flags", None, bit=FLAGS[k], want=value))
        else:
            raise Unsupported(f"token attribute {key!r}")
    return tests


def _expand_ops(pattern: list[dict]) -> list[tuple[dict, str]]:
    """Rewrite operators into single steps with op ``1``, ``?`` or ``*``."""
    steps: list[tuple[dict, str]] = []
    for spec in pattern:
        op = spec.get("OP")
        if op in (None, "1"):
            steps.append((spec, "1"))
        elif op in ("?", "*"):
            steps.append((spec, op))
        elif op == "+":
            steps += [(spec, "1"), (spec, "*")]
        else:
            m = re.fullmatch(r"\{(\d*)(,?)(\d*)\}", op or "")
            if not m or (not m.group(1) and not m.group(3)):
                raise Unsupported(f"operator {op!r}")
            lo = int(m.group(1) or 0)
            if not m.group(2):
                hi = lo
            else:
                hi = int(m.group(3)) if m.group(3) else None
            steps += [(spec, "1")] * lo
            steps += [(spec, "*")] if hi is None else [(spec, "?")] * (hi - lo)
    return steps


class _Pattern:
    def __init__(self, label: int, pattern: list[dict], strings) -> None:
        steps = _expand_ops(pattern)
        if not steps:
            raise Unsupported("empty pattern")
        self.label = label
        self.tests = [_compile_token(spec, strings) for spec, _ in steps]
        self.ops = [op for _, op in steps]
        n = len(steps)
        # closure[k]: steps reachable from step k without consuming a token (k itself first);
        # n stands for "matched".
        self.closure = []
        for k in range(n + 1):
            reach = [k]
            j = k
            while j < n and self.ops[j] in ("?", "*"):
                j += 1
                reach.append(j)
            self.closure.append(reach)
        self.anchored = self.ops[0] == "1"
        # closure[k] is always k, k + 1, ..., k + reach[k] - 1
        self._reach = np.array([len(c) for c in self.closure], dtype=np.int64)
        self._star = np.array([op == "*" for op in self.ops] + [False])

    def _test(self, k: int, table: TokenTable, pos: np.ndarray) -> np.ndarray:
        ok = np.ones(len(pos), dtype=bool)
        for t in self.tests[k]:
            ok &= t(table, pos)
        return ok

    def match(self, table: TokenTable, doc_end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Global ``(starts, ends)`` of every match in the batch."""
        n_tok = len(table.orth)
        n = len(self.ops)
        if self.anchored:
            starts = np.arange(n_tok)
            starts = starts[self._test(0, table, starts)]
            S, P, K = starts, starts + 1, np.ones(len(starts), dtype=np.int64)
        else:
            S = np.arange(n_tok)
            P, K = S.copy(), np.zeros(n_tok, dtype=np.int64)
        out_s, out_e = [], []
        while len(S):
            # Expand each thread over the steps it can skip to.
            lens = self._reach[K]
            if (lens > 1).any():
                rep = np.repeat(np.arange(len(S)), lens)
                within = np.arange(len(rep)) - np.repeat(np.cumsum(lens) - lens, lens)
                S, P, K = S[rep], P[rep], K[rep] + within
            done = K == n
            if done.any():
                out_s.append(S[done])
                out_e.append(P[done])
                keep = ~done
                S, P, K = S[keep], P[keep], K[keep]
            # Consume one token.
            live = P < doc_end[S]
            S, P, K = S[live], P[live], K[live]
            ok = np.zeros(len(S), dtype=bool)
            for k in np.unique(K).tolist():
                sel = K == k
                ok[sel] = self._test(k, table, P[sel])
            S, P, K = S[ok], P[ok] + 1, K[ok]
            K = np.where(self._star[K], K, K + 1)
            if len(S):
                key = (S.astype(np.int64) << 32) | ((P - S).astype(np.int64) << 8) | K
                _, first = np.unique(key, return_index=True)
                S, P, K = S[first], P[first], K[first]
        if not out_s:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        s, e = np.concatenate(out_s), np.concatenate(out_e)
        keep = e > s  # spaCy never reports empty matches
        return s[keep], e[keep]


class PatternSet:
    """Compiled token patterns; :meth:`match` gives ``(label_ids, starts, ends)`` for a batch."""

    def __init__(self, patterns: list[tuple[int, list[dict]]], strings) -> None:
        self.patterns = [_Pattern(label, p, strings) for label, p in patterns]

    def __len__(self) -> int:
        return len(self.patterns)

    def match(self, table: TokenTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        labels, starts, ends = [], [], []
        if len(table.orth) and self.patterns:
            doc_end = table.doc_end()
            for p in self.patterns:
                s, e = p.match(table, doc_end)
                labels.append(np.full(len(s), p.label, dtype=np.int64))
                starts.append(s)
                ends.append(e)
        if not labels:
            z = np.empty(0, dtype=np.int64)
            return z, z, z
        return np.concatenate(labels), np.concatenate(starts), np.concatenate(ends)

"""The ``kmlang_cues`` spaCy component: knowledge-culture cues as labelled spans.

Each cue is a :class:`~spacy.tokens.Span` in ``doc.spans["kml_cues"]`` whose label
is its family (``first_person_singular``, ``i_know``, ``not_knowing``, ...).
``doc._.kml_cue_counts`` and ``doc._.kml_cue_rates`` are derived from those spans.

On any pipeline the cues are matched on token forms (spaCy's ``NORM``, so
"don't", "do not" and "dont" match alike). When the pipeline has a dependency
parser, knowing claims and possessives are also matched syntactically: the
grammatical person of the subject of a cognition verb across intervening words,
negation attached to that verb, and the possessor of a knowledge noun.

Lines quoted from someone else (starting with ``>``) are parsed, but their cues
are not counted as the author's.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import srsly
from spacy.attrs import IS_ALPHA, IS_SPACE, IS_TITLE, LIKE_NUM, LOWER, NORM, ORTH
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from .lexicon import expand_pattern, load_lexicon

__all__ = ["CueComponent", "make_cue_component", "SPANS_KEY", "QUOTES_KEY"]

SPANS_KEY = "kml_cues"
QUOTES_KEY = "kml_quotes"
_USER_KEY = "kml_spans_key"


def _spans_key(doc: Doc) -> str:
    return doc.user_data.get(_USER_KEY, SPANS_KEY)


def _families(doc: Doc) -> tuple[str, ...]:
    return tuple(doc.user_data.get("kml_families", ()))


def _n_tokens(doc: Doc) -> int:
    """Non-space tokens written by the author (quoted lines excluded)."""
    if len(doc) == 0:
        return 0
    n = int(len(doc) - doc.to_array([IS_SPACE]).sum())
    for span in doc.spans.get(QUOTES_KEY, ()):
        n -= sum(1 for t in span if not t.is_space)
    return max(n, 0)


def _cue_counts(doc: Doc) -> dict[str, int]:
    counts = dict.fromkeys(_families(doc), 0)
    for span in doc.spans.get(_spans_key(doc), ()):
        counts[span.label_] = counts.get(span.label_, 0) + 1
    return counts


def cue_rates(counts: dict[str, int], n_tokens: int) -> dict[str, float]:
    """Counts per 100 author tokens (0.0 for a passage without tokens)."""
    return {k: (100.0 * v / n_tokens if n_tokens else 0.0) for k, v in counts.items()}


def _cue_rates(doc: Doc) -> dict[str, float]:
    return cue_rates(_cue_counts(doc), _n_tokens(doc))


for _name, _getter in [
    ("kml_cue_counts", _cue_counts),
    ("kml_cue_rates", _cue_rates),
    ("kml_n_tokens", _n_tokens),
]:
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, getter=_getter)

_QUOTE_LINE = {}


def _quote_regex(prefix: str) -> re.Pattern:
    if prefix not in _QUOTE_LINE:
        _QUOTE_LINE[prefix] = re.compile(r"(?m)^[ \t]*" + re.escape(prefix) + r".*$")
    return _QUOTE_LINE[prefix]


_ANCHOR_ATTRS = [NORM, LOWER, ORTH, LIKE_NUM, IS_ALPHA, IS_TITLE]
_ANCHOR_COL = {"NORM": 0, "LOWER": 1, "ORTH": 2, "TEXT": 2, "LIKE_NUM": 3, "IS_ALPHA": 4, "IS_TITLE": 5}
#: How many tokens a "*" or "+" operator may span inside one window.
STAR_SPAN = 8


def _pattern_max_len(pattern: list[dict]) -> int:
    total = 0
    for tok in pattern:
        op = tok.get("OP")
        if op in (None, "!", "?", "1"):
            total += 0 if op == "!" else 1
        elif op in ("*", "+"):
            total += STAR_SPAN
        else:
            m = re.fullmatch(r"\{(\d*),?(\d*)\}", op)
            total += int(m.group(2) or m.group(1) or STAR_SPAN) if m else STAR_SPAN
    return max(total, 1)


def _merge_windows(starts: np.ndarray, length: int, n: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s in starts.tolist():
        e = min(s + length, n)
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


class _Anchors:
    """Which tokens can start any of the token patterns: a test on ``doc.to_array`` columns."""

    def __init__(self, values: dict[int, np.ndarray], flags: dict[int, bool], everywhere: bool):
        self.values, self.flags, self.everywhere = values, flags, everywhere

    @classmethod
    def build(cls, vocab, patterns: list[list[dict]]) -> _Anchors:
        values: dict[int, set[int]] = {}
        flags: dict[int, bool] = {}
        everywhere = False
        for pattern in patterns:
            first = pattern[0] if pattern and pattern[0].get("OP") in (None, "1") else None
            if first is None or len(first) != 1:
                everywhere = True
                continue
            (key, spec), = first.items()
            col = _ANCHOR_COL.get(key.upper())
            words = [spec] if isinstance(spec, str) else spec.get("IN") if isinstance(spec, dict) else None
            if col is not None and col <= 2 and isinstance(words, list) and words:
                values.setdefault(col, set()).update(vocab.strings.add(w) for w in words)
            elif col is not None and col > 2 and isinstance(spec, bool) and flags.get(col, spec) == spec:
                flags[col] = spec
            else:
                everywhere = True
        arrays = {c: np.array(sorted(v), dtype=np.uint64) for c, v in values.items()}
        return cls(arrays, flags, everywhere)

    def candidates(self, doc: Doc) -> np.ndarray:
        n = len(doc)
        if self.everywhere:
            return np.arange(n)
        arr = doc.to_array(_ANCHOR_ATTRS)
        hit = np.zeros(n, dtype=bool)
        for col, vals in self.values.items():
            pos = np.searchsorted(vals, arr[:, col])
            pos[pos == len(vals)] = 0
            hit |= vals[pos] == arr[:, col]
        for col, flag in self.flags.items():
            hit |= arr[:, col].astype(bool) == flag
        return np.flatnonzero(hit)


class CueComponent:
    """Match knowledge-culture cues and store them as spans.

    Parameters
    ----------
    nlp : Language
        The pipeline (its tokenizer is used to compile phrase lists).
    name : str
        Component name.
    spans_key : str
        Key in ``doc.spans`` for the cues.
    syntax : {"auto", "on", "off"}
        Whether to add syntactic matching. ``"auto"`` uses it when a document
        has dependency annotation.
    quote_prefix : str
        Lines starting with this (after optional spaces) are quoted text whose
        cues are not counted.
    lexicon : dict, str, Path or None
        A lexicon mapping or JSON path; ``None`` uses the packaged default.
    """

    def __init__(
        self,
        nlp: Language,
        name: str = "kmlang_cues",
        *,
        spans_key: str = SPANS_KEY,
        syntax: str = "auto",
        quote_prefix: str = ">",
        lexicon: Any = None,
    ) -> None:
        if syntax not in {"auto", "on", "off"}:
            raise ValueError(f"syntax must be 'auto', 'on' or 'off', got {syntax!r}")
        self.nlp = nlp
        self.name = name
        self.spans_key = spans_key
        self.syntax = syntax
        self.quote_prefix = quote_prefix
        self.lexicon = load_lexicon(lexicon)
        self._use_syntax: bool | None = None  # decided on the first document
        self._compile()

    def _may_quote(self, doc: Doc) -> bool:
        """Cheap test (no ``doc.text``): does any token start with the quote prefix?

        English tokenizers split ``>`` off as its own token, so for the default
        prefix this is one array comparison; other prefixes fall back to the text.
        """
        if self.quote_prefix != ">":
            return self.quote_prefix in doc.text
        if len(doc) == 0:
            return False
        return bool((doc.to_array([ORTH]) == self._gt_hash).any())

    def _pipeline_parses(self) -> bool:
        """Whether a component before this one assigns dependency labels (a parser)."""
        for name in self.nlp.pipe_names:
            if name == self.name:
                return False
            if any(a in ("token.dep", "token.head") for a in self.nlp.get_pipe_meta(name).assigns):
                return True
        return False

    # -- set-up ---------------------------------------------------------------
    @property
    def families(self) -> tuple[str, ...]:
        """Cue family names, in lexicon order."""
        return tuple(self.lexicon["families"])

    def initialize(self, get_examples=None, *, nlp: Language | None = None, lexicon: Any = None) -> None:
        """Load a lexicon (mapping or JSON path) given in the ``[initialize]`` block or by hand."""
        if lexicon is not None:
            self.lexicon = load_lexicon(lexicon)
            self._compile()

    def _compile(self) -> None:
        lex = self.lexicon
        attr = lex.get("match_attr", "NORM")
        vocab = self.nlp.vocab
        self._phrase_matcher = PhraseMatcher(vocab, attr=attr)
        self._matcher = Matcher(vocab)
        pats: list[list[dict]] = []
        make_doc = self.nlp.make_doc
        for fam, spec in lex["families"].items():
            phrases = spec.get("phrases", [])
            if phrases:
                self._phrase_matcher.add(fam, [make_doc(p) for p in phrases])
            for p in spec.get("patterns", []):
                pat = expand_pattern(p, lex["lists"], fam)
                self._matcher.add(fam, [pat])
                pats.append(pat)
        self._anchors = _Anchors.build(vocab, pats) if pats else None
        self._max_len = max((_pattern_max_len(p) for p in pats), default=1)
        syn = lex["syntax"]
        lists = lex["lists"]
        self._syn = {k: frozenset(v) for k, v in syn.items() if isinstance(v, list)}
        self._knowledge_nouns = frozenset(w.lower() for w in lists.get("knowledge_nouns", []))
        self._fam_set = frozenset(lex["families"])
        self._gt_hash = self.nlp.vocab.strings.add(">")

    # -- processing -----------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        quotes: list[tuple[int, int]] = []
        if self.quote_prefix and self._may_quote(doc):
            quotes = [(m.start(), m.end()) for m in _quote_regex(self.quote_prefix).finditer(doc.text)]
        strings = self.nlp.vocab.strings
        raw = [(strings[m], s, e) for m, s, e in self._phrase_matcher(doc)] if len(self._phrase_matcher) else []
        if len(self._matcher) and len(doc):
            raw += self._match_patterns(doc)
        if self._use_syntax is None:
            self._use_syntax = self.syntax == "on" or (self.syntax == "auto" and self._pipeline_parses())
        if self._use_syntax and len(doc) and doc.has_annotation("DEP"):
            raw = self._syntactic(doc, raw)
        by_family: dict[str, list[Span]] = {}
        starts = [q[0] for q in quotes]
        for label, s, e in raw:
            if quotes:
                c = doc[s].idx
                i = bisect.bisect_right(starts, c) - 1
                if i >= 0 and c < quotes[i][1]:
                    continue
            by_family.setdefault(label, []).append(Span(doc, s, e, label=label))
        spans: list[Span] = []
        for fam_spans in by_family.values():
            spans.extend(filter_spans(fam_spans))
        spans.sort(key=lambda sp: (sp.start, sp.end))
        doc.spans[self.spans_key] = spans
        if quotes:
            doc.spans[QUOTES_KEY] = [sp for a, b in quotes if (sp := doc.char_span(a, b, alignment_mode="expand")) is not None]
        doc.user_data[_USER_KEY] = self.spans_key
        doc.user_data["kml_families"] = list(self.families)
        return doc

    def _match_patterns(self, doc: Doc) -> list[tuple[str, int, int]]:
        """Token patterns, matched only in windows that start at a possible first token.

        The first token of every pattern is tested on ``doc.to_array`` columns
        (a binary search per column); the spaCy Matcher then runs once per merged
        window, each window as long as the longest pattern can be. The result is
        the same as running the Matcher on the whole doc (a test checks this), at
        a fraction of the cost, since Matcher time grows with every token it sees.
        """
        n = len(doc)
        starts = self._anchors.candidates(doc) if self._anchors is not None else np.arange(n)
        if starts.size == 0:
            return []
        strings = self.nlp.vocab.strings
        out: dict[tuple[str, int, int], None] = {}
        for a, b in _merge_windows(starts, self._max_len, n):
            for m, s, e in self._matcher(doc[a:b]):
                out[(strings[m], a + s, a + e)] = None
        return list(out)

    def pipe(self, stream: Iterable[Doc], batch_size: int = 256) -> Iterable[Doc]:
        for doc in stream:
            yield self(doc)

    def _syntactic(self, doc: Doc, raw: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        """Add dependency-based knowing claims and possessives; drop negated token matches."""
        syn = self._syn
        neg = syn.get("negations", frozenset())
        knowing = syn.get("knowing_lemmas", frozenset())
        not_knowing = syn.get("not_knowing_lemmas", frozenset())
        sing, plur = syn.get("singular_subjects", frozenset()), syn.get("plural_subjects", frozenset())
        sposs, pposs = syn.get("singular_possessors", frozenset()), syn.get("plural_possessors", frozenset())
        out: list[tuple[str, int, int]] = []
        negated_heads: set[int] = set()
        fams = self._fam_set
        for tok in doc:
            lemma = tok.lemma_.lower()
            if tok.pos_ in ("VERB", "AUX") and (lemma in knowing or lemma in not_knowing):
                subj = next((c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass")), None)
                if subj is None:
                    continue
                person = subj.lower_
                is_neg = any(c.dep_ == "neg" or c.lower_ in neg for c in tok.children)
                s, e = min(subj.i, tok.i), max(subj.i, tok.i) + 1
                if is_neg:
                    negated_heads.add(tok.i)
                    if person in sing | plur and lemma in not_knowing and "not_knowing" in fams:
                        out.append(("not_knowing", s, e))
                elif lemma in knowing:
                    if person in sing and "i_know" in fams:
                        out.append(("i_know", s, e))
                    elif person in plur and "we_know" in fams:
                        out.append(("we_know", s, e))
            elif tok.lower_ in self._knowledge_nouns and tok.pos_ in ("NOUN", "PROPN"):
                for c in tok.children:
                    if c.dep_ == "poss":
                        if c.lower_ in sposs and "my_knowledge" in fams:
                            out.append(("my_knowledge", min(c.i, tok.i), tok.i + 1))
                        elif c.lower_ in pposs and "our_knowledge" in fams:
                            out.append(("our_knowledge", min(c.i, tok.i), tok.i + 1))
        kept = [
            (label, s, e) for label, s, e in raw
            if not (label in ("i_know", "we_know") and (e - 1) in negated_heads)
        ]
        return kept + out

    # -- serialization --------------------------------------------------------
    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.json_dumps({"lexicon": self.lexicon}).encode("utf-8")

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> CueComponent:
        self.lexicon = load_lexicon(srsly.json_loads(data)["lexicon"])
        self._compile()
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "lexicon.json").write_text(json.dumps(self.lexicon, indent=1, ensure_ascii=False), encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> CueComponent:
        self.lexicon = load_lexicon(Path(path) / "lexicon.json")
        self._compile()
        return self


@Language.factory(
    "kmlang_cues",
    assigns=["doc.spans", "doc._.kml_cue_counts", "doc._.kml_cue_rates"],
    default_config={"spans_key": SPANS_KEY, "syntax": "auto", "quote_prefix": ">"},
)
def make_cue_component(nlp: Language, name: str, spans_key: str, syntax: str, quote_prefix: str) -> CueComponent:
    """spaCy factory for :class:`CueComponent` (registered as the ``kmlang_cues`` entry point)."""
    return CueComponent(nlp, name, spans_key=spans_key, syntax=syntax, quote_prefix=quote_prefix)

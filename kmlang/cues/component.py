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
are not counted as the author's; neither are the words of a signature block
(after a ``-- `` delimiter line near the end: a motto such as "Knowledge shared is
knowledge multiplied" is not the passage's stance).

All matching happens in :meth:`CueComponent.analyse`, on a batch of docs at
once (token attributes as arrays, token patterns advanced with numpy, phrases
through spaCy's ``PhraseMatcher``); ``__call__`` and ``pipe`` turn its result
into spans. :func:`kmlang.score` and :func:`kmlang.cues` use the analysis
directly and never build the spans.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import srsly
from spacy.attrs import IS_SPACE
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from kmlang.cues._analysis import CueAnalysis, rates_per_100, select_longest
from kmlang.cues._patterns import PatternSet, Unsupported
from kmlang.cues._tokens import token_table
from kmlang.cues.lexicon import expand_pattern, load_lexicon

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
    """Counts per 100 author tokens (0.0 for a passage without tokens); see :func:`rates_per_100`."""
    rates = rates_per_100(np.array([list(counts.values())], dtype=np.float64), np.array([n_tokens]))
    return dict(zip(counts, rates[0].tolist(), strict=True))


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


#: a signature delimiter line ("-- ", RFC 3676; "--" alone too)
_SIG_LINE = re.compile(r"(?m)^--[ \t]*$")
#: what may follow the delimiter for it to be taken as a signature, not a separator
SIGNATURE_MAX_LINES = 6
SIGNATURE_MAX_CHARS = 400


def signature_start(text: str) -> int | None:
    """Char offset where a trailing signature block starts (its ``--`` line), or ``None``.

    Only the last delimiter line counts, and only when at most
    :data:`SIGNATURE_MAX_LINES` non-empty lines and :data:`SIGNATURE_MAX_CHARS`
    characters follow it (a "--" separator in the middle of a message is not a
    signature)."""
    if "--" not in text:
        return None
    delimiters = list(_SIG_LINE.finditer(text))
    if not delimiters:
        return None
    last = delimiters[-1]
    tail = text[last.end():]
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    if not lines or len(lines) > SIGNATURE_MAX_LINES or len(tail.strip()) > SIGNATURE_MAX_CHARS:
        return None
    return last.start()


def _quote_regex(prefix: str) -> re.Pattern:
    if prefix not in _QUOTE_LINE:
        _QUOTE_LINE[prefix] = re.compile(r"(?m)^[ \t]*" + re.escape(prefix) + r".*$")
    return _QUOTE_LINE[prefix]


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
        Whether to add syntactic matching. ``"auto"`` uses it when a parser runs
        before this component, or when the docs it is given carry dependency
        annotation.
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
        self._parser_before: bool | None = None  # whether the pipeline parses before us (looked up once)
        self._compile()

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
        pats: list[tuple[int, list[dict]]] = []
        make_doc = self.nlp.make_doc
        for i, (fam, spec) in enumerate(lex["families"].items()):
            phrases = spec.get("phrases", [])
            if phrases:
                self._phrase_matcher.add(fam, [make_doc(p) for p in phrases])
            for p in spec.get("patterns", []):
                pat = expand_pattern(p, lex["lists"], fam)
                self._matcher.add(fam, [pat])
                pats.append((i, pat))
        try:
            self._patterns: PatternSet | None = PatternSet(pats, vocab.strings)
        except Unsupported:
            self._patterns = None  # spaCy's Matcher, doc by doc
        fam_hashes = np.array([vocab.strings.add(f) for f in lex["families"]], dtype=np.uint64)
        self._fam_order = np.argsort(fam_hashes)
        self._fam_sorted = fam_hashes[self._fam_order]
        syn = lex["syntax"]
        lists = lex["lists"]
        self._syn = {k: frozenset(v) for k, v in syn.items() if isinstance(v, list)}
        self._knowledge_nouns = frozenset(w.lower() for w in lists.get("knowledge_nouns", []))
        self._fam_set = frozenset(lex["families"])
        self._gt_hash = self.nlp.vocab.strings.add(">")
        self._dash_hash = self.nlp.vocab.strings.add("--")

    def _family_index(self, hashes: np.ndarray) -> np.ndarray:
        return self._fam_order[np.searchsorted(self._fam_sorted, hashes)]

    # -- processing -----------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        self._set_spans([doc], self.analyse([doc]))
        return doc

    def pipe(self, stream: Iterable[Doc], batch_size: int = 256) -> Iterable[Doc]:
        for batch in minibatch(stream, size=batch_size):
            self._set_spans(batch, self.analyse(batch))
            yield from batch

    def analyse(self, docs: Sequence[Doc]) -> CueAnalysis:
        """Cues, quoted lines and author tokens of ``docs``, as arrays (see :class:`CueAnalysis`).

        This is all the component computes; ``__call__`` and ``pipe`` only turn
        the result into spans. Token patterns run over the whole batch at once
        (:mod:`kmlang._patterns`), phrases through spaCy's ``PhraseMatcher``.
        """
        docs = list(docs)
        table = token_table(docs)
        offsets = table.offsets
        n_tok = len(table.orth)
        # text that is not the author's: quoted lines and a trailing signature block, as char
        # ranges per doc. Only docs with a ">" (or the prefix) or a "--" token are looked at:
        # ``Doc.text`` rebuilds the string from the tokens, a third of the scoring time if done
        # for every doc.
        quotes: dict[int, list[tuple[int, int]]] = {}
        if self.quote_prefix == ">":
            quote_docs = set(np.unique(table.doc_id[table.orth == self._gt_hash]).tolist())
        elif self.quote_prefix:
            quote_docs = {i for i, d in enumerate(docs) if self.quote_prefix in d.text}
        else:
            quote_docs = set()
        sig_docs = set(np.unique(table.doc_id[table.orth == self._dash_hash]).tolist())
        for i in sorted(quote_docs | sig_docs):
            text = docs[i].text
            ranges = []
            if i in quote_docs:
                ranges = [(m.start(), m.end()) for m in _quote_regex(self.quote_prefix).finditer(text)]
            start = signature_start(text) if i in sig_docs else None
            if start is not None:
                ranges.append((start, len(text)))
            if ranges:
                quotes[i] = ranges
        quoted = np.zeros(n_tok, dtype=bool)
        for i, ranges in quotes.items():
            for a, b in ranges:
                sp = docs[i].char_span(a, b, alignment_mode="expand")
                if sp is not None:
                    quoted[offsets[i] + sp.start: offsets[i] + sp.end] = True
        author = ~(table.has("IS_SPACE") | quoted)
        # raw matches in global token positions
        parts = []
        if len(self._phrase_matcher):
            parts += self._per_doc_matches(self._phrase_matcher, docs, offsets)
        if len(self._matcher):
            if self._patterns is not None:
                fam, s, e = self._patterns.match(table)
                dids = np.searchsorted(offsets, s, side="right") - 1
                parts.append(np.stack([dids, fam, s, e], axis=1))
            else:
                parts += self._per_doc_matches(self._matcher, docs, offsets)
        raw = np.concatenate(parts).astype(np.int64) if parts else np.empty((0, 4), dtype=np.int64)
        if self._syntax_for(docs):
            raw = self._apply_syntax(docs, raw, offsets)
        raw = raw[author[raw[:, 2]]] if len(raw) else raw  # cues on quoted lines are not the author's
        d, f, s, e = select_longest(raw[:, 0], raw[:, 1], raw[:, 2], raw[:, 3])
        local = offsets[d]
        strings = docs[0].vocab.strings if docs else self.nlp.vocab.strings
        return CueAnalysis(self.families, table, author, d, f, s - local, e - local, quotes, strings)

    def _per_doc_matches(self, matcher, docs: list[Doc], offsets: np.ndarray) -> list[np.ndarray]:
        """Run a spaCy (Phrase)Matcher doc by doc: ``(doc, family, start, end)`` rows, global positions."""
        out = []
        for i, doc in enumerate(docs):
            m = matcher(doc) if len(doc) else []
            if m:
                a = np.array(m, dtype=np.uint64)
                start = a[:, 1:].astype(np.int64) + offsets[i]
                out.append(np.column_stack([np.full(len(a), i), self._family_index(a[:, 0]), start]))
        return out

    def _syntax_for(self, docs: list[Doc]) -> bool:
        """``syntax="auto"``: on when a parser runs before this component, or when the
        batch's docs (one pipeline made them) carry dependency annotation."""
        if self.syntax != "auto":
            return self.syntax == "on"
        if self._parser_before is None:
            self._parser_before = self._pipeline_parses()
        if self._parser_before:
            return True
        first = next((d for d in docs if len(d)), None)
        return first is not None and first.has_annotation("DEP")

    def _apply_syntax(self, docs: list[Doc], raw: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        fams = list(self.families)
        index = {f: i for i, f in enumerate(fams)}
        rows = [raw[~np.isin(raw[:, 0], [i for i, d in enumerate(docs) if len(d) and d.has_annotation("DEP")])]]
        for i, doc in enumerate(docs):
            if not len(doc) or not doc.has_annotation("DEP"):
                continue
            o = int(offsets[i])
            mine = raw[raw[:, 0] == i]
            found = self._syntactic(doc, [(fams[f], s - o, e - o) for _, f, s, e in mine.tolist()])
            if found:
                rows.append(np.array([(i, index[lab], s + o, e + o) for lab, s, e in found], dtype=np.int64))
        return np.concatenate(rows)

    def _set_spans(self, docs: list[Doc], an: CueAnalysis) -> None:
        """Store ``an`` on the docs: cue spans, quoted-line spans, families."""
        labels = [self.nlp.vocab.strings.add(f) for f in self.families]
        bounds = np.searchsorted(an.cue_doc, np.arange(len(docs) + 1))
        fam, start, end = an.cue_family.tolist(), an.cue_start.tolist(), an.cue_end.tolist()
        families = list(self.families)
        for i, doc in enumerate(docs):
            a, b = bounds[i], bounds[i + 1]
            doc.spans[self.spans_key] = [Span(doc, start[j], end[j], label=labels[fam[j]]) for j in range(a, b)]
            if i in an.quotes:
                doc.spans[QUOTES_KEY] = [sp for a_, b_ in an.quotes[i]
                                         if (sp := doc.char_span(a_, b_, alignment_mode="expand")) is not None]
            doc.user_data[_USER_KEY] = self.spans_key
            doc.user_data["kml_families"] = families

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

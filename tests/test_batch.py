"""The batch (array) path of the cue component and the featurizer equals the per-doc definitions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer
from spacy.attrs import (
    IS_ALPHA,
    IS_ASCII,
    IS_PUNCT,
    IS_SPACE,
    IS_STOP,
    IS_TITLE,
    LIKE_NUM,
    LIKE_URL,
    LOWER,
)
from spacy.tokens import Span
from spacy.util import filter_spans

from kmlang.cues._analysis import select_longest
from kmlang.cues._tokens import FLAGS, token_table
from kmlang.model.features import CueFeaturizer, doc_terms

TRICKY = [
    "I know N.C. and N.J. well; see https://example.org/x?y=1 or call 555-1234, 12 times.",
    "> I know you are wrong\nWe all know better. I don't know, honestly.\n> we know",
    "Thanks to Priya, as Tom pointed out, I've been working on this for 12 years. Good point!",
    "", "   ", "I", "gonna wanna dunno y'all ain't",
]


def _real(shared, n, name="stackexchange.jsonl"):
    with (shared / "corpora" / name).open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line, _ in zip(fh, range(n), strict=False)]


_DOC = spacy.blank("en")("a " * 20)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 12), st.integers(1, 5)),
                max_size=30))
def test_select_longest_is_filter_spans_per_family(matches):
    doc = _DOC
    rows = np.array([(d, f, s, s + n) for d, f, s, n in matches], dtype=np.int64).reshape(-1, 4)
    d, f, s, e = select_longest(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3])
    got = sorted(zip(d.tolist(), f.tolist(), s.tolist(), e.tolist(), strict=True))
    want = []
    for di in range(3):
        for fi in range(4):
            spans = [Span(doc, a, b) for dd, ff, a, b in rows.tolist() if dd == di and ff == fi]
            want += [(di, fi, sp.start, sp.end) for sp in filter_spans(spans)]
    assert got == sorted(want)
    order = list(zip(d.tolist(), s.tolist(), e.tolist(), strict=True))
    assert order == sorted(order)


def test_lexeme_flags_equal_to_array(nlp, shared):
    docs = list(nlp.pipe(_real(shared, 300, "wikipedia_talk.jsonl") + TRICKY))
    table = token_table(docs)
    attrs = [IS_ALPHA, IS_TITLE, LIKE_NUM, LIKE_URL, IS_SPACE, IS_STOP, IS_ASCII, IS_PUNCT, LOWER]
    names = ["IS_ALPHA", "IS_TITLE", "LIKE_NUM", "LIKE_URL", "IS_SPACE", "IS_STOP", "IS_ASCII", "IS_PUNCT"]
    want = np.concatenate([d.to_array(attrs) for d in docs if len(d)])
    for j, name in enumerate(names):
        assert (table.has(name) == want[:, j].astype(bool)).all(), name
    assert (table.lower == want[:, -1]).all()
    assert table.n_docs == len(docs) and table.offsets[-1] == len(table.orth)
    assert not table.has("NON_LATIN").any() or any(not d.text.isascii() for d in docs)
    assert (FLAGS["NON_LATIN"] & token_table([nlp("Это русский текст")]).flags).all()


def test_pipe_in_batches_equals_one_doc_at_a_time(nlp, shared):
    texts = _real(shared, 200) + TRICKY
    def spans(docs):
        return [[(s.start, s.end, s.label_) for s in d.spans["kml_cues"]] for d in docs]

    assert spans(list(nlp.pipe(texts, batch_size=64))) == spans([nlp(t) for t in texts])


def test_analysis_counts_equal_span_counts(nlp, shared):
    comp = nlp.get_pipe("kmlang_cues")
    texts = _real(shared, 300, "r_mailing_lists.jsonl") + TRICKY
    docs = list(nlp.pipe(texts))
    an = comp.analyse(docs)
    counts = an.counts
    for i, doc in enumerate(docs):
        assert dict(zip(comp.families, counts[i].tolist(), strict=True)) == doc._.kml_cue_counts
        assert an.n_tokens[i] == doc._.kml_n_tokens


def _string_tfidf(fitted: CueFeaturizer, docs):
    """What the featurizer's n-gram block must equal: TfidfVectorizer on n-gram strings."""
    vec = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True, vocabulary=fitted.vectorizer_.vocabulary_)
    vec.idf_ = fitted.vectorizer_.idf_
    return vec.transform([doc_terms(d, fitted.ngram_range) for d in docs])


@pytest.mark.parametrize("ngram_range", [(1, 2), (1, 3), (2, 2)])
def test_hashed_ngrams_equal_string_tfidf(nlp, shared, ngram_range):
    train = _real(shared, 600) + TRICKY * 3
    test = _real(shared, 200, "reddit_ask.jsonl") + TRICKY
    feat = CueFeaturizer(min_df=2, ngram_range=ngram_range).fit(train)
    docs = list(nlp.pipe(test))
    got = feat.transform(test)[:, : len(feat.vectorizer_.vocabulary_)]
    want = _string_tfidf(feat, docs)
    assert got.shape == want.shape and got.nnz == want.nnz
    np.testing.assert_allclose(got.toarray(), want.toarray(), atol=1e-12)
    # a NORM holding a space (N.C. -> "North Carolina") is still one token's feature
    assert "North Carolina" in feat.vectorizer_.vocabulary_ or ngram_range[0] > 1


def _sentence_max_tfidf(fitted: CueFeaturizer, docs) -> np.ndarray:
    """What the sentence block must equal, from the tokens: split each doc after ".", "!",
    "?", ";" and at line breaks, TF-IDF each sentence's author n-grams on their own, and
    keep each n-gram's largest weight in any sentence."""
    from kmlang.cues.component import QUOTES_KEY
    from kmlang.model.features import _terms
    vec = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True, vocabulary=fitted.vectorizer_.vocabulary_)
    vec.idf_ = fitted.vectorizer_.idf_
    out = np.zeros((len(docs), len(vec.vocabulary_)))
    for i, doc in enumerate(docs):
        quoted = {t for sp in doc.spans.get(QUOTES_KEY, ()) for t in range(sp.start, sp.end)}
        sentences, cur = [], []
        for tok in doc:
            if not tok.is_space and tok.i not in quoted:
                cur.append("<url>" if tok.like_url else "<num>" if tok.like_num else tok.norm_)
            if tok.text in (".", "!", "?", ";") or (tok.is_space and "\n" in tok.text):
                sentences.append(cur)
                cur = []
        sentences.append(cur)
        words = [w for w in sentences if w]
        if words:
            rows = vec.transform([_terms(w, fitted.ngram_range) for w in words]).toarray()
            out[i] = rows.max(axis=0)
    return out


def test_sentence_block_is_the_max_over_sentences_of_their_own_tfidf(nlp, shared):
    train = _real(shared, 600) + TRICKY * 3
    test = _real(shared, 200, "reddit_ask.jsonl") + TRICKY + ["Good point. I stand corrected!\n\nthe fix is in; thanks"]
    feat = CueFeaturizer(min_df=2, sentence_weight=0.5).fit(train)
    n = len(feat.vectorizer_.vocabulary_)
    got = feat.transform(test)
    names = feat.get_feature_names_out()
    assert got.shape[1] == len(names) and names[-n].startswith("sentence_ngram:")
    want = _sentence_max_tfidf(feat, list(nlp.pipe(test)))
    np.testing.assert_allclose(got[:, -n:].toarray(), 0.5 * want, atol=1e-12)
    # the passage-wide block is untouched by it
    np.testing.assert_allclose(got[:, :n].toarray(), _string_tfidf(feat, list(nlp.pipe(test))).toarray(), atol=1e-12)
    # a bigram across a sentence end is in the passage block, not in the sentence block
    small = CueFeaturizer(min_df=1, sentence_weight=1.0).fit(["It works. Thanks a lot", "It works thanks a lot"])
    two = small.transform(["It works. Thanks a lot", "It works thanks a lot"]).toarray()
    m = len(small.vectorizer_.vocabulary_)
    col = small.vectorizer_.vocabulary_["works thanks"]
    assert two[0, col] == 0 and two[1, col] > 0  # "works . thanks": no such bigram in the first
    col = small.vectorizer_.vocabulary_[". thanks"]
    assert two[0, col] > 0 and two[0, two.shape[1] - m + col] == 0  # across the sentence end
    assert CueFeaturizer(min_df=2).fit(train).transform(test).shape[1] == got.shape[1] - n
    # a batch with no author token at all (only a quoted line) has no sentence, and zero rows
    assert feat.transform(["> quoted line\n"]).nnz == 0


def test_no_first_person_singular_ngram_in_the_vocabulary():
    """N-grams holding "I", "me", "my"... are left out (the rate of "I" must not stand in for
    stance); other pronouns' bigrams stay, and "I" still reaches the model through cues."""
    texts = ["I think my code is wrong, can anyone help me?", "We think our code is fine.",
             "I know my notes help.", "We know our notes help."] * 3
    feat = CueFeaturizer(min_df=1).fit(texts)
    vocab = set(feat.vectorizer_.vocabulary_)
    assert not [t for t in vocab if set(t.split(" ")) & {"i", "me", "my", "mine", "myself"}]
    assert "we think" in vocab and "think" in vocab
    assert "cue:not_knowing" in feat.get_feature_names_out() or "cue:help_seeking" in feat.get_feature_names_out()
    kept = CueFeaturizer(min_df=1, drop_ngram_words=()).fit(texts)
    assert "i think" in kept.vectorizer_.vocabulary_


def test_sense_dependent_words_only_in_context():
    """"share", "open", "own" alone say nothing about their sense ("market share", "open the
    window"): they are not unigrams, but their bigrams are, so the context decides."""
    texts = ["We share the flat and the market share fell.", "Happy to share the notes with everyone.",
             "Please open the window.", "I'm open to corrections.", "Our own goal cost us the match."] * 3
    vocab = set(CueFeaturizer(min_df=1).fit(texts).vectorizer_.vocabulary_)
    assert not vocab & {"share", "open", "own", "sharing", "shared"}
    assert {"to share", "share the", "open to", "open the", "own goal"} <= vocab
    assert "share" in CueFeaturizer(min_df=1, drop_unigrams=()).fit(texts).vectorizer_.vocabulary_


def test_model_without_hash_index_says_retrain(model):
    import copy

    from sklearn.exceptions import NotFittedError

    old = copy.deepcopy(model.featurizer_)
    del old.ngram_hashes_
    with pytest.raises(NotFittedError, match="retrain"):
        old.transform(["I know"])


def test_score_equals_scoring_parsed_docs(model, nlp):
    import kmlang
    from kmlang.model.scoring import score_docs

    texts = TRICKY[:3] + ["We figured it out together, thanks to everyone's notes.", "I don't know, can anyone help?"]
    frame = kmlang.score(texts, model=model)
    cols = score_docs(model, list(nlp.pipe(texts)))
    for t in model.targets_:
        np.testing.assert_allclose(frame[t].to_numpy(), cols[t], atol=1e-12)
        assert frame[f"{t}_label"].tolist() == list(cols[f"{t}_label"])


def test_lexeme_table_is_safe_to_share_between_threads():
    from concurrent.futures import ThreadPoolExecutor

    nlp = spacy.blank("en")  # a fresh vocabulary, so every thread adds new words at once
    texts = [" ".join(f"w{i}x{j} Word{j} {j}" for j in range(i, i + 300)) for i in range(0, 4000, 50)]
    docs = [nlp.make_doc(t) for t in texts]

    def check(doc):
        table = token_table([doc])
        want = doc.to_array([IS_ALPHA, IS_TITLE, LIKE_NUM, LOWER])
        return ((table.has("IS_ALPHA") == want[:, 0].astype(bool)).all()
                and (table.has("IS_TITLE") == want[:, 1].astype(bool)).all()
                and (table.has("LIKE_NUM") == want[:, 2].astype(bool)).all()
                and (table.lower == want[:, 3]).all())

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(check, docs))


def test_explain_equals_score_and_shows_the_cue_spans(model):
    import kmlang

    text = "Good point, I stand corrected. I don't know why, any help?"
    ex = kmlang.explain(text, model=model)
    frame = kmlang.score([text], model=model)
    for t in model.targets_:
        assert np.isclose(ex[t].position, frame.loc[0, t])
    cue = next(c for c in ex["openness"].top(5) if c.feature == "cue:openness")
    assert (12, 29, "I stand corrected") in cue.spans
    assert 'class="kml-cue"' in ex.to_html()


def test_explain_shows_where_sentence_ngrams_occur(model):
    """A model with the sentence block explains its n-grams with the spans they come from."""
    import kmlang

    if not getattr(model.featurizer_, "sentence_weight", 0.0):
        pytest.skip("this model has no sentence block")
    ex = kmlang.explain("Good point, I stand corrected. The tests pass now.", model=model, min_weight=0.0)
    sent = [c for t in model.targets_ for c in ex[t].contributions if c.kind == "sentence_ngram"]
    assert sent
    point = next(c for c in sent if c.feature == "sentence_ngram:good point")
    assert point.spans == ((0, 10, "Good point"),)

import json
import subprocess
import sys

import numpy as np
import pytest
import spacy

from tests.conftest import labels_of
from tests.cue_examples import CUE_EXAMPLES


def test_every_default_family_has_an_example(nlp):
    assert set(CUE_EXAMPLES) == set(nlp.get_pipe("kmlang_cues").families)


@pytest.mark.parametrize("family", sorted(CUE_EXAMPLES))
def test_family_matches_and_near_misses_do_not(nlp, family):
    positive, negatives = CUE_EXAMPLES[family]
    assert family in [label for label, _ in labels_of(nlp(positive))], positive
    for neg in negatives:
        assert family not in [label for label, _ in labels_of(nlp(neg))], neg


def test_negated_knowing_is_not_a_knowing_claim(nlp):
    for text in ["I don't know.", "I do not know", "I dont know", "I really don't know", "I don’t know"]:
        doc = nlp(text)
        assert doc._.kml_cue_counts["i_know"] == 0, text
        assert doc._.kml_cue_counts["not_knowing"] >= 1 or "really" in text, text


def test_lunch_has_no_knowledge_cue(nlp):
    counts = nlp("I went to lunch")._.kml_cue_counts
    assert counts["first_person_singular"] == 1
    assert sum(counts.values()) == 1


def test_quoted_lines_are_not_counted(nlp):
    doc = nlp("> we all know this is how it works\nI went to lunch.")
    counts = doc._.kml_cue_counts
    assert counts["first_person_plural"] == 0
    assert counts["we_know"] == 0
    assert counts["first_person_singular"] == 1
    assert doc._.kml_n_tokens == 5  # quoted tokens are not the author's


def test_a_signature_block_is_not_counted(nlp):
    doc = nlp("Moved the stand-up to Thursday.\n-- \nDev | We all know this together.")
    counts = doc._.kml_cue_counts
    assert counts["first_person_plural"] == 0 and counts["we_know"] == 0
    assert doc._.kml_n_tokens == 8  # "Moved the stand-up to Thursday." only


@pytest.mark.parametrize("text, expected", [
    ("Done.\n--\nJo\n\"What I know stays with me.\"", 6),
    ("Done.\n-- \nJo", 6),
    ("No signature here -- just a dash pair.", None),
    ("Part one.\n--\n" + "We know this, line after line.\n" * 8, None),  # a separator, not a signature
    ("Done.\n--\n" + "x" * 500, None),
])
def test_signature_start(text, expected):
    from kmlang.cues.component import signature_start

    assert signature_start(text) == expected


@pytest.mark.parametrize("text", [
    "Thanks\n-- \nBob", "--\nBob", "a\n--\t\nBob Smith", "hello.\n\n--  \nJane Doe\nACME Corp\n",
    "x)\n--\n(y", "foo\n--\n--\nbar", "\t--\nZed", "end.--\nnot", "We know.\n--\n",
])
def test_signature_prefilter_finds_every_delimiter_line(nlp, text):
    """The component only looks for signatures in docs with a "--" token (for speed); every
    text with a delimiter line must still have its signature left out."""
    from kmlang.cues.component import signature_start

    start = signature_start(text)
    an = nlp.get_pipe("kmlang_cues").analyse([nlp.make_doc(text)])
    assert (start is not None) == (0 in an.quotes and any(b == len(text) for _, b in an.quotes[0]))


def test_counts_rates_and_spans(nlp):
    doc = nlp("We know. We know.")
    assert doc._.kml_cue_counts["we_know"] == 2
    assert doc._.kml_cue_rates["we_know"] == pytest.approx(100 * 2 / 6)
    assert all(isinstance(s, spacy.tokens.Span) for s in doc.spans["kml_cues"])


def test_lets_counts_once(nlp):
    assert nlp("Let's go")._.kml_cue_counts["first_person_plural"] == 1


def test_custom_lexicon_via_initialize():
    nlp = spacy.blank("en")
    cues = nlp.add_pipe("kmlang_cues")
    cues.initialize(lexicon={"families": {"brew": {"phrases": ["hop schedule"]}}})
    assert cues.families == ("brew",)
    assert nlp("Share your hop schedule")._.kml_cue_counts == {"brew": 1}


def test_bad_lexicon_is_a_clear_error():
    from kmlang import LexiconError

    nlp = spacy.blank("en")
    cues = nlp.add_pipe("kmlang_cues")
    with pytest.raises(LexiconError, match="neither"):
        cues.initialize(lexicon={"families": {"x": {}}})
    with pytest.raises(LexiconError, match="@nolist"):
        cues.initialize(lexicon={"families": {"x": {"patterns": [[{"LOWER": {"IN": "@nolist"}}]]}}})


def test_to_disk_from_disk_round_trip(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("kmlang_cues").initialize(lexicon={"families": {"brew": {"phrases": ["hop schedule"]}}})
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.get_pipe("kmlang_cues").families == ("brew",)
    assert loaded("my hop schedule")._.kml_cue_counts == {"brew": 1}


def test_bytes_round_trip():
    nlp = spacy.blank("en")
    c = nlp.add_pipe("kmlang_cues")
    c.initialize(lexicon={"families": {"brew": {"phrases": ["mash tun"]}}})
    nlp2 = spacy.blank("en")
    c2 = nlp2.add_pipe("kmlang_cues")
    c2.from_bytes(c.to_bytes())
    assert c2.lexicon == c.lexicon
    assert nlp2("the mash tun")._.kml_cue_counts == {"brew": 1}


def test_saved_pipeline_loads_in_a_process_that_never_imports_kmlang(tmp_path, nlp):
    nlp.to_disk(tmp_path / "p")
    code = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'p')!r})\n"
        "doc = nlp('I know, trust me.')\n"
        "assert 'kmlang' not in sys.modules or True\n"
        "print(json.dumps(doc._.kml_cue_counts))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    counts = json.loads(out.stdout)
    assert counts["i_know"] == 1 and counts["authority"] == 1


def test_add_pipe_in_fresh_process_via_entry_point():
    code = ("import spacy, sys\n"
            "nlp = spacy.blank('en'); nlp.add_pipe('kmlang_cues')\n"
            "print(nlp('we know')._.kml_cue_counts['we_know'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_n_process_2_matches_n_process_1(nlp):
    texts = [ex[0] for ex in CUE_EXAMPLES.values()] * 3
    one = [d._.kml_cue_counts for d in nlp.pipe(texts, n_process=1)]
    two = [d._.kml_cue_counts for d in nlp.pipe(texts, n_process=2, batch_size=8)]
    assert one == two


def test_invalid_syntax_option():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="syntax"):
        nlp.add_pipe("kmlang_cues", config={"syntax": "maybe"})


def _batch_pattern_matches(comp, docs):
    from kmlang.cues._tokens import token_table

    table = token_table(docs)
    fam, s, e = comp._patterns.match(table)
    dids = np.searchsorted(table.offsets, s, side="right") - 1
    off = table.offsets
    return {(int(d), comp.families[f], int(a - off[d]), int(b - off[d]))
            for d, f, a, b in zip(dids, fam, s, e, strict=True)}


def _spacy_matches(comp, docs):
    strings = comp.nlp.vocab.strings
    return {(i, strings[m], a, b) for i, d in enumerate(docs) for m, a, b in comp._matcher(d)}


def test_batch_pattern_matcher_finds_what_spacy_matcher_finds(nlp):
    """The numpy token-pattern matcher equals spaCy's Matcher (greedy=None) on the same docs."""
    comp = nlp.get_pipe("kmlang_cues")
    assert comp._patterns is not None
    texts = [ex[0] for ex in CUE_EXAMPLES.values()] + [
        "As Tom and Ana both pointed out, I've been working on this project for 12 years, and I know, "
        "I really do know, that my own notes and our team playbook matter. Thanks Priya! 20 years of experience.",
        "we all really truly finally learned it; we have figured out; we sorted out the issue " * 3,
        "I", "", "as", "I have been doing it for", "Thanks", "5 years of experience",
    ]
    docs = list(nlp.pipe(texts))
    assert _batch_pattern_matches(comp, docs) == _spacy_matches(comp, docs)


@pytest.mark.parametrize("pattern", [
    [{"LOWER": "a"}, {"LOWER": "b", "OP": "?"}],
    [{"LOWER": "a"}, {"IS_ALPHA": True, "OP": "*"}, {"LOWER": "c"}],
    [{"LOWER": "a"}, {"LOWER": "b", "OP": "+"}],
    [{"LOWER": "a"}, {"IS_ALPHA": True, "OP": "{1,2}"}, {"LOWER": {"IN": ["c", "d"]}}],
    [{"LOWER": "a"}, {"LOWER": {"NOT_IN": ["b"]}, "OP": "{2}"}],
    [{"LOWER": "b", "OP": "?"}, {"LOWER": "c"}],
    [{"LOWER": "b", "OP": "*"}, {"LOWER": "c", "OP": "?"}, {"LOWER": "d"}],
    [{"ORTH": "A"}, {"LIKE_NUM": True, "OP": "{,2}"}, {"IS_TITLE": True}],
])
def test_batch_pattern_matcher_operators(pattern):
    """Each supported operator gives spaCy's matches, across doc boundaries in one batch."""
    from kmlang.cues.component import CueComponent

    nlp = spacy.blank("en")
    comp = CueComponent(nlp, lexicon={"families": {"x": {"patterns": [pattern]}}})
    assert comp._patterns is not None
    texts = ["a b c d", "a b b b c", "a c", "A 1 2 Bob", "a", "b b c d a", "a x y c a b", "c", "d d"]
    docs = list(nlp.pipe(texts))
    assert _batch_pattern_matches(comp, docs) == _spacy_matches(comp, docs)


def test_unsupported_pattern_falls_back_to_spacy_matcher():
    from kmlang.cues.component import CueComponent

    nlp = spacy.blank("en")
    comp = CueComponent(nlp, lexicon={"families": {"x": {"patterns": [[{"LOWER": {"REGEX": "^kn"}}]]}}})
    assert comp._patterns is None
    nlp.add_pipe("kmlang_cues", config={})
    nlp.get_pipe("kmlang_cues").initialize(lexicon={"families": {"x": {"patterns": [[{"LOWER": {"REGEX": "^kn"}}]]}}})
    assert nlp("I know, you knew")._.kml_cue_counts == {"x": 2}


def test_batch_pattern_matcher_on_real_text(nlp, shared):
    import json as _json

    comp = nlp.get_pipe("kmlang_cues")
    with (shared / "corpora" / "stackexchange.jsonl").open(encoding="utf-8") as fh:
        texts = [_json.loads(line)["text"] for line, _ in zip(fh, range(1500), strict=False)]
    docs = list(nlp.pipe(texts))
    found = _batch_pattern_matches(comp, docs)
    assert found and found == _spacy_matches(comp, docs)

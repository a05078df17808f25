"""The syntax-aware path, with the pinned en_core_web_sm (skipped when it is not installed)."""

from tests.conftest import labels_of


def fams(doc):
    return [label for label, _ in labels_of(doc)]


def test_person_of_cognition_subject_across_words(syntax_nlp):
    doc = syntax_nlp("I, like most people here, know the answer.")
    assert "i_know" in fams(doc)
    doc = syntax_nlp("We, after three painful outages, finally learned the lesson.")
    assert "we_know" in fams(doc)


def test_negation_attached_to_verb(syntax_nlp):
    doc = syntax_nlp("I really, truly don't know why it fails.")
    assert "i_know" not in fams(doc)
    assert "not_knowing" in fams(doc)


def test_possessor_of_knowledge_noun(syntax_nlp):
    doc = syntax_nlp("Those are my own carefully written notes.")
    assert "my_knowledge" in fams(doc)
    doc = syntax_nlp("Our long, hard-won operational playbook is online.")
    assert "our_knowledge" in fams(doc)


def test_near_misses_on_syntax_path(syntax_nlp):
    assert "i_know" not in fams(syntax_nlp("I went to lunch."))
    assert "first_person_plural" not in fams(syntax_nlp("> we know this\nOK."))


def test_parsed_docs_are_analysed_with_syntax_by_any_auto_component(syntax_nlp, nlp):
    """A blank pipeline's component (e.g. the model's featurizer) given parsed docs uses their syntax too."""
    texts = ["I, like most people here, know the answer.", "Those are my own carefully written notes.",
             "I really, truly don't know why it fails."]
    docs = list(syntax_nlp.pipe(texts))
    an = nlp.get_pipe("kmlang_cues").analyse(docs)
    families = nlp.get_pipe("kmlang_cues").families
    for i, doc in enumerate(docs):
        assert dict(zip(families, an.counts[i].tolist(), strict=True)) == doc._.kml_cue_counts


def test_explain_with_the_syntax_pipeline_matches_score(syntax_nlp, model):
    import numpy as np

    import kmlang

    text = "I, like most people here, know the answer, and those are my own carefully written notes."
    ex = kmlang.explain(text, model=model, nlp=syntax_nlp)
    frame = kmlang.score([text], model=model, nlp=syntax_nlp)
    for t in model.targets_:
        assert np.isclose(ex[t].position, frame.loc[0, t])

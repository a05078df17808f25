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

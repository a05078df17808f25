"""Stage 1, cues: the ``kmlang_cues`` spaCy component and everything it needs.

Pipeline loading (:mod:`.nlp`), text cleaning (:mod:`._input`), the lexicon
(:mod:`.lexicon`), token tables and pattern matching (:mod:`._tokens`,
:mod:`._patterns`, :mod:`._analysis`), the component (:mod:`.component`), the
language check (:mod:`.language`), ``cues()`` (:mod:`.frame`) and
``render_cues()`` (:mod:`.render`). Imports only :mod:`kmlang.shifts` and
:mod:`kmlang.errors` from outside this folder.
"""

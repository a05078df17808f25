"""Stage 3, input and output: the readers (:mod:`.readers`), the streaming scorer
(:mod:`.stream`), its run manifest and lock (:mod:`._resume`) and the writers of
scored frames (:mod:`.output`). Imports the model stage and below."""

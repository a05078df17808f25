"""Stage 3, input and output: the readers (:mod:`.readers`) and the streaming
scorer that writes part files (:mod:`.stream`). Imports the model stage and below."""

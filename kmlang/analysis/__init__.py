"""Stage 4, analysis: aggregation and trends (:mod:`.aggregation`), plots
(:mod:`.plot`) and the HTML report (:mod:`.report`). The top stage besides the CLI."""

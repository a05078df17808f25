"""Stage 4, analysis: aggregation (:mod:`.aggregation`), trends and change points
(:mod:`.trend`, :mod:`.changepoints`), plots (:mod:`.plot`) and the HTML report
(:mod:`.report`). The top stage besides the CLI."""

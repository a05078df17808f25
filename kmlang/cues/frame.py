"""``kmlang.cues``: cue counts and rates per passage, as a tidy DataFrame."""

from __future__ import annotations

import numbers
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from spacy.language import Language
from spacy.util import minibatch
from tqdm.auto import tqdm

from kmlang.cues._analysis import rates_per_100
from kmlang.cues._input import as_frame, clean_text
from kmlang.cues._parallel import CHUNK
from kmlang.cues.nlp import DEFAULT_MAX_CHARS, get_nlp

__all__ = ["cues", "analyse_texts", "cue_table", "cue_columns"]


def cue_columns(families) -> list[str]:
    return [f"cue_{f}" for f in families] + [f"cue_{f}_rate" for f in families]


def cue_table(n_tokens: np.ndarray, counts: np.ndarray, families) -> dict[str, np.ndarray]:
    """``cue_<family>`` and ``cue_<family>_rate`` columns (NaN rows stay NaN; integer counts if none)."""
    out: dict[str, np.ndarray] = {}
    rates = rates_per_100(counts, n_tokens)
    as_int = not np.isnan(counts).any()
    for j, f in enumerate(families):
        out[f"cue_{f}"] = counts[:, j].astype(np.int64) if as_int else counts[:, j]
    for j, f in enumerate(families):
        out[f"cue_{f}_rate"] = rates[:, j]
    return out


def _check_max_chars(max_chars) -> int:
    if (isinstance(max_chars, bool) or not isinstance(max_chars, numbers.Integral)
            or max_chars < 1):
        raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}")
    return int(max_chars)


def _clean_all(texts: list, nlp: Language, max_chars) -> tuple[list[str], list[tuple[int, str]]]:
    max_chars = _check_max_chars(max_chars)
    cleaned = [clean_text(t, max_chars) for t in texts]
    statuses = [s for _, s in cleaned]
    todo = [(i, t) for i, (t, _) in enumerate(cleaned) if t is not None]
    longest = max((len(t) for _, t in todo), default=0)
    if longest >= nlp.max_length:  # a larger max_chars than the pipeline allows: honour it
        nlp.max_length = longest + 1
    return statuses, todo


def analyse_texts(texts: list, nlp: Language, *, n_process: int = 1, batch_size: int = 256,
                  max_chars: int = DEFAULT_MAX_CHARS, progress: bool | None = None):
    """Clean, parse and analyse each text once, batch by batch, keeping no Doc.

    Returns ``(statuses, batches)``: one status per text, and an iterator of
    ``(rows, analysis)`` pairs, ``rows`` being the positions in ``texts`` of the
    docs of the :class:`~kmlang._analysis.CueAnalysis`. The cue component's
    spans are not built (``analyse`` is all it computes).
    """
    statuses, todo = _clean_all(texts, nlp, max_chars)
    if progress is None:
        progress = len(todo) >= 2000 and sys.stderr.isatty()
    comp = nlp.get_pipe("kmlang_cues")

    def batches():
        stream = nlp.pipe((t for _, t in todo), n_process=n_process, batch_size=batch_size,
                          disable=["kmlang_cues"])
        done = 0
        with tqdm(total=len(todo), disable=not progress, unit="passage") as bar:
            for batch in minibatch(stream, size=batch_size):
                rows = np.array([i for i, _ in todo[done:done + len(batch)]], dtype=np.int64)
                done += len(batch)
                an = comp.analyse(batch)
                yield rows, an
                bar.update(len(batch))

    return statuses, batches()


def _worker_cues(texts: list, *, nlp, batch_size: int, max_chars: int) -> pd.DataFrame:
    return cues(texts, "text", nlp=nlp, batch_size=batch_size, max_chars=max_chars, progress=False).drop(
        columns=["text"])


def cues(data, text: str = "text", *, nlp: str | Path | Language | None = None, n_process: int = 1,
         batch_size: int = 256, max_chars: int = DEFAULT_MAX_CHARS, progress: bool | None = None) -> pd.DataFrame:
    """Cue counts and rates for each passage.

    Parameters
    ----------
    data : list of str, Series or DataFrame
        Passages. A DataFrame must have the column ``text``.
    text : str
        Name of the text column.
    nlp : None, name, path or Language
        Pipeline (default: blank English + ``kmlang_cues``, no download needed).
    n_process, batch_size : int
        Passed to ``nlp.pipe``.
    max_chars : int
        Longer passages are truncated there and flagged ``truncated``.
    progress : bool, optional
        Show a progress bar (default: for 2,000+ passages on a terminal).

    Returns
    -------
    DataFrame
        One row per input row in input order, input index and columns kept, then
        ``n_tokens``, ``status`` and for each cue family ``cue_<family>`` (count)
        and ``cue_<family>_rate`` (per 100 tokens). Rows that could not be parsed
        (``status`` ``missing``, ``not_a_string``, ``empty``) have NaN counts.
    """
    frame = as_frame(data, text)
    if n_process > 1 and len(frame) >= 2 * CHUNK and not isinstance(nlp, Language):
        from kmlang.cues._parallel import run_chunks

        state = {"nlp": nlp, "batch_size": batch_size, "max_chars": max_chars}
        feats = run_chunks(_worker_cues, list(frame[text]), n_process, state, progress=progress)
        feats.index = frame.index
        return pd.concat([frame, feats], axis=1)
    pipeline = get_nlp(nlp)
    families = pipeline.get_pipe("kmlang_cues").families
    texts = list(frame[text])
    statuses, batches = analyse_texts(texts, pipeline, n_process=n_process, batch_size=batch_size,
                                      max_chars=max_chars, progress=progress)
    n_tokens = np.zeros(len(texts), dtype=np.int64)
    counts = np.full((len(texts), len(families)), np.nan)
    for rows, an in batches:
        n_tokens[rows] = an.n_tokens
        counts[rows] = an.counts
    feats = pd.DataFrame({"n_tokens": n_tokens, "status": statuses, **cue_table(n_tokens, counts, families)},
                         index=frame.index)
    return pd.concat([frame, feats], axis=1)

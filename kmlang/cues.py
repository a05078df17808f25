"""``kmlang.cues``: cue counts and rates per passage, as a tidy DataFrame."""

from __future__ import annotations

import numbers
import sys
from pathlib import Path

import pandas as pd
from spacy.language import Language
from tqdm.auto import tqdm

from ._input import as_frame, clean_text
from ._parallel import CHUNK
from .component import cue_rates
from .nlp import DEFAULT_MAX_CHARS, get_nlp

__all__ = ["cues", "extract_cue_dict", "cue_columns"]


def cue_columns(families) -> list[str]:
    return [f"cue_{f}" for f in families] + [f"cue_{f}_rate" for f in families]


def extract_cue_dict(docs, families, *, with_cues: bool = True) -> dict[str, list]:
    """``n_tokens`` and (unless ``with_cues=False``) counts and rates for parsed docs.

    ``None`` stands for a row that was not parsed (0 tokens, NaN cues).
    """
    out: dict[str, list] = {"n_tokens": []}
    cols = cue_columns(families) if with_cues else []
    for c in cols:
        out[c] = []
    for doc in docs:
        if doc is None:
            out["n_tokens"].append(0)
            for c in cols:
                out[c].append(float("nan"))
            continue
        n = doc._.kml_n_tokens
        out["n_tokens"].append(n)
        if not with_cues:
            continue
        counts = doc._.kml_cue_counts
        rates = cue_rates(counts, n)
        for f in families:
            out[f"cue_{f}"].append(counts.get(f, 0))
            out[f"cue_{f}_rate"].append(rates.get(f, 0.0))
    return out


def parse(texts: list, nlp: Language, *, n_process: int = 1, batch_size: int = 256,
          max_chars: int = DEFAULT_MAX_CHARS, progress: bool | None = None):
    """Clean and parse each text once. Returns ``(docs, statuses)``; ``docs[i]`` is None if unparsed."""
    if (isinstance(max_chars, bool) or not isinstance(max_chars, numbers.Integral)
            or max_chars < 1):
        raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}")
    max_chars = int(max_chars)
    cleaned = [clean_text(t, max_chars) for t in texts]
    statuses = [s for _, s in cleaned]
    todo = [(i, t) for i, (t, _) in enumerate(cleaned) if t is not None]
    longest = max((len(t) for _, t in todo), default=0)
    if longest >= nlp.max_length:  # a larger max_chars than the pipeline allows: honour it
        nlp.max_length = longest + 1
    docs: list = [None] * len(texts)
    if progress is None:
        progress = len(todo) >= 2000 and sys.stderr.isatty()
    stream = nlp.pipe((t for _, t in todo), n_process=n_process, batch_size=batch_size)
    for (i, _), doc in zip(todo, tqdm(stream, total=len(todo), disable=not progress, unit="passage")):
        docs[i] = doc
    return docs, statuses


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
        from ._parallel import run_chunks

        state = {"nlp": nlp, "batch_size": batch_size, "max_chars": max_chars}
        feats = run_chunks(_worker_cues, list(frame[text]), n_process, state, progress=progress)
        feats.index = frame.index
        return pd.concat([frame, feats], axis=1)
    pipeline = get_nlp(nlp)
    families = pipeline.get_pipe("kmlang_cues").families
    docs, statuses = parse(list(frame[text]), pipeline, n_process=n_process, batch_size=batch_size,
                           max_chars=max_chars, progress=progress)
    feats = pd.DataFrame(extract_cue_dict(docs, families), index=frame.index)
    feats.insert(1, "status", statuses)
    return pd.concat([frame, feats], axis=1)

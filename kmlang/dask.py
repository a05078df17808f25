"""Scoring and aggregating Dask DataFrames: the same numbers as the local path, on many workers.

::

    import dask.dataframe as dd
    from distributed import Client
    import kmlang.dask

    client = Client("tcp://scheduler:8786")          # or LocalCluster() on one machine
    ddf = dd.read_parquet("s3://bucket/posts/*.parquet")
    scores = kmlang.dask.score(ddf, text="body")      # lazy, one row per input row
    by_author = kmlang.dask.aggregate(scores, by="author", freq="M")   # a pandas DataFrame

Each worker process loads the model once (it is cached per process) and scores
its partitions with :func:`kmlang.score`. Aggregation computes per-partition
sufficient statistics (:func:`kmlang.aggregation.partial_aggregate`) on the
workers and combines them on the client (:func:`~kmlang.aggregation.combine_partials`),
so only small tables travel. On a real cluster every worker needs kmlang (and the
model directory, if it is not the packaged default) installed: e.g. a container
image with ``pip install kmlang[dask]``, or ``client.upload_file`` of a wheel.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from kmlang.analysis.aggregation import combine_partials, partial_aggregate
from kmlang.model.scoring import score_columns
from kmlang.shifts import TARGETS

__all__ = ["score", "aggregate"]


def _require_dask():
    try:
        import dask.dataframe as dd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("kmlang.dask needs Dask, which is not installed: "
                          'pip install "kmlang[dask]"') from e
    return dd


@lru_cache(maxsize=4)
def _worker_model(path: str | None):
    from kmlang.model.persist import load_model

    return load_model(path)


def _score_partition(part: pd.DataFrame, text: str, model_path: str | None, batch_size: int) -> pd.DataFrame:
    from kmlang.model.scoring import score as local_score

    return local_score(part, text=text, model=_worker_model(model_path), batch_size=batch_size, progress=False)


def _meta(ddf, text: str) -> pd.DataFrame:
    meta = ddf._meta.copy()
    renamed = {c: f"input_{c}" for c in meta.columns if c in {"n_tokens", "status", *score_columns(TARGETS)}}
    meta = meta.rename(columns=renamed)
    meta["n_tokens"] = pd.Series(dtype="int64")
    meta["status"] = pd.Series(dtype=object)
    for t in TARGETS:
        meta[t] = pd.Series(dtype="float64")
        meta[f"{t}_relevance"] = pd.Series(dtype="float64")
        meta[f"{t}_label"] = pd.Series(dtype="Int8")
    return meta


def score(ddf, text: str = "text", *, model: str | Path | None = None, batch_size: int = 256):
    """Lazily score a Dask DataFrame; columns as :func:`kmlang.score`, ``meta`` declared.

    ``model`` is a model directory (or ``None`` for the packaged default); each
    worker process loads it once. A fitted model object is not accepted here:
    save it with :func:`kmlang.save_model` and pass the directory, so workers load
    it with the integrity check.
    """
    _require_dask()
    if text not in ddf.columns:
        raise KeyError(f"No text column {text!r} in the Dask DataFrame; columns are: {list(ddf.columns)}")
    if model is not None and not isinstance(model, (str, Path)):
        raise TypeError("kmlang.dask.score takes a model directory (save the model with kmlang.save_model)")
    path = None if model is None else str(Path(model).resolve())
    return ddf.map_partitions(_score_partition, text, path, batch_size, meta=_meta(ddf, text))


def aggregate(scores, by="author", freq: str | None = None, *, min_passages: int = 5, shrink: bool = True,
              timestamp: str = "timestamp", shares: bool = True, model=None,
              share_method: str = "pacc", **kwargs) -> pd.DataFrame:
    """Aggregate a (Dask) score frame: per-partition sums on the workers, combined here.

    Gives the same table as ``kmlang.aggregate(scores.compute(), ..., interval="se")``,
    shares included (``model``: the model that scored the passages, whose error rates
    correct them; default the packaged model).
    """
    import dask

    parts = scores.to_delayed()
    partials = dask.compute(*[dask.delayed(partial_aggregate)(p, by=by, freq=freq, timestamp=timestamp, **kwargs)
                              for p in parts])
    return combine_partials(list(partials), min_passages=min_passages, shrink=shrink, shares=shares,
                            model=model, share_method=share_method)

"""kmlang.dask on a LocalCluster with two worker processes: same numbers as the local path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kmlang
import kmlang.dask

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def frame():
    texts = ["I don't know why it fails, any help?", "Trust me, you're wrong.", "We wrote it up on the wiki.",
             "I went to lunch.", None, "Good point, I stand corrected.", "Thanks to Ana we fixed it."]
    n = 70
    return pd.DataFrame({
        "text": [texts[i % len(texts)] for i in range(n)],
        "author": [f"a{i % 3}" for i in range(n)],
        "timestamp": pd.date_range("2024-01-01", periods=n, freq="5D", tz="UTC"),
    })


def test_dask_score_equals_local(client, frame):
    ddf = dd.from_pandas(frame, npartitions=4)
    got = kmlang.dask.score(ddf).compute()
    want = kmlang.score(frame)
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got.sort_index(), want, check_dtype=False)


def test_dask_aggregate_equals_local(client, frame):
    ddf = dd.from_pandas(frame, npartitions=4)
    scores = kmlang.dask.score(ddf)
    got = kmlang.dask.aggregate(scores, by="author", freq="M", min_passages=2)
    want = kmlang.aggregate(kmlang.score(frame), by="author", freq="M", min_passages=2)
    num = [c for c in want.columns if want[c].dtype.kind == "f"]
    np.testing.assert_allclose(got[num].to_numpy(), want[num].to_numpy(), rtol=1e-9, equal_nan=True)


def test_dask_missing_text_column(frame):
    with pytest.raises(KeyError, match="body"):
        kmlang.dask.score(dd.from_pandas(frame, npartitions=2), text="body")

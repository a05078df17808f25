"""Running a per-chunk function in worker processes, results back in order.

Used by :func:`kmlang.score` and :func:`kmlang.cues` with ``n_process > 1``:
each worker parses *and* extracts, so only small result frames travel back
(sending spaCy Docs between processes costs more than parsing them).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
from tqdm.auto import tqdm

__all__ = ["run_chunks", "CHUNK"]

#: Passages per task.
CHUNK = 1000
_STATE: dict = {}


def _init(state: dict) -> None:
    _STATE.clear()
    _STATE.update(state)


def _call(fn: Callable, chunk: list) -> pd.DataFrame:
    return fn(chunk, **_STATE)


def run_chunks(fn: Callable, items: Sequence, n_process: int, state: dict, *,
               progress: bool | None = None) -> pd.DataFrame:
    """``pd.concat([fn(chunk, **state) for chunk in chunks(items)])``, in ``n_process`` processes.

    ``fn`` must be a module-level function; ``state`` (e.g. the model) is sent to
    each worker once, when it starts (with ``fork``, it is simply inherited).
    """
    chunks = [list(items[i : i + CHUNK]) for i in range(0, len(items), CHUNK)]
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    if progress is None:
        progress = len(items) >= 2000 and sys.stderr.isatty()
    with ProcessPoolExecutor(n_process, mp_context=mp.get_context(method), initializer=_init,
                             initargs=(state,)) as pool:
        futures = [pool.submit(_call, fn, c) for c in chunks]
        parts = []
        with tqdm(total=len(items), disable=not progress, unit="passage") as bar:
            for f, c in zip(futures, chunks):
                parts.append(f.result())
                bar.update(len(c))
    return pd.concat(parts, ignore_index=True)

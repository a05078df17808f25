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

__all__ = ["run_chunks", "ChunkPool", "CHUNK"]

#: Passages per task.
CHUNK = 1000
_STATE: dict = {}


def _init(state: dict) -> None:
    _STATE.clear()
    _STATE.update(state)


def _call(fn: Callable, chunk: list) -> pd.DataFrame:
    return fn(chunk, **_STATE)


def _chunks(items: Sequence) -> list[list]:
    return [list(items[i : i + CHUNK]) for i in range(0, len(items), CHUNK)]


def _context():
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


class ChunkPool:
    """Worker processes kept for a whole job (e.g. every chunk of a streamed file).

    ``submit(items)`` queues ``fn(chunk, **state)`` for each chunk of ``items`` and
    returns at once, so the caller can read or write while the workers score;
    ``gather(job)`` waits and concatenates the results in order. Use as a context
    manager.
    """

    def __init__(self, fn: Callable, n_process: int, state: dict) -> None:
        self.fn = fn
        self._pool = ProcessPoolExecutor(n_process, mp_context=_context(), initializer=_init, initargs=(state,))

    def submit(self, items: Sequence) -> list:
        return [self._pool.submit(_call, self.fn, c) for c in _chunks(items)]

    @staticmethod
    def gather(job: list) -> pd.DataFrame:
        parts = [f.result() for f in job]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ChunkPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_chunks(fn: Callable, items: Sequence, n_process: int, state: dict, *,
               progress: bool | None = None) -> pd.DataFrame:
    """``pd.concat([fn(chunk, **state) for chunk in chunks(items)])``, in ``n_process`` processes.

    ``fn`` must be a module-level function; ``state`` (e.g. the model) is sent to
    each worker once, when it starts (with ``fork``, it is simply inherited).
    """
    if progress is None:
        progress = len(items) >= 2000 and sys.stderr.isatty()
    with ChunkPool(fn, n_process, state) as pool:
        job = pool.submit(items)
        parts = []
        with tqdm(total=len(items), disable=not progress, unit="passage") as bar:
            for f in job:
                parts.append(f.result())
                bar.update(len(parts[-1]))
    return pd.concat(parts, ignore_index=True)

"""Scoring a file larger than memory, chunk by chunk, with crash-safe resume.

:func:`score_file` reads any format :func:`kmlang.read` knows, in chunks, scores
each chunk and writes it as a *part* file inside ``OUTPUT.partial/``. A part is
written to a temporary name and renamed when complete, so a crash (even
SIGKILL) leaves only whole parts behind. ``resume=True`` counts the rows in the
whole parts, skips that many input rows, and goes on. When every chunk is done
the parts are joined into ``OUTPUT`` (written to a temporary name, then renamed),
so a file with the output's name is always complete. The part folder is then
renamed away before it is deleted, so a crash during the clean-up cannot leave a
half-deleted folder that a later ``resume`` would trust. ``run.json`` in the part
folder records the input and the settings that shape the output; ``resume``
refuses a folder written with others.

CSV parts each carry their header; the join writes the union of the parts'
columns (chunks of JSON Lines or Slack input need not have the same fields), so
no value ends up under another column's name.

Memory stays constant: one chunk of input and one part of output at a time.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from spacy.language import Language
from tqdm.auto import tqdm

from kmlang.cues.nlp import DEFAULT_MAX_CHARS
from kmlang.model.scoring import collect_scores, resolve_model, score, scoring_pool, submit_scores

__all__ = ["score_file", "OUTPUT_FORMATS", "write_frame"]

OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_PART = re.compile(r"^part-(\d{6})-(\d+)\.(csv|jsonl|parquet)$")


def _out_format(path: Path) -> str:
    try:
        return OUTPUT_FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"Cannot tell the output format of {path}: use one of "
                         f"{', '.join(sorted(OUTPUT_FORMATS))}") from None


def write_frame(df: pd.DataFrame, path: Path, fmt: str, *, header: bool = True) -> None:
    """Write one frame in ``fmt`` (csv, jsonl or parquet)."""
    if fmt == "csv":
        df.to_csv(path, index=False, header=header, date_format="%Y-%m-%dT%H:%M:%S%z")
    elif fmt == "jsonl":
        df.to_json(path, orient="records", lines=True, date_format="iso", force_ascii=False)
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:  # pragma: no cover - guarded by _out_format
        raise ValueError(fmt)


def _parts(partial: Path) -> list[tuple[int, int, Path]]:
    out = []
    for p in partial.iterdir() if partial.is_dir() else ():
        m = _PART.match(p.name)
        if m:
            out.append((int(m.group(1)), int(m.group(2)), p))
    out.sort()
    for k, (i, _, p) in enumerate(out):
        if i != k:
            raise RuntimeError(f"{partial} is inconsistent: part {k} is missing (found {p.name}). "
                               "Delete the folder and score again.")
    return out


def _skip_rows(chunks: Iterator[pd.DataFrame], n: int) -> Iterator[pd.DataFrame]:
    for chunk in chunks:
        if n <= 0:
            yield chunk
        elif len(chunk) <= n:
            n -= len(chunk)
        else:
            yield chunk.iloc[n:]
            n = 0


def _join(parts: list[tuple[int, int, Path]], out: Path, fmt: str) -> None:
    tmp = out.with_name(out.name + ".tmp")
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schemas = [pq.read_schema(p) for _, _, p in parts]
        schema = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
        with pq.ParquetWriter(tmp, schema) as writer:
            for _, _, p in parts:
                table = pq.read_table(p)
                table = table.replace_schema_metadata(None)
                for name in schema.names:
                    if name not in table.column_names:
                        table = table.append_column(name, pa.nulls(len(table), schema.field(name).type))
                writer.write_table(table.select(schema.names).cast(schema))
    elif fmt == "csv":
        _join_csv(parts, tmp)
    else:
        with tmp.open("wb") as dst:
            for _, _, p in parts:
                with p.open("rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
    os.replace(tmp, out)


def _csv_header(path: Path) -> tuple[list[str], int]:
    """The column names of a CSV part and the length in bytes of its header record."""
    consumed: list[str] = []
    with path.open(encoding="utf-8", newline="") as fh:
        def lines():
            for line in fh:
                consumed.append(line)
                yield line
        header = next(csv.reader(lines()), [])
    return header, len("".join(consumed).encode("utf-8"))


def _join_csv(parts: list[tuple[int, int, Path]], tmp: Path) -> None:
    """Join CSV parts (each with a header) under the union of their columns."""
    heads = [_csv_header(p) for _, _, p in parts]
    columns = list(dict.fromkeys(c for head, _ in heads for c in head))
    with tmp.open("wb") as dst:
        dst.write(pd.DataFrame(columns=columns).to_csv(index=False).encode("utf-8"))
        for (_, _, p), (head, size) in zip(parts, heads, strict=True):
            if head == columns:  # the usual case: copy the rows as they are
                with p.open("rb") as src:
                    src.seek(size)
                    shutil.copyfileobj(src, dst, 1 << 20)
                continue
            for block in pd.read_csv(p, dtype=str, keep_default_na=False, chunksize=10_000):
                rows = block.reindex(columns=columns, fill_value="")
                dst.write(rows.to_csv(index=False, header=False).encode("utf-8"))
        dst.flush()
        os.fsync(dst.fileno())


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def score_file(input: str | Path, output: str | Path, *, format: str | None = None, model=None,
               nlp=None, chunksize: int = 5000, n_process: int = 1, batch_size: int = 256,
               resume: bool = False, progress: bool | None = None, keep_text: bool = True,
               max_chars: int = DEFAULT_MAX_CHARS, errors: str = "raise", **columns) -> dict:
    """Score ``input`` into ``output`` (``.csv``, ``.jsonl`` or ``.parquet``), one output row per input row.

    Parameters
    ----------
    input, output : path
        Any readable export; the output format follows the extension.
    format : str, optional
        Input format (default: detected), see :data:`kmlang.readers.FORMATS`.
    model, nlp : see :func:`kmlang.score`.
    chunksize : int
        Rows per chunk (memory is bounded by one chunk).
    n_process, batch_size : int
        Worker processes (kept for the whole file; each parses and scores its
        share, and the next chunk is scored while the last one is written) and
        the ``nlp.pipe`` batch size.
    resume : bool
        Continue an interrupted run from its last complete chunk.
    progress : bool, optional
        Progress bar (default: when standard error is a terminal).
    keep_text : bool
        Keep the text column in the output.
    errors : {"raise", "skip"}
        Passed to the reader.
    **columns
        Column mapping for the reader (``text="body"``...).

    Returns
    -------
    dict
        ``rows`` written, ``resumed_from`` (rows found done), ``status`` counts (of all
        rows, also those scored before a resume) and ``output``.
    """
    from kmlang.io.readers import iter_read

    output = Path(output)
    fmt = _out_format(output)
    partial = output.with_name(output.name + ".partial")
    finished = output.with_name(output.name + ".partial.done")
    if finished.exists():  # a finished run's parts, left by a crash during the clean-up
        shutil.rmtree(finished)
    if partial.exists() and not resume:
        warnings.warn(f"Discarding an unfinished earlier run in {partial} (use resume=True / --resume to "
                      "continue it instead).", stacklevel=2)
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    meta = {"input": str(Path(input).resolve()), "format": format, "columns": columns, "output_format": fmt,
            "keep_text": keep_text, "max_chars": max_chars, "errors": errors}
    meta_file = partial / "run.json"
    if meta_file.exists():
        old = json.loads(meta_file.read_text(encoding="utf-8"))
        if old.get("input") != meta["input"]:
            raise ValueError(f"{partial} belongs to another run ({old.get('input')}); delete it or drop --resume")
        if old != meta:
            diff = ", ".join(f"{k}={old.get(k)!r}" for k in meta if old.get(k) != meta[k])
            raise ValueError(f"{partial} belongs to another run of this input, with {diff}; resume with "
                             "the same settings, or delete it or drop --resume")
    else:
        _write_atomic(meta_file, json.dumps(meta))
    done = _parts(partial)
    n_done = sum(n for _, n, _ in done)
    clf = resolve_model(model)
    if progress is None:
        progress = sys.stderr.isatty()
    status_counts: dict[str, int] = {}
    for i, _, _ in done:  # what the parts already written hold
        counts_file = partial / f"status-{i:06d}.json"
        if counts_file.exists():
            for s, c in json.loads(counts_file.read_text(encoding="utf-8")).items():
                status_counts[s] = status_counts.get(s, 0) + int(c)
    chunks = _skip_rows(iter_read(input, format=format, chunksize=chunksize, errors=errors, **columns), n_done)
    bar = tqdm(total=None, initial=n_done, disable=not progress, unit="passage", desc="scoring")
    index = len(done)
    rows = n_done
    def write_part(scored: pd.DataFrame) -> None:
        nonlocal index, rows
        if not keep_text:
            scored = scored.drop(columns=["text"])
        counts = {str(s): int(c) for s, c in scored["status"].value_counts().items()}
        for s, c in counts.items():
            status_counts[s] = status_counts.get(s, 0) + c
        _write_atomic(partial / f"status-{index:06d}.json", json.dumps(counts))
        name = f"part-{index:06d}-{len(scored)}.{fmt}"
        tmp = partial / (name + ".tmp")
        write_frame(scored, tmp, fmt)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, partial / name)
        index += 1
        rows += len(scored)
        bar.update(len(scored))

    if n_process > 1 and not isinstance(nlp, Language):
        # one pool of workers for the whole file; chunk k+1 is scored while chunk k is written
        with scoring_pool(clf, nlp=nlp, n_process=n_process, batch_size=batch_size,
                          max_chars=max_chars) as pool:
            pending = None
            for chunk in chunks:
                job = submit_scores(pool, chunk, "text") if len(chunk) else None
                if pending is not None:
                    write_part(pending[1] if pending[0] is None else collect_scores(pending[0]))
                pending = (job, None if job is not None else score(chunk, "text", model=clf, nlp=nlp,
                                                                     progress=False))
            if pending is not None:
                write_part(pending[1] if pending[0] is None else collect_scores(pending[0]))
    else:
        for chunk in chunks:
            write_part(score(chunk, "text", model=clf, nlp=nlp, batch_size=batch_size,
                             max_chars=max_chars, progress=False))
    bar.close()
    parts = _parts(partial)
    if not parts:  # empty input: still write a valid (header-only) file
        empty = score(pd.DataFrame({"text": pd.Series([], dtype=object)}), "text", model=clf, nlp=nlp,
                      progress=False)
        write_frame(empty, partial / f"part-000000-0.{fmt}", fmt)
        parts = _parts(partial)
    _join(parts, output, fmt)
    os.replace(partial, finished)  # one atomic step: no half-deleted part folder
    shutil.rmtree(finished)
    return {"rows": rows, "resumed_from": n_done, "status": status_counts, "output": str(output)}

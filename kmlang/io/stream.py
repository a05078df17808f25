"""Scoring a file larger than memory, chunk by chunk, with crash-safe resume.

:func:`score_file` reads any format :func:`kmlang.read` knows, in chunks, scores
each chunk and writes it as a *part* file inside ``OUTPUT.partial/``. A part is
written to a temporary name and renamed when complete, so a crash (even
SIGKILL) leaves only whole parts behind. ``resume=True`` counts the rows in the
whole parts, skips that many input rows, and goes on. When every chunk is done
the parts are joined into ``OUTPUT`` (written to a temporary name, then renamed),
so a file with the output's name is always complete. The part folder is then
renamed away before it is deleted, so a crash during the clean-up cannot leave a
half-deleted folder that a later ``resume`` would trust.

``run.json`` in the part folder is the run's manifest: the input's path and
fingerprint (size, modification time and the sha256 of its content), the
settings that shape the output, the model's identity, and per part its row
range (first row, row count), its sha256 and its status counts. ``resume``
verifies all of it: another input, a changed input or other settings or model
are refused (:class:`ResumeError`, saying what differs); a part that is
missing, truncated, empty or otherwise changed is dropped with every later part
and those rows are scored again, so no row is lost or written twice. A lock
file (``lock``, created with ``O_EXCL``, holding the process id; stale once that
process is gone) makes a second scorer of the same output refuse
(:class:`OutputLockedError`) instead of deleting the first one's parts. An
output that is the input itself is refused.

CSV output escapes text cells that a spreadsheet would run as a formula (those
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a
leading ``'``, as OWASP recommends) unless ``csv_escape=False``.

CSV parts each carry their header; the join writes the union of the parts'
columns (chunks of JSON Lines or Slack input need not have the same fields), so
no value ends up under another column's name.

Memory stays constant: one chunk of input and one part of output at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from pathlib import Path

import pandas as pd
from spacy.language import Language
from tqdm.auto import tqdm

from kmlang.cues.nlp import DEFAULT_MAX_CHARS

# kept importable from here: the CLI and the tests use these names
from kmlang.io._resume import (  # noqa: F401
    _LOCK,
    _MANIFEST_VERSION,
    _PART,
    OutputLockedError,
    ResumeError,
    _acquire_lock,
    _check_part,
    _check_resume,
    _clear,
    _differences,
    _digest,
    _fingerprint,
    _input_files,
    _lock_holder,
    _model_identity,
    _nlp_identity,
    _parts,
    _pid_alive,
    _release_lock,
    _row_hashes,
    _same_content,
    _sha256_file,
    _verified_parts,
    _verified_skip,
)
from kmlang.io.output import (  # noqa: F401
    CSV_FORMULA_START,
    OUTPUT_FORMATS,
    _csv_header,
    _join,
    _join_csv,
    _out_format,
    _write_atomic,
    escape_csv_cells,
    write_frame,
)
from kmlang.model.scoring import collect_scores, resolve_model, score, scoring_pool, submit_scores

__all__ = ["score_file", "OUTPUT_FORMATS", "write_frame", "escape_csv_cells", "ResumeError",
           "OutputLockedError"]


def score_file(input: str | Path, output: str | Path, *, format: str | None = None, model=None,
               nlp=None, chunksize: int = 5000, n_process: int = 1, batch_size: int = 256,
               resume: bool = False, progress: bool | None = None, keep_text: bool = True,
               max_chars: int = DEFAULT_MAX_CHARS, errors: str = "raise", csv_escape: bool = True,
               **columns) -> dict:
    """Score ``input`` into ``output`` (``.csv``, ``.jsonl`` or ``.parquet``), one output row per input row.

    Parameters
    ----------
    input, output : path
        Any readable export; the output format follows the extension. ``output`` may not be
        ``input``.
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
        Continue an interrupted run from its last complete chunk. The input, the
        settings and the model must be those of the interrupted run
        (:class:`ResumeError` otherwise); damaged parts are scored again.
    progress : bool, optional
        Progress bar (default: when standard error is a terminal).
    keep_text : bool
        Keep the text column in the output.
    errors : {"raise", "skip"}
        Passed to the reader.
    csv_escape : bool
        CSV output: prefix text cells starting with ``=``, ``+``, ``-``, ``@``,
        a tab or a carriage return with ``'`` so spreadsheets do not run them
        as formulas (default). JSON Lines and Parquet are never changed.
    **columns
        Column mapping for the reader (``text="body"``...).

    Returns
    -------
    dict
        ``rows`` written, ``resumed_from`` (rows found done), ``rescored_parts`` (damaged
        parts scored again), ``status`` counts (of all rows, also those scored before a
        resume) and ``output``.

    Raises
    ------
    ResumeError
        ``resume`` of a run of another input, of a changed input, or with other settings or model.
    OutputLockedError
        Another process is writing ``output``.
    """
    from kmlang.io.readers import iter_read

    output = Path(output)
    input_path = Path(input)
    fmt = _out_format(output)
    if output.resolve() == input_path.resolve() or (
            output.exists() and input_path.exists() and os.path.samefile(output, input_path)):
        raise ValueError(f"The output {output} is the input: choose another output file")
    partial = output.with_name(output.name + ".partial")
    finished = output.with_name(output.name + ".partial.done")
    existed = partial.exists()
    partial.mkdir(parents=True, exist_ok=True)
    lock = _acquire_lock(partial, output)
    try:
        return _score_locked(
            input, input_path, output, fmt, partial, finished, iter_read, format=format, model=model,
            nlp=nlp, chunksize=chunksize, n_process=n_process, batch_size=batch_size, resume=resume,
            progress=progress, keep_text=keep_text, max_chars=max_chars, errors=errors,
            csv_escape=csv_escape, columns=columns, existed=existed)
    finally:
        _release_lock(lock)


def _score_locked(input, input_path: Path, output: Path, fmt: str, partial: Path, finished: Path,
                  iter_read, *, format, model, nlp, chunksize, n_process, batch_size, resume, progress,
                  keep_text, max_chars, errors, csv_escape, columns, existed) -> dict:
    if finished.exists():  # a finished run's parts, left by a crash during the clean-up
        shutil.rmtree(finished)
    meta_file = partial / "run.json"
    if not resume and (existed or any(p.name != _LOCK for p in partial.iterdir())):
        warnings.warn(f"Discarding an unfinished earlier run in {partial} (use resume=True / --resume to "
                      "continue it instead).", stacklevel=3)
        _clear(partial, {_LOCK})
    clf = resolve_model(model)
    settings = {"format": format, "columns": columns, "output_format": fmt, "keep_text": keep_text,
                "max_chars": max_chars, "errors": errors, "csv_escape": csv_escape,
                "nlp": _nlp_identity(nlp)}
    fingerprint = _fingerprint(input_path)
    meta = {"version": _MANIFEST_VERSION, "input": str(input_path.resolve()), "fingerprint": fingerprint,
            "settings": settings, "model": _model_identity(model, clf), "parts": []}
    done: list[dict] = []
    n_parts_before = 0
    input_change = ""
    if meta_file.exists():
        try:
            old = json.loads(meta_file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeError) as e:
            raise ResumeError(f"{partial / 'run.json'} is damaged ({e}); delete {partial} or drop "
                              "--resume") from None
        input_change = _check_resume(partial, old, meta, settings, fingerprint, input_path)
        n_parts_before = len(old.get("parts", []))
        done = _verified_parts(partial, old)
    elif any(p.name != _LOCK for p in partial.iterdir()):
        warnings.warn(f"{partial} has no run.json, so its parts cannot be checked: scoring from the "
                      "start.", stacklevel=3)
    meta["parts"] = done
    n_kept = len(done)
    # whatever is not a verified part (damaged or unlisted parts, half-written files) goes
    _clear(partial, {_LOCK, "run.json"} | {e["file"] for e in done})
    _write_atomic(meta_file, json.dumps(meta))
    n_done = sum(int(e["rows"]) for e in done)
    if progress is None:
        progress = sys.stderr.isatty()
    status_counts: dict[str, int] = {}
    for e in done:  # what the parts already written hold
        for s, c in e.get("status", {}).items():
            status_counts[s] = status_counts.get(s, 0) + int(c)
    def refuse(k: int, entry: dict) -> None:
        first, last = int(entry["first"]), int(entry["first"]) + int(entry["rows"]) - 1
        raise ResumeError(f"{input_path} has changed since the run in {partial} began: rows {first:,} to "
                          f"{last:,} (part {k}) are no longer those that were scored{input_change}; delete "
                          f"{partial} or drop --resume to score it again from the start")

    def verified() -> None:
        if input_change and n_done:
            warnings.warn(f"{input_path} has changed since the run in {partial} began{input_change}, but not "
                          f"in its first {n_done:,} rows, which are scored already: going on from there.",
                          stacklevel=4)

    chunks = _verified_skip(iter_read(input, format=format, chunksize=chunksize, errors=errors, **columns),
                            done, refuse, verified)
    bar = tqdm(total=None, initial=n_done, disable=not progress, unit="passage", desc="scoring")
    index = len(done)
    rows = n_done

    def hashed(chunk: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        return chunk, _digest(_row_hashes(chunk))

    def write_part(scored: pd.DataFrame, input_sha256: str) -> None:
        nonlocal index, rows
        if not keep_text:
            scored = scored.drop(columns=["text"])
        else:  # the output never holds more text than was scored (status "truncated" says so)
            scored = scored.assign(text=scored["text"].map(
                lambda v: v[:max_chars] if isinstance(v, str) and len(v) > max_chars else v))
        counts = {str(s): int(c) for s, c in scored["status"].value_counts().items()}
        name = f"part-{index:06d}-{len(scored)}.{fmt}"
        tmp = partial / (name + ".tmp")
        write_frame(scored, tmp, fmt, csv_escape=csv_escape)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        entry = {"file": name, "first": rows, "rows": len(scored), "bytes": tmp.stat().st_size,
                 "sha256": _sha256_file(tmp), "input_sha256": input_sha256, "status": counts}
        os.replace(tmp, partial / name)
        meta["parts"].append(entry)  # a crash before this is recorded: the part is scored again
        _write_atomic(meta_file, json.dumps(meta))
        for s, c in counts.items():
            status_counts[s] = status_counts.get(s, 0) + c
        index += 1
        rows += len(scored)
        bar.update(len(scored))

    if n_process > 1 and not isinstance(nlp, Language):
        # one pool of workers for the whole file; chunk k+1 is scored while chunk k is written
        with scoring_pool(clf, nlp=nlp, n_process=n_process, batch_size=batch_size,
                          max_chars=max_chars) as pool:
            pending = None
            for chunk, digest in map(hashed, chunks):
                job = submit_scores(pool, chunk, "text") if len(chunk) else None
                if pending is not None:
                    write_part(pending[1] if pending[0] is None else collect_scores(pending[0]), pending[2])
                pending = (job, None if job is not None else score(chunk, "text", model=clf, nlp=nlp,
                                                                     progress=False), digest)
            if pending is not None:
                write_part(pending[1] if pending[0] is None else collect_scores(pending[0]), pending[2])
    else:
        for chunk, digest in map(hashed, chunks):
            write_part(score(chunk, "text", model=clf, nlp=nlp, batch_size=batch_size,
                             max_chars=max_chars, progress=False), digest)
    bar.close()
    if not _same_content(_fingerprint(input_path), fingerprint):
        raise ResumeError(f"{input_path} changed while it was being scored; the parts are kept in {partial}: "
                          "once it no longer changes, continue with --resume (the rows already scored are "
                          "checked against it)")
    for k, entry in enumerate(meta["parts"]):  # nothing changed the parts while the run went on
        why = _check_part(partial, entry, entry["first"])
        if why is not None:
            raise ResumeError(f"Part {k} ({entry['file']}) of {partial} was changed during the run: {why}; "
                              "run again with --resume to score it again")
    parts = [(k, int(e["rows"]), partial / e["file"]) for k, e in enumerate(meta["parts"])]
    if not parts:  # empty input: still write a valid (header-only) file
        empty = score(pd.DataFrame({"text": pd.Series([], dtype=object)}), "text", model=clf, nlp=nlp,
                      progress=False)
        write_frame(empty, partial / f"part-000000-0.{fmt}", fmt)
        parts = [(0, 0, partial / f"part-000000-0.{fmt}")]
    _join(parts, output, fmt)
    os.replace(partial, finished)  # one atomic step: no half-deleted part folder
    shutil.rmtree(finished)
    return {"rows": rows, "resumed_from": n_done, "rescored_parts": n_parts_before - n_kept,
            "status": status_counts, "output": str(output)}


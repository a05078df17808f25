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

import csv
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from spacy.language import Language
from tqdm.auto import tqdm

from kmlang.cues.nlp import DEFAULT_MAX_CHARS
from kmlang.errors import KmlangError
from kmlang.model.scoring import collect_scores, resolve_model, score, scoring_pool, submit_scores

__all__ = ["score_file", "OUTPUT_FORMATS", "write_frame", "escape_csv_cells", "ResumeError",
           "OutputLockedError"]

OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_PART = re.compile(r"^part-(\d{6})-(\d+)\.(csv|jsonl|parquet)$")
_MANIFEST_VERSION = 2
_LOCK = "lock"
#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV injection").
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ResumeError(KmlangError, ValueError):
    """``resume`` found a part folder it cannot continue: another input, a changed input, other
    settings or another model. The message says what differs."""


class OutputLockedError(KmlangError, RuntimeError):
    """Another process is writing the same output (its lock file is in the part folder)."""


def escape_csv_cells(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every string cell (and column name) that starts with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return prefixed with ``'``, so that a spreadsheet shows it as text instead
    of running it as a formula. Numbers, dates and missing values are left as they are."""
    out = None
    for j in range(df.shape[1]):
        s = df.iloc[:, j]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        values = s.to_numpy(dtype=object)
        mask = np.fromiter((isinstance(v, str) and v.startswith(CSV_FORMULA_START) for v in values),
                           dtype=bool, count=len(values))
        if mask.any():
            if out is None:
                out = df.copy()
            fixed = values.copy()
            fixed[mask] = ["'" + v for v in values[mask]]
            fixed = pd.Series(fixed, index=s.index, name=s.name, dtype=object)
            out.isetitem(j, fixed)
    names = [f"'{c}" if isinstance(c, str) and c.startswith(CSV_FORMULA_START) else c for c in df.columns]
    if names != list(df.columns):
        out = (df.copy() if out is None else out)
        out.columns = names
    return df if out is None else out


def _out_format(path: Path) -> str:
    try:
        return OUTPUT_FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"Cannot tell the output format of {path}: use one of "
                         f"{', '.join(sorted(OUTPUT_FORMATS))}") from None


def write_frame(df: pd.DataFrame, path: Path, fmt: str, *, header: bool = True,
                csv_escape: bool = False) -> None:
    """Write one frame in ``fmt`` (csv, jsonl or parquet); ``csv_escape``: see
    :func:`escape_csv_cells` (CSV only)."""
    if fmt == "csv":
        if csv_escape:
            df = escape_csv_cells(df)
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


def _row_hashes(chunk: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of the input, from its non-missing values and their column names,
    so that it does not depend on how the input was cut into chunks (a column missing from a chunk
    and a missing value hash alike; 3 and 3.0 too)."""
    acc = np.zeros(len(chunk), dtype=np.uint64)
    if not len(chunk):
        return acc
    for j, name in enumerate(chunk.columns):
        col = chunk.iloc[:, j]
        null = col.isna().to_numpy(dtype=bool)
        if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
            col = col.astype("float64")
        try:
            h = pd.util.hash_pandas_object(col, index=False, categorize=False).to_numpy(np.uint64)
        except TypeError:  # lists, dicts...
            col = col.map(lambda v: json.dumps(v, sort_keys=True, default=str))
            h = pd.util.hash_pandas_object(col, index=False, categorize=False).to_numpy(np.uint64)
        key = np.uint64(int.from_bytes(hashlib.sha256(str(name).encode()).digest()[:8], "little") | 1)
        with np.errstate(over="ignore"):
            mixed = h * key + key
        mixed[null] = 0
        acc += mixed
    return acc


def _digest(hashes: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(hashes, dtype="<u8").tobytes()).hexdigest()


def _verified_skip(chunks: Iterator[pd.DataFrame], parts: list[dict], refuse,
                   verified=lambda: None) -> Iterator[pd.DataFrame]:
    """Skip the rows of ``parts`` (already scored), checking that the input still holds the very rows
    each part was scored from; ``refuse(k, entry)`` raises when it does not, ``verified()`` is called
    once they all match."""
    todo = [(k, e) for k, e in enumerate(parts) if int(e["rows"])]  # empty parts hold no input rows
    if not todo:
        yield from chunks
        return
    i, pending, n_pending = 0, [], 0
    told = False
    for chunk in chunks:
        touched = False
        while i < len(todo) and len(chunk):
            k, entry = todo[i]
            need = int(entry["rows"]) - n_pending
            pending.append(_row_hashes(chunk.iloc[:need]))
            n_pending += min(need, len(chunk))
            chunk = chunk.iloc[need:]
            touched = True
            if n_pending == int(entry["rows"]):
                if _digest(np.concatenate(pending)) != entry.get("input_sha256"):
                    refuse(k, entry)
                i, pending, n_pending = i + 1, [], 0
        if i == len(todo) and not told:
            verified()
            told = True
        if i == len(todo) and (len(chunk) or not touched):
            yield chunk
    if i < len(todo):
        refuse(*todo[i])
    if not told:
        verified()


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


def _sha256_file(path: Path, h=None) -> str:
    h = h or hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _input_files(path: Path) -> list[Path]:
    """The files a read of ``path`` may use: the file (and the Comments.xml beside a Posts.xml), or
    every file under a folder."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    files = [path]
    if path.name.lower() == "posts.xml":
        files += [c for c in path.parent.iterdir() if c.name.lower() == "comments.xml" and c.is_file()]
    return files


def _fingerprint(path: Path) -> dict:
    """Size, modification time (ns) and sha256 of the input (of every file a read may use).
    Hashing runs at disk speed: about 0.03 s for 20 MB."""
    h = hashlib.sha256()
    size, mtime = 0, 0
    for f in _input_files(path):
        st = f.stat()
        size += st.st_size
        mtime = max(mtime, st.st_mtime_ns)
        if f != path:
            h.update(b"\0" + str(f.relative_to(path if path.is_dir() else path.parent)).encode() + b"\0")
        _sha256_file(f, h)
    return {"size": size, "mtime_ns": mtime, "sha256": h.hexdigest()}


def _model_identity(model, clf) -> str:
    """sha256 of the model folder's manifest (which holds its files' hashes), else of the model card,
    else of the pickled model."""
    if model is None or isinstance(model, (str, Path)):
        from kmlang.model.persist import default_model_dir

        folder = Path(model) if model is not None else default_model_dir()
        manifest = folder / "manifest.json"
        if manifest.is_file():
            return "manifest:" + _sha256_file(manifest)
    card = getattr(clf, "card_", None)
    if card:
        return "card:" + hashlib.sha256(json.dumps(card, sort_keys=True, default=str).encode()).hexdigest()
    import pickle

    return "pickle:" + hashlib.sha256(pickle.dumps(clf, protocol=5)).hexdigest()


def _nlp_identity(nlp) -> str | None:
    if nlp is None:
        return None
    if isinstance(nlp, Language):
        meta = nlp.meta
        return f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')} {list(nlp.pipe_names)}"
    return str(nlp)


# ------------------------------------------------------------------ lock

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _lock_holder(lock: Path) -> str | None:
    """Who holds ``lock`` ("pid N on HOST"), or None when it is stale (that process is gone)."""
    try:
        text = lock.read_text(encoding="utf-8").split()
        st = lock.stat()
    except FileNotFoundError:
        return None
    if len(text) < 2 or not text[0].isdigit():  # being written right now, or junk
        import time

        return "a process that is starting" if time.time() - st.st_mtime < 10 else None
    pid, host = int(text[0]), text[1]
    if host != socket.gethostname():
        return f"pid {pid} on {host}"  # cannot tell: assume it runs
    return f"pid {pid}" if _pid_alive(pid) else None


def _acquire_lock(partial: Path, output: Path) -> Path:
    lock = partial / _LOCK
    for _ in range(5):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _lock_holder(lock)
            if holder is not None:
                raise OutputLockedError(
                    f"{output} is being written by another kmlang score ({holder}); wait for it to "
                    f"finish or choose another output (if no such process runs, delete {lock})") from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {socket.gethostname()}\n")
            fh.flush()
            os.fsync(fh.fileno())
        return lock
    raise OutputLockedError(f"Could not lock {output}: {lock} keeps coming back")


def _release_lock(lock: Path) -> None:
    try:
        if lock.read_text(encoding="utf-8").split()[:1] == [str(os.getpid())]:
            lock.unlink()
    except (FileNotFoundError, IndexError):
        pass


# ------------------------------------------------------------------ manifest

def _clear(partial: Path, keep: set[str]) -> None:
    for p in partial.iterdir():
        if p.name in keep:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)


def _check_part(partial: Path, entry: dict, first: int) -> str | None:
    """Why the part ``entry`` cannot be trusted, or None."""
    path = partial / entry["file"]
    if entry.get("first") != first:
        return f"it starts at row {entry.get('first')}, not {first}"
    if not path.is_file():
        return "it is missing"
    size = path.stat().st_size
    if size != entry.get("bytes"):
        what = "empty" if size == 0 else "truncated" if size < entry.get("bytes", 0) else "changed"
        return f"it is {what} ({size:,} bytes, {entry.get('bytes', 0):,} written)"
    if _sha256_file(path) != entry.get("sha256"):
        return "its sha256 does not match"
    return None


def _verified_parts(partial: Path, manifest: dict) -> list[dict]:
    """The parts of ``manifest`` that are whole and in order; the first damaged part and every
    later one are dropped (with a warning) so that their rows are scored again."""
    good: list[dict] = []
    first = 0
    for k, entry in enumerate(manifest.get("parts", [])):
        why = _check_part(partial, entry, first)
        if why is not None:
            n_drop = len(manifest["parts"]) - k
            warnings.warn(f"Part {k} ({entry.get('file')}) of {partial} cannot be trusted: {why}. "
                          f"Scoring again from row {first:,} ({n_drop} part{'s' * (n_drop != 1)} dropped).",
                          stacklevel=3)
            break
        good.append(entry)
        first += int(entry["rows"])
    return good


def _same_content(a: dict, b: dict) -> bool:
    return (a.get("size"), a.get("sha256")) == (b.get("size"), b.get("sha256"))


def _differences(old: dict, new: dict) -> str:
    return ", ".join(f"{k}={old.get(k)!r} (now {new[k]!r})" for k in new if old.get(k) != new[k])


def _check_resume(partial: Path, old: dict, meta: dict, settings: dict, fingerprint: dict,
                  input_path: Path) -> None:
    if old.get("input") != meta["input"]:
        raise ResumeError(f"{partial} belongs to another run ({old.get('input')}); delete it or drop --resume")
    old_settings = old.get("settings", old)  # run.json of kmlang before the manifest kept them apart
    if any(old_settings.get(k) != settings[k] for k in settings):
        raise ResumeError(f"{partial} belongs to another run of this input, with "
                          f"{_differences(old_settings, settings)}; resume with the same settings, or "
                          "delete it or drop --resume")
    if old.get("model") != meta["model"]:
        raise ResumeError(f"{partial} was scored with another model ({old.get('model')}, now "
                          f"{meta['model']}); resume with the same --model, or delete it or drop --resume")
    then = old.get("fingerprint")
    parts = old.get("parts", [])
    if not then or any("input_sha256" not in e for e in parts):
        raise ResumeError(f"{partial} has no fingerprint of its input (written by an older kmlang), so "
                          "resuming could lose or repeat rows; delete it or drop --resume")
    if _same_content(then, fingerprint):
        return ""
    what = []
    if then.get("size") != fingerprint["size"]:
        what.append(f"size {then.get('size'):,} -> {fingerprint['size']:,} bytes")
    what.append(f"sha256 {str(then.get('sha256'))[:12]}... -> {fingerprint['sha256'][:12]}...")
    return f" ({'; '.join(what)})"


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

"""The run manifest and the lock behind ``kmlang score --resume`` (see :mod:`kmlang.io.stream`).

``run.json`` holds the input's fingerprint, the settings, the model's identity
and per part its row range, sha256 and a hash of the input rows it was scored
from; :func:`_check_resume` and :func:`_verified_parts` verify them. The lock
file (``O_EXCL``, holding the pid) keeps a second scorer off the same output.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from spacy.language import Language

from kmlang.errors import KmlangError

_PART = re.compile(r"^part-(\d{6})-(\d+)\.(csv|jsonl|parquet)$")

_MANIFEST_VERSION = 2

_LOCK = "lock"

class ResumeError(KmlangError, ValueError):
    """``resume`` found a part folder it cannot continue: another input, a changed input, other
    settings or another model. The message says what differs."""

class OutputLockedError(KmlangError, RuntimeError):
    """Another process is writing the same output (its lock file is in the part folder)."""

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

"""Loading the labelled samples in ``data/labelled/`` (format: docs/labelling-guide.md).

Authored records carry their ``text``. Real records carry only a ``corpus_id``;
their text is joined from the corpora directory (``$KMLANG_CORPORA``, else
``../shared/corpora`` beside the checkout). Without the corpora, only the
authored part is returned, with a warning that says so.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pandas as pd

from kmlang.shifts import SHIFT_IDS, TARGETS

__all__ = ["load_labelled", "read_label_file", "corpora_dir", "data_dir", "label_frame"]

_REPO = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """``$KMLANG_DATA`` or the checkout's ``data/labelled``."""
    return Path(os.environ.get("KMLANG_DATA", _REPO / "data" / "labelled"))


def corpora_dir() -> Path | None:
    """The real-text corpora directory, or ``None`` when absent."""
    env = os.environ.get("KMLANG_CORPORA")
    candidates = [Path(env)] if env else []
    candidates += [_REPO.parent / "shared" / "corpora", Path.cwd().parent / "shared" / "corpora"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


def read_label_file(path: str | Path) -> list[dict]:
    """Records of one JSONL label file; a broken line raises ``ValueError`` naming file and line."""
    path = Path(path)
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not valid JSON ({e.msg})") from None
    return out


def label_frame(records: list[dict]) -> pd.DataFrame:
    """Flatten records: one column per shift plus ``overall``; other fields kept."""
    rows = []
    for r in records:
        row = {k: v for k, v in r.items() if k != "labels"}
        labels = r.get("labels") or {}
        for s in [*SHIFT_IDS, "overall"]:
            v = labels.get(s) if s != "overall" else r.get("overall")
            if v not in (-1, 0, 1):
                raise ValueError(f"Record {r.get('id', '?')!r}: label {s!r} is {v!r}; every shift and "
                                 "'overall' needs -1, 0 or 1 (fill in the labels of suggested passages first)")
            row[s] = int(v)
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in ("tags", "corpus_id", "draw", "doc_id", "note"):
        if col not in df.columns:
            df[col] = None
    return df


def _corpus_texts(ids: set[str], cdir: Path) -> dict[str, str]:
    found = {}
    for f in sorted(cdir.glob("*.jsonl")):
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                # cheap pre-filter before parsing JSON
                start = line.find('"id": "')
                if start < 0:
                    continue
                rid = line[start + 7 : line.find('"', start + 7)]
                if rid in ids:
                    found[rid] = json.loads(line)["text"]
    return found


def load_labelled(path: str | Path | None = None, *, split: str | None = None,
                  corpora: str | Path | None = None, kind: str | None = None) -> pd.DataFrame:
    """All labelled passages as a frame with ``text``, the targets, ``split``, ``register``, ``kind``.

    Parameters
    ----------
    path : directory or file, optional
        Default: :func:`data_dir`.
    split : "train", "test" or None
        Keep one split only.
    corpora : directory, optional
        Where real passages' text is looked up (default: :func:`corpora_dir`).
    kind : "authored", "contrast", "real" or None
        Keep one part only (``contrast``: the authored minimal pairs, records with a ``pair_id``).
    """
    path = Path(path) if path is not None else data_dir()
    files = [path] if path.is_file() else sorted(path.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"No labelled .jsonl files in {path}")
    records = [r for f in files for r in read_label_file(f)]
    df = label_frame(records)
    pair = df["pair_id"] if "pair_id" in df.columns else pd.Series([None] * len(df), index=df.index)
    df["kind"] = ["real" if isinstance(c, str) else ("contrast" if isinstance(p, str) else "authored")
                  for c, p in zip(df["corpus_id"], pair, strict=True)]
    if "text" not in df.columns:
        df["text"] = None
    real = df["kind"] == "real"
    if real.any():
        cdir = Path(corpora) if corpora is not None else corpora_dir()
        if cdir is None or not cdir.is_dir():
            warnings.warn(
                f"The real-text corpora are absent (set KMLANG_CORPORA or put ../shared beside the checkout): "
                f"{int(real.sum())} labelled real passages are left out; using the authored part only.",
                stacklevel=2,
            )
            df = df[~real]
        else:
            texts = _corpus_texts(set(df.loc[real, "corpus_id"]), cdir)
            df.loc[real, "text"] = df.loc[real, "corpus_id"].map(texts)
            missing = real & df["text"].isna()
            if missing.any():
                warnings.warn(f"{int(missing.sum())} labelled real passages were not found in {cdir}; "
                              "they are left out.", stacklevel=2)
                df = df[~missing]
    if split is not None:
        df = df[df["split"] == split]
    if kind is not None:
        df = df[df["kind"] == kind]
    cols = ["id", "text", *TARGETS, "split", "register", "kind", "source", "tags", "corpus_id", "doc_id", "draw"]
    rest = [c for c in df.columns if c not in cols]
    return df[cols + rest].reset_index(drop=True)

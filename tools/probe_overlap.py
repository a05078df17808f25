"""How close written training passages come to the behavioural probes (character 5-gram Jaccard).

The probes must measure generalisation, so no passage written for kmlang (authored
passages, contrastive pairs) may be a near copy of a probe or its variant. This
prints, for each label file, the passages whose 5-gram Jaccard similarity with some
probe is at least the limit; ``tests/test_data.py`` asserts there are none.

Usage: python tools/probe_overlap.py [--limit 0.2] [FILE ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 0.2


def _grams(text: str, n: int = 5) -> set[str]:
    t = " ".join(text.lower().split())
    return {t[i:i + n] for i in range(max(1, len(t) - n + 1))}


def _matrix(texts: list[str], vocab: dict[str, int]) -> sp.csr_matrix:
    rows, cols = [], []
    for i, t in enumerate(texts):
        for g in _grams(t):
            rows.append(i)
            cols.append(vocab.setdefault(g, len(vocab)))
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(texts), len(vocab)))


def probe_texts() -> list[str]:
    out = []
    for line in (ROOT / "kmlang" / "data" / "behaviour.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            p = json.loads(line)
            out += [p["text"]] + ([p["variant"]] if p.get("variant") else [])
    return out


def max_similarity(texts: list[str], probes: list[str]) -> np.ndarray:
    """Per text, the highest 5-gram Jaccard similarity with any probe."""
    if not texts:
        return np.zeros(0)
    vocab: dict[str, int] = {}
    P = _matrix(probes, vocab)
    T = _matrix(texts, vocab)
    P = sp.csr_matrix((P.data, P.indices, P.indptr), shape=(P.shape[0], len(vocab)))
    inter = (T @ P.T).toarray()
    nt = np.asarray(T.sum(axis=1)).ravel()[:, None]
    npr = np.asarray(P.sum(axis=1)).ravel()[None, :]
    return (inter / np.maximum(nt + npr - inter, 1)).max(axis=1)


def written_records(files=None) -> list[dict]:
    paths = [Path(f) for f in files] if files else sorted(
        p for p in (ROOT / "data" / "labelled").glob("*.jsonl") if not p.name.startswith("real_"))
    recs = []
    for f in paths:
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                r["_file"] = f.name
                recs.append(r)
    return [r for r in recs if "text" in r]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*")
    ap.add_argument("--limit", type=float, default=LIMIT)
    args = ap.parse_args()
    recs = written_records(args.files)
    sim = max_similarity([r["text"] for r in recs], probe_texts())
    bad = [(r, s) for r, s in zip(recs, sim, strict=True) if s >= args.limit]
    for r, s in bad:
        print(f"{r['_file']}\t{r['id']}\t{s:.3f}")
    print(f"{len(recs)} written passages; highest similarity {sim.max() if len(sim) else 0:.3f}; "
          f"{len(bad)} at or above {args.limit}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

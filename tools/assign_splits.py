"""Give every labelled record a fixed ``split`` (train/test, about 80/20) once.

Records that already have a split keep it, so later evaluations always use the
same test passages. Authored passages are stratified by (register, overall):
within each stratum, ids are ordered by a hash and every fifth goes to test.
Contrastive pairs (records with a ``pair_id``) are split by pair, so both sides
of a pair are on the same side; pairs are ordered by hash within each register.
Real passages are split by thread (``doc_id``, looked up in the corpora and
stored in the record) so that no thread is on both sides; threads are ordered
by hash within each (source, overall) stratum of their first passage.
This script assigns splits only; it never touches a label.

Usage: python tools/assign_splits.py [data/labelled]
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kmlang.model.labelled import corpora_dir  # noqa: E402


def h(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "data/labelled")
    files = sorted(root.glob("*.jsonl"))
    records = {f: [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
               for f in files}
    doc_of = {}
    cdir = corpora_dir()
    if cdir is not None:
        for cf in cdir.glob("*.jsonl"):
            for line in cf.open(encoding="utf-8"):
                r = json.loads(line)
                doc_of[r["id"]] = r["doc_id"]
    strata = defaultdict(list)
    threads = defaultdict(list)
    pairs = defaultdict(list)
    for recs in records.values():
        for r in recs:
            if "corpus_id" in r:
                r.setdefault("doc_id", doc_of.get(r["corpus_id"], r["corpus_id"]))
                threads[r["doc_id"]].append(r)
            elif "pair_id" in r:
                pairs[r["pair_id"]].append(r)
            elif "split" not in r:
                strata[(r.get("register"), r["overall"])].append(r)
    for recs in strata.values():
        for i, r in enumerate(sorted(recs, key=lambda r: h(r["id"]))):
            r["split"] = "test" if i % 5 == 2 else "train"
    pstrata = defaultdict(list)
    for pid, recs in pairs.items():
        fixed = {r["split"] for r in recs if "split" in r}
        if fixed:
            for r in recs:
                r["split"] = sorted(fixed)[0]
            continue
        pstrata[recs[0].get("register")].append(pid)
    for pids in pstrata.values():
        for i, pid in enumerate(sorted(pids, key=h)):
            for r in pairs[pid]:
                r["split"] = "test" if i % 5 == 2 else "train"
    tstrata = defaultdict(list)
    for doc, recs in threads.items():
        fixed = {r["split"] for r in recs if "split" in r}
        if fixed:
            for r in recs:
                r["split"] = sorted(fixed)[0] if len(fixed) == 1 else "train"
            continue
        tstrata[(recs[0].get("source", "").split(":")[0], recs[0]["overall"])].append(doc)
    for docs in tstrata.values():
        for i, doc in enumerate(sorted(docs, key=h)):
            for r in threads[doc]:
                r["split"] = "test" if i % 5 == 2 else "train"
    for f, recs in records.items():
        f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    n = sum(len(v) for v in records.values())
    t = sum(r["split"] == "test" for v in records.values() for r in v)
    print(f"{n} records, {t} test ({t / max(n, 1):.1%})")


if __name__ == "__main__":
    main()

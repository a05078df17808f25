"""Turn annotators' label sheets into ``data/labelled`` records (format only; never a label).

An annotator's sheet has one line per passage: ``{"corpus_id", "labels": {non-zero
shifts only}, "overall", "note"?}``. This script fills the zero shifts, adds the
passage's ``source``, ``doc_id`` and ``register`` from the corpora and its ``draw``
from the selection's metadata, and writes ``real_NN.jsonl`` files of 200 records.
Splits are assigned afterwards by ``tools/assign_splits.py``.

Usage: python tools/import_labels.py META.jsonl SHEET.jsonl [SHEET ...] --first 32 [--out data/labelled]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _batches import write_batches  # noqa: E402  (tools/, the script's own folder)

from kmlang.model.labelled import corpora_dir  # noqa: E402
from kmlang.shifts import SHIFT_IDS  # noqa: E402

REGISTER = {"stackexchange": "qa", "r_mailing_lists": "email", "wikipedia_talk": "wiki_talk",
            "reddit": "forum", "enron": "email"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("meta")
    ap.add_argument("sheets", nargs="+")
    ap.add_argument("--first", type=int, required=True, help="number of the first real_NN file")
    ap.add_argument("--out", default="data/labelled")
    ap.add_argument("--per-file", type=int, default=200)
    args = ap.parse_args()
    meta = {m["corpus_id"]: m for m in map(json.loads, open(args.meta, encoding="utf-8"))}
    docs = {}
    for f in corpora_dir().glob("*.jsonl"):
        for line in f.open(encoding="utf-8"):
            r = json.loads(line)
            if r["id"] in meta:
                docs[r["id"]] = r["doc_id"]
    out, seen = [], set()
    for sheet in args.sheets:
        for n, line in enumerate(open(sheet, encoding="utf-8"), 1):
            if not line.strip():
                continue
            r = json.loads(line)
            cid = r["corpus_id"]
            if cid in seen:
                raise SystemExit(f"{sheet}:{n}: {cid} labelled twice")
            seen.add(cid)
            bad = set(r["labels"]) - set(SHIFT_IDS)
            if bad or any(v not in (-1, 1) for v in r["labels"].values()) or r["overall"] not in (-1, 0, 1):
                raise SystemExit(f"{sheet}:{n}: invalid labels {r}")
            m = meta[cid]
            rec = {"id": f"real-{cid}", "corpus_id": cid, "source": m["source"],
                   "draw": {"random": "random", "phrase": "phrase", "model": "model"}[m["draw"]],
                   "register": REGISTER[m["source"].split(":")[0]],
                   "labels": {s: int(r["labels"].get(s, 0)) for s in SHIFT_IDS},
                   "overall": int(r["overall"]), "doc_id": docs[cid]}
            if r.get("note"):
                rec["note"] = r["note"]
            out.append(rec)
    missing = set(meta) - seen
    if missing:
        raise SystemExit(f"{len(missing)} selected passages have no label, e.g. {sorted(missing)[:3]}")
    write_batches(Path(args.out), out, args.per_file, prefix="real", first=args.first)
    print(f"{len(out)} records into {(len(out) + args.per_file - 1) // args.per_file} files from real_{args.first:02d}")


if __name__ == "__main__":
    main()

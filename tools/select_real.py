"""Choose which real corpus passages to read and label (issue: labelled data).

This script only *selects* passages; it never assigns a label. Labels are given
by people (or annotators) reading each passage against ANNOTATION.md.

Half of each corpus quota is drawn uniformly at random; half from passages that
match phrases which often carry a stance (first person + knowledge words,
authority, possession, gatekeeping, help-seeking, crediting), because the
individual pole is rare in real text. Every passage and every thread that
appears in the dev set is excluded.

Usage: python tools/select_real.py OUT_DIR [--per-batch 200] [--seed N]
       [--exclude-labelled data/labelled --first-batch 8]   (a second draw, avoiding passages already drawn)
Writes OUT_DIR/batch_XX.jsonl (text included, for reading only; never commit).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
from pathlib import Path

from _batches import write_batches

QUOTAS = {  # corpus file -> number of passages to draw
    "stackexchange.jsonl": 470,
    "r_mailing_lists.jsonl": 430,
    "wikipedia_talk.jsonl": 420,
    "reddit_ask.jsonl": 200,
    "enron_email.jsonl": 160,
}
MAX_WORDS = 300  # keeps reading load sane; longer passages are rarer anyway

ENRICH = re.compile(
    r"\b(i know|we know|i don'?t know|no idea|not sure|i'?m stuck|any help|"
    r"can anyone|does anyone|trust me|obviously|you'?re wrong|i was wrong|"
    r"good point|fair point|stand corrected|my (notes|code|work|article|answer|"
    r"method|knowledge|expertise|experience)|our (docs|knowledge|wiki|community|"
    r"team)|share|shared|sharing|wiki|document(ed|ation)?|thanks to|credit|"
    r"years of experience|as i said|i'?m new|newbie|learned|learnt|"
    r"together|everyone|community|secret|reinvent|not invented|"
    r"job security|proprietary|competitive|don'?t touch|ownership|own)\b",
    re.I,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--per-batch", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--exclude-labelled", default=None,
                    help="folder of label files whose corpus_ids (and threads) are not drawn again")
    ap.add_argument("--first-batch", type=int, default=0, help="number of the first batch file")
    args = ap.parse_args()
    shared = Path(os.environ.get("KMLANG_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    dev = [json.loads(line) for line in open(shared / "dev" / "dev.jsonl", encoding="utf-8")]
    dev_ids = {d["corpus_id"] for d in dev}
    rows = {}
    for name in QUOTAS:
        rows[name] = [json.loads(line) for line in open(shared / "corpora" / name, encoding="utf-8")]
    dev_docs = {r["doc_id"] for rs in rows.values() for r in rs if r["id"] in dev_ids}
    if args.exclude_labelled:
        for f in Path(args.exclude_labelled).glob("real_*.jsonl"):
            for line in f.open(encoding="utf-8"):
                dev_ids.add(json.loads(line)["corpus_id"])
    rng = random.Random(args.seed)
    chosen = []
    for name, quota in QUOTAS.items():
        pool = [
            r for r in rows[name]
            if r["id"] not in dev_ids and r["doc_id"] not in dev_docs
            and len(r["text"].split()) <= MAX_WORDS
        ]
        rng.shuffle(pool)
        n_random = quota // 2
        rand = pool[:n_random]
        taken = {r["id"] for r in rand}
        enriched = [r for r in pool[n_random:] if ENRICH.search(r["text"]) and r["id"] not in taken]
        enr = enriched[: quota - n_random]
        for r, draw in [(r, "random") for r in rand] + [(r, "enriched") for r in enr]:
            chosen.append({"corpus_id": r["id"], "source": r["source"], "draw": draw, "text": r["text"]})
    rng.shuffle(chosen)
    write_batches(Path(args.out_dir), chosen, args.per_batch, first=args.first_batch)
    print(f"{len(chosen)} passages in {(len(chosen) + args.per_batch - 1) // args.per_batch} batches; "
          f"excluded {len(dev_ids)} dev passages and {len(dev_docs)} dev threads")


if __name__ == "__main__":
    main()

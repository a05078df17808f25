"""A fifth draw of real passages to read and label, aimed at the thin stances (issue 13).

This script only *selects* passages; it never assigns a label. Labels are given
by annotators reading each passage against the annotation guide.

Three parts, from passages of at most ``MAX_WORDS`` words that are not in the dev
set (passage or thread) and not labelled already:

* ``model``: per thin (shift, pole) cell, passages the current default model
  gives the highest probability of that pole (uncertainty / likely-positive
  sampling: for the rare poles, the model's top candidates sit at its decision
  boundary);
* ``phrase``: per thin cell, passages matching phrases that often carry that pole;
* ``random``: uniform, so that prevalence and neutral passages stay represented.

Usage: python tools/select_active.py OUT_DIR [--seed 9090] [--per-batch 400]
       [--model DIR] [--model-cells knowing+1:200,sharing+1:150] [--phrase-cells novelty+1:50]
       [--random 480] [--random-by-corpus wikipedia_talk:800,reddit:300] [--prefix batch]
(the fifth draw used the defaults; the sixth: --seed 6161 --model MODEL_TRAINED_WITH_DRAW_5
 and the cell quotas in data/README.md; the eighth, random only: --seed 8181 --model-cells ""
 --phrase-cells "" --random-by-corpus wikipedia_talk:800,reddit:300,stackexchange:650,r_mailing_lists:650)
Writes OUT_DIR/batch_XX.jsonl (text included, for reading only; never commit)
and OUT_DIR/second_pass.jsonl (a random 15% for the blind second pass).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
from pathlib import Path

from _batches import write_batches, write_jsonl

MAX_WORDS = 250
CORPORA = ["stackexchange.jsonl", "r_mailing_lists.jsonl", "wikipedia_talk.jsonl",
           "reddit_ask.jsonl", "enron_email.jsonl"]

PHRASES = {  # (shift, pole) -> phrases that often carry that pole
    ("relation", 1): r"as \w+ (said|mentioned|pointed out|suggested|noted)|to add to|adding to what|"
                     r"building on|build on (your|his|her|\w+'s)|i'?d second|agree with \w+|further to|"
                     r"in addition to what|as (mentioned|noted|suggested) (above|by)|between us|"
                     r"we (figured|worked) (it|this|that) out|together we",
    ("peers", 1): r"thanks to|thank(s| you) for (the|your) (explanation|pointer|tip|insight|suggestion|code|"
                  r"advice|comments|clarification|answer)|credit (goes )?to|pointed out|helpful (comments|"
                  r"replies|answers|suggestions)|saved me|learned (a lot )?from|kudos",
    ("novelty", 1): r"didn'?t know|did not know|never knew|learn(ed|t) something|\btil\b|good to know|"
                    r"new to me|today i learned|now i (know|understand|see)|i had no idea",
    ("knowing", 1): r"we (learned|found|know|figured|discovered|agreed)|consensus|the community|"
                    r"let'?s (check|ask|discuss)|what do (you all|others|people) think|collectively|"
                    r"our (experience|understanding)",
    ("knowing", -1): r"trust me|believe me|i know (what|for a fact|better)|years of experience|"
                     r"i'?m (an expert|a professional)|i'?m telling you|i am telling you",
    ("openness", -1): r"as i (said|stated|mentioned|explained)|you'?re (wrong|mistaken)|you are wrong|"
                      r"read (my|the) (post|answer|comment) again|end of (story|discussion)|"
                      r"not contrary to my|with all due respect|obviously you",
    ("openness", 1): r"you'?re right|good point|fair point|i was wrong|stand corrected|point taken|"
                     r"correct me if|is there a better way|you have a point|i hadn'?t (thought|considered)",
    ("sharing", 1): r"i('?ve| have)? (posted|put|uploaded|written up|documented|shared|added) (the|my|it|a|"
                    r"some)|here'?s (how|what)|in case (it helps|anyone)|hope (this|it) helps|write-?up|"
                    r"for (anyone|everyone|others) (who|interested)",
    ("sharing", -1): r"proprietary|confidential|do not (distribute|share|forward)|don'?t (share|forward)|"
                     r"keep (it|this) to (myself|yourself)|trade secret",
    ("property", -1): r"my (article|edits|page|work|code)|don'?t touch|revert(ed)? my|ownership of|"
                      r"(i|we) own (the|this|that)|my contribution",
    ("not_knowing", -1): r"stupid question|rtfm|read the (manual|docs|faq)|google it|lmgtfy|"
                         r"search (before|first)|should (already )?know|basic question|did you even",
}
PHRASE_QUOTA = 95
MODEL_QUOTA = 60
RANDOM_QUOTA = 480


def parse_quotas(spec: str) -> dict[str, int]:
    """``"knowing-1:200,sharing+1:150"`` or ``"wikipedia_talk:800"`` -> ``{key: quota}`` (empty for "")."""
    out = {}
    for item in filter(None, (x.strip() for x in spec.split(","))):
        key, sep, q = item.rpartition(":")
        if not sep or not key or not q.isdigit():
            raise SystemExit(f"bad quota {item!r}: expected key:number")
        out[key] = int(q)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=9090)
    ap.add_argument("--per-batch", type=int, default=400)
    ap.add_argument("--model", default=None, help="model directory for the model part (default: packaged)")
    ap.add_argument("--model-cells", default=None, help="cell:quota,... (default: every cell, MODEL_QUOTA)")
    ap.add_argument("--phrase-cells", default=None, help="cell:quota,... (default: every cell, PHRASE_QUOTA)")
    ap.add_argument("--random", type=int, default=RANDOM_QUOTA)
    ap.add_argument("--random-by-corpus", default=None,
                    help="corpus:quota,... (source prefix, e.g. wikipedia_talk:800); replaces --random")
    args = ap.parse_args()

    def quotas(spec, default):
        if spec is None:
            return {cell: default for cell in PHRASES}
        return {(cell[:-2], int(cell[-2:])): q for cell, q in parse_quotas(spec).items()}

    model_q, phrase_q = quotas(args.model_cells, MODEL_QUOTA), quotas(args.phrase_cells, PHRASE_QUOTA)
    root = Path(__file__).resolve().parents[1]
    shared = Path(os.environ.get("KMLANG_SHARED", root.parent / "shared"))
    dev_ids = {json.loads(x)["corpus_id"] for x in open(shared / "dev" / "dev.jsonl", encoding="utf-8")}
    rows = [json.loads(x) for n in CORPORA for x in open(shared / "corpora" / n, encoding="utf-8")]
    dev_docs = {r["doc_id"] for r in rows if r["id"] in dev_ids}
    done = {json.loads(x)["corpus_id"] for f in (root / "data" / "labelled").glob("real_*.jsonl")
            for x in f.open(encoding="utf-8") if x.strip()}
    for f in Path(args.out_dir).glob("batch_*.jsonl"):  # never draw a passage twice into one folder
        done |= {json.loads(x)["corpus_id"] for x in f.open(encoding="utf-8") if x.strip()}
    pool = [r for r in rows if r["id"] not in dev_ids and r["doc_id"] not in dev_docs
            and r["id"] not in done and len(r["text"].split()) <= MAX_WORDS]
    rng = random.Random(args.seed)
    rng.shuffle(pool)
    chosen: dict[str, dict] = {}

    def take(r, draw, cell=None):
        if r["id"] not in chosen:
            chosen[r["id"]] = {"corpus_id": r["id"], "source": r["source"], "draw": draw,
                               "cell": cell, "text": r["text"]}
            return True
        return False

    import kmlang  # the current default model, for the model part only

    model = kmlang.load_model(args.model) if args.model else None
    scores = kmlang.score([r["text"] for r in pool], model=model, progress=False) if model_q else None
    for (shift, pole), quota in model_q.items():
        p = (scores[f"{shift}_relevance"] + pole * scores[shift]) / 2
        order = p.fillna(-1).to_numpy().argsort()[::-1]
        n = 0
        for i in order:
            if n >= quota:
                break
            n += take(pool[i], "model", f"{shift}{pole:+d}")
    for (shift, pole), quota in phrase_q.items():
        rx = re.compile(r"\b(" + PHRASES[(shift, pole)] + r")", re.I)
        n = 0
        for r in pool:
            if n >= quota:
                break
            if rx.search(r["text"]):
                n += take(r, "phrase", f"{shift}{pole:+d}")
    if args.random_by_corpus:
        left = parse_quotas(args.random_by_corpus)
        for r in pool:
            corpus = r["source"].split(":")[0]
            if left.get(corpus, 0) > 0 and take(r, "random"):
                left[corpus] -= 1
    else:
        n = 0
        for r in pool:
            if n >= args.random:
                break
            n += take(r, "random")
    out = list(chosen.values())
    rng.shuffle(out)
    dest = Path(args.out_dir)
    write_batches(dest, out, args.per_batch)
    second = rng.sample(out, round(0.15 * len(out)))
    write_jsonl(dest / "second_pass.jsonl", [{"corpus_id": r["corpus_id"], "text": r["text"]} for r in second])
    by = {}
    for r in out:
        by[r["draw"]] = by.get(r["draw"], 0) + 1
    print(f"{len(out)} passages ({by}); second pass {len(second)}; pool {len(pool)}")


if __name__ == "__main__":
    main()

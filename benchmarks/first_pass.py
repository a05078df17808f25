"""kmlang.score against the bare tokenizer, on a first pass and warm (issue 13, item 7).

Usage: python benchmarks/first_pass.py [--n 10000]

spaCy caches each distinct word's lexeme, so a second pass over the same texts
is faster for both. This script measures, each in a fresh process on one core:

* first pass: ``spacy.blank("en")`` over N real passages it has not seen, and
  ``kmlang.score`` (default model, loaded and warmed on *other* passages first)
  over the same N passages;
* warm: the same call again over the same passages in the same process.

Tokenizer and scorer runs alternate, ``--repeat`` times each (fresh processes);
the table shows the best of them (this machine's speed varies by up to a third
from one run to the next). It prints words/s and the ratio of kmlang.score to
the tokenizer for both; the default path must stay at or above 0.6x on a first
pass and 0.5x warm.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time, os
sys.path.insert(0, {bench!r})
from speed import load_passages
n, which = int(sys.argv[1]), sys.argv[2]
texts = load_passages(n + 500)
warm, texts = texts[:500], texts[500:]
words = sum(len(t.split()) for t in texts)
if which == "tokenizer":
    import spacy
    nlp = spacy.blank("en")
    list(nlp.pipe(warm))
    run = lambda: [None for _ in nlp.pipe(texts, batch_size=256)]
else:
    import kmlang
    kmlang.score(warm, progress=False)
    run = lambda: kmlang.score(texts, progress=False)
out = []
for _ in range(2):
    t0 = time.perf_counter(); run(); out.append(words / (time.perf_counter() - t0))
print(json.dumps({{"first": out[0], "warm": out[1], "words": words}}))
"""


def measure(which: str, n: int) -> dict:
    code = CHILD.format(bench=str(REPO / "benchmarks"))
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", code, str(n), which], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs = {"tokenizer": [], "score": []}
    for _ in range(args.repeat):
        for which in runs:
            runs[which].append(measure(which, args.n))
    tok, km = ({k: max(r[k] for r in runs[w]) if k != "words" else runs[w][0][k] for k in runs[w][0]}
               for w in ("tokenizer", "score"))
    print(f"{args.n:,} real passages ({tok['words']:,} words), one process, fresh process per run; "
          f"best of {args.repeat} alternating runs\n")
    print("| | first pass words/s | warm words/s |")
    print("|---|---:|---:|")
    print(f"| spacy.blank('en') tokenizer | {tok['first']:,.0f} | {tok['warm']:,.0f} |")
    print(f"| kmlang.score (default model) | {km['first']:,.0f} | {km['warm']:,.0f} |")
    print(f"| ratio | {km['first'] / tok['first']:.2f}x | {km['warm'] / tok['warm']:.2f}x |")


if __name__ == "__main__":
    main()

"""Speed and memory of kmlang on real passages. Prints a Markdown table.

Usage:
    python benchmarks/speed.py [--n 20000] [--syntax-n 2000] [--stream]

Measures, on the same real passages from ../shared/corpora (after a warm-up):
(a) spacy.blank("en") alone, (b) kmlang.cues, (c) kmlang.score with the default
model, (d) kmlang.score with the syntax path (en_core_web_sm, on --syntax-n
passages since the parser is ~30x slower), each with n_process 1 and 2; the
peak resident memory of the process; and the ratio of (c) to (a).
With --stream it also runs `kmlang score` on files of 20,000 and 200,000
passages in subprocesses and compares their peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KMLANG_SHARED", REPO.parent / "shared"))


def load_passages(n: int) -> list[str]:
    texts: list[str] = []
    for name in ("stackexchange.jsonl", "r_mailing_lists.jsonl", "wikipedia_talk.jsonl", "reddit_ask.jsonl"):
        path = SHARED / "corpora" / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                texts.append(json.loads(line)["text"])
                if len(texts) >= n:
                    return texts
    if not texts:
        sys.exit(f"No corpora under {SHARED}: set KMLANG_SHARED")
    while len(texts) < n:
        texts += texts[: n - len(texts)]
    return texts


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, texts, n_words):
    fn(texts[:300])  # warm-up
    t0 = time.perf_counter()
    fn(texts)
    dt = time.perf_counter() - t0
    return n_words / dt, len(texts) / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--syntax-n", type=int, default=2000)
    ap.add_argument("--stream", action="store_true", help="also measure streaming memory (20k vs 200k)")
    ap.add_argument("--no-syntax", action="store_true")
    ap.add_argument("--stream-only", action="store_true", help="only the streaming memory comparison")
    args = ap.parse_args()
    if args.stream_only:
        stream_memory(load_passages(args.n))
        return

    import spacy

    import kmlang
    from kmlang.cues.nlp import load_nlp

    texts = load_passages(args.n)
    n_words = sum(len(t.split()) for t in texts)
    blank = spacy.blank("en")
    model = kmlang.load_model()
    rows = []

    def add(label, fn, tx, nw):
        for n_proc in (1, 2):
            wps, pps = timed(lambda x, p=n_proc: fn(x, p), tx, nw)
            rows.append((label, n_proc, len(tx), wps, pps, peak_mb()))
            print(f"  {label} n_process={n_proc}: {wps:,.0f} words/s", file=sys.stderr, flush=True)

    add("(a) spacy.blank('en')", lambda x, p: [d for d in blank.pipe(x, n_process=p, batch_size=1000)], texts, n_words)
    add("(b) kmlang.cues", lambda x, p: kmlang.cues(x, n_process=p, batch_size=1000), texts, n_words)
    add("(c) kmlang.score", lambda x, p: kmlang.score(x, model=model, n_process=p, batch_size=1000), texts, n_words)
    if not args.no_syntax:
        try:
            syn = load_nlp("en_core_web_sm")
        except OSError as e:
            print(f"  (d) skipped: {e}", file=sys.stderr)
        else:
            tx = texts[: args.syntax_n]
            nw = sum(len(t.split()) for t in tx)
            add("(d) kmlang.score, syntax path", lambda x, p: kmlang.score(x, model=model, nlp=syn, n_process=p,
                                                                            batch_size=200), tx, nw)

    print(f"\n{len(texts):,} real passages ({n_words:,} words) from {SHARED / 'corpora'}; "
          f"Python {sys.version.split()[0]}, spaCy {spacy.__version__}, {os.cpu_count()} cores\n")
    print("| pipeline | n_process | passages | words/s | passages/s | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, p, n, wps, pps, mb in rows:
        print(f"| {label} | {p} | {n:,} | {wps:,.0f} | {pps:,.0f} | {mb:,.0f} |")
    get = {(r[0][:3], r[1]): r[3] for r in rows}
    print(f"\n(c)/(a), one process: {get[('(c)', 1)] / get[('(a)', 1)]:.2f}x   "
          f"(c) two processes / one: {get[('(c)', 2)] / get[('(c)', 1)]:.2f}x")

    if args.stream:
        stream_memory(texts)


def stream_memory(texts: list[str]) -> None:
    """Peak memory of `kmlang score` streaming 20,000 vs 200,000 passages (fresh processes)."""
    with tempfile.TemporaryDirectory() as tmp:
        peaks = {}
        for n in (20000, 200000):
            src = Path(tmp) / f"in_{n}.jsonl"
            with src.open("w", encoding="utf-8") as fh:
                for i in range(n):
                    fh.write(json.dumps({"id": i, "text": texts[i % len(texts)]}) + "\n")
            # VmHWM (peak resident set of this process image): unlike ru_maxrss it is not
            # inherited from the (large) parent across fork + exec.
            code = ("from kmlang.io.stream import score_file; "
                    f"score_file({str(src)!r}, {str(Path(tmp) / f'out_{n}.csv')!r}, progress=False); "
                    "print([int(x.split()[1]) for x in open('/proc/self/status') "
                    "if x.startswith('VmHWM')][0] / 1024)")
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            peaks[n] = float(out.stdout.strip().splitlines()[-1])
            print(f"`kmlang score` streaming {n:,} passages: peak RSS {peaks[n]:,.0f} MB, "
                  f"{time.perf_counter() - t0:,.0f} s")
        print(f"peak(200k) / peak(20k): {peaks[200000] / peaks[20000]:.2f}x")


if __name__ == "__main__":
    main()

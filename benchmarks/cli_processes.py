"""`kmlang score` from the command line with --n-process 1 and 2 (issue 16, item 10).

Usage: python benchmarks/cli_processes.py [--n 20000] [--repeat 2]

Writes N real passages (R mailing lists, then the other corpora) to a JSONL
file, runs `kmlang score FILE -o OUT.csv --quiet --n-process K` for K = 1, 2
(alternating, best of --repeat), and the same on a 5-passage file to show the
fixed cost of starting the command (imports, model load). Prints wall-clock
seconds, the speed-up of two processes over one, and the speed-up of the
scoring part alone (wall time minus the start-up cost).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KMLANG_SHARED", REPO.parent / "shared"))
KMLANG = [sys.executable, "-m", "kmlang"]


def write_input(path: Path, n: int) -> None:
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for name in ("r_mailing_lists.jsonl", "stackexchange.jsonl", "wikipedia_talk.jsonl"):
            with (SHARED / "corpora" / name).open(encoding="utf-8") as fh:
                for line in fh:
                    r = json.loads(line)
                    out.write(json.dumps({"id": r["id"], "author": r.get("author"), "text": r["text"]}) + "\n")
                    written += 1
                    if written >= n:
                        return


def run(src: Path, out: Path, k: int) -> float:
    t = time.perf_counter()
    subprocess.run([*KMLANG, "score", str(src), "-o", str(out), "--quiet", "--n-process", str(k)],
                   check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src, tiny = tmp / "in.jsonl", tmp / "tiny.jsonl"
        write_input(src, args.n)
        write_input(tiny, 5)
        start = min(run(tiny, tmp / "t.csv", 1) for _ in range(args.repeat))
        best = {1: float("inf"), 2: float("inf")}
        for _ in range(args.repeat):
            for k in best:
                best[k] = min(best[k], run(src, tmp / f"o{k}.csv", k))
    print(f"`kmlang score` on {args.n:,} real passages, best of {args.repeat}; start-up {start:.1f} s\n")
    print("| --n-process | seconds | scoring part (s) |")
    print("|---:|---:|---:|")
    for k, s in best.items():
        print(f"| {k} | {s:.1f} | {s - start:.1f} |")
    print(f"\ntwo processes / one: {best[1] / best[2]:.2f}x overall, "
          f"{(best[1] - start) / (best[2] - start):.2f}x on the scoring part")


if __name__ == "__main__":
    main()

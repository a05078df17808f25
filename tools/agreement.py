"""Cohen's kappa between the first labels and the blind second pass (data/labelled/agreement/).

Usage: python tools/agreement.py [--disagreements OUT.jsonl]
Prints kappa and raw agreement per shift and for overall, per part (authored, real).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kmlang.shifts import SHIFT_IDS, TARGETS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / "data" / "labelled"


def load(pattern: str, key: str) -> dict[str, dict]:
    out = {}
    for f in sorted(ROOT.glob(pattern)):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out[r[key]] = r
    return out


def flat(r: dict) -> dict[str, int]:
    d = {s: int(r["labels"][s]) for s in SHIFT_IDS}
    d["overall"] = int(r["overall"])
    return d


def table() -> dict[str, dict[str, dict[str, float]]]:
    parts = {
        "authored": (load("authored_*.jsonl", "id"), load("agreement/authored_second_*.jsonl", "id")),
        "real": (load("real_*.jsonl", "corpus_id"), load("agreement/real_second_*.jsonl", "corpus_id")),
    }
    res = {}
    for part, (first, second) in parts.items():
        keys = [k for k in second if k in first]
        res[part] = {"n": len(keys)}
        for t in TARGETS:
            a = [flat(first[k])[t] for k in keys]
            b = [flat(second[k])[t] for k in keys]
            same = sum(x == y for x, y in zip(a, b)) / max(len(keys), 1)
            kappa = cohen_kappa_score(a, b, labels=[-1, 0, 1]) if len(set(a) | set(b)) > 1 else 1.0
            res[part][t] = {"kappa": round(float(kappa), 3), "agreement": round(same, 3)}
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = table()
    if args.json:
        print(json.dumps(res, indent=1))
        return
    for part, rows in res.items():
        print(f"{part}: {rows['n']} passages double-labelled")
        for t in TARGETS:
            print(f"  {t:12s} kappa {rows[t]['kappa']:6.3f}  agreement {rows[t]['agreement']:.3f}")


if __name__ == "__main__":
    main()

"""Print the counts reported in data/README.md (cells, registers, splits, sources, tags).

Usage: python tools/data_stats.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kmlang.shifts import SHIFT_IDS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / "data" / "labelled"


def records(pattern: str) -> list[dict]:
    return [json.loads(x) for f in sorted(ROOT.glob(pattern))
            for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]


def main() -> None:
    parts = {"authored": records("authored_*.jsonl"), "real": records("real_*.jsonl"),
             "contrast": records("contrast_*.jsonl")}
    print("| shift | authored -1 | authored +1 | authored 0 share | real -1 | real +1 | pairs -1 | pairs +1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in SHIFT_IDS:
        a, r, c = parts["authored"], parts["real"], parts["contrast"]
        print(f"| {s} | {sum(x['labels'][s] == -1 for x in a)} | {sum(x['labels'][s] == 1 for x in a)} | "
              f"{sum(x['labels'][s] == 0 for x in a) / len(a):.0%} | {sum(x['labels'][s] == -1 for x in r)} | "
              f"{sum(x['labels'][s] == 1 for x in r)} | {sum(x['labels'][s] == -1 for x in c)} | "
              f"{sum(x['labels'][s] == 1 for x in c)} |")
    for name, recs in parts.items():
        print(f"\n{name}: {len(recs)} passages")
        print("  overall:", dict(sorted(Counter(x["overall"] for x in recs).items())))
        neutral = sum(all(v == 0 for v in x["labels"].values()) for x in recs) / len(recs)
        print("  neutral on every shift:", f"{neutral:.1%}")
        print("  split:", dict(Counter(x["split"] for x in recs)))
        print("  register:", dict(Counter(x["register"] for x in recs).most_common()))
        if name == "real":
            print("  source:", dict(Counter(x["source"].split(":")[0] for x in recs).most_common()))
            print("  draw:", dict(Counter(x["draw"] for x in recs)))
        elif name == "contrast":
            pairs = {x["pair_id"]: x for x in recs}
            print("  pairs:", len(pairs), "; per tag:",
                  dict(Counter(t for x in pairs.values() for t in x["tags"] if t != "contrast").most_common()))
        else:
            tags = Counter(t for x in recs for t in x.get("tags", []))
            print("  tagged passages:", sum(bool(x.get("tags")) for x in recs))
            print("  tags:", dict(tags.most_common()))
        print("  adjudicated:", sum(bool(x.get("adjudicated")) for x in recs))


if __name__ == "__main__":
    main()

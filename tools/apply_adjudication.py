"""Write the adjudicator's decisions (data/labelled/agreement/adjudicated.jsonl) into the label files.

The adjudicator read each passage where the blind second pass disagreed with the
first labels and decided by the guide; this script only copies those decisions
into the primary records (marking them ``"adjudicated": true``).
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "data" / "labelled"


def main() -> None:
    decisions = {}
    for line in (ROOT / "agreement" / "adjudicated.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            decisions[r["id"]] = r
    changed = 0
    for f in sorted(ROOT.glob("*.jsonl")):
        recs = [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]
        for r in recs:
            d = decisions.get(r["id"])
            if d is None:
                continue
            if r["labels"] != d["labels"] or r["overall"] != d["overall"]:
                changed += 1
            r["labels"], r["overall"], r["adjudicated"] = d["labels"], d["overall"], True
        f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    print(f"{len(decisions)} decisions, {changed} records changed")


if __name__ == "__main__":
    main()

"""Cohen's kappa between the first labels and the blind second pass (data/labelled/agreement/).

The first annotator's labels, as they were before adjudication, are kept in
``agreement/first_pass.jsonl``; the blind second pass in ``agreement/*_second_*.jsonl``
(for audit 6: the audit's labels in ``agreement/audit_first_0.jsonl`` and the blind second
pass in ``agreement/audit_second_0.jsonl``).

Usage: python tools/agreement.py [--json]
Prints kappa, raw agreement and pole-F1 (the first labels as reference; F1 of a pole is
symmetric in the two readers, only the rule of at least 5 labels per pole reads the first)
per shift and for overall, per part (authored, real, audit 6, contrastive sets), and the
mean pole-F1 over the shifts that part holds at least 5 times per pole: the same measure as
the model's pole-F1, so the readers' figure is the ceiling a model of these labels can reach.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kmlang.model.evaluation import pole_f1  # noqa: E402
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
    first_labels = load("agreement/first_pass.jsonl", "id")  # first labels of every double-labelled passage
    real_first = {r["corpus_id"]: r for r in first_labels.values() if "corpus_id" in r}
    draws = {"fifth": 8, "sixth": 9, "seventh": 10, "eighth": 11}  # real draw -> its second-pass file
    parts = {
        "authored": (first_labels, load("agreement/authored_second_*.jsonl", "id")),
        "real": (real_first, load("agreement/real_second_*.jsonl", "corpus_id")),
        **{f"real, {name} draw": (real_first, load(f"agreement/real_second_{n}.jsonl", "corpus_id"))
           for name, n in draws.items()},
        # audit 6 (session 7): the audit's labels (before adjudication) against a blind second pass
        "real, audit 6": (load("agreement/audit_first_0.jsonl", "corpus_id"),
                          load("agreement/audit_second_0.jsonl", "corpus_id")),
        "contrastive pairs, set C": (first_labels, load("agreement/contrast_second_0.jsonl", "id")),
        "contrastive pairs, set D": (first_labels, load("agreement/contrast_second_1.jsonl", "id")),
        "contrastive pairs, set E": (first_labels, load("agreement/contrast_second_2.jsonl", "id")),
        "contrastive pairs, set F": (first_labels, load("agreement/contrast_second_3.jsonl", "id")),
    }
    res = {}
    for part, (first, second) in parts.items():
        keys = [k for k in second if k in first]
        res[part] = {"n": len(keys)}
        for t in TARGETS:
            a = [flat(first[k])[t] for k in keys]
            b = [flat(second[k])[t] for k in keys]
            same = sum(x == y for x, y in zip(a, b, strict=True)) / max(len(keys), 1)
            # kappa is undefined when both annotators used one label only (all neutral): None
            kappa = cohen_kappa_score(a, b, labels=[-1, 0, 1]) if len(set(a) | set(b)) > 1 else None
            pf = pole_f1(a, b)
            res[part][t] = {"kappa": None if kappa is None else round(float(kappa), 3), "agreement": round(same, 3),
                            "pole_f1": None if pf is None else round(pf, 3)}
        measured = [res[part][t]["pole_f1"] for t in SHIFT_IDS if res[part][t]["pole_f1"] is not None]
        res[part]["mean_shift_pole_f1"] = round(sum(measured) / len(measured), 3) if measured else None
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
            k = rows[t]["kappa"]
            pf = rows[t]["pole_f1"]
            print(f"  {t:12s} kappa {'n/a' if k is None else f'{k:.3f}':>6s}  agreement {rows[t]['agreement']:.3f}"
                  f"  pole-F1 {'n/a' if pf is None else f'{pf:.3f}':>6s}")
        m = rows["mean_shift_pole_f1"]
        print(f"  {'mean shift':12s} pole-F1 {'n/a' if m is None else f'{m:.3f}'}")


if __name__ == "__main__":
    main()

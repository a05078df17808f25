"""How far thresholds alone could take a model on a labelled set: per pole, the AUC of its
probability and the F1 of the model's labels against the best F1 any single threshold on that
probability reaches *on this same set* (an optimistic ceiling, chosen on the answers).

A pole whose best-threshold F1 stays low is limited by the model's ranking, not by its
thresholds. Poles with at least 5 gold labels, as for pole-F1.

Usage: python tools/ranking_ceiling.py [EVAL.jsonl] [--model DIR]
(default: ../shared/dev/dev.jsonl and the packaged model)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kmlang.model.evaluation import MIN_POLE_SUPPORT, load_eval_set  # noqa: E402
from kmlang.model.persist import load_model  # noqa: E402

#: The shared dev set beside the repository (``../shared/dev/dev.jsonl``).
DEV = Path(__file__).resolve().parents[2] / "shared" / "dev" / "dev.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval", nargs="?", default=str(DEV))
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    model = load_model(args.model)
    frame = load_eval_set(args.eval).reset_index(drop=True)
    proba = model.predict_proba(frame["text"].tolist())
    labels = model.decide(proba)
    print(f"{len(frame)} passages of {args.eval}\n")
    print("| pole | gold | AUC | labelled | F1 | best-threshold F1 (on this set) |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in model.targets_:
        gold = frame[t].astype(int).to_numpy()
        for pole, col in ((1, 2), (-1, 0)):
            y = gold == pole
            if y.sum() < MIN_POLE_SUPPORT:
                continue
            p = proba[t][:, col]
            best = max(f1_score(y, p >= c, zero_division=0) for c in np.unique(p))
            print(f"| {t} {pole:+d} | {int(y.sum())} | {roc_auc_score(y, p):.3f} | {int((labels[t] == pole).sum())} "
                  f"| {f1_score(y, labels[t] == pole, zero_division=0):.3f} | {best:.3f} |")


if __name__ == "__main__":
    main()

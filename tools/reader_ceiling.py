"""How far this project's labelling process and its model each stand from the evaluation set's readers.

``data/reader_check/dev_labels.jsonl`` holds labels that this project's annotation process
(the same brief and guide lines as the training labels, ``data/reader_check/BRIEF.md``) gave
to the dev passages blind: ids and labels only, no text; nothing trains on them. Against the
evaluation set's gold labels this prints, per target, pole-F1 of those labels (how far a
perfect model *of the training labels* could get), of the model, and of the model against
those labels (how well the model learned the training labels' reading), with the mean over
the shifts measured on the gold labels (at least 5 per pole, as for pole-F1; in the third
column a shift whose poles the readers' labels hold fewer than 5 times counts 0).

Usage: python tools/reader_ceiling.py [EVAL.jsonl] [--readers FILE] [--model DIR]
(default: ../shared/dev/dev.jsonl, the file above and the packaged model)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ranking_ceiling import DEV  # noqa: E402  (tools/, the script's own folder)

from kmlang.model.evaluation import load_eval_set, pole_f1, predict_labels  # noqa: E402
from kmlang.model.labelled import label_frame, read_label_file  # noqa: E402
from kmlang.model.persist import load_model  # noqa: E402
from kmlang.shifts import SHIFT_IDS, TARGETS  # noqa: E402


def load_readers(path: str | Path) -> pd.DataFrame:
    """The readers' labels, one column per target, indexed by id (checked as any label file)."""
    return label_frame(read_label_file(path)).set_index("id")


def table(frame, readers: pd.DataFrame, pred) -> dict[str, dict]:
    """Per target: gold and readers' non-zero counts and the three pole-F1 figures (None: not measured)."""
    missing = frame.loc[~frame["id"].isin(readers.index), "id"].tolist()
    if missing:
        raise ValueError(f"{len(missing)} evaluation passages have no readers' labels (first: {missing[0]})")
    res = {}
    for t in TARGETS:
        gold = frame[t].astype(int).tolist()
        ours = readers.loc[frame["id"], t].astype(int).tolist()
        model = pred[t].astype(int).tolist()
        res[t] = {"gold": sum(g != 0 for g in gold), "readers": sum(o != 0 for o in ours),
                  "readers_vs_gold": pole_f1(gold, ours), "model_vs_gold": pole_f1(gold, model),
                  "model_vs_readers": pole_f1(ours, model)}
    measured = [t for t in SHIFT_IDS if res[t]["readers_vs_gold"] is not None]
    res["mean_shift"] = {k: sum(res[t][k] or 0.0 for t in measured) / len(measured) if measured else None
                         for k in ("readers_vs_gold", "model_vs_gold", "model_vs_readers")}
    res["mean_shift"]["over"] = measured
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval", nargs="?", default=str(DEV))
    ap.add_argument("--readers", default=str(ROOT / "data/reader_check/dev_labels.jsonl"))
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    frame = load_eval_set(args.eval).reset_index(drop=True)
    if "id" not in frame:
        raise SystemExit(f"{args.eval}: records need an 'id' to match the readers' labels")
    pred = predict_labels(load_model(args.model), frame["text"].tolist())
    res = table(frame, load_readers(args.readers), pred)

    def f(x):
        return "–" if x is None else f"{x:.3f}"

    print(f"{len(frame)} passages of {args.eval}\n")
    print("| target | gold labels | project readers' labels | project readers vs gold | model vs gold "
          "| model vs project readers |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in TARGETS:
        r = res[t]
        print(f"| {t} | {r['gold']} | {r['readers']} | {f(r['readers_vs_gold'])} | {f(r['model_vs_gold'])} "
              f"| {f(r['model_vs_readers'])} |")
    m = res["mean_shift"]
    print(f"| mean_shift | | | {f(m['readers_vs_gold'])} | {f(m['model_vs_gold'])} | {f(m['model_vs_readers'])} |")
    print(f"\nmean over: {', '.join(m['over'])}")


if __name__ == "__main__":
    main()

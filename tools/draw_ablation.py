"""What does each addition of labelled data bring? Train step by step; score on held-out sets.

Draws: real_00-15 are the first two draws, real_16-23 the third, real_24-31 the
fourth, real_32-42 the fifth (uncertainty and phrase enrichment for the thin
cells), real_43-50 the sixth (model-chosen candidates for the thin cells),
real_51-57 the seventh (model-chosen), real_58-69 the eighth (at random); the
contrastive pairs are ``contrast_*.jsonl`` (see data/README.md). For each step
this trains the default model on the train split of the authored files plus the
files of that step, then scores it on the passages no step ever trains on: the
shared dev set and the test split of the first four draws.

Usage: python tools/draw_ablation.py [--dev ../shared/dev/dev.jsonl]
Prints overall and mean-shift pole-F1 (and macro-F1) per step and set (a few minutes per step).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from kmlang.model.evaluation import load_eval_set, macro_f1_table, pole_f1_table  # noqa: E402
from kmlang.model.labelled import load_labelled  # noqa: E402
from kmlang.model.train import train  # noqa: E402

#: step -> (real_NN files below this number, with the contrastive pairs?)
STEPS = {"4 draws": (32, False), "5 draws": (43, False), "6 draws": (51, False), "6 draws + pairs": (51, True),
         "7 draws + pairs": (58, True), "8 draws + pairs": (70, True)}


def _files(last: int, pairs: bool) -> list[Path]:
    data = ROOT / "data" / "labelled"
    out = sorted(data.glob("authored_*.jsonl")) + [data / f"real_{i:02d}.jsonl" for i in range(last)
                                                     if (data / f"real_{i:02d}.jsonl").exists()]
    return out + (sorted(data.glob("contrast_*.jsonl")) if pairs else [])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", default=str(ROOT.parent / "shared" / "dev" / "dev.jsonl"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "first"
        first.mkdir()
        for f in _files(32, False):
            (first / f.name).symlink_to(f)
        held = load_labelled(first, split="test", kind="real")
        dev = load_eval_set(args.dev)
        sets = {"dev": dev, "test of draws 1-4": held, "both": pd.concat([dev, held], ignore_index=True)}
        print(f"held-out sets: dev {len(dev)}, test of draws 1-4 {len(held)} passages")
        for step, (last, pairs) in STEPS.items():
            d = Path(tmp) / step.replace(" ", "_").replace("+", "plus")
            d.mkdir()
            for f in _files(last, pairs):
                (d / f.name).symlink_to(f)
            model, card = train(d, baselines=False)
            out = []
            for name, frame in sets.items():
                pred = model.predict(frame["text"].tolist())
                p, m = pole_f1_table(frame, pred), macro_f1_table(frame, pred)
                out.append(f"{name} pole {p['overall']:.3f} / {p['mean_shift']:.3f} "
                           f"(macro {m['overall']:.3f} / {m['mean_shift']:.3f})")
            print(f"{step} ({card['training_data']['n_train_real']:,} real training passages, "
                  f"behaviour failures {card['behaviour']['ALL']['failure_rate']:.1%}): " + "; ".join(out),
                  flush=True)


if __name__ == "__main__":
    main()

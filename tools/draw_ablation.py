"""Does more real labelled data help? Train with the first 2, 3 and 4 draws; score on held-out sets.

Draws: real_00-15 are the first two draws, real_16-23 the third, real_24-31 the
fourth (see data/README.md). For each step this trains the default model on
the train split of the authored files plus the real files of the draws so far,
then scores it on the passages no step ever trains on: the shared dev set and
the test split of the first two draws (645 real passages).

Usage: python tools/draw_ablation.py [--dev ../shared/dev/dev.jsonl]
Prints overall and mean-shift macro-F1 per step and set (a few minutes per step).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from kmlang.model.evaluation import load_eval_set, macro_f1_table  # noqa: E402
from kmlang.model.labelled import load_labelled  # noqa: E402
from kmlang.model.train import train  # noqa: E402

STEPS = {"2 draws": 16, "3 draws": 24, "4 draws": 32}  # real_NN files below this number


def _files(last: int) -> list[Path]:
    data = ROOT / "data" / "labelled"
    return sorted(data.glob("authored_*.jsonl")) + [data / f"real_{i:02d}.jsonl" for i in range(last)
                                                      if (data / f"real_{i:02d}.jsonl").exists()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", default=str(ROOT.parent / "shared" / "dev" / "dev.jsonl"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "first"
        first.mkdir()
        for f in _files(16):
            (first / f.name).symlink_to(f)
        held = load_labelled(first, split="test", kind="real")
        dev = load_eval_set(args.dev)
        sets = {"dev": dev, "test of draws 1-2": held, "both": pd.concat([dev, held], ignore_index=True)}
        print(f"held-out sets: dev {len(dev)}, test of draws 1-2 {len(held)} passages")
        for step, last in STEPS.items():
            d = Path(tmp) / step.replace(" ", "_")
            d.mkdir()
            for f in _files(last):
                (d / f.name).symlink_to(f)
            model, card = train(d, baselines=False)
            out = []
            for name, frame in sets.items():
                t = macro_f1_table(frame, model.predict(frame["text"].tolist()))
                out.append(f"{name} {t['overall']:.3f} / {t['mean_shift']:.3f}")
            print(f"{step} ({card['training_data']['n_train_real']:,} real training passages): "
                  + "; ".join(out), flush=True)


if __name__ == "__main__":
    main()

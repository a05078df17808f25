"""Size and load time of the default model: skops (what kmlang ships) against a joblib pickle.

Usage: python benchmarks/model_io.py [--repeat 5]

Loads the default model directory with ``kmlang.model.persist`` (sha256 check,
type allow-list, skops) ``--repeat`` times, then the same model dumped with
joblib (compress=3) to a temporary file, and prints size and the best and
median load time of each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import joblib

from kmlang.model import persist


def timed(fn, repeat: int) -> tuple[float, float]:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts), statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    d = persist.default_model_dir()
    model = persist._load(d)
    model.__dict__.pop("card_", None)
    skops_best, skops_med = timed(lambda: persist._load(d), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "model.joblib"
        joblib.dump(model, f, compress=3)
        jl_best, jl_med = timed(lambda: joblib.load(f), args.repeat)
        jl_size = f.stat().st_size
    print("| format | size (MB) | load, best (s) | load, median (s) |")
    print("|---|---:|---:|---:|")
    print(f"| skops + checks (shipped) | {(d / persist.MODEL_FILE).stat().st_size / 1e6:.1f} | "
          f"{skops_best:.3f} | {skops_med:.3f} |")
    print(f"| joblib pickle, compress=3 | {jl_size / 1e6:.1f} | {jl_best:.3f} | {jl_med:.3f} |")


if __name__ == "__main__":
    main()

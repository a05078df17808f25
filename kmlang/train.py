"""Training the default model from ``data/labelled`` and writing its card."""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .evaluation import BowBaseline, load_eval_set, macro_f1_table, pronoun_ratio_predict
from .labelled import data_dir, load_labelled
from .model import ShiftClassifier
from .shifts import TARGETS

__all__ = ["train", "data_hash", "DEFAULT_PARAMS"]

#: Hyper-parameters of the default model (chosen on the labelled test split and the shared dev set).
DEFAULT_PARAMS = {"C": 12.0, "cue_weight": 0.5, "ngram_range": (1, 2), "min_df": 3, "max_features": 40000,
                  "calibration": "vector", "thresholds": "cv", "threshold_cv": 4}


def data_hash(path: str | Path) -> str:
    """sha256 over the labelled files (names and bytes, sorted by name)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.glob("*.jsonl"))
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _display(path: Path) -> str:
    """A path relative to the working directory when below it (cards should not leak home folders)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _metrics(model, frame: pd.DataFrame) -> dict[str, float]:
    if frame.empty:
        return {}
    r = macro_f1_table(frame.reset_index(drop=True), model.predict(frame["text"].tolist()))
    return {k: round(float(v), 3) for k, v in r.items()}


def train(data: str | Path | None = None, *, extra: list[str | Path] = (), shipped: bool = True, seed: int = 0,
          nlp: str | None = None, dev: str | Path | None = None, params: dict | None = None,
          baselines: bool = True) -> tuple[ShiftClassifier, dict]:
    """Fit a :class:`ShiftClassifier` on the ``train`` split; return ``(model, card)``.

    The card holds the training-data hash, counts, parameters, the command, and
    macro-F1 on the ``test`` split (real and authored passages separately) and,
    when ``dev`` (a labelled JSONL such as ``../shared/dev/dev.jsonl``) is given,
    on that set too, beside the baselines. ``dev`` is only evaluated on, never
    trained on. ``extra`` label files (the guide's format, e.g. completed
    ``kmlang suggest`` output) are added to the training data (rows without a
    ``split`` train); ``shipped=False`` trains on the extra files alone.
    """
    data = Path(data) if data is not None else data_dir()
    frames = [load_labelled(data)] if shipped else []
    for f in extra:
        ef = load_labelled(f)
        ef["split"] = ef["split"].fillna("train") if "split" in ef else "train"
        frames.append(ef)
    if not frames:
        raise ValueError("Nothing to train on: give label files or keep the shipped data")
    df = pd.concat(frames, ignore_index=True)
    tr = df[df["split"] == "train"].reset_index(drop=True)
    te = df[df["split"] == "test"].reset_index(drop=True)
    real = (tr["kind"] == "real").to_numpy()
    p = dict(DEFAULT_PARAMS, **(params or {}))
    model = ShiftClassifier(nlp=nlp, random_state=seed, **p)
    t0 = time.time()
    model.fit(tr["text"].tolist(), tr, tune_mask=real if real.any() else None)
    fit_seconds = time.time() - t0
    card = {
        "name": "kmlang-default",
        "training_data": {"path": _display(data) if shipped else None,
                          "sha256": data_hash(data) if shipped else None,
                          "extra": [{"path": _display(Path(f)), "sha256": data_hash(f)} for f in extra],
                          "n_train": int(len(tr)),
                          "n_train_real": int(real.sum()), "n_train_authored": int((~real).sum()),
                          "corpora_present": bool((df["kind"] == "real").any())},
        "command": " ".join(["kmlang", "train", *sys.argv[2:]]) if sys.argv[1:2] == ["train"] else "kmlang.train()",
        "seed": seed,
        "fit_seconds": round(fit_seconds, 1),
        "thresholds": {t: list(v) for t, v in model.thresholds_.items()},
        "metrics": {"test_real": _metrics(model, te[te["kind"] == "real"]),
                    "test_authored": _metrics(model, te[te["kind"] == "authored"])},
        "metric": "macro-F1 per target (scikit-learn default: over the classes present in truth or prediction); "
                  "mean_shift is the mean over the eleven shifts",
    }
    if dev is not None and Path(dev).is_file():
        dv = load_eval_set(dev)
        card["metrics"]["dev"] = _metrics(model, dv)
        card["dev_path"] = _display(Path(dev))
        if baselines:
            zero = pd.DataFrame({t: np.zeros(len(dv), int) for t in TARGETS})
            bow = BowBaseline().fit(tr["text"], tr)
            card["baselines_dev"] = {
                "always_neutral": {k: round(float(v), 3) for k, v in macro_f1_table(dv, zero).items()},
                "pronoun_ratio": {k: round(float(v), 3) for k, v in
                                  macro_f1_table(dv, pronoun_ratio_predict(dv["text"])).items()},
                "bow_logreg_same_train": {k: round(float(v), 3) for k, v in
                                          macro_f1_table(dv, bow.predict(dv["text"])).items()},
            }
    return model, card

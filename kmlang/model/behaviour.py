"""The behavioural suite: CheckList-style probes of what the model must get right.

Probes (Ribeiro et al., 2020) are data, ``kmlang/data/behaviour.jsonl``, written
for this project by reading the annotation guide; where the guide does not
decide a target, a probe leaves it out. Three types:

* ``mft`` (minimum functionality): a passage and the labels it must get
  (``expect``: target -> -1/0/+1). Fails when any expected label differs.
* ``inv`` (invariance): a passage and a variant whose edit (a name, a number,
  casing, a typo, a greeting or signature) does not change the stance; fails
  when the label of any of ``targets`` differs between the two.
* ``dir`` (directional): a passage and an edited variant whose position on
  ``target`` must move ``up`` (toward +1) or ``down``; fails unless it moves
  that way by at least :data:`DIR_MIN_MOVE`, or the variant already sits beyond
  :data:`DIR_SATURATED` on that side and did not move back.

The probes are never trained on. ``kmlang check`` prints the failure rate per
capability; the test suite keeps the overall rate under a recorded ceiling.
"""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import pandas as pd

from kmlang.shifts import TARGETS

__all__ = ["load_probes", "run_probes", "failure_table", "DIR_MIN_MOVE", "DIR_SATURATED"]

#: A directional probe passes when the position moves the stated way by at least this much...
DIR_MIN_MOVE = 0.02
#: ...or the variant's position is already beyond this on the stated side (and did not move back).
DIR_SATURATED = 0.9
_TYPES = {"mft", "inv", "dir"}


def load_probes(path=None) -> list[dict]:
    """The probes (default: the packaged suite), validated."""
    src = files("kmlang") / "data" / "behaviour.jsonl" if path is None else path
    text = src.read_text(encoding="utf-8") if hasattr(src, "read_text") else open(src, encoding="utf-8").read()
    probes = [json.loads(line) for line in text.splitlines() if line.strip()]
    for p in probes:
        if p.get("type") not in _TYPES:
            raise ValueError(f"probe {p.get('id')!r}: type must be one of {sorted(_TYPES)}")
        wanted = (p.get("expect") or {}) if p["type"] == "mft" else (
            dict.fromkeys(p.get("targets") or TARGETS, 0) if p["type"] == "inv" else {p["target"]: 0})
        bad = [t for t in wanted if t not in TARGETS]
        if bad:
            raise ValueError(f"probe {p['id']!r}: unknown targets {bad}")
    return probes


def run_probes(model=None, probes: list[dict] | None = None, *, nlp=None) -> pd.DataFrame:
    """One row per probe: ``id``, ``capability``, ``type``, ``passed`` and ``detail``."""
    from kmlang.model.scoring import score

    probes = load_probes() if probes is None else probes
    texts = [p["text"] for p in probes] + [p.get("variant") or "" for p in probes]
    scored = score(pd.Series(texts, dtype=object), model=model, nlp=nlp, progress=False)
    n = len(probes)
    a, b = scored.iloc[:n].reset_index(drop=True), scored.iloc[n:].reset_index(drop=True)
    rows = []
    for i, p in enumerate(probes):
        kind = p["type"]
        if kind == "mft":
            wrong = {t: (int(a.at[i, f"{t}_label"]), v) for t, v in p["expect"].items()
                     if int(a.at[i, f"{t}_label"]) != v}
            passed, detail = not wrong, "; ".join(f"{t}: got {g:+d}, expected {e:+d}" for t, (g, e) in wrong.items())
        elif kind == "inv":
            targets = p.get("targets") or list(TARGETS)
            wrong = {t: (int(a.at[i, f"{t}_label"]), int(b.at[i, f"{t}_label"])) for t in targets
                     if int(a.at[i, f"{t}_label"]) != int(b.at[i, f"{t}_label"])}
            passed, detail = not wrong, "; ".join(f"{t}: {x:+d} -> {y:+d}" for t, (x, y) in wrong.items())
        else:
            t, sign = p["target"], (1 if p["direction"] == "up" else -1)
            x, y = float(a.at[i, t]), float(b.at[i, t])
            move = (y - x) * sign
            passed = bool(move >= DIR_MIN_MOVE or (y * sign >= DIR_SATURATED and move >= -0.01))
            detail = "" if passed else f"{t}: {x:+.2f} -> {y:+.2f}, expected {p['direction']}"
        rows.append({"id": p["id"], "capability": p["capability"], "type": kind, "passed": bool(passed),
                     "detail": detail})
    return pd.DataFrame(rows)


def failure_table(results: pd.DataFrame) -> pd.DataFrame:
    """Probes and failure rate per capability, plus an ``ALL`` row."""
    g = results.groupby("capability")["passed"].agg(probes="size", failed=lambda s: int((~s).sum()))
    g.loc["ALL"] = [len(results), int((~results["passed"]).sum())]
    g["failure_rate"] = np.round(g["failed"] / g["probes"].clip(lower=1), 3)
    return g.astype({"probes": int, "failed": int})

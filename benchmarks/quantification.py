"""Corrected shares against naive counting, on real passages no model was trained on (issue 15).

Usage: python benchmarks/quantification.py [--model DIR] [--n 400] [--reps 50] [--splits 10] [--detail] [--write]

``--write`` stores the three tables in the model's ``card.json`` (``shares_benchmark``, re-hashed in
its manifest): the one place the figures quoted in the README, the model card, ``docs/shares.md``
and the report come from (``python tools/card_tables.py`` prints them; ``tests/test_docs.py``
checks the quotes).

The pool: the labelled real *test* passages drawn at random (never trained on;
passages chosen by the model or by phrases are left out, as their error rates
are not those of text as it comes). They are scored once with the model. The
shipped model takes its error rates from this same pool, so the benchmark
cross-fits: the pool is split in two halves by thread (``--splits`` different
random splits); the error rates come from one half and the samples are drawn
from the other, then the halves swap. A second table holds each community
(corpus) out in turn: error rates from the other communities, samples from the
held-out one, as a user meets kmlang on a community it has never seen. For each pole of each target with at least
8 gold passages in the sampled half and usable error rates in the other (8 gold
passages there too: half of :data:`kmlang.model.quantify.MIN_GOLD`, as the half
is half the size), and for each prevalence 1%, 3%, 10% and 30%, ``--reps``
samples of ``--n`` passages are drawn with that share of the pole (passages of
the pole and others with replacement), so the true share is known. Printed per
prevalence, averaged over poles and splits: the mean absolute error of each
method (percentage points) and how often its 95% interval covered the truth (the
unadjusted methods' intervals cover sampling only). Half-size error samples make
the corrected estimates noisier than with the shipped model's whole sample.
The held-out tables are printed twice: with the default intervals, and with
``communities=True`` intervals that add the between-community variation of the
error rates (``aggregate(share_communities=True)``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PREVALENCES = (0.01, 0.03, 0.10, 0.30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model directory (default: the packaged model)")
    ap.add_argument("--n", type=int, default=400, help="passages per sample")
    ap.add_argument("--reps", type=int, default=50, help="samples per pole, prevalence and half")
    ap.add_argument("--splits", type=int, default=10, help="random splits of the pool into halves")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--detail", action="store_true", help="also print one row per pole")
    ap.add_argument("--write", action="store_true",
                    help="store the tables in the model's card.json (shares_benchmark)")
    args = ap.parse_args()

    from kmlang.model.labelled import load_labelled
    from kmlang.model.persist import load_model
    from kmlang.model.quantify import DEFAULT_METHOD, METHODS, MIN_GOLD, ErrorModel

    t0 = time.time()
    model = load_model(args.model)
    pool = load_labelled(split="test", kind="real")
    pool = pool[pool["text"].notna() & (pool["draw"] == "random")].reset_index(drop=True)
    targets = list(model.targets_)
    proba = model.predict_proba(pool["text"].tolist())
    labels = model.decide(proba)
    gold = pool[targets].to_numpy(dtype=int)
    P = np.stack([proba[t] for t in targets], axis=1)
    L = np.column_stack([labels[t] for t in targets])
    docs = pool["doc_id"].astype(str).to_numpy()
    community = pool["source"].fillna("").astype(str).str.split(":").str[0].to_numpy()
    min_gold = math.ceil(MIN_GOLD / 2)
    print(f"Pool: {len(pool):,} real test passages drawn at random, scored in {time.time() - t0:.0f} s; "
          f"{args.splits} splits into halves by thread, samples of {args.n} passages, "
          f"{args.reps} per pole, prevalence and half.\n")

    rng = np.random.default_rng(args.seed)
    splits = []
    for split in range(args.splits):
        half = np.array([zlib.crc32(f"{d}|{args.seed}|{split}".encode()) % 2 for d in docs])
        splits += [(split, half == a, half != a) for a in (0, 1)]
    loso = [(i, community != c, community == c) for i, c in enumerate(np.unique(community))]
    tables = {}
    for key, title, plan, gold_min, by_community in (
            ("same_mix", "Halves of the pool (the same mix of communities)", splits, min_gold, False),
            ("held_out", "Each community held out in turn", loso, MIN_GOLD, False),
            ("held_out_communities", "Each community held out in turn, intervals with communities=True",
             loso, MIN_GOLD, True)):
        print(f"## {title}\n")
        tables[key] = _run(plan, gold, P, L, targets, args, rng, gold_min, min_gold, DEFAULT_METHOD,
                           METHODS, ErrorModel, community if by_community else None)
    if args.write:
        from kmlang.model.persist import default_model_dir, update_card
        from kmlang.model.quantify import community_means

        where = Path(args.model) if args.model else default_model_dir()
        update_card(where, {"shares_benchmark": {
            "command": "python benchmarks/quantification.py --write",
            "pool": int(len(pool)), "n": args.n, "reps": args.reps, "splits": args.splits,
            "seed": args.seed, "prevalences": list(PREVALENCES), "default_method": DEFAULT_METHOD,
            "tables": tables, "community_mean_proba": {"overall+1": community_means(model)}}})
        print(f"Wrote shares_benchmark into {where / 'card.json'}")


def _run(plan, gold, P, L, targets, args, rng, gold_min, sample_min, default_method, methods, error_model_cls,
         community):
    results: dict = {}
    poles_seen: dict = {}
    for split, fit, test in plan:
        em = error_model_cls(gold[fit], P[fit], L[fit], targets, n_boot=500, random_state=split,
                             min_gold=gold_min, groups=None if community is None else community[fit])
        for j, t in enumerate(targets):
            for pole in (1, -1):
                is_pole = np.flatnonzero(test & (gold[:, j] == pole))
                other = np.flatnonzero(test & (gold[:, j] != pole))
                if len(is_pole) < sample_min or not em.rates(t, pole, default_method).usable:
                    continue
                name = f"{t}{'+1' if pole == 1 else '-1'}"
                poles_seen[name] = poles_seen.get(name, 0) + 1
                col = 2 if pole == 1 else 0
                score = {"cc": (L[:, j] == pole).astype(float), "acc": (L[:, j] == pole).astype(float),
                         "pcc": P[:, j, col], "pacc": P[:, j, col]}
                for prev in PREVALENCES:
                    k = int(round(prev * args.n))
                    idx = np.concatenate([rng.choice(is_pole, size=(args.reps, k)),
                                          rng.choice(other, size=(args.reps, args.n - k))], axis=1)
                    truth = k / args.n
                    for m in methods:
                        x = score[m][idx]
                        q, q_se = x.mean(axis=1), x.std(axis=1, ddof=1) / np.sqrt(args.n)
                        est, lo, hi = em.estimate(t, pole, q, q_se, m, n=args.n, random_state=split)
                        if np.isnan(est).all():
                            continue
                        err = np.abs(est - truth)
                        cov = (lo <= truth) & (truth <= hi)
                        results.setdefault((m, prev), []).append((err, cov))
                        results.setdefault((name, m, prev), []).append(err)

    print(f"Poles measured (times, of {len(plan)} fits): "
          + ", ".join(f"{k} ({v})" for k, v in sorted(poles_seen.items())) + "\n")
    table: dict = {"poles": dict(sorted(poles_seen.items())), "fits": len(plan), "methods": {}}
    print("| true share | " + " | ".join(f"{m} error" for m in methods) + " | "
          + " | ".join(f"{m} coverage" for m in methods) + " |")
    print("|" + "---|" * (1 + 2 * len(methods)))
    for prev in PREVALENCES:
        errs, covs = [], []
        for m in methods:
            got = results.get((m, prev), [])
            errs.append(100 * np.nanmean(np.concatenate([e for e, _ in got])) if got else np.nan)
            covs.append(100 * np.nanmean(np.concatenate([c for _, c in got])) if got else np.nan)
        print(f"| {prev:.0%} | " + " | ".join(f"{e:.1f} pp" for e in errs) + " | "
              + " | ".join(f"{c:.0f}%" for c in covs) + " |")
        for m, e, c in zip(methods, errs, covs, strict=True):
            entry = table["methods"].setdefault(m, {"error_pp": [], "coverage_pct": []})
            entry["error_pp"].append(None if np.isnan(e) else round(float(e), 1))
            entry["coverage_pct"].append(None if np.isnan(c) else round(float(c)))
    if args.detail:
        print("\nMean absolute error per pole (pp), cc / acc / pacc, at 1%, 3%, 10%, 30%:")
        for name in sorted(poles_seen):
            cells = []
            for prev in PREVALENCES:
                vals = [np.nanmean(np.concatenate(results[(name, m, prev)])) * 100
                        if (name, m, prev) in results else np.nan for m in ("cc", "acc", "pacc")]
                cells.append("/".join(f"{v:.1f}" for v in vals))
            print(f"  {name:14s} " + "   ".join(cells))
    print()
    return table


if __name__ == "__main__":
    main()

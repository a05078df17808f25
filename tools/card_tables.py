"""Print the model card's tables (Markdown) from a model's ``card.json``.

Every figure in ``models/README.md`` comes from here, and ``card.json`` comes
from ``kmlang train -o models/default --dev ../shared/dev/dev.jsonl`` and
``python benchmarks/quantification.py --write`` (both: ``make model``). The shares
tables are the ones in ``docs/shares.md``; ``tests/test_docs.py`` checks that the
documents quote these figures.

Usage: python tools/card_tables.py [models/default/card.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kmlang.shifts import TARGETS  # noqa: E402


def f(v, spec=".3f") -> str:
    return "\u2013" if v is None else format(v, spec)


def _pp(v) -> str:
    return "\u2013" if v is None else f"{v:.1f} pp"


def _pc(v) -> str:
    return "\u2013" if v is None else f"{v}%"


def shares_tables(card: dict) -> list[str]:
    """The rows of the two shares tables of ``docs/shares.md`` (Markdown), from the card's
    ``shares_benchmark``; empty when the card has none."""
    bench = card.get("shares_benchmark")
    if not bench:
        return []
    t, prev = bench["tables"], bench["prevalences"]
    same, held, comm = (t[k]["methods"] for k in ("same_mix", "held_out", "held_out_communities"))
    m = bench.get("default_method", "pacc")
    rows = [f"| true share | counting (cc) error | corrected ({m}) error | cc coverage | {m} coverage |",
            "|---|---:|---:|---:|---:|"]
    rows += [f"| {p:.0%} | {_pp(same['cc']['error_pp'][i])} | {_pp(same[m]['error_pp'][i])} | "
             f"{_pc(same['cc']['coverage_pct'][i])} | {_pc(same[m]['coverage_pct'][i])} |"
             for i, p in enumerate(prev)]
    rows += ["", "| true share | counting error | corrected error | counting coverage | corrected coverage | "
             "corrected coverage, `share_communities=True` |", "|---|---:|---:|---:|---:|---:|"]
    rows += [f"| {p:.0%} | {_pp(held['cc']['error_pp'][i])} | {_pp(held[m]['error_pp'][i])} | "
             f"{_pc(held['cc']['coverage_pct'][i])} | {_pc(held[m]['coverage_pct'][i])} | "
             f"{_pc(comm[m]['coverage_pct'][i])} |" for i, p in enumerate(prev)]
    return rows


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "models/default/card.json")
    card = json.loads(path.read_text(encoding="utf-8"))
    m, mm, gold = card["metrics"], card["metrics_macro_f1"], card["gold_labels"]
    base = card.get("baselines_dev", {})
    sets = [s for s in ("dev", "test_real", "test_contrast", "test_authored") if s in m]
    print("### Pole-F1 (gold labels behind each figure in brackets: non-zero gold labels of that target)\n")
    head = " | ".join([f"kmlang, {s}" for s in sets] + [f"{b}, dev" for b in base])
    print(f"| target | {head} |")
    print("|---|" + "---:|" * (len(sets) + len(base)))
    for t in (*TARGETS, "mean_shift"):
        cells = []
        for s in sets:
            n = gold[s].get(t) if t != "mean_shift" else None
            cells.append(f(m[s].get(t)) + (f" ({n})" if n is not None else ""))
        cells += [f(base[b].get(t)) for b in base]
        name = f"**{t}**" if t in ("overall", "mean_shift") else t
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\npassages: " + ", ".join(f"{s} {gold[s]['n']:,}" for s in sets))
    print("\n### Three-class macro-F1\n")
    print("| target | " + " | ".join(sets) + " |")
    print("|---|" + "---:|" * len(sets))
    for t in ("overall", "mean_shift"):
        print(f"| {t} | " + " | ".join(f(mm[s].get(t)) for s in sets) + " |")
    print("\n### Shortcuts (Spearman rho of the overall position, passages labelled neutral overall)\n")
    print("| set | neutral passages | rho with length | rho with rate of 'I' |")
    print("|---|---:|---:|---:|")
    for s, v in card.get("shortcuts", {}).items():
        print(f"| {s} | {v['n_neutral']} | {v['rho_length']:+.3f} | {v['rho_first_person_rate']:+.3f} |")
    print("\n### Behavioural suite (`kmlang check`)\n")
    print("| capability | probes | failed | failure rate |")
    print("|---|---:|---:|---:|")
    for cap, v in card.get("behaviour", {}).items():
        name = f"**{cap}**" if cap == "ALL" else cap
        print(f"| {name} | {v['probes']} | {v['failed']} | {v['failure_rate']:.1%} |")
    rows = shares_tables(card)
    if rows:
        bench = card["shares_benchmark"]
        print(f"\n### Shares (`{bench['command']}`; pool {bench['pool']:,} passages)\n")
        print("\n".join(rows))
        means = bench.get("community_mean_proba", {}).get("overall+1", {})
        if means:
            print("\nMean overall +1 probability per community in the error sample: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in means.items()))


if __name__ == "__main__":
    main()

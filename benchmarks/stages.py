"""Where the time of `kmlang.score` goes, stage by stage, in microseconds per word.

Usage:
    python benchmarks/stages.py [--n 20000] [--profile]

Runs each stage of the scoring path on its own, on the same real passages as
benchmarks/speed.py (one process, after a warm-up): cleaning, tokenizing,
the cue analysis, the non-English check, the features, the classifier; then
the whole of `kmlang.score`. With --profile it also prints the 25 functions
with the most own time in one cProfile run of `kmlang.score`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from speed import load_passages


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()

    import kmlang
    from kmlang.cues._input import clean_text
    from kmlang.cues.language import non_english
    from kmlang.cues.nlp import get_nlp

    texts = load_passages(args.n)
    n_words = sum(len(t.split()) for t in texts)
    model = kmlang.load_model()
    nlp = get_nlp(None)
    comp = nlp.get_pipe("kmlang_cues")
    kmlang.score(texts[:300], model=model)  # warm-up

    def stage(label, fn):
        t0 = time.perf_counter()
        out = fn()
        print(f"{label:28s} {1e6 * (time.perf_counter() - t0) / n_words:6.2f} us/word")
        return out

    print(f"{len(texts):,} passages, {n_words:,} words")
    stage("clean_text", lambda: [clean_text(t) for t in texts])
    docs = stage("tokenize (blank English)", lambda: list(nlp.pipe(texts, batch_size=1000,
                                                                   disable=["kmlang_cues"])))
    ans = stage("cue analysis", lambda: [comp.analyse(docs[i:i + 1000]) for i in range(0, len(docs), 1000)])
    stage("non-English check", lambda: [non_english(a.table) for a in ans])
    feats = stage("features", lambda: [model.featurizer_.transform_analysis(a) for a in ans])
    stage("classifier + thresholds", lambda: [model.decide(model.predict_proba_features(f)) for f in feats])
    stage("cue spans (component API)", lambda: [comp._set_spans(docs[i:i + 1000], a)
                                                for i, a in zip(range(0, len(docs), 1000), ans, strict=True)])
    stage("kmlang.score, all of it", lambda: kmlang.score(texts, model=model, batch_size=1000))
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(kmlang.score, texts, model=model, batch_size=1000)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()

"""Take passage text out of annotators' notes on real passages (data/labelled).

Notes say why a label was given; they may name a few words of the passage, but the
repository must not hold the corpora's text. Every run of at least ``MIN_RUN``
characters that a note shares with its passage (case-insensitive) is replaced by
"…". Labels are never touched. ``tests/test_data.py`` checks that no note shares
``TEST_RUN`` characters with its passage.

Usage: python tools/redact_notes.py
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kmlang.model.labelled import _corpus_texts, corpora_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / "data" / "labelled"
MIN_RUN = 25
TEST_RUN = 40


def shared_runs(note: str, passage: str, min_run: int = MIN_RUN) -> list[tuple[int, int]]:
    """(start, end) spans of ``note`` that also occur in ``passage`` and are ``min_run`` or longer."""
    a, b = note.lower(), passage.lower()
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [(m.a, m.a + m.size) for m in sm.get_matching_blocks() if m.size >= min_run]


def redact(note: str, passage: str) -> str:
    runs = shared_runs(note, passage)
    while runs:  # one matching pass may miss a run that overlaps another; repeat until none is left
        for start, end in sorted(runs, reverse=True):
            note = note[:start] + "…" + note[end:]
        runs = shared_runs(note, passage)
    return note


def corpus_ids() -> dict[str, str]:
    """Record id -> ``corpus_id`` of every real record (agreement files name records by either)."""
    out = {}
    for f in sorted(ROOT.glob("real_*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out[r["id"]] = r["corpus_id"]
    return out


def passages(ids) -> dict[str, str]:
    """Text of the corpus passages ``ids`` (the loader's own reader)."""
    root = corpora_dir()
    if root is None:
        raise SystemExit("The corpora (../shared/corpora or $KMLANG_CORPORA) are needed to find passage text")
    return _corpus_texts(set(ids), root)


def note_files() -> list[Path]:
    return sorted(ROOT.glob("real_*.jsonl")) + sorted((ROOT / "agreement").glob("*.jsonl"))


def main() -> None:
    corpus_of = corpus_ids()
    text = passages(corpus_of.values())
    changed = 0
    for f in note_files():
        recs = [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]
        dirty = False
        for r in recs:
            cid = r.get("corpus_id") or corpus_of.get(r.get("id"))
            if not r.get("note") or cid not in text:
                continue
            new = redact(r["note"], text[cid])
            if new != r["note"]:
                r["note"], dirty = new, True
                changed += 1
        if dirty:
            f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    print(f"{changed} notes redacted")


if __name__ == "__main__":
    main()

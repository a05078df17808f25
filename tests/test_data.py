"""Checks on the labelled data in data/labelled/ (issue: labelled training data)."""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import pytest

from kmlang.shifts import SHIFT_IDS
from tests.tools_path import tools_on_path

ROOT = Path(__file__).resolve().parents[1] / "data" / "labelled"
REGISTERS = {"qa", "forum", "wiki_talk", "email", "chat", "meeting_notes", "code_review", "announcement"}
TAGS = {"negated_knowing", "help_seeking_no_know", "exclusive_we", "collective_no_pronoun", "individual_we",
        "reported_with_stance", "reported_without_stance", "quoted_differs", "sarcasm", "polite_defensive",
        "mixed_poles", "first_person_neutral"}
CONTRAST_TAGS = {"contrast", "pole_flip", "first_person_neutral", "topic_vs_stance", "word_sense", "negation",
                 "exclusive_we", "length", "thanks_chore", "hedge_vs_concession", "question_vs_admission",
                 "authority_vs_evidence", "quoted", "sarcasm",
                 # set C (data/README.md: "Contrastive pairs, set C")
                 "sharing_act", "guarding_act", "documentation_act", "crediting", "sole_credit",
                 "relation_building", "reported_stance", "reuse_vs_nih", "novelty_learning",
                 "conceding_vs_dismissing", "admission_vs_authority", "informal_spelling"}


def _records(pattern):
    out = []
    for f in sorted(ROOT.glob(pattern)):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                out.append((f.name, n, json.loads(line)))
    return out


@pytest.fixture(scope="module")
def authored():
    return [r for _, _, r in _records("authored_*.jsonl")]


@pytest.fixture(scope="module")
def real():
    return [r for _, _, r in _records("real_*.jsonl")]


def test_schema_of_every_record():
    for name, n, r in _records("*.jsonl"):
        where = f"{name}:{n}"
        assert isinstance(r["id"], str) and r["id"], where
        assert set(r["labels"]) == set(SHIFT_IDS), where
        assert all(v in (-1, 0, 1) for v in r["labels"].values()), where
        assert r["overall"] in (-1, 0, 1), where
        assert r["split"] in ("train", "test"), where
        assert r["register"] in REGISTERS, where
        assert ("text" in r) != ("corpus_id" in r), f"{where}: exactly one of text / corpus_id"
        if "text" in r:
            assert isinstance(r["text"], str) and r["text"].strip(), where
            allowed = CONTRAST_TAGS if "pair_id" in r else TAGS
            assert isinstance(r.get("tags", []), list) and set(r.get("tags", [])) <= allowed, where


@pytest.fixture(scope="module")
def contrast():
    return [r for _, _, r in _records("contrast_*.jsonl")]


def test_contrast_pairs(contrast):
    """At least 600 minimal pairs; two sides each, differing in a label, on one side of the split."""
    pairs = defaultdict(list)
    for r in contrast:
        pairs[r["pair_id"]].append(r)
    assert len(pairs) >= 600
    for pid, sides in pairs.items():
        assert sorted(r["side"] for r in sides) == ["x", "y"], pid
        a, b = sides
        assert (a["labels"], a["overall"]) != (b["labels"], b["overall"]), pid
        assert a["split"] == b["split"], pid
        assert "contrast" in a["tags"] and a["text"] != b["text"], pid


def test_written_passages_are_not_near_copies_of_probes():
    """No authored passage or side of a pair comes within character 5-gram Jaccard 0.2 of a
    behavioural probe (``tools/probe_overlap.py``), so the suite measures generalisation."""
    tools_on_path()
    from probe_overlap import LIMIT, max_similarity, probe_texts, written_records

    recs = written_records()
    assert len(recs) > 3000
    sim = max_similarity([r["text"] for r in recs], probe_texts())
    near = [(r["id"], round(float(s), 3)) for r, s in zip(recs, sim, strict=True) if s >= LIMIT]
    assert not near
    # the measure itself: a probe is a near copy of itself, an unrelated sentence is not
    probe = probe_texts()[0]
    assert max_similarity([probe, "Zebras graze at dawn near the quarry."], [probe]).tolist()[0] == 1.0
    assert max_similarity(["Zebras graze at dawn near the quarry."], [probe])[0] < LIMIT


def test_notes_hold_no_passage_text():
    """Annotators' notes on real passages may name a few words, never a run of the corpora's text
    (``tools/redact_notes.py``)."""
    from kmlang.model.labelled import corpora_dir

    if corpora_dir() is None:
        pytest.skip("needs ../shared/corpora")
    tools_on_path()
    from redact_notes import TEST_RUN, corpus_ids, note_files, passages, redact, shared_runs

    corpus_of = corpus_ids()
    text = passages(corpus_of.values())
    checked, leaks = 0, []
    for f in note_files():
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line) if line.strip() else {}
            cid = r.get("corpus_id") or corpus_of.get(r.get("id"))
            if r.get("note") and cid in text:
                checked += 1
                if shared_runs(r["note"], text[cid], TEST_RUN):
                    leaks.append((f.name, r.get("id") or cid))
    assert checked > 1000 and not leaks, leaks[:5]
    # the check itself finds a quoted run and redaction removes it
    passage = "I have been looking for a clean way to merge these two tables for hours."
    note = "admits being stuck: 'I have been looking for a clean way to merge these two tables'"
    assert shared_runs(note, passage, TEST_RUN) and not shared_runs(redact(note, passage), passage, TEST_RUN)


def test_unique_ids():
    ids = [r["id"] for _, _, r in _records("*.jsonl")]
    assert len(ids) == len(set(ids))


def test_sizes(authored, real):
    assert len(authored) >= 1600
    assert len(real) >= 1500


def test_split_about_80_20(authored, real):
    for part in (authored, real):
        share = sum(r["split"] == "test" for r in part) / len(part)
        assert 0.17 <= share <= 0.23


def test_real_threads_do_not_straddle_splits(real):
    splits = defaultdict(set)
    for r in real:
        splits[r["doc_id"]].add(r["split"])
    assert all(len(s) == 1 for s in splits.values())


def test_cell_minimums_and_neutral_share(authored):
    cells = Counter((s, r["labels"][s]) for r in authored for s in SHIFT_IDS if r["labels"][s] != 0)
    for s in SHIFT_IDS:
        for pole in (-1, 1):
            assert cells[(s, pole)] >= 60, (s, pole, cells[(s, pole)])
        neutral = sum(r["labels"][s] == 0 for r in authored) / len(authored)
        assert neutral >= 0.30, (s, neutral)
    all_neutral = sum(all(v == 0 for v in r["labels"].values()) for r in authored) / len(authored)
    assert all_neutral >= 0.30


def test_registers_and_hard_cases(authored):
    regs = Counter(r["register"] for r in authored)
    assert sum(n >= 100 for n in regs.values()) >= 6, regs
    tagged = [r for r in authored if r.get("tags")]
    assert len(tagged) >= 300
    tags = Counter(t for r in tagged for t in r["tags"])
    assert set(tags) == TAGS


def test_real_draws_cover_every_corpus(real):
    sources = Counter(r["source"].split(":")[0] for r in real)
    assert set(sources) >= {"stackexchange", "wikipedia_talk", "r_mailing_lists", "reddit", "enron"}
    draws = Counter(r["draw"] for r in real)
    # at least a third drawn at random: prevalence, and the error sample that corrects
    # shares (held-out passages drawn at random), need text as it comes
    assert draws["random"] / len(real) >= 1 / 3
    held_out_random = sum(r["draw"] == "random" and r["split"] == "test" for r in real)
    assert held_out_random >= 800


def test_no_text_copied_into_real_records(real):
    for r in real:
        assert "text" not in r
        assert len(r.get("note", "")) <= 200


def test_no_overlap_with_dev(real, shared):
    dev = [json.loads(x) for x in (shared / "dev" / "dev.jsonl").read_text(encoding="utf-8").splitlines() if x]
    dev_ids = {d["corpus_id"] for d in dev}
    doc_of = {}
    for f in (shared / "corpora").glob("*.jsonl"):
        for line in f.open(encoding="utf-8"):
            r = json.loads(line)
            doc_of[r["id"]] = r["doc_id"]
    dev_docs = {doc_of[i] for i in dev_ids if i in doc_of}
    for r in real:
        assert r["corpus_id"] not in dev_ids, r["id"]
        assert doc_of.get(r["corpus_id"], r["doc_id"]) not in dev_docs, r["id"]
        assert r["corpus_id"] in doc_of, f"{r['id']} not found in the corpora"


def _shingles(text, n=5):
    w = text.lower().split()
    return {" ".join(w[i : i + n]) for i in range(len(w) - n + 1)}


def test_authored_near_duplicates_under_one_percent(authored):
    sh = [_shingles(r["text"]) for r in authored]
    index = defaultdict(set)
    for i, s in enumerate(sh):
        for g in s:
            index[g].add(i)
    candidates = set()
    for ids in index.values():
        if 1 < len(ids) < 50:
            candidates.update(combinations(sorted(ids), 2))
    dup = set()
    for i, j in candidates:
        inter = len(sh[i] & sh[j])
        if inter and inter / len(sh[i] | sh[j]) >= 0.5:
            dup.update((i, j))
    assert len(dup) / len(authored) < 0.01, sorted(authored[i]["id"] for i in dup)[:20]


def test_select_active_parses_one_quota_syntax_for_cells_and_corpora():
    tools_on_path()
    from select_active import parse_quotas

    assert parse_quotas("knowing-1:200, sharing+1:150") == {"knowing-1": 200, "sharing+1": 150}
    assert parse_quotas("wikipedia_talk:800") == {"wikipedia_talk": 800}
    assert parse_quotas("") == {}
    for bad in ("knowing-1", "x:", ":5", "a:b"):
        with pytest.raises(SystemExit, match="bad quota"):
            parse_quotas(bad)


def _admissions_eval_set(tmp_path, readers_miss_first: bool = False) -> Path:
    """Six admissions of not knowing (``not_knowing`` and ``overall`` +1) and six neutral lines
    as a labelled JSONL file; with ``readers_miss_first`` the labels a reader gave who missed
    the first admission (no text)."""
    rows = [("I'm stuck, does anyone know why the build fails?", 1)] * 6 + [("The stopcock is in the basement.", 0)] * 6
    lines = []
    for i, (text, o) in enumerate(rows):
        o = 0 if readers_miss_first and i == 0 else o
        rec = {"id": f"e{i}", "overall": o, "labels": {**dict.fromkeys(SHIFT_IDS, 0), "not_knowing": o}}
        lines.append(json.dumps(rec if readers_miss_first else {**rec, "text": text}) + "\n")
    path = tmp_path / ("readers.jsonl" if readers_miss_first else "eval.jsonl")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_ranking_ceiling_reports_each_pole_with_enough_gold(tmp_path, capsys, monkeypatch):
    tools_on_path()
    import ranking_ceiling

    path = _admissions_eval_set(tmp_path)
    monkeypatch.setattr(sys, "argv", ["ranking_ceiling.py", str(path)])
    ranking_ceiling.main()
    out = capsys.readouterr().out
    lines = [x for x in out.splitlines() if x.startswith("| ") and "pole" not in x]
    assert {x.split("|")[1].strip() for x in lines} == {"not_knowing +1", "overall +1"}
    for x in lines:  # a shift's best threshold, chosen on the answers, is never below its own labels
        if x.startswith("| overall"):  # the overall label follows the shifts, not a threshold
            continue
        f1, best = (float(v) for v in x.split("|")[5:7])
        assert best >= f1


def test_reader_ceiling_compares_readers_and_model_with_gold(tmp_path, capsys, monkeypatch):
    tools_on_path()
    import reader_ceiling

    path = _admissions_eval_set(tmp_path)
    # the readers miss one admission of the six: pole-F1 of not_knowing +1 is 2*5/(6+5)
    readers = _admissions_eval_set(tmp_path, readers_miss_first=True)
    monkeypatch.setattr(sys, "argv", ["reader_ceiling.py", str(path), "--readers", str(readers)])
    reader_ceiling.main()
    out = capsys.readouterr().out
    row = next(x for x in out.splitlines() if x.startswith("| not_knowing "))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1:4] == ["6", "5", f"{10 / 11:.3f}"]
    assert next(x for x in out.splitlines() if x.startswith("| knowing ")).split("|")[4].strip() == "–"

    frame = reader_ceiling.load_eval_set(path)
    with pytest.raises(ValueError, match="no readers' labels"):
        reader_ceiling.table(frame, reader_ceiling.load_readers(readers).iloc[1:], frame)


def test_reader_check_labels_hold_labels_only():
    """The project readers' labels of dev passages: one record per id, the guide's labels, no text."""
    path = Path(__file__).resolve().parents[1] / "data" / "reader_check" / "dev_labels.jsonl"
    recs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert len({r["id"] for r in recs}) == len(recs) > 0
    for r in recs:
        assert set(r) == {"id", "labels", "overall"}
        assert set(r["labels"]) == set(SHIFT_IDS)
        assert {*r["labels"].values(), r["overall"]} <= {-1, 0, 1}
    tools_on_path()
    from ranking_ceiling import DEV as dev

    if dev.exists():
        ids = [json.loads(x)["id"] for x in dev.read_text(encoding="utf-8").splitlines() if x.strip()]
        assert [r["id"] for r in recs] == ids

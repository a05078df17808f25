"""Issue 14, tabular readers: bounded records (6), per-record encoding fallback (8),
a linear JSON array reader under errors="skip" (11), csv.field_size_limit left alone (12).

Inputs are generated here, at sizes that run in seconds.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import tracemalloc
import warnings

import pandas as pd
import pytest

import kmlang
from kmlang.errors import ReaderError
from kmlang.io.readers import iter_read, read
from kmlang.io.readers.tabular import MAX_RECORD_CHARS

CAP = 1_000_000


# --------------------------------------------------------------------------- 6: record cap

def _big_jsonl(path, size=50_000_000):
    with path.open("w", encoding="utf-8") as f:
        f.write('{"text": "before"}\n')
        f.write('{"text": "' + "x" * size + '"}\n')
        f.write('{"text": "after"}\n')
    return path


def test_jsonl_line_over_the_cap_is_refused_naming_the_line(tmp_path):
    path = _big_jsonl(tmp_path / "big.jsonl")
    with pytest.raises(ReaderError, match=r"big\.jsonl, line 2: record is longer than 1,000,000"):
        read(path, max_record_chars=CAP)


def test_jsonl_line_over_the_cap_is_skipped_without_holding_it(tmp_path):
    path = _big_jsonl(tmp_path / "big.jsonl")
    tracemalloc.start()
    try:
        with pytest.warns(UserWarning, match="Skipped 1 bad record"):
            df = read(path, errors="skip", max_record_chars=CAP)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert df["text"].tolist() == ["before", "after"]
    assert df["id"].tolist() == ["big.jsonl:1", "big.jsonl:3"]
    assert [(s["line"], "max_record_chars" in s["reason"]) for s in df.attrs["skipped"]] == [
        (2, True)]
    assert peak < 20_000_000, f"peak {peak / 1e6:.0f} MB: the 50 MB line was held"


def test_default_cap_refuses_a_line_larger_than_it(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text('{"text": "' + "y" * (MAX_RECORD_CHARS + 10) + '"}\n{"text": "ok"}\n',
                    encoding="utf-8")
    with pytest.warns(UserWarning):
        df = read(path, errors="skip")
    assert df["text"].tolist() == ["ok"]


def test_jsonl_multibyte_line_is_measured_in_characters(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"text": "é" * 900}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert read(path, max_record_chars=1000)["text"][0] == "é" * 900


@pytest.mark.parametrize("sep, fmt", [(",", "csv"), ("\t", "tsv")])
def test_delimited_record_over_the_cap_is_skipped_and_reading_goes_on(tmp_path, sep, fmt):
    path = tmp_path / f"big.{fmt}"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=sep)
        w.writerow(["text", "author"])
        w.writerow(["before", "a"])
        w.writerow(["z" * 5_000_000, "b"])                    # one long physical line
        w.writerow(["quoted\n" + "q\n" * 1_000_000, "c"])     # many short lines in quotes
        w.writerow(["after", "d"])
    with pytest.raises(ReaderError, match=rf"big\.{fmt}, line 3: record is longer"):
        read(path, max_record_chars=CAP)
    with pytest.warns(UserWarning, match="Skipped 2 bad record"):
        df = read(path, errors="skip", max_record_chars=CAP)
    assert df["text"].tolist() == ["before", "after"]
    assert df["author"].tolist() == ["a", "d"]
    assert [s["line"] for s in df.attrs["skipped"]] == [3, 4]
    assert df["id"].tolist() == [f"big.{fmt}:2", f"big.{fmt}:1000006"]


def test_csv_long_field_under_the_cap_is_read(tmp_path):
    path = tmp_path / "long.csv"
    pd.DataFrame({"text": ["w" * 600_000, "short"]}).to_csv(path, index=False)
    df = read(path, max_record_chars=CAP)
    assert df["text"].str.len().tolist() == [600_000, 5]


def test_json_array_element_over_the_cap(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"text": "a"}, {"text": "b" * 2000}, {"text": "c"}], indent=1),
                    encoding="utf-8")
    with pytest.raises(ReaderError, match="array element 2: record is longer than 1,000"):
        read(path, max_record_chars=1000)
    with pytest.warns(UserWarning):
        df = read(path, errors="skip", max_record_chars=1000)
    assert df["text"].tolist() == ["a", "c"]


def test_parquet_row_over_the_cap(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "p.parquet"
    pd.DataFrame({"text": ["a", "b" * 600, "c"], "author": ["x", "y" * 600, "z"]}).to_parquet(path)
    with pytest.raises(ReaderError, match="row 2: record is longer than 1,000"):
        read(path, max_record_chars=1000)
    with pytest.warns(UserWarning):
        df = read(path, errors="skip", max_record_chars=1000)
    assert df["text"].tolist() == ["a", "c"]
    assert df["id"].tolist() == ["p.parquet:1", "p.parquet:3"]


def test_max_record_chars_is_checked(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("text\nhi\n", encoding="utf-8")
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ValueError, match="max_record_chars"):
            read(path, max_record_chars=bad)
    mbox = tmp_path / "a.mbox"
    mbox.write_text("From a@b Thu Jan  1 00:00:00 2020\nSubject: x\n\nbody\n", encoding="utf-8")
    with pytest.raises(ValueError, match="tabular formats"):
        read(mbox, format="mbox", max_record_chars=10)


# --------------------------------------------------------------------------- 8: encodings

def _mixed_csv(path, n=1000):
    with path.open("wb") as f:
        f.write(b"text,author\n")
        for i in range(n):
            f.write(f"Thanks for the notes {i},José Müller\n".encode())
        f.write("One cp1252 row,Café Señor\n".encode("cp1252"))
        f.write("After it,Zoë\n".encode())
    return path


def test_one_cp1252_byte_does_not_garble_a_utf8_csv(tmp_path):
    path = _mixed_csv(tmp_path / "mixed.csv")
    with pytest.warns(UserWarning, match=r"1 record\(s\) .* not valid UTF-8 .*\(line 1002\)"):
        df = read(path)
    assert df.attrs["encoding"] == "utf-8"
    assert df.attrs["decoding_fallbacks"] == 1
    assert (df["author"][:1000] == "José Müller").all()
    assert df["author"].tolist()[1000:] == ["Café Señor", "Zoë"]
    assert not df["author"].str.contains("Ã").any()


def test_encoding_fallback_count_in_iter_read(tmp_path):
    path = _mixed_csv(tmp_path / "mixed.csv")
    with pytest.warns(UserWarning, match="decoded as cp1252"):
        chunks = list(iter_read(path, chunksize=300))
    assert chunks[-1].attrs["decoding_fallbacks"] == 1
    assert sum(map(len, chunks)) == 1002


def test_valid_utf8_and_cp1252_files_keep_their_encoding(tmp_path):
    utf8 = tmp_path / "u.csv"
    utf8.write_text("text\nJosé\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = read(utf8)
    assert df.attrs["encoding"] == "utf-8" and "decoding_fallbacks" not in df.attrs
    cp = tmp_path / "c.csv"
    cp.write_bytes("text\nJosé Müller\nCafé 5 €\n".encode("cp1252"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = read(cp)
    assert df.attrs["encoding"] == "cp1252"
    assert df["text"].tolist() == ["José Müller", "Café 5 €"]


# --------------------------------------------------------------------------- 11: linear JSON array

def _array(path, n):
    items = [json.dumps({"text": f"post number {i}"}) if i % 2 else "1" for i in range(n)]
    path.write_text("[\n" + ",\n".join(items) + "\n]\n", encoding="utf-8")
    return path


def _seconds(path) -> float:
    """Best of three, in CPU seconds (other processes on the machine count less)."""
    best = float("inf")
    for _ in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.process_time()
            df = read(path, errors="skip")
            best = min(best, time.process_time() - t)
    assert len(df.attrs["skipped"]) > 0
    return best


def test_json_array_with_bad_elements_reads_in_linear_time(tmp_path):
    n = 40_000  # every other element is not an object: before the fix 12 s vs 45 s
    small = _seconds(_array(tmp_path / "n.json", n))
    large = _seconds(_array(tmp_path / "2n.json", 2 * n))
    assert large < 3 * small + 0.3, f"{n}: {small:.2f} s, {2 * n}: {large:.2f} s"


def test_json_array_positions_stay_right(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[\n {"text": "a"},\n 2,\n\n  "x", {"text": "b"}\n]', encoding="utf-8")
    with pytest.warns(UserWarning):
        df = read(path, errors="skip")
    assert [(s["line"], s["column"]) for s in df.attrs["skipped"]] == [(3, 2), (5, 3)]
    assert df["text"].tolist() == ["a", "b"]


# --------------------------------------------------------------------------- 12: field_size_limit

def test_importing_kmlang_and_reading_leave_csv_field_size_limit_alone(tmp_path):
    path = tmp_path / "long.csv"
    pd.DataFrame({"text": ["v" * 300_000]}).to_csv(path, index=False)  # > the 128 KiB default
    code = ("import csv, sys; before = csv.field_size_limit(); import kmlang, kmlang.io.readers; "
            "imported = csv.field_size_limit(); df = kmlang.read(sys.argv[1]); "
            "print(before, imported, csv.field_size_limit(), len(df.text[0]))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         check=True)
    before, imported, after, n = out.stdout.split()
    assert imported == before and after == before and n == "300000"


def test_reading_leaves_csv_field_size_limit_alone(tmp_path):
    before = csv.field_size_limit()
    path = tmp_path / "long.csv"
    pd.DataFrame({"text": ["v" * 300_000, "short"]}).to_csv(path, index=False)  # > 128 KiB
    chunks = iter_read(path, chunksize=1)
    first = next(chunks)
    assert csv.field_size_limit() == before  # between chunks too
    rest = list(chunks)
    assert len(first["text"][0]) == 300_000 and rest[0]["text"][0] == "short"
    assert len(read(path)) == 2
    assert csv.field_size_limit() == before
    assert kmlang is not None

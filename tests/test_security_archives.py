"""Hostile archives and oversized records (issue 14, items 2, 6 and the Slack part of 12).

Every input is generated here, small on disk; each test asserts a clear
``ReaderError`` (or truncation) quickly and with modest memory, and that normal
exports still read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

import kmlang
from kmlang.errors import ReaderError
from kmlang.io.readers import _zip, discourse, iter_read, mbox, slack
from kmlang.io.readers._report import Report

FIX = Path(__file__).resolve().parent / "fixtures" / "readers"
MiB = 1024**2
DAY = "general/2023-03-01.json"


def _meta(zf: zipfile.ZipFile) -> None:
    zf.writestr("users.json", json.dumps([{"id": "U1", "name": "ann"}]))
    zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))


def _zeros_zip(path: Path, n_mib: int, members: int = 1, block: bytes = bytes(MiB)) -> Path:
    """An export whose day files hold ``n_mib`` MiB of zeros in all, written in blocks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        _meta(zf)
        for m in range(members):
            with zf.open(f"general/2023-03-{m:04d}.json", "w", force_zip64=True) as out:
                for _ in range(n_mib // members):
                    out.write(block)
    return path


def _measure(fn):
    """``(exception or result, seconds, tracemalloc peak in bytes)``."""
    tracemalloc.start()
    t = time.perf_counter()
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - returned for the test to check
        out = e
    finally:
        seconds = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out, seconds, peak


def _messages(n: int, text: str = "we know") -> list[dict]:
    return [{"type": "message", "user": "U1", "text": f"{text} {i}", "ts": f"{1677000000 + i}.0"}
            for i in range(n)]


def _folder(tmp_path: Path, days: dict[str, list]) -> Path:
    root = tmp_path / "export"
    (root / "general").mkdir(parents=True)
    (root / "users.json").write_text(json.dumps([{"id": "U1", "name": "ann"}]), "utf-8")
    (root / "channels.json").write_text(json.dumps([{"name": "general"}]), "utf-8")
    for day, msgs in days.items():
        (root / "general" / f"{day}.json").write_text(json.dumps(msgs), "utf-8")
    return root


# --- item 2: zip bombs ------------------------------------------------------------------------

@pytest.mark.parametrize("n_mib, limit", [(200, "max_ratio"), (300, "max_member_bytes")])
def test_zip_of_zeros_is_refused_quickly_without_unpacking(tmp_path, n_mib, limit):
    archive = _zeros_zip(tmp_path / "zeros.zip", n_mib)  # 0.2-0.3 MB on disk
    assert archive.stat().st_size < 1 * MiB
    err, seconds, peak = _measure(lambda: kmlang.read(archive, format="slack"))
    assert isinstance(err, ReaderError), err
    msg = str(err)
    assert "member 'general/2023-03-0000.json'" in msg and limit in msg
    assert limit.upper() in msg  # says how to raise it
    assert seconds < 2 and peak < 10 * MiB, (seconds, peak)


def test_many_small_members_are_stopped_while_streaming(tmp_path):
    # each member is under the ratio floor, so no header check fires: the bytes actually
    # decompressed for the archive as a whole are what stops it
    valid = b"[" + b" " * (MiB - 2) + b"]"  # valid JSON: an empty array and 1 MiB of spaces
    archive = _zeros_zip(tmp_path / "many.zip", 400, members=400, block=valid)
    err, seconds, peak = _measure(lambda: kmlang.read(archive, format="slack"))
    assert isinstance(err, ReaderError), err
    assert "the archive unpacks to more than 100 times its compressed size" in str(err)
    assert seconds < 10 and peak < 30 * MiB, (seconds, peak)


def test_zip_with_lying_header_is_refused(tmp_path):
    """The central directory says the member is 1,000 bytes; it inflates to 64 MiB."""
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        _meta(zf)
        zf.writestr(DAY, bytes(64 * MiB))
    data = bytearray(path.read_bytes())
    name = DAY.encode()
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := data.find(sig, at)) >= 0:
            name_at = at + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name:
                struct.pack_into("<I", data, at + size_at, 1000)
            at += 4
    path.write_bytes(bytes(data))
    assert zipfile.ZipFile(path).getinfo(DAY).file_size == 1000
    err, seconds, peak = _measure(lambda: kmlang.read(path, format="slack"))
    assert isinstance(err, ReaderError), err
    assert DAY in str(err)
    assert seconds < 2 and peak < 10 * MiB, (seconds, peak)


def test_streaming_counts_decompressed_bytes_not_the_header(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        _meta(zf)
        zf.writestr(DAY, bytes(8 * MiB))
    tree = _zip.ZipTree(path, max_member_bytes=100 * MiB, max_ratio=10**6)  # header checks pass
    tree.max_member_bytes = 2 * MiB  # the header said 8 MiB is fine; the stream must stop at 2
    with tree.open(DAY) as member, pytest.raises(ReaderError, match=r"unpacks to more than the "
                                                 r"2,097,152 bytes allowed for one member"):
        while member.read(1 << 16):
            pass
    assert member.size <= 2 * MiB + (1 << 20)


def test_member_size_cap_names_member_limit_and_how_to_raise(tmp_path, monkeypatch):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        _meta(zf)
        zf.writestr(DAY, json.dumps(_messages(50)))
    monkeypatch.setattr(_zip, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(ReaderError, match=r"member 'general/2023-03-01\.json' declares more than "
                                          r"the 1,000 bytes allowed .*max_member_bytes"):
        kmlang.read(path)
    monkeypatch.undo()
    assert len(kmlang.read(path)) == 50


def test_highly_compressible_valid_json_is_refused(tmp_path):
    """Like the 4.8 MB zip holding 1.9 GB of valid JSON, at 1/50 of the size."""
    path = tmp_path / "export.zip"
    one = json.dumps({"type": "message", "user": "U1", "text": "we know", "ts": "1.0"})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        _meta(zf)
        with zf.open(DAY, "w", force_zip64=True) as out:
            out.write(b"[" + one.encode())
            chunk = ("," + one).encode() * 20_000
            for _ in range(40):  # about 40 MB
                out.write(chunk)
            out.write(b"]")
    err, seconds, peak = _measure(lambda: kmlang.read(path, format="slack"))
    assert isinstance(err, ReaderError) and "max_ratio" in str(err), err
    assert seconds < 3 and peak < 20 * MiB, (seconds, peak)


def test_passage_cap(tmp_path, monkeypatch):
    root = _folder(tmp_path, {"2023-03-01": _messages(5)})
    monkeypatch.setattr(slack, "MAX_PASSAGES", 3)
    with pytest.raises(ReaderError, match=r"more than 3 messages \(max_passages"):
        kmlang.read(root)
    assert len(list(slack.iter_records(root, Report(root), max_passages=5))) == 5


def test_day_files_are_streamed_not_read_whole(tmp_path):
    root = _folder(tmp_path, {"2023-03-01": _messages(200_000, "we all know this " * 4)})
    size = (root / "general" / "2023-03-01.json").stat().st_size
    assert size > 20 * MiB

    def first_chunk():
        chunks = iter_read(root, format="slack", chunksize=500)
        return len(next(chunks))

    n, seconds, peak = _measure(first_chunk)
    assert n == 500
    assert peak < 5 * MiB, peak  # reading the file whole would take more than 20 MiB


def test_normal_exports_still_read(tmp_path):
    folder = kmlang.read(FIX / "slack")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted((FIX / "slack").rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(FIX / "slack").as_posix())
    assert kmlang.read(archive)["text"].tolist() == folder["text"].tolist()
    assert "text_truncated" not in folder.columns


@pytest.mark.parametrize("text, item", [
    ("[]", None), ('  [ {"ts": "1", "text": "a"} , {"ts": "2"}]  ', None),
    ('[{"ts": "1", "text": "\\ud800 x"}]', None),
    ('[{"ts": "1"} {"ts": "2"}]', "Expecting ',' delimiter"),
    ('{"ts": "1"}', "expected a JSON array of messages, found dict"),
    ('[{"ts": "1"}] [', "Extra data")])
def test_streamed_day_file_edge_cases(tmp_path, text, item):
    root = _folder(tmp_path, {})
    (root / "general" / "2023-03-01.json").write_text(text, "utf-8")
    if item is None:
        df = kmlang.read(root)
        assert all("\ud800" not in t for t in df["text"])
    else:
        with pytest.raises(ReaderError, match=item):
            kmlang.read(root)


# --- item 12: symlinks in a Slack folder -----------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
@pytest.mark.parametrize("kind", ["file", "folder"])
def test_slack_folder_symlink_out_of_the_folder_is_refused(tmp_path, kind):
    root = tmp_path / "export"
    shutil.copytree(FIX / "slack", root)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "2023-03-09.json").write_text(json.dumps(
        [{"ts": "1.0", "text": "private words", "user": "U1"}]), "utf-8")
    if kind == "file":
        (root / "general" / "2023-03-09.json").symlink_to(secret / "2023-03-09.json")
    else:
        (root / "leak").symlink_to(secret, target_is_directory=True)
    with pytest.raises(ReaderError, match="refusing symbolic link.*outside the export folder"):
        kmlang.read(root)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_slack_folder_symlink_inside_the_folder_is_read(tmp_path):
    root = tmp_path / "export"
    shutil.copytree(FIX / "slack", root)
    n = len(kmlang.read(root))
    (root / "general" / "alias.txt").symlink_to(root / "users.json")
    assert len(kmlang.read(root)) == n


# --- item 6: one record's size ---------------------------------------------------------------

def test_slack_oversized_message_is_a_bad_record(tmp_path, monkeypatch):
    msgs = _messages(3)
    msgs[1]["text"] = "x" * 50_000
    root = _folder(tmp_path, {"2023-03-01": msgs, "2023-03-02": _messages(2)})
    monkeypatch.setattr(slack, "MAX_RECORD_CHARS", 10_000)
    with pytest.raises(ReaderError, match=r"2023-03-01\.json, line 1, item 1: message is more "
                                          r"than 10,000 characters of JSON"):
        kmlang.read(root)
    with pytest.warns(UserWarning, match="Skipped 1 bad record"):
        df = kmlang.read(root, errors="skip")
    assert len(df) == 3  # the first message of that day, then the next day
    assert "max_record_chars" in df.attrs["skipped"][0]["reason"]


def test_slack_long_text_is_truncated_with_a_status(tmp_path, monkeypatch):
    msgs = _messages(2)
    msgs[0]["text"] = "we know " * 1000
    root = _folder(tmp_path, {"2023-03-01": msgs})
    monkeypatch.setattr(_zip, "MAX_TEXT_CHARS", 100)
    with pytest.warns(UserWarning, match="1 message.* truncated"):
        df = kmlang.read(root)
    assert df["text"].str.len().max() <= 100
    assert df["text_truncated"].tolist()[0] == len(msgs[0]["text"].strip()) - 100


def _mbox_message(n: int, body: str) -> str:
    return (f"From a@example.com Mon Jan  1 10:0{n}:00 2024\nFrom: A <a@example.com>\n"
            f"Message-ID: <m{n}@example.com>\nSubject: s{n}\n\n{body}\n\n")


def test_mbox_huge_message_is_refused_naming_it_with_modest_memory(tmp_path, monkeypatch):
    path = tmp_path / "big.mbox"
    with open(path, "w", encoding="utf-8") as f:
        f.write(_mbox_message(1, "We know the fix."))
        f.write(_mbox_message(2, "y" * (16 * MiB)))  # one 16 MiB line
        f.write(_mbox_message(3, "Thanks, that helped."))
    monkeypatch.setattr(mbox, "MAX_MESSAGE_BYTES", 2 * MiB)
    err, seconds, peak = _measure(lambda: kmlang.read(path))
    assert isinstance(err, ReaderError), err
    assert re.search(r"big\.mbox, line 8: message is 16,777,2\d\d bytes, more than the "
                     r"2,097,152 allowed .*max_message_bytes", str(err)), err
    with pytest.warns(UserWarning, match="Skipped 1 bad record"):
        df, seconds, peak = _measure(lambda: kmlang.read(path, errors="skip"))
    assert df["text"].tolist() == ["We know the fix.", "Thanks, that helped."]
    assert peak < 12 * MiB, peak  # the 16 MiB message is never held
    assert df.attrs["skipped"][0]["line"] == 8


def test_mbox_long_body_is_truncated(tmp_path, monkeypatch):
    path = tmp_path / "long.mbox"
    path.write_text(_mbox_message(1, "We know. " * 2000) + _mbox_message(2, "Short."), "utf-8")
    monkeypatch.setattr(mbox, "MAX_TEXT_CHARS", 1000)
    with pytest.warns(UserWarning, match="1 message.* truncated"):
        df = kmlang.read(path)
    assert df["text"].str.len().max() <= 1000
    assert df["text_truncated"].iloc[0] > 0 and df["text"].iloc[1] == "Short."
    assert [s for _, s in mbox.split_mbox(path)]  # the public splitter still works


def _topic(path: Path, cooked: list[str]) -> Path:
    posts = [{"id": i + 1, "post_number": i + 1, "username": "ann", "cooked": c,
              "created_at": "2024-01-01T00:00:00Z", "topic_id": 7} for i, c in enumerate(cooked)]
    path.write_text(json.dumps({"id": 7, "title": "t", "post_stream": {"posts": posts}}), "utf-8")
    return path


def test_discourse_caps(tmp_path, monkeypatch):
    path = _topic(tmp_path / "topic.json", ["<p>We know.</p>", "<p>" + "x " * 20_000 + "</p>",
                                            "<p>" + "we " * 3000 + "</p>"])
    monkeypatch.setattr(discourse, "MAX_RECORD_CHARS", 10_000)
    monkeypatch.setattr(discourse, "MAX_TEXT_CHARS", 1000)
    with pytest.raises(ReaderError, match=r"item 1: post 2 has 40,\d+ characters of HTML, more "
                                          r"than the 10,000 allowed"):
        kmlang.read(path, format="discourse")
    with pytest.warns(UserWarning):
        df = kmlang.read(path, format="discourse", errors="skip")
    assert df["id"].tolist() == ["1", "3"]
    assert df["text"].str.len().max() <= 1000 and df["text_truncated"].iloc[1] > 0
    monkeypatch.setattr(discourse, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ReaderError, match=r"topic file is [\d,]+ bytes, more than the 1,000"):
        kmlang.read(path, format="discourse")




def test_read_passes_max_record_chars_to_slack(tmp_path):
    """kmlang.read(..., max_record_chars=N) reaches the Slack reader (one message's JSON)."""
    import json

    import kmlang
    from kmlang.errors import ReaderError

    (tmp_path / "users.json").write_text(json.dumps([{"id": "U1", "name": "ann"}]))
    (tmp_path / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (tmp_path / "general").mkdir()
    (tmp_path / "general" / "2024-01-01.json").write_text(json.dumps(
        [{"type": "message", "user": "U1", "text": "x" * 500, "ts": "1704067200.0"}]))
    with pytest.raises(ReaderError, match="max_record_chars"):
        kmlang.read(tmp_path, max_record_chars=100)
    assert len(kmlang.read(tmp_path, max_record_chars=10_000)) == 1

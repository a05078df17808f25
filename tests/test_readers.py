"""kmlang.read / iter_read: the standard frame from every supported export format."""

from __future__ import annotations

import json
import os
import shutil
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import kmlang
from kmlang.errors import ReaderError, UnknownFormatError
from kmlang.io.readers import FORMATS, detect_format, iter_read, read

FIX = Path(__file__).resolve().parent / "fixtures" / "readers"
STANDARD = ["text", "author", "doc_id", "timestamp", "id", "parent_id"]


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def assert_standard(df: pd.DataFrame) -> None:
    """The six standard columns lead, timestamps are UTC, every row has an id."""
    assert list(df.columns[:6]) == STANDARD
    assert isinstance(df["timestamp"].dtype, pd.DatetimeTZDtype)
    assert str(df["timestamp"].dt.tz) == "UTC"
    assert df["id"].map(lambda v: isinstance(v, str) and v != "").all()
    for col in ("author", "doc_id", "parent_id"):
        assert df[col].map(lambda v: v is None or isinstance(v, str)).all()
    assert df.index.equals(pd.RangeIndex(len(df)))


def no_warnings(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def exports() -> Path:
    shared = Path(os.environ.get("KMLANG_SHARED",
                                 Path(__file__).resolve().parents[1].parent / "shared"))
    path = shared / "corpora" / "exports"
    if not path.is_dir():
        pytest.skip(f"real export samples are absent ({path}); they live in ../shared")
    return path


# --------------------------------------------------------------------------- CSV / TSV


def test_read_is_the_package_level_read():
    assert kmlang.read is read
    assert set(FORMATS) == {"csv", "tsv", "jsonl", "json", "parquet", "stackexchange",
                            "mediawiki", "mbox", "slack", "discourse"}


def test_csv_with_column_mapping():
    df = no_warnings(read, FIX / "forum.csv", text="body", author="user", timestamp="created",
                     doc_id="thread", id="msg_id")
    assert_standard(df)
    assert list(df.columns) == STANDARD + ["score", "tags"]
    assert df["id"].tolist() == ["m1", "m2", "m3", "m4"]
    assert df["doc_id"].tolist() == ["t1", "t1", "t2", "t2"]
    assert df["author"].tolist() == ["ada", "bram", None, "cy"]
    assert df["parent_id"].isna().all()
    assert df["text"][1] == "Agreed. Here is a draft:\n1. tag the release\n2. write the notes"
    assert df["text"][2] == 'Who owns the "deploy" script?'
    # Z, naive (taken as UTC), epoch seconds, +02:00
    assert df["timestamp"].tolist() == [utc("2023-01-05 10:00"), utc("2023-01-05 11:30"),
                                        utc("2023-01-05 12:00"), utc("2023-01-05 12:00")]
    assert df["score"].tolist() == [3, 5, 0, 1]
    assert pd.api.types.is_integer_dtype(df["score"])
    assert df.attrs["encoding"] == "utf-8"
    assert df.attrs["format"] == "csv"
    assert df.attrs["skipped"] == []


def test_csv_without_mapping_finds_body_and_numbers_rows_by_line():
    df = read(FIX / "forum.csv")
    assert_standard(df)
    assert df["text"][0].startswith("I think we should document")
    assert "body" not in df.columns
    # the second record spans lines 3-5, so the ids follow the file's lines
    assert df["id"].tolist() == ["forum.csv:2", "forum.csv:3", "forum.csv:6", "forum.csv:7"]
    assert df["timestamp"].isna().all()
    assert list(df.columns[6:]) == ["msg_id", "thread", "user", "created", "score", "tags"]


def test_mapped_column_that_does_not_exist_is_a_key_error():
    with pytest.raises(KeyError) as info:
        read(FIX / "forum.csv", text="body", author="username")
    message = str(info.value)
    assert "'username'" in message and "author=" in message
    assert "msg_id" in message and "body" in message  # the columns that exist


def test_missing_text_column_is_a_clear_key_error(tmp_path):
    path = tmp_path / "no_text.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(KeyError, match="No text column.*text='<column>'"):
        read(path)


def test_unknown_mapping_argument_and_mapping_for_fixed_formats():
    with pytest.raises(TypeError, match="txt="):
        read(FIX / "forum.csv", txt="body")
    with pytest.raises(TypeError, match="tabular formats"):
        read(FIX / "mail.mbox", text="body")


def test_unused_standard_named_columns_are_kept_renamed(tmp_path):
    path = tmp_path / "clash.csv"
    path.write_text("text,body,author,user\nold text,new text,old author,new author\n",
                    encoding="utf-8")
    df = read(path, text="body", author="user")
    assert df["text"][0] == "new text" and df["author"][0] == "new author"
    assert df["text_source"][0] == "old text" and df["author_source"][0] == "old author"


def test_tsv_with_standard_names_and_content_column():
    df = no_warnings(read, FIX / "notes.tsv")
    assert_standard(df)
    assert list(df.columns) == STANDARD + ["mood"]
    assert df["text"][0] == "We share what we learn in the weekly notes."
    assert df["parent_id"].tolist() == [None, "n1"]
    assert df["doc_id"].tolist() == ["d1", "d1"]
    assert df["timestamp"][1] == utc("2023-02-01 09:05")
    assert df.attrs["format"] == "tsv"


@pytest.mark.parametrize("name, encoding, text, author", [
    ("latin1.csv", "cp1252", "Préférence: 5 € pour tout le monde", "Jürgen"),
    ("utf16.csv", "utf-16", "日本語のメモも一緒に書きます", "Aiko"),
    ("bom.csv", "utf-8-sig", "The BOM must not stick to the first column name.", "ada"),
])
def test_csv_encodings(name, encoding, text, author):
    df = no_warnings(read, FIX / name)
    assert df.attrs["encoding"] == encoding
    assert df["text"].iloc[-1] == text
    assert df["author"].iloc[-1] == author
    assert df.columns[0] == "text"


def test_csv_utf16_keeps_emoji():
    assert read(FIX / "utf16.csv")["text"][0] == "Wir teilen unser Wissen 🙂"


def test_csv_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"text\nna\xefve \x81 byte\n")
    df = read(path)
    assert df.attrs["encoding"] == "latin-1"
    assert df["text"][0] == "naïve \x81 byte"


def test_broken_csv_raises_naming_file_and_line():
    with pytest.raises(ReaderError, match=r"broken\.csv, line 4: expected 3 fields, found 4"):
        read(FIX / "broken.csv")


def test_broken_csv_skip_reads_good_rows_and_reports_bad_ones():
    with pytest.warns(UserWarning, match=r"Skipped 2 bad record\(s\).*broken\.csv"):
        df = read(FIX / "broken.csv", errors="skip")
    assert df["id"].tolist() == ["1", "2", "4"]
    assert df["text"].tolist() == ["fine first row", "a row, with a comma", "ok again"]
    skipped = df.attrs["skipped"]
    assert [s["line"] for s in skipped] == [4, 6]
    assert all(s["file"].endswith("broken.csv") for s in skipped)
    assert "expected 3 fields" in skipped[0]["reason"]
    assert "unexpected end of data" in skipped[1]["reason"]


def test_unparseable_timestamps_are_nat_counted_and_warned(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text("text,timestamp\na,2023-01-01T00:00:00Z\nb,sometime soon\nc,1690000000000\n",
                    encoding="utf-8")
    with pytest.warns(UserWarning, match="1 timestamp"):
        df = read(path)
    assert pd.isna(df["timestamp"][1])
    assert df["timestamp"][2] == utc("2023-07-22 04:26:40")  # epoch milliseconds
    assert df.attrs["unparsed_timestamps"] == 1


def test_a_folder_for_a_file_format_is_a_reader_error():
    with pytest.raises(ReaderError, match="is a folder"):
        read(FIX / "slack", format="csv")


def test_empty_csv_is_a_reader_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ReaderError, match="empty"):
        read(path)


# --------------------------------------------------------------------------- JSON / Parquet


def test_jsonl():
    df = no_warnings(read, FIX / "chat.jsonl")
    assert_standard(df)
    assert len(df) == 3  # the blank line is not a record
    assert df["id"].tolist() == ["c1", "c2", "c3"]
    assert df["parent_id"].tolist() == [None, "c1", None]
    assert df["timestamp"].tolist() == [utc("2023-03-01 10:00"), utc("2023-03-01 10:05"),
                                        utc("2023-03-01 11:00")]
    assert df["channel"].tolist() == ["dev", "dev", "ops"]
    assert df["reactions"][0] == {"+1": 2}
    assert "edited" in df.columns


def test_jsonl_half_written_last_line():
    with pytest.raises(ReaderError, match=r"halfwritten\.jsonl, line 3: expected a JSON object"):
        read(FIX / "halfwritten.jsonl")
    with pytest.warns(UserWarning, match="Skipped 2"):
        df = read(FIX / "halfwritten.jsonl", errors="skip")
    assert df["text"].tolist() == ["first complete line", "second complete line",
                                   "fourth line is fine"]
    assert df["id"].tolist() == ["halfwritten.jsonl:1", "halfwritten.jsonl:2",
                                 "halfwritten.jsonl:4"]
    last = df.attrs["skipped"][-1]
    assert last["line"] == 5 and "half-written" in last["reason"]


def test_jsonl_only_last_line_broken_raises_at_that_line(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"}\n{"text": "c', encoding="utf-8")
    with pytest.raises(ReaderError, match=r"cut\.jsonl, line 3: invalid JSON"):
        read(path)


def test_json_array_with_mapping():
    df = no_warnings(read, FIX / "records.json", author="user", timestamp="sent",
                     doc_id="thread")
    assert_standard(df)
    assert df["text"].tolist() == ["Our handbook is written by everyone.",
                                   "I wrote the security chapter alone."]
    assert df["id"].tolist() == ["records.json:1", "records.json:2"]
    assert df["doc_id"].tolist() == ["h1", "h1"]
    assert df["timestamp"][1] == utc("2023-04-01 09:00")
    assert df["likes"].tolist() == [4, 1]


def test_truncated_json_array_keeps_records_before_the_break(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text('[\n {"text": "one"},\n {"text": "two"},\n {"text": "th', encoding="utf-8")
    with pytest.raises(ReaderError, match=r"cut\.json, line 4"):
        read(path)
    with pytest.warns(UserWarning, match="Skipped 1"):
        df = read(path, errors="skip")
    assert df["text"].tolist() == ["one", "two"]
    assert df.attrs["skipped"][0]["line"] == 4


def test_parquet():
    df = no_warnings(read, FIX / "table.parquet", timestamp="created", doc_id="thread")
    assert_standard(df)
    assert list(df.columns) == STANDARD + ["score"]
    assert df["text"][0] == "Let us pool what we know about the outage."
    assert df["timestamp"][1] == utc("2023-06-01 09:30")  # naive in the file: taken as UTC
    assert df["id"].tolist() == ["table.parquet:1", "table.parquet:2", "table.parquet:3"]
    assert df["score"].tolist() == [4, 0, 2]


def test_broken_parquet_is_a_reader_error(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 this is not parquet at all")
    with pytest.raises(ReaderError, match=r"bad\.parquet.*Parquet"):
        read(path)


# --------------------------------------------------------------------------- Stack Exchange


def test_stackexchange_folder():
    df = no_warnings(read, FIX / "stackexchange")
    assert_standard(df)
    assert df["id"].tolist() == ["10", "11", "12", "13", "14", "c10", "c11", "c12"]
    assert df["kind"].tolist() == ["question", "answer", "answer", "question", "tag_wiki",
                                   "comment", "comment", "comment"]
    assert df["doc_id"].tolist() == ["q10", "q10", "q10", "q13", "p14", "q10", "q10", "q10"]
    assert df["parent_id"].tolist() == [None, "10", "10", None, None, "10", "11", "12"]
    assert df["author"].tolist() == ["Ada Quill", "guest42", "Bram Okafor", "Cy Lund",
                                     "Community", "Bram Okafor", "Ada Quill", "visitor"]
    assert df["timestamp"][0] == utc("2021-04-02 08:15:00.123")
    text = dict(zip(df["id"], df["text"], strict=True))
    assert text["10"] == ("How do we keep the shared glossary in sync across teams?\n\n"
                          "I tried a spreadsheet & it drifted within a week.")
    # blockquote and <pre> dropped, inline code and entities kept as text
    assert text["11"] == ("We moved ours into the wiki and review it every sprint.\n\n"
                          "Run make check before merging \u2014 it's quick.")
    assert text["13"] == 'Should I just decide the terms alone, "because I know best"?'
    assert text["c12"] == "Same here & it works for us."
    assert df["Title"][0] == "Keeping a glossary in sync"
    assert df["Score"].tolist()[:4] == [5, 2, 7, -1]
    assert "Id" not in df.columns and "Body" not in df.columns


def test_stackexchange_posts_file_path_reads_the_folder_beside_it():
    by_file = read(FIX / "stackexchange" / "Posts.xml", format="stackexchange")
    pd.testing.assert_frame_equal(by_file, read(FIX / "stackexchange"), check_like=False)


def test_truncated_xml_skip_keeps_records_before_the_break():
    with pytest.raises(ReaderError, match=r"truncated_posts\.xml, line 5, column \d+: XML"):
        read(FIX / "truncated_posts.xml")
    with pytest.warns(UserWarning, match="Skipped 1"):
        df = read(FIX / "truncated_posts.xml", errors="skip")
    assert df["id"].tolist() == ["10", "11"]
    (entry,) = df.attrs["skipped"]
    assert entry["line"] == 5 and "truncated" in entry["reason"]


# --------------------------------------------------------------------------- MediaWiki


def test_mediawiki_talk_pages_split_into_signed_comments():
    df = no_warnings(read, FIX / "wiki_export.xml")
    assert_standard(df)
    assert len(df) == 9
    assert df["doc_id"].tolist() == ["Lake Orla"] + ["Talk:Lake Orla"] * 6 + ["User talk:Moss"] * 2
    assert df["author"].tolist() == ["Moss", "Quill Feather", "Moss", "192.0.2.7", "Fern",
                                     "Quill Feather", None, "192.0.2.7", "Moss"]
    ids = [f"wiki_export.xml:{n}" for n in range(1, 10)]
    assert df["id"].tolist() == ids
    # indentation: ":" answers the comment above, "::" the ":" one, a second ":" the
    # top-level one again; {{outdent}} answers the comment just before it
    assert df["parent_id"].tolist() == [None, None, ids[1], ids[2], ids[1], ids[4], None, None,
                                        ids[7]]
    assert df["depth"].tolist()[1:6] == [0, 1, 2, 1, 0]
    assert df["timestamp"].tolist()[1:6] == [
        utc("2011-03-03 09:15"), utc("2011-03-03 10:02"), utc("2011-03-03 11:00"),
        utc("2011-03-03 13:30"), utc("2011-03-04 14:00")]
    assert pd.isna(df["timestamp"][6]) and not df["signed"][6]  # unsigned: no author, no time
    assert df["timestamp"][0] == utc("2011-02-27 18:00")  # article: the revision's time
    assert df["section"][1] == "Sources for the history section"
    assert df["section"][6] == "Photo"


def test_mediawiki_text_is_plain_and_from_the_latest_revision():
    df = read(FIX / "wiki_export.xml")
    text = df["text"].tolist()
    assert text[0] == ("Lake Orla is a small glacial lake that the village looks after together."
                       "\n\nAccess\nA path runs along the river; see the village map.")
    assert text[1] == "I think we should cite the 1998 survey here; it covers the same ground."
    assert text[3] == "Not sure \u2014 see the note on Talk:Orla River."
    # a date in running text is not a signature
    assert text[4] == "Also, as of 12:00, 1 March 2011 (UTC) the survey site was offline."
    assert text[7] == "Thanks for the river article, I learned a lot from it."
    joined = "\n".join(text)
    for markup in ("[[", "]]", "{{", "'''", "<small>", "<ref>", "hidden note", "Category",
                   "File:", "thumb", "early draft", "talk)"):
        assert markup not in joined
    assert joined.count("(UTC)") == 1  # only the date in running text; signatures are cut
    assert (df["revision_id"][1:7] == "81").all()
    assert df.attrs["skipped"] == [{"file": str(FIX / "wiki_export.xml"), "page": "Orla Lake",
                                    "reason": "redirect page"}]


def test_truncated_mediawiki():
    with pytest.raises(ReaderError, match=r"truncated_export\.xml, line 49"):
        read(FIX / "truncated_export.xml")
    with pytest.warns(UserWarning, match="Skipped 1"):
        df = read(FIX / "truncated_export.xml", errors="skip")
    assert df["doc_id"].tolist() == ["Lake Orla"]
    assert df.attrs["skipped"][0]["line"] == 49


# --------------------------------------------------------------------------- mbox


@pytest.fixture(scope="module")
def mail() -> pd.DataFrame:
    return no_warnings(read, FIX / "mail.mbox")


def test_mbox_headers(mail):
    assert_standard(mail)
    assert len(mail) == 7
    assert mail["author"].tolist() == ["Ada Quill", "Bram Okafor", "Cy Lund", "Désirée Marsh",
                                       "Eli Ward", "Fay Stone", "gus@example.org"]
    assert mail["id"].tolist() == ["<m1.ada@example.org>", "<m2.bram@example.org>",
                                   "<m3.cy@example.org>", "<m4.dee@example.org>",
                                   "<m5.eli@example.org>", "<m6.fay@example.org>", "mail.mbox:7"]
    assert mail["parent_id"].tolist() == [None, "<m1.ada@example.org>", "<m2.bram@example.org>",
                                          "<m3.cy@example.org>", None, None, None]
    # the root from References, or followed through In-Reply-To when there are none
    assert mail["doc_id"].tolist() == ["<m1.ada@example.org>"] * 4 + [
        "<m5.eli@example.org>", "<m6.fay@example.org>", "mail.mbox:7"]
    assert mail["timestamp"].tolist() == [
        utc("2020-03-03 09:00"), utc("2020-03-03 10:30"), utc("2020-03-04 13:00"),
        utc("2020-03-05 12:00"), utc("2020-03-06 09:15"), utc("2020-03-07 10:00"),
        utc("2020-03-08 14:00")]
    assert mail["subject"][3] == "Re: Shared glossary"
    assert mail["to"][0] == "glossary@lists.example.org"


def test_mbox_bodies(mail):
    text = mail["text"].tolist()
    # signature cut; a body line starting with "From " does not split the message
    assert text[0] == ("Hi all,\n\nI have started a glossary page so that we can agree on terms "
                       "together.\nPlease add the words your team uses.\n\n"
                       "From the start we wanted one place for this.")
    # quoted-printable with a soft line break; quoted lines and "On ... wrote:" removed
    assert text[1] == ("Thanks Ada, our team will add the café terms this week and we will "
                       "review them together.")
    # latin-1 part + base64 part, the attachment ignored
    assert text[2] == ("I added the entries for the dépôt and the café.\n\n"
                       "We reviewed them together on Tuesday \u2014 thanks everyone.")
    # text/plain preferred; the Outlook original cut
    assert text[3] == "I think I know the right word for this one, trust me."
    # HTML only: stripped, quotations and code dropped
    assert text[4] == ("Notes from our meeting & next steps:\n\n"
                       "We share the glossary\nEveryone reviews it")
    # broken MIME boundary: re-split at the boundary the body uses
    assert text[5] == "The mail client mangled the boundary, but the words survive."
    # mboxrd ">From" unescaped, "--" signature cut
    assert text[6] == ("Here is the rota for next week.\n\n"
                       "From 9:00 to 17:00 the desk is covered by the whole team.")


def test_mail_cleaning_keeps_own_text_that_mentions_writing():
    from kmlang.io.readers.mbox import clean_body

    body = ("Here is what I wrote:\nthe plan\n\nBob Smith wrote:\n> quoted\nMy reply.\n"
            "On Tue, 3 Mar 2020, Ann <ann@example.org>\nwrote:\n> more quote\n-- \nsig")
    assert clean_body(body) == "Here is what I wrote:\nthe plan\n\nMy reply."


def test_not_an_mbox_is_a_reader_error(tmp_path):
    path = tmp_path / "x.mbox"
    path.write_text("Subject: hello\n\nbody\n", encoding="utf-8")
    with pytest.raises(ReaderError, match=r"x\.mbox, line 1: not an mbox"):
        read(path)


# --------------------------------------------------------------------------- Slack


def test_slack_folder():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # joins and bots are counted, not warned about
        df = read(FIX / "slack")
    assert_standard(df)
    assert df["id"].tolist() == ["general/1677661800.000200", "general/1677662400.000300",
                                 "general/1677670000.000500", "general/1677748200.000400",
                                 "general/1677751000.000600", "random/1677672000.000700"]
    thread = "general/1677661800.000200"
    assert df["doc_id"].tolist() == [thread, thread, "general/1677670000.000500", thread,
                                     "general/1677751000.000600", "random/1677672000.000700"]
    assert df["parent_id"].tolist() == [None, thread, None, thread, None, None]
    assert df["author"].tolist() == ["Ada", "Bram Okafor", "cy", "cy", "Ada", "Bram Okafor"]
    assert df["text"].tolist()[:4] == [
        "Morning @here! I drafted the onboarding notes: the wiki page. @Bram Okafor can you "
        "check the <setup> section?",
        "Looked at it, we should all add our own tips & tricks.",
        "Unrelated: lunch plans are in #random",
        "I added a section on the build server, see https://wiki.example.org/Build"]
    assert df["timestamp"][0] == pd.Timestamp(1677661800000200000, tz="UTC")
    assert df["channel"].tolist() == ["general"] * 5 + ["random"]
    assert df["edited"][1] == {"user": "U02BBB", "ts": "1677662500.000000"}
    skipped = df.attrs["skipped"]
    assert [s["reason"] for s in skipped] == ["subtype channel_join", "subtype bot_message",
                                              "subtype channel_topic"]
    assert skipped[0]["file"].endswith("2023-03-01.json") and skipped[0]["item"] == 0


def _zip_folder(folder: Path, target: Path, top: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, top + p.relative_to(folder).as_posix())
    return target


def test_slack_zip_is_read_in_memory_like_the_folder(tmp_path):
    archive = _zip_folder(FIX / "slack", tmp_path / "export.zip", top="Team Export Mar 2023/")
    df = read(archive)
    folder = read(FIX / "slack")
    assert df.attrs["format"] == "slack"
    pd.testing.assert_frame_equal(df[STANDARD], folder[STANDARD])
    assert len(df.attrs["skipped"]) == 3
    assert df.attrs["skipped"][0]["file"].startswith(f"{archive}:Team Export Mar 2023/general/")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.zip"]  # nothing extracted


@pytest.mark.parametrize("fmt", [None, "slack"])
def test_zip_with_path_traversal_is_refused(fmt):
    with pytest.raises(ReaderError, match=r"refusing archive member '\.\./evil\.json'"):
        read(FIX / "evil.zip", format=fmt)


def test_zip_with_absolute_member_is_refused(tmp_path):
    path = tmp_path / "abs.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("users.json", "[]")
        zf.writestr(zipfile.ZipInfo("/etc/evil.json"), "{}")
    with pytest.raises(ReaderError, match="/etc/evil.json"):
        read(path, format="slack")


def test_zip_uncompressed_size_is_capped(tmp_path, monkeypatch):
    archive = _zip_folder(FIX / "slack", tmp_path / "export.zip")
    monkeypatch.setattr("kmlang.io.readers._zip.MAX_UNCOMPRESSED", 1000)
    with pytest.raises(ReaderError, match="more than the 1,000 allowed"):
        read(archive)


def test_slack_broken_day_file(tmp_path):
    folder = tmp_path / "slack"
    shutil.copytree(FIX / "slack", folder)
    (folder / "random" / "2023-03-01.json").write_text('[{"ts": "1", "text": "cut', "utf-8")
    with pytest.raises(ReaderError, match=r"random/2023-03-01\.json, line 1, column \d+"):
        read(folder)
    with pytest.warns(UserWarning, match="Skipped 1"):
        df = read(folder, errors="skip")
    assert len(df) == 5
    assert [s["reason"].split(" ")[0] for s in df.attrs["skipped"]] == [
        "subtype", "subtype", "subtype", "invalid"]


# --------------------------------------------------------------------------- Discourse


def test_discourse_topic():
    df = no_warnings(read, FIX / "topic_4242.json")
    assert_standard(df)
    assert df["id"].tolist() == ["9001", "9002", "9004"]
    assert df["author"].tolist() == ["ada", "bram", "cy"]
    assert df["doc_id"].tolist() == ["4242"] * 3
    assert df["parent_id"].tolist() == [None, "9001", "9002"]
    assert df["timestamp"][1] == utc("2023-05-02 09:30")
    # the quote of post 1 and the emoji are gone, the mention and entities stay
    assert df["text"][1] == "Yes & let's all own it together. @cy wrote most of the build notes"
    assert df["text"][2] == "I know the build best, so here is my list:\n\nRun make test first."
    assert df["title"].tolist() == ["Shared FAQ for the build"] * 3
    assert df["post_number"].tolist() == [1, 2, 4]
    assert df["version"].tolist() == [1, 2, 1]
    assert "cooked" not in df.columns
    assert df.attrs["skipped"] == [{"file": str(FIX / "topic_4242.json"), "item": 2,
                                    "reason": "small action closed.enabled"}]


def test_discourse_topic_with_posts_left_out_warns(tmp_path):
    topic = json.loads((FIX / "topic_4242.json").read_text("utf-8"))
    topic["post_stream"]["stream"] += [9005, 9006]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(topic), "utf-8")
    with pytest.warns(UserWarning, match="has 6 posts but the file holds 4"):
        df = read(path)
    assert len(df) == 3


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("name, fmt", [
    ("forum.csv", "csv"), ("notes.tsv", "tsv"), ("chat.jsonl", "jsonl"),
    ("records.json", "json"), ("table.parquet", "parquet"), ("mail.mbox", "mbox"),
    ("wiki_export.xml", "mediawiki"), ("truncated_posts.xml", "stackexchange"),
    ("stackexchange", "stackexchange"), ("slack", "slack"), ("topic_4242.json", "discourse"),
])
def test_detect_format_of_fixtures(name, fmt):
    assert detect_format(FIX / name) == fmt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the truncated file warns about its skipped end
        assert read(FIX / name, errors="skip").attrs["format"] == fmt


@pytest.mark.parametrize("source, fmt", [
    ("mail.mbox", "mbox"), ("wiki_export.xml", "mediawiki"),
    ("stackexchange/Posts.xml", "stackexchange"), ("table.parquet", "parquet"),
    ("records.json", "json"), ("topic_4242.json", "discourse"), ("chat.jsonl", "jsonl"),
])
def test_detect_format_from_content(tmp_path, source, fmt):
    target = tmp_path / "export.data"
    shutil.copy(FIX / source, target)
    assert detect_format(target) == fmt


def test_detect_jsonl_and_slack_zip_by_content(tmp_path):
    lines = tmp_path / "lines.json"
    shutil.copy(FIX / "chat.jsonl", lines)
    assert detect_format(lines) == "jsonl"
    assert len(read(lines)) == 3
    assert detect_format(_zip_folder(FIX / "slack", tmp_path / "e.zip")) == "slack"


def test_unknown_format_lists_the_formats(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some words\n", encoding="utf-8")
    with pytest.raises(UnknownFormatError) as info:
        read(path)
    for name in FORMATS:
        assert name in str(info.value)
    assert "notes.txt" in str(info.value)
    with pytest.raises(UnknownFormatError, match="Unknown format 'excel'.*csv, tsv"):
        read(FIX / "forum.csv", format="excel")
    with pytest.raises(UnknownFormatError, match="folder"):
        read(tmp_path)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(UnknownFormatError):
        read(other_zip)


def test_missing_path_and_bad_arguments(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read(missing)
    with pytest.raises(FileNotFoundError):
        iter_read(missing)  # checked at the call, not at the first chunk
    with pytest.raises(ValueError, match="errors must be"):
        read(FIX / "forum.csv", errors="ignore")
    with pytest.raises(ValueError, match="chunksize"):
        iter_read(FIX / "forum.csv", chunksize=0)


# --------------------------------------------------------------------------- iter_read


@pytest.mark.parametrize("name, chunksize, sizes", [
    ("forum.csv", 3, [3, 1]), ("chat.jsonl", 2, [2, 1]), ("mail.mbox", 2, [2, 2, 2, 1]),
    ("stackexchange", 3, [3, 3, 2]), ("wiki_export.xml", 4, [4, 4, 1]), ("slack", 4, [4, 2]),
    ("table.parquet", 2, [2, 1]), ("records.json", 1, [1, 1]), ("topic_4242.json", 2, [2, 1]),
])
def test_iter_read_chunks(name, chunksize, sizes):
    chunks = list(iter_read(FIX / name, chunksize=chunksize))
    assert [len(c) for c in chunks] == sizes
    for chunk in chunks:
        assert_standard(chunk)
    whole = pd.concat(chunks, ignore_index=True)
    full = read(FIX / name)
    pd.testing.assert_frame_equal(whole[STANDARD], full[STANDARD])
    # extra columns may differ in dtype: a chunk where one is all missing stays object
    def plain(df):
        return df.astype(object).where(df.notna(), None)

    pd.testing.assert_frame_equal(plain(whole), plain(full))


def test_iter_read_reports_skips_with_their_chunk_and_warns_once():
    with pytest.warns(UserWarning, match="Skipped 2") as record:
        chunks = list(iter_read(FIX / "broken.csv", chunksize=1, errors="skip"))
    assert len([w for w in record if "Skipped" in str(w.message)]) == 1
    assert [c["id"].tolist() for c in chunks] == [["1"], ["2"], ["4"]]
    # line 4 was skipped while reading the chunk of record 4; the cut end comes last
    assert [[s["line"] for s in c.attrs["skipped"]] for c in chunks] == [[], [], [4, 6]]
    assert all(c.attrs["encoding"] == "utf-8" for c in chunks)


def test_iter_read_yields_good_chunks_before_a_raise():
    chunks = iter_read(FIX / "halfwritten.jsonl", chunksize=1)
    assert next(chunks)["text"].tolist() == ["first complete line"]
    assert next(chunks)["text"].tolist() == ["second complete line"]
    with pytest.raises(ReaderError, match="line 3"):
        next(chunks)


def test_iter_read_of_nothing_yields_one_empty_standard_frame(tmp_path):
    path = tmp_path / "blank.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    (chunk,) = list(iter_read(path))
    assert list(chunk.columns) == STANDARD and chunk.empty
    assert read(path).empty


# --------------------------------------------------------------------------- real samples


def test_real_stackexchange_dump(exports):
    folder = exports / "stackexchange_conlang_meta"
    df = no_warnings(read, folder)
    assert_standard(df)
    raw = sum((folder / n).read_text("utf-8-sig").count("<row ") for n in ("Posts.xml",
                                                                          "Comments.xml"))
    assert len(df) == raw
    assert df["id"].is_unique
    assert df["timestamp"].notna().all()
    assert df["doc_id"].str.match(r"^[qp]\d+$").all()
    ids = set(df["id"])
    answers = df[df["kind"] == "answer"]
    assert answers["parent_id"].isin(ids).all()
    assert not df["text"].str.contains(r"<(?:p|pre|code|blockquote|a)\b", regex=True).any()
    assert not df["text"].str.contains("&amp;|&quot;|&lt;", regex=True).any()
    chunks = list(iter_read(folder, chunksize=100))
    assert all(len(c) <= 100 for c in chunks) and sum(map(len, chunks)) == len(df)


def test_real_enron_mbox(exports):
    path = exports / "enron_sample.mbox"
    df = no_warnings(read, path)
    assert_standard(df)
    with open(path, "rb") as f:
        starts = sum(1 for line in f if line.startswith(b"From ") and b":" in line[5:])
    assert len(df) == starts
    assert df["id"].str.startswith("<").all() and df["id"].is_unique
    assert df["timestamp"].notna().all()
    assert df["author"].notna().all()
    assert "subject" in df.columns
    quoted = df["text"].str.contains(r"(?m)^\s*>", regex=True)
    assert not quoted.any()
    assert not df["text"].str.contains("-----Original Message-----", regex=False).any()
    assert [len(c) for c in iter_read(path, chunksize=50)][:2] == [50, 50]

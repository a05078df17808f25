"""Stack Exchange comments: Comments.xml read alone, the merge into Posts.xml switchable, mappings.

The fixture dump (``fixtures/se_comments``) is a small invented bicycle-repair
site: five posts (two questions, two answers, a tag wiki excerpt), five
comments (on a question, on each answer and on the excerpt) and three users.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from kmlang.io.readers import FORMATS, detect_format, iter_read, read

DUMP = Path(__file__).resolve().parent / "fixtures" / "se_comments"
COMMENTS = DUMP / "Comments.xml"
STANDARD = ["text", "author", "doc_id", "timestamp", "id", "parent_id"]
ROWS = STANDARD + ["kind"]


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def test_comments_xml_is_detected_by_root_element_and_in_a_folder(tmp_path):
    assert detect_format(COMMENTS) == "stackexchange"
    renamed = tmp_path / "export.data"
    shutil.copy(COMMENTS, renamed)
    assert detect_format(renamed) == "stackexchange"
    alone = tmp_path / "dump"
    alone.mkdir()
    shutil.copy(COMMENTS, alone / "Comments.xml")
    assert detect_format(alone) == "stackexchange"
    assert "Comments.xml alone" in FORMATS["stackexchange"]


def test_comments_xml_alone_reads_its_comments_with_the_posts_beside_it_for_threads():
    df = quietly(read, COMMENTS)
    assert df.attrs["format"] == "stackexchange"
    assert list(df.columns[:7]) == ROWS
    assert df["id"].tolist() == ["c1", "c2", "c3", "c4", "c5"]
    assert (df["kind"] == "comment").all()
    assert df["parent_id"].tolist() == ["1", "2", "3", "1", "5"]
    # answers' comments belong to their question's thread; the tag wiki is its own document
    assert df["doc_id"].tolist() == ["q1", "q1", "q1", "q1", "p5"]
    assert df["author"].tolist() == ["Ines Marlow", "Rosa Veldt", "new_mechanic", "Rosa Veldt",
                                     "Tomas Rijn"]
    assert df["text"][2] == "I don't know how to add to the binder yet & would love to learn."
    assert df["text"].notna().all()
    assert df["timestamp"][0] == pd.Timestamp("2022-09-12 08:02:30.117", tz="UTC")
    assert df["Score"].tolist() == [2, 0, 3, 1, 0]
    assert "Text" not in df.columns and "Id" not in df.columns
    assert "PostId" in df.columns and "UserId" in df.columns


def test_comments_xml_without_posts_beside_it(tmp_path):
    shutil.copy(COMMENTS, tmp_path / "Comments.xml")
    df = quietly(read, tmp_path / "Comments.xml")
    assert df["doc_id"].tolist() == ["p1", "p2", "p3", "p1", "p5"]  # threads unknown: the post
    assert df["author"].tolist() == ["203", "201", "new_mechanic", "201", "202"]  # no Users.xml
    assert df["text"].notna().all()
    assert read(tmp_path)["id"].tolist() == df["id"].tolist()  # a folder with only comments


def test_posts_merge_comments_by_default_and_comments_false_leaves_them_out():
    merged = quietly(read, DUMP)
    assert merged["kind"].tolist() == ["question", "answer", "answer", "question",
                                       "tag_wiki_excerpt"] + ["comment"] * 5
    posts = quietly(read, DUMP / "Posts.xml", comments=False)
    assert posts["id"].tolist() == ["1", "2", "3", "4", "5"]
    assert "comment" not in set(posts["kind"])
    assert len(quietly(read, DUMP, comments=False)) == 5
    # posts without comments plus Comments.xml alone: the same rows as the merged read
    both = pd.concat([posts, read(COMMENTS)], ignore_index=True)
    pd.testing.assert_frame_equal(both[ROWS], merged[ROWS])


def test_comments_false_chunks_and_contradictions():
    chunks = list(iter_read(DUMP, chunksize=2, comments=False))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert [len(c) for c in iter_read(COMMENTS, chunksize=3)] == [3, 2]
    with pytest.raises(ValueError, match="holds comments only"):
        read(COMMENTS, comments=False)
    with pytest.raises(ValueError, match="applies to Stack Exchange"):
        read(Path(__file__).resolve().parent / "fixtures" / "readers" / "mail.mbox",
             comments=True)
    with pytest.raises(TypeError, match="True or False"):
        read(DUMP, comments="no")


def test_column_mapping_names_attributes():
    by_default = read(COMMENTS)
    mapped = quietly(read, COMMENTS, format="stackexchange", text="Text")
    pd.testing.assert_frame_equal(mapped, by_default)
    posts = quietly(read, DUMP, comments=False, text="Body")
    pd.testing.assert_frame_equal(posts, read(DUMP, comments=False))

    raw = quietly(read, COMMENTS, author="UserId", timestamp="CreationDate")
    assert raw["author"].tolist() == ["203", "201", None, "201", "202"]
    assert raw["timestamp"].tolist() == by_default["timestamp"].tolist()
    assert "UserId" not in raw.columns and "CreationDate" not in raw.columns

    titles = quietly(read, DUMP, comments=False, text="Title")
    assert titles["text"].tolist() == ["Where do you keep spoke length notes?", None, None,
                                       "Chain checker or ruler?", None]
    assert titles["Body"][0].startswith("<p>Our repair cafe")  # kept, as it is not the text


def test_mapping_an_attribute_no_row_has_warns_with_the_attributes():
    with pytest.warns(UserWarning, match=r"No row of .*Comments\.xml has the attribute 'Title'.*"
                                         r"PostId, Score, Text"):
        df = read(DUMP, text="Title")
    assert df.loc[df["kind"] == "comment", "text"].isna().all()
    with pytest.warns(UserWarning, match="'Body'"):
        read(COMMENTS, text="Body")


# --------------------------------------------------------------------------- the CLI


def _score(args: list[str]):
    from kmlang.cli import app

    return CliRunner().invoke(app, ["score", *args, "-q"])


def test_cli_scores_comments_xml(tmp_path, model):
    out = tmp_path / "comments.csv"
    result = _score([str(COMMENTS), "-o", str(out)])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert scored["id"].tolist() == ["c1", "c2", "c3", "c4", "c5"]
    assert set(scored["status"]) <= {"ok", "non_english"}
    assert (scored["kind"] == "comment").all()

    mapped = tmp_path / "mapped.csv"
    result = _score([str(COMMENTS), "--format", "stackexchange", "-c", "text=Text", "-o",
                     str(mapped)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(mapped)["text"].tolist() == scored["text"].tolist()


def test_cli_no_comments(tmp_path, model):
    out = tmp_path / "posts.csv"
    result = _score([str(DUMP / "Posts.xml"), "--no-comments", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["kind"].tolist() == ["question", "answer", "answer", "question",
                                                 "tag_wiki_excerpt"]
    merged = tmp_path / "merged.csv"
    assert _score([str(DUMP), "-o", str(merged)]).exit_code == 0
    assert len(pd.read_csv(merged)) == 10

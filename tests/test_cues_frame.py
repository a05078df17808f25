import numpy as np
import pandas as pd
import pytest

import kmlang


def test_one_row_per_input_with_status():
    data = ["I don't know, can anyone help?", None, "", "   ", 3, b"bytes", float("nan"), "We all know."]
    df = kmlang.cues(data)
    assert len(df) == len(data)
    assert list(df["status"]) == ["ok", "missing", "empty", "empty", "not_a_string", "not_a_string",
                                  "missing", "ok"]
    assert df.loc[0, "cue_not_knowing"] == 1
    assert df.loc[7, "cue_we_know"] == 1
    assert np.isnan(df.loc[1, "cue_we_know"])
    assert df.loc[1, "n_tokens"] == 0


def test_series_index_and_dataframe_columns_kept():
    s = pd.Series(["I know.", "We know."], index=["a", "b"])
    df = kmlang.cues(s)
    assert list(df.index) == ["a", "b"]
    frame = pd.DataFrame({"body": ["I know."], "author": ["x"]}, index=[10])
    out = kmlang.cues(frame, text="body")
    assert list(out.columns[:2]) == ["body", "author"]
    assert out.index.tolist() == [10]
    assert "cue_i_know_rate" in out.columns


def test_missing_text_column_names_it():
    with pytest.raises(KeyError, match="body"):
        kmlang.cues(pd.DataFrame({"text": ["x"]}), text="body")


def test_single_string_is_a_clear_error():
    with pytest.raises(TypeError, match="list"):
        kmlang.cues("I know")


def test_truncation_is_flagged():
    df = kmlang.cues(["word " * 50], max_chars=20)
    assert df.loc[0, "status"] == "truncated"
    assert df.loc[0, "n_tokens"] == 4


def test_render_cues_html():
    html = kmlang.render_cues("I don't know, can anyone help?")
    assert "not_knowing" in html.lower() or "NOT_KNOWING" in html
    with pytest.raises(ValueError, match="empty"):
        kmlang.render_cues("  ")


def test_render_cues_keeps_the_text_as_written():
    import html as _html
    import re

    text = "Honestly, I don't know.\n> I know better\nThanks to Tom, as Ana pointed out. Any help? <b>x</b> & y"
    out = kmlang.render_cues(text)
    body = out[out.index('<div class="kml-cues">'):]
    shown = _html.unescape(re.sub(r'<span class="kml-label">[^<]*</span>|<[^>]+>', "", body))
    assert shown == text  # no spaces added before punctuation, line breaks kept, markup escaped
    assert "<b>x</b>" not in out
    # the quoted line is not highlighted; an overlap (I inside "I don't know") names both families
    assert 'title="first_person_singular, not_knowing"' in out or 'title="not_knowing, first_person_singular"' in out
    assert out.count('class="kml-label">crediting<') == 2
    assert kmlang.render_cues(text, page=True).startswith("<!DOCTYPE html>")


def test_cues_n_process_2_equals_one_process():
    texts = ["I don't know, any help?", None, "We wrote it up on the wiki.", 5] * 600
    one = kmlang.cues(texts)
    two = kmlang.cues(texts, n_process=2)
    pd.testing.assert_frame_equal(one.drop(columns="text"), two.drop(columns="text"))

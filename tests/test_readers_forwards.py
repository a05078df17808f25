"""Mail: forwarded and quoted blocks are someone else's words, kept in ``quoted_text``.

``fixtures/forwards.mbox`` holds one invented message per client style (names,
companies and content are made up for kmlang's tests). Each test checks that
the sender's own words stay in ``text``, that the forwarded or quoted words go
to ``quoted_text`` and not to ``text``, and that a message that only forwards
has no own text and ``quoted_only`` set.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

from kmlang.io.readers import iter_read, read
from kmlang.io.readers.mbox import clean_body, split_body

MBOX = Path(__file__).resolve().parent / "fixtures" / "forwards.mbox"


@pytest.fixture(scope="module")
def mail() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = read(MBOX)
    return df.set_index("id", drop=False)


# (message id, the sender's own text, words only in the quoted part, pure forward)
STYLES = [
    pytest.param("<outlook-reply@northmoor.example>",
                 "Thanks, we can all cover the Saturday shift if we swap notes on Friday.\n\nPer",
                 ["-----Original Message-----", "Sent:\tTuesday, March 12, 2002",
                  "I already know the pump schedule by heart, so I will run it alone."],
                 False, id="outlook-original-message"),
    pytest.param("<outlook-forward@northmoor.example>", "",
                 ["Subject:\tPump schedule",
                  "We keep the pump log on the shared drive so that everyone can learn from it."],
                 True, id="outlook-pure-forward"),
    pytest.param("<lotus-forward@northmoor.example>",
                 "Could you check the numbers below before Friday? I am not sure they add up.",
                 ["Forwarded by Marta Ilves/NMW/Northmoor on 04/02/2001", "Jonas Petersen",
                  "Trust me, the levels are fine. I have checked them myself for ten years."],
                 False, id="lotus-forwarded-by-wrapped"),
    pytest.param("<lotus-pure-forward@northmoor.example>", "",
                 ["Our whole team wrote this report together, and we thank every volunteer."],
                 True, id="lotus-pure-forward"),
    pytest.param("<lotus-reply@northmoor.example>",
                 "You are right, I had the wrong gauge. Thanks for catching it.",
                 ["Marta Ilves\n04/03/2001 09:05 AM",
                  "The April figures do not match the gauge readings."],
                 False, id="lotus-reply-header"),
    pytest.param("<gmail-forward@harborlane.example>",
                 "FYI, this is the vendor's answer. Does anyone know a better option?",
                 ["---------- Forwarded message ---------", "From: Dale Whitcombe",
                  "Only our own engineers know how to service that model, so book us."],
                 False, id="gmail-forwarded-message"),
    pytest.param("<apple-forward@harborlane.example>", "",
                 ["Begin forwarded message:",
                  "We can deliver on Thursday morning between eight and ten."],
                 True, id="apple-begin-forwarded-message"),
    pytest.param("<on-wrote@coldchain.example>",
                 "Thursday works for us, the whole crew will be there.\n\n"
                 "We will, thanks for the reminder.",
                 ["On Wed, 8 May 2019 at 10:31, Priya Raman", "Can you come on Thursday?",
                  "Please use the side entrance."],
                 False, id="on-date-wrote-quoted"),
    pytest.param("<on-wrote-unquoted@harborlane.example>",
                 "Sounds good to me, I will show the new starters how it works.",
                 ["Priya Raman <priya@harborlane.example> wrote:",
                  "The new freezer arrives on Monday; I am the only one who knows the codes."],
                 False, id="on-date-wrote-unquoted"),
    pytest.param("<angle-quotes@quillfeather.example>",
                 "Then let us own it together and write down how it is built.",
                 ["Who owns the dashboard?\nNobody, I think."],
                 False, id="angle-quoted-lines"),
    pytest.param("<outlook-rule@quillfeather.example>",
                 "I agree with Tomas, I was wrong about the cache.",
                 ["Sent: Friday, May 10, 2019 1:40 PM",
                  "The cache is the problem, I am certain of it."],
                 False, id="outlook-header-block"),
]


@pytest.mark.parametrize("message_id, own, quoted, pure", STYLES)
def test_each_style_keeps_own_words_in_text_and_the_rest_in_quoted_text(mail, message_id, own,
                                                                         quoted, pure):
    row = mail.loc[message_id]
    assert row["text"] == own
    for words in quoted:
        assert words in row["quoted_text"]
        assert words not in row["text"]
    assert bool(row["quoted_only"]) is pure
    assert not row["quoted_text"].lstrip().startswith(">")


def test_frame_shape_and_chunks(mail):
    assert len(mail) == len(STYLES)
    assert list(mail.columns[:8]) == ["text", "author", "doc_id", "timestamp", "id", "parent_id",
                                      "quoted_text", "quoted_only"]
    assert mail["quoted_only"].sum() == 3
    assert (mail["quoted_text"] != "").all()
    whole = pd.concat(iter_read(MBOX, chunksize=4), ignore_index=True)
    assert whole["quoted_text"].tolist() == mail["quoted_text"].tolist()


def test_quote_markers_are_removed_and_signature_is_dropped():
    own, quoted = split_body("> > deep\n> shallow\nmine\n-- \nAda\nOrla group")
    assert own == "mine"
    assert quoted == "deep\nshallow"
    assert clean_body("> > deep\nmine") == "mine"


def test_plain_mail_has_no_quoted_text():
    own, quoted = split_body("We wrote the runbook together.\n\nFrom: the whole team\n")
    assert own == "We wrote the runbook together.\n\nFrom: the whole team"
    assert quoted == ""
    assert split_body("") == ("", "")
    # "wrote:" in the sender's own words, with no quote under it, is theirs
    assert split_body("Here is what I wrote:\nthe plan") == ("Here is what I wrote:\nthe plan", "")


def test_real_enron_sample_forwards_are_not_the_senders_words():
    shared = Path(os.environ.get("KMLANG_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    path = shared / "corpora" / "exports" / "enron_sample.mbox"
    if not path.is_file():
        pytest.skip(f"the real mbox sample is absent ({path}); it lives in ../shared")
    df = read(path)
    for marker in ("Forwarded by", "-----Original Message-----", "Begin forwarded message"):
        assert not df["text"].str.contains(marker, regex=False).any()
    assert df["quoted_only"].equals((df["text"] == "") & (df["quoted_text"] != ""))
    assert df["quoted_only"].sum() >= 10
    assert not df["text"].str.contains(r"(?m)^\s*>", regex=True).any()


def test_pure_forward_is_scored_as_quoted_only(tmp_path):
    """kmlang.score turns the reader's quoted_only rows into status 'quoted_only', not 'empty'."""
    import pandas as pd

    import kmlang

    frame = pd.DataFrame({"text": ["", "", "I have no idea why, any help?"],
                          "quoted_only": [True, False, False]})
    s = kmlang.score(frame, progress=False)
    assert list(s["status"]) == ["quoted_only", "empty", "ok"]

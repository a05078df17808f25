"""kmlang.report and the report/aggregate commands: one self-contained, readable HTML page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import kmlang
from kmlang.analysis.report import build_report, is_score_frame, pseudonym, read_scores, report_file
from kmlang.cli import aggregate as _aggregate_cmd  # noqa: F401  (registers the command)
from kmlang.cli import report as _report_cmd  # noqa: F401
from kmlang.cli import score as _score_cmd  # noqa: F401
from kmlang.cli._app import app
from kmlang.shifts import SHIFT_IDS, TARGETS
from tests.conftest import score_frame_base

pytest.importorskip("matplotlib")

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "notebooks" / "sample_export.jsonl"
HANDLES = ("ferrite_fern", "quill_and_solder", "gearhead_gus", "mossy_bench", "tamsin.r",
           "old_anvil", "pixel_moth", "ledger_lark")
SECTIONS = ("What was scored", "Community profile", "Trend", "Groups at each end",
            "Passages furthest toward each pole", "Methods", "Accuracy of the model")
CHROMIUM = Path("/usr/bin/chromium")
runner = CliRunner()


@pytest.fixture(scope="module")
def sample_scores(model):
    return kmlang.score(kmlang.read(SAMPLE), model=model)


@pytest.fixture(scope="module")
def page(sample_scores, model):
    return build_report(sample_scores, model_card=model.card_, title="Sample <forum> & co")


def synthetic(n_per_author=(6, 6, 6, 6, 2), seed=0) -> pd.DataFrame:
    """A score frame: every target neutral except a few passages on ``knowing``."""
    rng = np.random.default_rng(seed)
    authors = [f"person{i}" for i, k in enumerate(n_per_author) for _ in range(k)]
    n = len(authors)
    df = score_frame_base([f"Neutral passage number {i} about the weather." for i in range(n)],
                          authors, [f"d{i % 3}" for i in range(n)])
    for t in TARGETS:
        df[t] = rng.uniform(-0.05, 0.05, n)
        df[f"{t}_relevance"] = 0.1
        df[f"{t}_label"] = pd.array([0] * n, dtype="Int8")
    poles = {0: ("Kappa one we all know this together.", 0.9, 1),
             1: ("Kappa two we learned it as a group.", 0.8, 1),
             2: ("Kappa three the community worked it out.", 0.7, 1),
             3: ("Kappa four the list agreed.", 0.6, 1),
             4: ("Nu one I know best, trust me.", -0.9, -1),
             5: ("Nu two my answer stands.", -0.5, -1)}
    for i, (text, pos, lab) in poles.items():
        df.loc[i, "text"] = text
        df.loc[i, "knowing"] = pos
        df.loc[i, "knowing_relevance"] = 0.9
        df.loc[i, "knowing_label"] = lab
    return df


# ---------------------------------------------------------------------- content


def test_report_has_every_section_and_the_facts(page, sample_scores):
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for title in SECTIONS:
        assert f">{title}</h2>" in page
    assert page.count('<img src="data:image/png;base64,') == 2  # profile and trend
    assert re.search(r"Passages</th><td>64<", page)
    assert "2024-01-08 to 2024-06-26" in page
    assert re.search(r"Authors</th><td>8 \(shown as pseudonyms\)", page)
    assert re.search(r"Documents / threads</th><td>14<", page)
    assert f"kmlang version</th><td>{kmlang.__version__}<" in page
    card = kmlang.load_model().card_
    assert str(card.get("name", "")) in page
    # cue highlighting (kmlang.render_cues: the text as written, cues marked)
    assert 'class="kml-cues"' in page and 'class="kml-cue"' in page


def test_title_and_text_are_escaped():
    df = synthetic(n_per_author=(12, 12, 12, 12, 2))
    df["overall_label"] = 1  # every group has enough labelled passages to be ranked
    df["overall_relevance"] = 0.9
    df.loc[0, "text"] = "Kappa <script>alert('x')</script> we know & share <b>this</b>."
    df.loc[df["author"] == "person1", "author"] = "<i>mallory</i>"
    card = {"name": "<b>card</b>", **GRADED}  # overall graded indicative
    page = build_report(df, model_card=card, title="A <b>title</b>", names=True)
    assert "<script>alert" not in page
    assert "<b>title</b>" not in page and "A &lt;b&gt;title&lt;/b&gt;" in page
    assert "<i>mallory</i>" not in page and "&lt;i&gt;mallory&lt;/i&gt;" in page
    assert "<b>card</b>" not in page and "&lt;b&gt;card&lt;/b&gt;" in page


def test_authors_are_pseudonymised_unless_names(sample_scores, page, model):
    for handle in HANDLES:
        assert handle not in page
    assert re.search(r"author-[0-9a-f]{16}", page)  # keyed pseudonyms, a fresh key per report
    key = "k" * 32
    keyed = build_report(sample_scores, model_card=model.card_, title="t", pseudonym_key=key)
    assert any(pseudonym(h, key) in keyed for h in HANDLES)
    named = build_report(sample_scores, model_card=model.card_, title="t", names=True)
    assert any(h in named for h in HANDLES)
    assert not re.search(r"author-[0-9a-f]{16}", named)


def test_pseudonym_is_stable_within_a_key():
    p = pseudonym("ferrite_fern")
    assert p == pseudonym("ferrite_fern") != pseudonym("ferrite_fer")
    assert re.fullmatch(r"author-[0-9a-f]{16}", p)
    assert pseudonym(None) is None and pseudonym(float("nan")) is None
    assert pseudonym(42) == pseudonym("42")


def test_no_external_resources(page):
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", page, re.I)
    assert "@import" not in page and "<link" not in page.lower()
    assert not re.search(r"<script[^>]+src", page, re.I)
    srcs = re.findall(r"""src\s*=\s*["']([^"']*)""", page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)


def _visible(html_text: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html_text).split())


def test_poles_show_the_top_three_labelled_passages_in_order():
    page = build_report(synthetic(), model_card={}, title="t")
    knowing = _visible(page[page.index("1. knowing: "):page.index("2. ownership: ")])
    # the three furthest toward "we know", furthest first; the fourth is left out
    assert knowing.index("Kappa one") < knowing.index("Kappa two") < knowing.index("Kappa three")
    assert "Kappa four" not in knowing
    assert knowing.index("Nu one") < knowing.index("Nu two")
    assert "Neutral passage" not in _visible(page)  # label 0 never makes a pole example
    ownership = _visible(page[page.index("2. ownership: "):page.index("3. sharing: ")])
    # said once per shift, naming both poles (issue 16: not once per empty pole)
    assert ownership.count("None is labelled toward") == 1 and " or " in ownership.split("None is")[1][:200]


GRADED = {"metrics": {"test_real": {"overall": 0.5}}, "gold_labels": {"test_real": {"overall": 100}}}


def test_ends_table_respects_min_passages():
    df = synthetic(n_per_author=(12, 12, 12, 12, 2))
    df["overall_label"] = 1  # enough labelled passages to be ranked (test_report_shares tests the rule)
    df["overall_relevance"] = 0.9
    page = build_report(df, model_card=GRADED, title="t", names=True, min_passages=5)
    ends = page[page.index(">Groups at each end</h2>"):
                page.index(">Passages furthest toward each pole</h2>")]
    for name in ("person0", "person1", "person2", "person3"):
        assert name in ends
    assert "person4" not in ends  # 2 passages < 5
    assert "1 with fewer are left out" in ends


def test_degenerate_input_still_gives_a_page():
    df = synthetic().head(3)
    df["status"] = "empty"
    for t in TARGETS:
        df[t] = np.nan
        df[f"{t}_relevance"] = np.nan
        df[f"{t}_label"] = pd.array([pd.NA] * 3, dtype="Int8")
    page = build_report(df, model_card={}, title="empty")
    for title in SECTIONS:
        assert f">{title}</h2>" in page
    assert "no profile" in page
    assert "no accuracy figures" in page


def test_accuracy_table_from_the_card():
    card = {"name": "m", "metrics": {"dev": {**dict.fromkeys(TARGETS, 0.4321), "mean_shift": 0.5},
                                     "test_real": dict.fromkeys(TARGETS, 0.61)},
            "baselines_dev": {"always_neutral": dict.fromkeys(TARGETS, 0.33),
                              "pronoun_ratio": dict.fromkeys(TARGETS, 0.21)}}
    page = build_report(synthetic(), model_card=card, title="t")
    acc = page[page.index(">Accuracy of the model</h2>"):]
    for figure in ("0.43", "0.61", "0.33", "0.21", "0.50"):
        assert figure in acc
    for col in (">kmlang</th>", ">baselines, on dev</th>", ">dev</th>", ">test (real)</th>",
                ">always neutral</th>", ">pronoun ratio</th>"):
        assert col in acc
    for caveat in ("mostly neutral", "few examples", "thresholds tuned on real text"):
        assert caveat in acc


def test_accuracy_table_says_how_many_gold_labels_each_figure_rests_on():
    card = {"name": "m", "metric": "pole-F1 per target",
            "metrics": {"dev": {**dict.fromkeys(TARGETS, 0.4321), "advantage": None}},
            "gold_labels": {"dev": {**dict.fromkeys(TARGETS, 17), "advantage": 0, "n": 550}}}
    acc = build_report(synthetic(), model_card=card, title="t")
    acc = acc[acc.index(">Accuracy of the model</h2>"):]
    assert "pole-F1 per target" in acc and "(17)" in acc and "(0)" in acc
    assert "non-zero gold labels" in acc and "scores 0" in acc


def test_build_report_rejects_what_is_not_a_score_frame():
    with pytest.raises(KeyError, match="score columns"):
        build_report(pd.DataFrame({"text": ["a"]}), model_card={}, title="t")
    with pytest.raises(TypeError):
        build_report(["a"], model_card={}, title="t")


# -------------------------------------------------------------- files and commands


@pytest.fixture(scope="module")
def scores_files(tmp_path_factory, model):
    """The sample scored by `kmlang score` into CSV, JSONL and Parquet."""
    d = tmp_path_factory.mktemp("scores")
    out = {}
    for ext in ("csv", "jsonl", "parquet"):
        path = d / f"scores.{ext}"
        res = runner.invoke(app, ["score", str(SAMPLE), "-o", str(path), "--quiet"])
        assert res.exit_code == 0, res.output
        out[ext] = path
    return out


def test_read_scores_round_trips_every_format(scores_files, sample_scores):
    for ext, path in scores_files.items():
        frame = read_scores(path)
        assert is_score_frame(frame), ext
        assert len(frame) == len(sample_scores)
        assert str(frame["timestamp"].dt.tz) == "UTC"
        assert frame["author"].tolist() == sample_scores["author"].tolist()
        np.testing.assert_allclose(frame["overall"].to_numpy(float),
                                   sample_scores["overall"].to_numpy(float), atol=1e-6)


def test_read_scores_says_what_is_wrong(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("text,author\nhello,me\n", encoding="utf-8")
    with pytest.raises(KeyError, match="kmlang score"):
        read_scores(bad)
    with pytest.raises(ValueError, match="csv"):
        read_scores(tmp_path / "x.txt")


def test_report_cli(tmp_path):
    out = tmp_path / "report.html"
    res = runner.invoke(app, ["report", str(SAMPLE), "-o", str(out)])
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    assert "kmlang report: sample_export.jsonl" in page
    assert not any(h in page for h in HANDLES)
    named = tmp_path / "named.html"
    res = runner.invoke(app, ["report", str(SAMPLE), "-o", str(named), "--names", "--title",
                              "Makers", "--freq", "Q"])
    assert res.exit_code == 0, res.output
    page = named.read_text(encoding="utf-8")
    assert "<h1>Makers</h1>" in page and any(h in page for h in HANDLES)
    assert "per quarter" in page


def test_report_from_a_scores_file(scores_files, tmp_path):
    out = report_file(scores_files["csv"], tmp_path / "r.html")
    page = out.read_text(encoding="utf-8")
    assert re.search(r"Passages</th><td>64<", page)
    assert page.count("data:image/png;base64,") == 2


def test_aggregate_cli_matches_the_library(scores_files, sample_scores, tmp_path):
    expected = kmlang.aggregate(sample_scores, by="author", freq="M", min_passages=2)
    for ext, path in scores_files.items():
        out = tmp_path / f"agg_{ext}.csv"
        res = runner.invoke(app, ["aggregate", str(path), "-o", str(out), "--by", "author",
                                  "--freq", "M", "--min-passages", "2"])
        assert res.exit_code == 0, res.output
        got = pd.read_csv(out)
        assert list(got.columns) == list(expected.columns)
        assert len(got) == len(expected)
        np.testing.assert_allclose(got["overall"], expected["overall"], atol=1e-6)
        assert pd.to_datetime(got["period"], utc=True).dt.month.tolist() == \
            expected["period"].dt.month.tolist()


def test_aggregate_cli_community_and_formats(scores_files, tmp_path):
    out = tmp_path / "community.jsonl"
    res = runner.invoke(app, ["aggregate", str(scores_files["parquet"]), "-o", str(out),
                              "--by", "none"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1 and rows[0]["n_passages"] == 64
    bad = runner.invoke(app, ["aggregate", str(scores_files["csv"]), "-o",
                              str(tmp_path / "x.txt")])
    assert bad.exit_code != 0


# ------------------------------------------------------------------ real browser


def _chromium(*args: str, profile: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_report_opens_in_a_real_browser(tmp_path, model):
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    report = report_file(SAMPLE, tmp_path / "report.html", model=None)
    url = report.resolve().as_uri()

    dom = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom", url,
                    profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body, dom.stdout[:500]
    assert 'data-images-ok="true"' in body.group(0), "an image did not load"
    console = [line for line in dom.stderr.splitlines()
               if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console

    shot = tmp_path / "report.png"
    res = _chromium(f"--screenshot={shot}", "--window-size=1280,2400", url,
                    profile=tmp_path / "profile-shot")
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[:2] == (2400, 1280)
    grey = pixels[..., :3].mean(axis=2)
    assert grey.std() > 0.05, "the screenshot is blank"
    # the plot area (dark ink on white) takes up a fair part of the first screen
    assert (grey < 0.5).mean() > 0.005
    keep = REPO / ".pytest_cache" / "report_screenshot.png"
    keep.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, keep)  # for a person to look at


def test_every_shift_gets_a_pole_section(page):
    for i, s in enumerate(SHIFT_IDS, 1):
        assert f"{i}. {s}: " in page


def test_how_to_read_box_near_the_top_says_how_sure_the_numbers_are():
    card = {"name": "m", "metrics": {"dev": {**dict.fromkeys(TARGETS, 0.4), "overall": 0.52}}}
    html = build_report(synthetic(), model_card=card, title="t")
    top = _visible(html[: html.index(">Community profile</h2>")])
    assert "How to read this report" in top and "0.52" in top and "0.9" in top
    assert "counts more the more it speaks to that shift" in _visible(html)  # relevance, in plain words

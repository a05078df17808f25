"""Write notebooks/01_quickstart.ipynb and 02_retrain.ipynb with nbformat (outputs empty)."""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NB = Path(__file__).resolve().parents[1] / "notebooks"

def setup(display_imports: bool, extra: str = "") -> str:
    ipy = "from IPython.display import HTML, display\n" if display_imports else ""
    return f'''import os
import warnings
from pathlib import Path

import pandas as pd
{ipy}
# tqdm's notebook progress bar needs ipywidgets; without them it warns once on import
warnings.filterwarnings("ignore", message="IProgress not found")
import kmlang  # noqa: E402
{extra}
# The notebook runs in notebooks/, so the repository root is one level up and the
# shared corpora sit beside the repository (or wherever $KMLANG_SHARED points).
REPO = Path.cwd().resolve().parent if Path.cwd().name == "notebooks" else Path.cwd().resolve()
SHARED = Path(os.environ.get("KMLANG_SHARED", REPO.parent / "shared"))
SAMPLE = REPO / "notebooks" / "sample_export.jsonl"
pd.set_option("display.max_colwidth", 120)'''


def md(text):
    return new_markdown_cell(text.strip("\n"))


def code(text):
    return new_code_cell(text.strip("\n"))


def quickstart():
    cells = [
        md("""
# kmlang quickstart

Does a community talk in "I know" or in "we know" terms, and is that changing?
This notebook reads a real export, scores every passage on the eleven knowledge-culture
shifts, rolls the scores up by author and for the whole community, plots a profile and a
trend, and then opens the passages behind one number.

It uses the Stack Exchange dump of *conlang.meta* from `../shared/corpora/exports/` when
that folder is present, and otherwise the small invented forum export `sample_export.jsonl`
next to this notebook.
"""),
        code(setup(True) + '''

EXPORT = SHARED / "corpora" / "exports" / "stackexchange_conlang_meta"
if not EXPORT.is_dir():  # no ../shared: fall back to the invented sample export
    EXPORT = SAMPLE
print("Reading", EXPORT)'''),
        md("""
## 1. Read the export

`kmlang.read` detects the format (here a Stack Exchange `Posts.xml` + `Comments.xml`, or JSON
Lines) and returns one row per passage. The first columns are always `text`, `author`,
`doc_id` (the thread), `timestamp` (UTC), `id` and `parent_id`; the source's own fields follow.
"""),
        code('''frame = kmlang.read(EXPORT)
print(f"{len(frame):,} passages by {frame['author'].nunique():,} authors in "
      f"{frame['doc_id'].nunique():,} threads, {frame['timestamp'].min():%Y-%m-%d} to "
      f"{frame['timestamp'].max():%Y-%m-%d}")
frame[["author", "doc_id", "timestamp", "text"]].head()'''),
        md("""
## 2. Score every passage

`kmlang.score` keeps every input row and column and adds, for each shift and `overall`:

- the **position** (`knowing`, `sharing`, ...): P(collective) − P(individual), from −1
  ("I know") to +1 ("we know");
- the **relevance** (`<shift>_relevance`): 1 − P(neutral), how much the passage speaks to
  the shift at all;
- the **label** (`<shift>_label`): −1, 0 or +1.

`status` says whether a row was scored (`ok`), or why not (`empty`, `missing`, ...).
Most real passages are neutral on most shifts.
"""),
        code('''scores = kmlang.score(frame)
print(scores["status"].value_counts().to_string())
scores[["author", "text", "overall", "overall_relevance", "overall_label"]].head()'''),
        md("""
## 3. Aggregate: by author and for the whole community

`kmlang.aggregate` gives relevance-weighted means with 95% intervals. Authors with fewer than
`min_passages` passages are left out; the rest are shrunk toward the community mean in
proportion to their uncertainty (`overall_raw` keeps the unshrunk mean). `by=None` puts
every passage in one group.

Tables and plots of authors show pseudonyms, not names: `pseudonymise` replaces the names in
a table by `author-` + 16 hex digits of a keyed hash (the same for a name all session; pass
`key=` to keep them across sessions), and the plots do the same unless given `names=True`.
"""),
        code('''by_author = kmlang.aggregate(scores, by="author", min_passages=5)
community = kmlang.aggregate(scores, by=None)
print(f"{len(by_author)} authors with at least 5 passages "
      f"({by_author.attrs['dropped_groups']} smaller ones left out)")
cols = ["n_passages", "overall", "overall_lo", "overall_hi", "overall_raw", "overall_expressed"]
community[cols].round(3)'''),
        code('''from kmlang.analysis.pseudonym import pseudonym, pseudonymise

ranking = pseudonymise(by_author).sort_values("overall", ascending=False)
ranking[["author", *cols]].round(3).head(10)'''),
        md("""
## 4. Plot the profile and the trend

`kmlang.plot.profile` shows where a group stands on each shift: the individual pole's phrase on
the left, the collective pole's on the right, the dot at the mean with its 95% interval.
"""),
        code('''import matplotlib.pyplot as plt

from kmlang.analysis import plot

plot.profile(community)
plt.show()'''),
        md("""
Two authors side by side: the ones furthest toward each pole on `overall` (chosen by
name, shown as pseudonyms).
"""),
        code('''ranked = by_author.dropna(subset=["author"]).sort_values("overall")
ends = [ranked["author"].iloc[-1], ranked["author"].iloc[0]]
plot.profile(by_author, groups=ends)
plt.show()'''),
        md("""
`kmlang.trend` gives the mean position per period and a weighted least-squares slope per
year with a 95% interval. A shift counts as changing only when that interval excludes 0 and
the fitted change over the whole span is at least 0.10; `describe` says it in a sentence.
Months for a short export, quarters for a long one.
"""),
        code('''span_days = (scores["timestamp"].max() - scores["timestamp"].min()).days
freq = "M" if span_days <= 400 else "Q"
tr = kmlang.trend(scores, freq=freq)
plot.trend(tr, shifts=["overall", "not_knowing"])
plt.show()
print(tr.describe("overall"))
tr.slopes[["n_periods", "overall_slope_per_year", "overall_slope_per_year_lo",
           "overall_slope_per_year_hi", "overall_change", "overall_changing"]].round(4)'''),
        md("""
## 5. Open the passages behind one number

Take the author furthest toward the collective pole and read their passages that speak most
to `overall` (highest relevance).
"""),
        code('''author = ranked["author"].iloc[-1]
theirs = scores[scores["author"] == author].sort_values("overall_relevance", ascending=False)
overall = by_author.set_index("author").loc[author, "overall"]
print(f"author {pseudonym(author)}: overall {overall:+.2f} over {len(theirs)} passages")
theirs[["timestamp", "overall", "overall_relevance", "overall_label", "text"]].head(5)'''),
        md("""
`kmlang.explain` shows which cues and words pushed each score, with the cues highlighted in the
text (cues marked) and the strongest features per shift (+ toward "we", − toward "I").
"""),
        code('''explanation = kmlang.explain(theirs["text"].iloc[0])
display(HTML(explanation.to_html()))'''),
        md("""
## Next

The command line does the same for files too big for memory:
`kmlang score EXPORT -o scores.csv`, `kmlang aggregate scores.csv -o authors.csv --by author
--freq M`, and `kmlang report EXPORT -o report.html` for a self-contained HTML report.
"""),
    ]
    return cells


# Labels for every passage of sample_export.jsonl, decided by reading them against the
# annotation guide. Only non-zero values are listed; a passage not listed is neutral.
SAMPLE_LABELS = {
    "p001": {"not_knowing": 1, "overall": 1},
    "p002": {"knowing": -1, "openness": -1, "overall": -1},
    "p003": {"knowing": 1, "sharing": 1, "relation": 1, "overall": 1},
    "p004": {"novelty": 1, "peers": 1, "overall": 1},
    "p005": {"sharing": 1, "relation": 1, "overall": 1},
    "p006": {"ownership": -1, "property": -1, "openness": -1, "overall": -1},
    "p007": {"property": 1, "overall": 1},
    "p010": {"knowing": -1, "property": -1, "openness": -1, "overall": -1},
    "p016": {"knowing": -1, "openness": -1, "overall": -1},
    "p017": {"knowing": 1, "peers": 1, "overall": 1},
    "p018": {"openness": 1, "overall": 1},
    "p019": {"openness": -1, "overall": -1},
    "p020": {"sharing": 1, "relation": 1, "overall": 1},
    "p021": {"sharing": -1, "advantage": -1, "overall": -1},
    "p022": {"sharing": 1, "overall": 1},
    "p023": {"sharing": 1, "overall": 1},
    "p024": {"sharing": 1, "property": 1, "overall": 1},
    "p025": {"invention": -1, "overall": -1},
    "p026": {"invention": 1, "overall": 1},
    "p029": {"not_knowing": 1, "overall": 1},
    "p030": {"not_knowing": -1, "overall": -1},
    "p031": {"not_knowing": 1, "overall": 1},
    "p032": {"not_knowing": 1, "overall": 1},
    "p033": {"peers": 1, "overall": 1},
    "p038": {"sharing": 1, "property": 1, "overall": 1},
    "p039": {"relation": 1, "peers": 1, "overall": 1},
    "p040": {"sharing": 1, "relation": 1, "overall": 1},
    "p041": {"openness": 1, "novelty": 1, "overall": 1},
    "p042": {"not_knowing": 1, "overall": 1},
    "p043": {"knowing": 1, "overall": 1},
    "p045": {"relation": 1, "novelty": 1, "peers": 1, "overall": 1},
    "p046": {"sharing": 1, "overall": 1},
    "p051": {"property": 1, "openness": 1, "overall": 1},
    "p052": {"knowing": 1, "openness": 1, "overall": 1},
    "p053": {"relation": 1, "overall": 1},
    "p055": {"knowing": 1, "sharing": 1, "relation": 1, "peers": 1, "overall": 1},
    "p056": {"openness": 1, "novelty": 1, "peers": 1, "overall": 1},
    "p057": {"knowing": 1, "relation": 1, "overall": 1},
    "p058": {"sharing": 1, "peers": 1, "overall": 1},
    "p059": {"knowing": 1, "peers": 1, "not_knowing": 1, "overall": 1},
    "p062": {"not_knowing": 1, "overall": 1},
    "p063": {"openness": 1, "overall": 1},
}


def _labels_literal() -> str:
    lines = ["SAMPLE_LABELS = {"]
    for k, v in SAMPLE_LABELS.items():
        lines.append(f"    {k!r}: {v!r},")
    lines.append("}")
    return "\n".join(lines)


def retrain():
    cells = [
        md("""
# Label what the model is least sure about, and retrain

Active learning in three steps: `suggest` picks the passages the model is least certain about
(and not alike), a person labels them following the annotation guide, and the model is
retrained with them. This notebook uses the small invented export `sample_export.jsonl` and a
**fast** training configuration so that it runs in a minute or two; the full retrain is
`kmlang train` (see the end).
"""),
        code(setup(False, "from kmlang.model.labelled import label_frame  # noqa: E402\n"
                          "from kmlang.model.suggest import suggest, write_suggestions  # noqa: E402\n")
             + '''
if (SHARED / "corpora").is_dir():  # where load_labelled finds the text of real labelled passages
    os.environ.setdefault("KMLANG_CORPORA", str(SHARED / "corpora"))

frame = kmlang.read(SAMPLE)
print(f"{len(frame)} passages by {frame['author'].nunique()} authors")'''),
        md("""
## 1. Which passages to label

`suggest` scores the passages with the default model and ranks them by uncertainty: the mean,
over the eleven shifts and `overall`, of the entropy of the three probabilities (−1, 0, +1),
scaled to [0, 1]. Going down that ranking it skips any passage whose TF-IDF cosine similarity to
one already chosen exceeds 0.8, so the suggestions are not near-copies of each other. The
command line equivalent is `kmlang suggest sample_export.jsonl --n 10 -o to_label.jsonl`.
"""),
        code('''to_label = suggest(frame, n=10, source=SAMPLE.name)
to_label[["id", "uncertainty", "text"]]'''),
        md("""
The suggestions come in the labelling format of the annotation guide, with empty labels
(`null`) to fill in with −1, 0 or +1:
"""),
        code('''import tempfile

workdir = Path(tempfile.mkdtemp(prefix="kmlang-retrain-"))
write_suggestions(to_label, workdir / "to_label.jsonl")
print((workdir / "to_label.jsonl").read_text(encoding="utf-8").splitlines()[0][:400])'''),
        md("""
## 2. Label them

In practice you open `to_label.jsonl` in an editor and fill in every label. Here the labels are
written out below: every passage of the sample was read against the annotation guide and
its non-zero labels listed (a passage not listed is neutral on every shift, as most real
passages are). We take the labels of the suggested passages from this list.
"""),
        code(_labels_literal() + '''

texts = dict(zip(frame["id"], frame["text"], strict=True))


def record(row):
    pid = row["id"].removeprefix(SAMPLE.stem + "-")
    given = SAMPLE_LABELS.get(pid, {})
    return {"id": row["id"], "text": texts[pid],
            "labels": {s: given.get(s, 0) for s in kmlang.SHIFT_IDS},
            "overall": given.get("overall", 0), "split": "train", "register": "forum",
            "source": SAMPLE.name}


new_records = [record(r) for _, r in to_label.iterrows()]
new = label_frame(new_records)
new[["id", *kmlang.TARGETS]]'''),
        md("""
## 3. Retrain (fast) and compare

The project's labelled data (`kmlang.load_labelled`) has passages written for the project
(*authored*) and labelled real passages (whose text is joined from `../shared/corpora`). For
speed, the model here is trained on the authored training passages plus the new labels, with a
cheap configuration: word unigrams only (5,000 of them), no probability calibration and no tuned
label thresholds. It is a demonstration of the workflow, not a better model: the default model is
also trained on the real passages, with calibration and thresholds tuned on real text.
"""),
        code('''import time

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # without ../shared: "real passages are absent"
    authored = kmlang.load_labelled(kind="authored", split="train")
train = pd.concat([authored, new], ignore_index=True)

fast = kmlang.ShiftClassifier(thresholds=None, calibration=None, ngram_range=(1, 1),
                              max_features=5000, C=1.0)
start = time.time()
fast.fit(train["text"].tolist(), train)
print(f"trained on {len(train):,} passages ({len(new)} new) in {time.time() - start:.0f} s")'''),
        md("""
Both models are evaluated on the labelled **test** split of real passages (never trained on),
with `kmlang.evaluate`: macro-F1 per shift and `overall`. Without `../shared` the real passages
are absent and the authored test split is used instead.
"""),
        code('''with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    test = kmlang.load_labelled(split="test", kind="real")
what = "real"
if test.empty:
    test, what = kmlang.load_labelled(split="test", kind="authored"), "authored"
print(f"test split: {len(test):,} {what} passages")

table = pd.DataFrame({
    "retrained (fast)": kmlang.evaluate(fast, test, baselines=False)["kmlang"],
    "default model": kmlang.evaluate(kmlang.load_model(), test, baselines=False)["kmlang"],
})
table.round(3)'''),
        md("""
Rare shifts have few non-neutral test passages, so their figures move a lot with a handful of
passages; `mean_shift` is the mean over the eleven shifts.

## The full retrain

Put the completed label file in a folder together with copies of `data/labelled/*.jsonl` and run

```
kmlang train my_labels.jsonl --out models/my-model --dev ../shared/dev/dev.jsonl
kmlang evaluate ../shared/dev/dev.jsonl --model models/my-model
```

`kmlang train` fits the default configuration (word 1-2-grams, calibrated probabilities,
label thresholds tuned on the real passages) and writes the model with its card.
"""),
    ]
    return cells


def write(name, cells):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = []
            c.execution_count = None
    nbformat.validate(nb)
    path = NB / name
    nbformat.write(nb, path)
    print("wrote", path)


write("01_quickstart.ipynb", quickstart())
write("02_retrain.ipynb", retrain())

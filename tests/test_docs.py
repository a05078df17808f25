"""The documentation site's sources: generated pages, nav, citation file and build wiring.

The site itself is built by CI (``make docs-build``: ``mkdocs build --strict``, which
also executes the notebooks). These tests check, without mkdocs, that what the build
generates from the project's sources (docs/hooks.py) is complete and right.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


@pytest.fixture(scope="module")
def hooks():
    spec = importlib.util.spec_from_file_location("kmlang_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mkdocs_config():
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))


def _nav_pages(nav) -> list[str]:
    out = []
    for item in nav:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                out += _nav_pages(value) if isinstance(value, list) else [value]
    return out


def test_every_nav_page_exists_and_every_page_is_in_the_nav(mkdocs_config, hooks):
    pages = _nav_pages(mkdocs_config["nav"])
    for page in pages:
        if page.startswith("notebooks/"):
            assert page.removeprefix("notebooks/") in hooks.NOTEBOOKS
            assert (REPO / page).is_file(), page
        else:
            assert (DOCS / page).is_file(), page
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert on_disk == {p for p in pages if not p.startswith("notebooks/")}
    assert {f"notebooks/{n}" for n in hooks.NOTEBOOKS} <= set(pages)


def test_the_build_is_strict_and_executes_the_notebooks(mkdocs_config):
    assert mkdocs_config["strict"] is True
    jupyter = next(p["mkdocs-jupyter"] for p in mkdocs_config["plugins"]
                   if isinstance(p, dict) and "mkdocs-jupyter" in p)
    assert jupyter["execute"] is True
    assert jupyter["allow_errors"] is False  # a failing notebook fails the build
    assert jupyter["include"] == ["*.ipynb"]  # never docs/hooks.py


def test_shifts_page_lists_every_shift_from_shifts_json(hooks):
    raw = json.loads((REPO / "kmlang" / "data" / "shifts.json").read_text(encoding="utf-8"))
    page = hooks.shifts_markdown()
    for s in [*raw["shifts"], raw["overall"]]:
        assert f"{{ #{s['id']} }}" in page
        assert s["individual"] in page and s["collective"] in page
        assert s["description"] in page
    # every shift links to its section of the labelling guide, by the guide's own heading
    anchors = hooks.guide_anchors()
    assert set(anchors) == {s["id"] for s in raw["shifts"]}
    for _section, anchor in anchors.values():
        assert f"labelling-guide.md#{anchor}" in page


def test_slugify_matches_markdown_toc(hooks):
    assert hooks.slugify('2.1 `knowing`: "I know" vs "We know"') == "21-knowing-i-know-vs-we-know"
    assert hooks.slugify("1.3 The `overall` label") == "13-the-overall-label"
    try:  # with the docs extra: the same anchors as Python-Markdown's toc for every heading
        from markdown.extensions.toc import slugify
    except ImportError:
        return
    for line in (DOCS / "labelling-guide.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip()
            plain = re.sub(r"`([^`]*)`", r"\1", title)
            assert hooks.slugify(title) == slugify(plain, "-"), title


def test_cli_reference_covers_every_command_and_option(hooks):
    import click
    import typer

    from kmlang.cli import app

    page = hooks.cli_markdown()
    group = typer.main.get_command(app)
    ctx = click.Context(group, info_name="kmlang")
    names = group.list_commands(ctx)
    assert {"score", "aggregate", "report", "explain", "evaluate", "check", "suggest",
            "train", "demo"} <= set(names)
    for name in names:
        assert f"## `kmlang {name}` {{ #kmlang-{name} }}" in page
        assert f"Usage: kmlang {name} [OPTIONS]" in page
        for param in group.get_command(ctx, name).params:
            for opt in param.opts:
                if opt.startswith("-"):
                    assert opt in page, (name, opt)
    assert "--debug" in page  # the global option


def test_included_cards_point_links_at_site_pages(hooks, tmp_path, monkeypatch):
    card = tmp_path / "models" / "README.md"
    card.parent.mkdir(parents=True)
    card.write_text("# Card\n\nSee [the data card](../data/README.md#counts), "
                    "[the guide](../docs/labelling-guide.md), [a tool](../tools/x.py), "
                    "[skops](https://skops.readthedocs.io) and `data/README.md`.\n\n"
                    "```\n[not a link](../tools/x.py) `data/README.md`\n```\n", encoding="utf-8")
    monkeypatch.setattr(hooks, "REPO", tmp_path)
    out = hooks.include_markdown("models/README.md", "model-card.md")
    assert "[the data card](data-card.md#counts)" in out
    assert "[the guide](labelling-guide.md)" in out
    assert "a tool (`tools/x.py`)" in out
    assert "[skops](https://skops.readthedocs.io)" in out
    assert "[`data/README.md`](data-card.md)" in out
    assert "```\n[not a link](../tools/x.py) `data/README.md`\n```" in out  # code left alone


def test_real_cards_are_included(hooks):
    for rel, page in (("models/README.md", "model-card.md"), ("data/README.md", "data-card.md")):
        assert (DOCS / page).read_text(encoding="utf-8").strip() == f"<!-- kmlang:include {rel} -->"
        out = hooks.include_markdown(rel, page)
        assert out.startswith("# ")
        # no link is left pointing at a repository file the site does not serve
        pages = {"index.md", "model-card.md", "data-card.md", "labelling-guide.md", "cite.md", "shares.md"}
        for target in re.findall(r"(?<!!)\[[^\]]+\]\(([^)\s]+)\)", out):
            external = re.match(r"^(https?:|mailto:|#)", target)
            assert external or target.split("#")[0] in pages, target


def test_card_figures_resolve(hooks):
    card = hooks.load_card()
    validity = (DOCS / "validity.md").read_text(encoding="utf-8")
    out = hooks.render_markers(validity, "validity.md", card)
    assert "{{" not in out and "kmlang:" not in out
    assert hooks.card_value(card, "metrics.dev.overall") in out
    with pytest.raises(hooks.DocsError):
        hooks.card_value(card, "metrics.dev.no_such_target")


def test_sphinx_roles_become_optional_cross_references(hooks):
    html = hooks.sphinx_roles_to_links(
        "see :func:<code>kmlang.score</code> and :class:<code>~kmlang.errors.ReaderError</code>; "
        "<code>see :class:`PolarityClassifier`.</code>")
    assert '<autoref identifier="kmlang.score" optional><code>kmlang.score</code></autoref>' in html
    assert ('<autoref identifier="kmlang.errors.ReaderError" slug="kmlang.ReaderError" optional>'
            '<code>ReaderError</code></autoref>') in html
    assert "see <autoref identifier=\"PolarityClassifier\"" in html
    assert ":class:" not in html and ":func:" not in html


def test_citation_file():
    yaml = pytest.importorskip("yaml")
    from kmlang import __version__

    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["cff-version"] == "1.2.0"
    assert cff["title"] == "kmlang"
    assert cff["authors"] == [{"name": "The kmlang developers"}]
    assert cff["version"] == project["version"] == __version__
    assert cff["license"] == "MIT"
    assert str(cff["date-released"]) == "2026-12-07"
    abstract = " ".join(cff["abstract"].split())
    assert abstract.count(". ") == 0 and abstract.endswith(".")  # one sentence


def test_citation_page(hooks):
    pytest.importorskip("yaml")
    page = hooks.citation_markdown()
    assert "The kmlang developers (2026). *kmlang* (version 0.1.0)" in page
    assert "@software{kmlang_2026," in page
    assert "cff-version: 1.2.0" in page


def test_docs_extra_and_build_wiring():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    docs = project["optional-dependencies"]["docs"]
    for pin in ("mkdocs>=1.6,<2", "mkdocs-material>=9.5,<10", "mkdocstrings>=0.26",
                "mkdocstrings-python>=1.10", "mkdocs-jupyter>=0.25"):
        assert pin in docs
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^docs:.*\n\t.*mkdocs serve", makefile, re.M)
    assert re.search(r"^docs-build:.*\n\t.*mkdocs build --strict -d site/", makefile, re.M)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert '.venv/bin/python -m pip install -q -e ".[docs]"' in ci
    # the docs are built first, so that the README's test command (make test) closes the log
    assert "make docs-build" in ci and ci.rstrip().endswith("make test")


# --------------------------------------------------------------------------- shares figures
def _shares_summary():
    from kmlang.model.persist import read_card
    from kmlang.model.quantify import benchmark_summary
    from tests.tools_path import tools_on_path

    tools_on_path()
    import card_tables

    card = read_card(REPO / "models" / "default")
    return card, benchmark_summary(card), card_tables.shares_tables(card)


def _join(values, sep=" / ") -> str:
    return sep.join(f"{v:.1f}" for v in values)


def test_the_default_model_card_holds_the_shares_benchmark():
    card, summary, rows = _shares_summary()
    assert summary is not None, "run `python benchmarks/quantification.py --write` after training"
    assert summary["pool"] == card["error_sample"]["n"]
    for key in ("same_mix", "held_out", "held_out_communities"):
        assert len(summary[key]["error"]) == len(summary["prevalences"])
        assert summary[key]["coverage"] is not None
    assert len(rows) == 2 * (2 + len(summary["prevalences"])) + 1


def test_documents_quote_the_shares_benchmark_of_the_card():
    """The shares figures are measured once (``benchmarks/quantification.py --write`` into
    ``card.json``); the README, the model card and docs/shares.md quote them, and must agree."""
    _, s, rows = _shares_summary()
    shares_md = (DOCS / "shares.md").read_text(encoding="utf-8")
    for row in rows:
        assert row in shares_md, f"docs/shares.md lacks the row {row!r} (python tools/card_tables.py)"
    same, held, comm = s["same_mix"], s["held_out"], s["held_out_communities"]
    span = lambda c: f"{c[0]}-{c[1]}%"  # noqa: E731
    card_md = (REPO / "models" / "README.md").read_text(encoding="utf-8")
    for figure in (_join(same["error"]), _join(same["cc_error"]), span(same["coverage"]),
                   f"{held['error'][0]:.1f} against {held['cc_error'][0]:.1f}", span(held["coverage"]),
                   span(comm["coverage"])):
        assert figure in card_md, f"models/README.md lacks {figure!r}"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for figure in (f"{same['error'][0]:.1f} against {same['cc_error'][0]:.1f}",
                   f"{same['error'][-1]:.1f} against {same['cc_error'][-1]:.1f}", span(same["coverage"])):
        assert figure in readme, f"README.md lacks {figure!r}"

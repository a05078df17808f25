"""Build-time hooks of kmlang's documentation site (``hooks:`` in mkdocs.yml).

Every page that repeats something the project already holds is generated here,
at build time, from that source, so the site cannot drift from the code:

* ``<!-- kmlang:shifts -->``: the eleven shifts and ``overall``, from
  ``kmlang/data/shifts.json`` (through :data:`kmlang.SHIFTS`);
* ``<!-- kmlang:cli -->``: every ``kmlang`` command's ``--help``, run through
  Typer's :class:`~typer.testing.CliRunner` on the real app;
* ``<!-- kmlang:include PATH -->``: a Markdown file of the repository (the model
  card ``models/README.md``, the data card ``data/README.md``), its links
  pointed at the site's pages;
* ``<!-- kmlang:citation -->``: the citation, from ``CITATION.cff``;
* ``<!-- kmlang:card-lead -->`` and ``{{ card.KEY.PATH }}``: figures from the
  default model's ``models/default/card.json``.

The two notebooks of ``notebooks/`` are added as pages (``notebooks/*.ipynb``)
straight from that folder, so mkdocs-jupyter executes them there, exactly where
``tests/test_notebooks.py`` runs them: with ``../shared`` beside the checkout they
read its Stack Exchange export, without it the sample beside them.

The functions that make the Markdown need neither mkdocs nor a build
(``tests/test_docs.py`` calls them); only the event handlers at the bottom do.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
NOTEBOOKS = ("01_quickstart.ipynb", "02_retrain.ipynb")
CARD = REPO / "models" / "default" / "card.json"
CITATION = REPO / "CITATION.cff"
#: Files of the repository that are pages of the site: links to them are pointed there.
PAGES = {
    "README.md": "index.md",
    "models/README.md": "model-card.md",
    "data/README.md": "data-card.md",
    "docs/labelling-guide.md": "labelling-guide.md",
    "CITATION.cff": "cite.md",
}

_MARKER = re.compile(r"<!--\s*kmlang:([\w-]+)(?:\s+([^\s>]+))?\s*-->")
_CARD_VALUE = re.compile(r"\{\{\s*card\.([\w.]+)\s*(?:\|\s*(\w+)\s*)?\}\}")


class DocsError(Exception):
    """A generated page cannot be made (raised as mkdocs' PluginError by the hooks)."""


# --------------------------------------------------------------------------- shifts


def slugify(text: str) -> str:
    """The anchor Python-Markdown's ``toc`` extension gives a heading (its default slugify)."""
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def guide_anchors(guide: Path = DOCS / "labelling-guide.md") -> dict[str, tuple[str, str]]:
    """Shift id -> (section number, anchor) of its section in the labelling guide
    (``### 2.N `id`: ...``)."""
    anchors = {}
    for line in guide.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^###\s+((2\.\d+)\s+`(\w+)`.*)$", line)
        if m:
            anchors[m.group(3)] = (m.group(2), slugify(m.group(1)))
    return anchors


def shifts_markdown() -> str:
    """The eleven shifts and ``overall`` as Markdown, from ``kmlang/data/shifts.json``."""
    from kmlang.shifts import OVERALL, SHIFTS

    anchors = guide_anchors()
    out = ["| # | id | individual pole (label −1) | collective pole (label +1) |",
           "|---:|---|---|---|"]
    for s in SHIFTS:
        out.append(f"| {s.number} | [`{s.id}`](#{s.id}) | {s.individual} | {s.collective} |")
    o = OVERALL
    out.append(f"| | [`{o.id}`](#{o.id}) | {o.individual} | {o.collective} |")
    out.append("")
    for s in (*SHIFTS, OVERALL):
        title = f"{s.number}. `{s.id}`" if s.number else f"`{s.id}`"
        out += [f"## {title} {{ #{s.id} }}", "",
                f"**{s.individual}** (−1) → **{s.collective}** (+1)", "",
                s.description, ""]
        cols = f"`{s.id}`, `{s.id}_relevance`, `{s.id}_label`"
        where = f"Score columns: {cols}."
        if s.id in anchors:
            section, anchor = anchors[s.id]
            where += (f" How to label it, with worked examples: "
                      f"[labelling guide, section {section}](labelling-guide.md#{anchor}).")
        elif s.number:
            raise DocsError(f"the labelling guide has no section '### 2.N `{s.id}`: ...'")
        else:
            where += (" How the `overall` label follows the shifts: "
                      "[labelling guide, section 1.3](labelling-guide.md#13-the-overall-label).")
        out += [where, ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- CLI


def cli_help(args: list[str], width: int = 80) -> str:
    """What ``kmlang ARGS`` prints (``--help`` output), run in-process on the Typer app."""
    from typer.testing import CliRunner

    from kmlang.cli import app

    result = CliRunner().invoke(app, args, prog_name="kmlang", terminal_width=width,
                                max_content_width=width)
    if result.exit_code != 0:
        raise DocsError(f"`kmlang {' '.join(args)}` exited {result.exit_code}: {result.output}")
    return result.output.rstrip() + "\n"


def cli_commands() -> list[tuple[str, str]]:
    """(name, one-line summary) of every ``kmlang`` command, in ``kmlang --help`` order."""
    import click
    import typer

    from kmlang.cli import app

    group = typer.main.get_command(app)
    ctx = click.Context(group, info_name="kmlang")
    out = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        out.append((name, command.get_short_help_str(limit=300)))
    return out


def _fence(text: str) -> list[str]:
    return ["```text", text.rstrip("\n"), "```", ""]


def cli_markdown() -> str:
    """The CLI reference: the summary table, then each command's ``--help``."""
    commands = cli_commands()
    out = ["| command | what it does |", "|---|---|"]
    out += [f"| [`kmlang {name}`](#kmlang-{name}) | {summary} |" for name, summary in commands]
    out += ["", "## `kmlang` { #kmlang }", "", *_fence(cli_help(["--help"]))]
    for name, _ in commands:
        out += [f"## `kmlang {name}` {{ #kmlang-{name} }}", "", *_fence(cli_help([name, "--help"]))]
    return "\n".join(out)


# --------------------------------------------------------------------------- included files


def _split_fences(text: str) -> list[tuple[bool, str]]:
    """(inside a fenced code block?, chunk) pieces of ``text``."""
    pieces, inside, buf = [], False, []
    for line in text.splitlines(keepends=True):
        if re.match(r"^\s*(```|~~~)", line):
            if not inside:
                pieces.append((False, "".join(buf)))
                buf = [line]
                inside = True
            else:
                buf.append(line)
                pieces.append((True, "".join(buf)))
                buf = []
                inside = False
            continue
        buf.append(line)
    pieces.append((inside, "".join(buf)))
    return [p for p in pieces if p[1]]


def _page_link(repo_path: str, page_dir: str) -> str | None:
    """Relative link from a page in ``page_dir`` to the site page showing ``repo_path``."""
    target = PAGES.get(repo_path)
    if target is None and repo_path.startswith("docs/") and repo_path.endswith(".md"):
        target = repo_path.removeprefix("docs/")
        if not (DOCS / target).is_file():
            target = None
    if target is None:
        return None
    return posixpath.relpath(target, page_dir or ".")


def include_markdown(rel_path: str, page_uri: str) -> str:
    """The repository file ``rel_path`` as Markdown for the page ``page_uri``.

    Links into the repository are resolved from the file's own folder: those to a
    file that is a page of the site point at that page; others (source files,
    folders the site does not show) become their path in code. A path in code
    naming such a page (`` `data/README.md` ``) becomes a link to it.
    """
    source = REPO / rel_path
    if not source.is_file():
        raise DocsError(f"cannot include {rel_path}: no such file")
    text = source.read_text(encoding="utf-8")
    base = posixpath.dirname(rel_path)
    page_dir = posixpath.dirname(page_uri)

    def link(m: re.Match) -> str:
        label, target = m.group(1), m.group(2)
        if re.match(r"^([a-z][a-z0-9+.-]*:|#)", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        repo_path = posixpath.normpath(posixpath.join(base, path))
        page = _page_link(repo_path, page_dir)
        if page is not None:
            return f"[{label}]({page}{'#' + anchor if anchor else ''})"
        return label if label.startswith("`") else f"{label} (`{repo_path}`)"

    def code(m: re.Match) -> str:
        page = _page_link(m.group(1), page_dir)
        return f"[`{m.group(1)}`]({page})" if page else m.group(0)

    out = []
    for fenced, chunk in _split_fences(text):
        if not fenced:
            chunk = re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", link, chunk)
            chunk = re.sub(r"(?<!\[)`([\w./-]+\.(?:md|cff))`(?!\])", code, chunk)
        out.append(chunk)
    return "".join(out)


# --------------------------------------------------------------------------- citation


def citation_markdown(path: Path = CITATION) -> str:
    """How to cite kmlang, from ``CITATION.cff``: a plain reference, BibTeX and the file itself."""
    import yaml

    raw = path.read_text(encoding="utf-8")
    cff = yaml.safe_load(raw)
    authors = ", ".join(a.get("name") or " ".join(filter(None, (a.get("given-names"),
                                                                 a.get("family-names"))))
                        for a in cff["authors"])
    year = str(cff["date-released"])[:4]
    title, version = cff["title"], cff["version"]
    reference = f"{authors} ({year}). *{title}* (version {version}) [Computer software]."
    if cff.get("url") or cff.get("repository-code"):
        reference += f" {cff.get('repository-code') or cff.get('url')}"
    bib = [f"@software{{{title.lower()}_{year},",
           f"  author  = {{{{{authors}}}}},",
           f"  title   = {{{{{title}}}}},",
           f"  version = {{{version}}},",
           f"  year    = {{{year}}},",
           f"  license = {{{cff.get('license', '')}}},"]
    if cff.get("repository-code"):
        bib.append(f"  url     = {{{cff['repository-code']}}},")
    bib.append("}")
    return "\n".join([
        "As a reference:", "", f"> {reference}", "",
        "In BibTeX:", "", "```bibtex", *bib, "```", "",
        "The citation file itself, `CITATION.cff` at the root of the repository "
        "([Citation File Format](https://citation-file-format.github.io/) "
        f"{cff['cff-version']}):", "",
        "```yaml", raw.rstrip("\n"), "```", ""])


# --------------------------------------------------------------------------- model card figures


def load_card(path: Path = CARD) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def card_value(card: dict, key: str, fmt: str | None = None) -> str:
    """One figure of ``card.json`` by dotted path (``metrics.dev.overall``), formatted."""
    value: object = card
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise DocsError(f"card.json has no {key!r} (at {part!r})")
        value = value[part]
    if value is None:
        return "–"
    if fmt == "pct":
        return f"{float(value):.1%}"
    if fmt == "signed":
        return f"{float(value):+.3f}"
    if fmt in (None, "num"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        return f"{value:,}" if isinstance(value, int) else f"{value:.3f}"
    raise DocsError(f"unknown format {fmt!r} for card.{key} (use pct, signed or num)")


def card_lead_markdown(card: dict) -> str:
    """The lead table: pole-F1 of ``overall``, the mean shift and the four best-supported shifts."""
    metrics, gold = card["metrics"], card["gold_labels"]
    base = card.get("baselines_dev", {})
    cols = ["overall", "mean_shift", "not_knowing", "openness", "peers", "sharing"]
    names = {"dev": "dev", "test_real": "real test split"}

    def cell(s: str, t: str, with_n: bool = True) -> str:
        v = card_value({"m": metrics[s]}, f"m.{t}")
        n = gold.get(s, {}).get(t)
        return f"{v} ({n})" if with_n and n is not None and t != "mean_shift" else v

    out = ["| pole-F1 | " + " | ".join(f"`{c}`" if c != "mean_shift" else "mean shift"
                                         for c in cols) + " |",
           "|---|" + "---:|" * len(cols)]
    for s in ("dev", "test_real"):
        if s in metrics:
            out.append(f"| kmlang, {names[s]} | " + " | ".join(cell(s, c) for c in cols) + " |")
    labels = {"bow_logreg_same_train": "bag of words, dev",
              "pronoun_ratio": "pronoun ratio, dev",
              "always_neutral": "always neutral, dev"}
    for b, label in labels.items():
        if b in base:
            out.append(f"| {label} | " + " | ".join(
                card_value({"m": base[b]}, f"m.{c}") for c in cols) + " |")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- docstring roles

_ROLES = r":(?:py:)?(?:func|class|meth|attr|data|mod|exc|obj):"
# what mkdocstrings makes of :func:`x` in running text
_SPHINX_ROLE = re.compile(_ROLES + r"<code>(~?)([\w.]+)(\(\))?</code>")
# numpy-style "name : see :class:`X`." puts the role in the parameter's type, as code
_ROLE_IN_CODE = re.compile(r"<code>([^<`]*?)" + _ROLES + r"`([\w.~]+)`([^<`]*)</code>")


def _autoref(m: re.Match) -> str:
    tilde, target, call = m.groups()
    shown = (target.rsplit(".", 1)[-1] if tilde else target) + (call or "")
    public = "kmlang." + target.rsplit(".", 1)[-1]
    slug = f' slug="{public}"' if public != target else ""
    return f'<autoref identifier="{target}"{slug} optional><code>{shown}</code></autoref>'


def sphinx_roles_to_links(html: str) -> str:
    """Turn the docstrings' Sphinx roles (``:func:`kmlang.score```) into cross-references.

    mkdocstrings renders them as ``:func:<code>kmlang.score</code>``. Each becomes an
    optional mkdocs-autorefs reference: a link when the object is on the site (tried by
    its full name, then as ``kmlang.<last part>``, the public spelling), plain code when
    it is not. ``~a.b.C`` shows ``C``, as in Sphinx.
    """
    html = _SPHINX_ROLE.sub(_autoref, html)

    def in_code(m: re.Match) -> str:
        role = _SPHINX_ROLE.sub(_autoref, f":obj:<code>{m.group(2)}</code>")
        return m.group(1) + role + m.group(3)

    return _ROLE_IN_CODE.sub(in_code, html)


# --------------------------------------------------------------------------- the page filter


def render_markers(markdown: str, page_uri: str, card: dict | None = None) -> str:
    """Replace every ``<!-- kmlang:... -->`` marker and ``{{ card.... }}`` figure of a page."""
    state = {"card": card}

    def the_card() -> dict:
        if state["card"] is None:
            state["card"] = load_card()
        return state["card"]

    def marker(m: re.Match) -> str:
        name, arg = m.group(1), m.group(2)
        if name == "shifts":
            return shifts_markdown()
        if name == "cli":
            return cli_markdown()
        if name == "include" and arg:
            return include_markdown(arg, page_uri)
        if name == "citation":
            return citation_markdown()
        if name == "card-lead":
            return card_lead_markdown(the_card())
        raise DocsError(f"{page_uri}: unknown marker {m.group(0)}")

    markdown = _MARKER.sub(marker, markdown)
    return _CARD_VALUE.sub(lambda m: card_value(the_card(), m.group(1), m.group(2)), markdown)


# --------------------------------------------------------------------------- mkdocs events

try:  # the event handlers need mkdocs; the functions above do not
    from mkdocs.plugins import event_priority
except ImportError:  # pragma: no cover - mkdocs not installed (the test suite without [docs])
    def event_priority(priority):
        return lambda f: f


def on_config(config):
    # The notebooks' kernel inherits this environment: let ipykernel choose its inline
    # backend (a headless MPLBACKEND=Agg would drop the figures), as tests/test_notebooks.py does.
    os.environ.pop("MPLBACKEND", None)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return config


@event_priority(50)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files, config):
    from mkdocs.structure.files import File

    for name in NOTEBOOKS:
        src = REPO / "notebooks" / name
        if not src.is_file():
            from mkdocs.exceptions import PluginError

            raise PluginError(f"notebook {src} is missing")
        # A plain File rooted at the repository (not File.generated): mkdocs-jupyter wraps it
        # and reads its abs_src_path, which is then notebooks/NAME of the checkout.
        files.append(File(f"notebooks/{name}", src_dir=str(REPO), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files


def on_page_content(html, page, config, files):
    return sphinx_roles_to_links(html)


def on_page_markdown(markdown, page, config, files):
    try:
        return render_markers(markdown, page.file.src_uri)
    except DocsError as e:
        from mkdocs.exceptions import PluginError

        raise PluginError(str(e)) from e

"""The set-up covers the README: every command it shows exists, and what they use is installed."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import shlex
import sys
import tomllib

import pytest
import typer

import kmlang
from kmlang.cli import app
from kmlang.cli._errors import user_message
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
COMMANDS = typer.main.get_command(app).commands
MODULES = {"scikit-learn": "sklearn"}  # distribution -> module, where they differ


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement)[0]


def _bash_lines(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.split("  #")[0].strip() for b in blocks for line in b.splitlines() if line.strip()]


def _readme_kmlang_lines() -> list[str]:
    inline = re.findall(r"`(kmlang [^`]+)`", README)
    return [line for line in _bash_lines(README) if line.startswith("kmlang ")] + inline


def test_readme_shows_cli_lines():
    assert len([line for line in _bash_lines(README) if line.startswith("kmlang ")]) >= 8


@pytest.mark.parametrize("line", _readme_kmlang_lines())
def test_readme_command_lines_name_real_commands_and_options(line):
    words = shlex.split(line)[1:]
    while words and words[0].startswith("--"):  # global options
        assert words.pop(0) == "--debug", line
    assert words, line
    if words[0] == "...":  # `kmlang --debug ...`: any command
        return
    command = COMMANDS.get(words[0])
    assert command is not None, f"README shows `{line}`, but there is no command {words[0]!r}"
    known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    for w in words[1:]:
        if w.startswith("-") and w != "-":
            assert w.split("=")[0] in known, f"README shows `{line}`: {w} is not an option of it"


def test_readme_make_targets_exist():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.M))
    for line in _bash_lines(README):
        if line.startswith("make "):
            assert line.split()[1] in targets, line


def test_readme_extras_exist():
    extras = PYPROJECT["project"]["optional-dependencies"]
    named = set(re.findall(r"kmlang\[(\w+)\]", README)) | set(re.findall(r'"\.\[(\w+)\]"', README))
    assert {"dask", "notebooks"} <= named
    assert named <= set(extras), named - set(extras)


def test_readme_setup_says_how_to_open_the_notebooks():
    setup = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    assert 'pip install -e ".[notebooks]"' in setup and "jupyter lab notebooks/" in setup


def test_core_dependencies_cover_the_readme_commands():
    core = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert {"pyarrow", "matplotlib", "mwparserfromhell"} <= core
    extras = PYPROJECT["project"]["optional-dependencies"]
    # the old extras still install (and name) the same packages
    assert {_name(r) for r in extras["plot"]} <= core
    assert {_name(r) for r in extras["readers"]} <= core
    assert extras["notebooks"] == ["jupyterlab>=4", "ipykernel>=6.29"]


@pytest.mark.parametrize("requirement", PYPROJECT["project"]["dependencies"])
def test_core_dependencies_are_installed_and_import(requirement):
    dist = _name(requirement)
    importlib.metadata.version(dist)  # PackageNotFoundError when missing
    importlib.import_module(MODULES.get(dist, dist.replace("-", "_")))


def test_missing_dask_fails_before_any_work_naming_the_extra(monkeypatch):
    import kmlang.dask

    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with pytest.raises(ImportError, match=re.escape('pip install "kmlang[dask]"')) as info:
        kmlang.dask.score(object())  # not even looked at
    assert user_message(info.value) == \
        'error: kmlang.dask needs Dask, which is not installed: pip install "kmlang[dask]"'


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=re.escape("pip install kmlang[plot]")):
        kmlang.plot._pyplot()


def test_missing_pyarrow_names_the_extra(monkeypatch, tmp_path):
    import pandas as pd

    path = tmp_path / "posts.parquet"
    pd.DataFrame({"text": ["We wrote it up."]}).to_parquet(path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=re.escape('pip install "kmlang[readers]"')):
        kmlang.read(path)


@pytest.mark.parametrize(("module", "extra"), [("mwparserfromhell", "readers"),
                                               ("jupyterlab", "notebooks")])
def test_a_missing_optional_module_is_one_line_naming_its_extra(module, extra):
    exc = ModuleNotFoundError(f"No module named {module!r}", name=module)
    assert user_message(exc) == (f"error: This needs {module}, which is not installed: "
                                 f'pip install "kmlang[{extra}]"')

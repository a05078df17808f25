"""The sub-packages import downward only: cli > analysis > io > model > cues > shifts/errors.

A small AST check over every module of the package (imports inside functions
included), so that a lower stage that starts importing a higher one fails CI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kmlang

PKG = Path(kmlang.__file__).parent

#: Rank of each stage; a module may import its own stage and the ones below it.
LAYERS = {
    "kmlang.shifts": 0, "kmlang.errors": 0, "kmlang._version": 0,
    "kmlang.cues": 1,
    "kmlang.model": 2,
    "kmlang.io": 3,
    "kmlang.analysis": 4,
    "kmlang.dask": 5, "kmlang.cli": 5, "kmlang.__main__": 6,
}


def layer(module: str) -> int | None:
    best = None
    for prefix, rank in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, rank)
    if best is None:
        return 6 if module == "kmlang" else None  # the package façade is above everything
    return best[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path, name: str) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append(mod)
            # ``from kmlang.cues import component`` imports a sub-module
            found += [f"{mod}.{a.name}" for a in node.names if (PKG.parent / (mod + "." + a.name)
                      .replace(".", "/")).with_suffix(".py").exists()]
    return [m for m in found if m == "kmlang" or m.startswith("kmlang.")]


MODULES = sorted(p for p in PKG.rglob("*.py") if p.name != "__init__.py" or p.parent != PKG)


def test_every_module_has_a_layer():
    missing = [module_name(p) for p in MODULES if layer(module_name(p)) is None]
    assert not missing, f"modules outside every stage (add them to LAYERS): {missing}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_point_downward(path):
    name = module_name(path)
    own = layer(name)
    upward = [m for m in imports(path, name) if (layer(m) or 0) > own]
    assert not upward, f"{name} (stage {own}) imports a higher stage: {upward}"


def test_check_catches_an_upward_import(tmp_path):
    bad = PKG / "cues" / "frame.py"
    src = bad.read_text(encoding="utf-8") + "\nfrom kmlang.model.scoring import score\n"
    fake = tmp_path / "frame.py"
    fake.write_text(src, encoding="utf-8")
    assert "kmlang.model.scoring" in imports(fake, "kmlang.cues.frame")
    assert layer("kmlang.model.scoring") > layer("kmlang.cues.frame")

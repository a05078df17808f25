"""An installed wheel (not only an editable checkout) carries and loads the default model."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(REPO)], check=True, capture_output=True, text=True)
    return next(out.glob("kmlang-*.whl"))


def test_wheel_contains_model_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("kmlang/_default_model/model.skops", "kmlang/_default_model/manifest.json",
              "kmlang/_default_model/card.json", "kmlang/data/shifts.json", "kmlang/data/lexicon.json"):
        assert f in names, f
    eps = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(eps).decode()
    assert "kmlang_cues = kmlang.cues.component:make_cue_component" in text


def test_wheel_loads_default_model_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import kmlang, sys; from kmlang.model.persist import default_model_dir; "
            "d = default_model_dir(); m = kmlang.load_model(); "
            "print(kmlang.__file__); print(d); print(kmlang.score(['I am stuck, any help?']).loc[0, 'status'])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    module_file, model_dir, status = res.stdout.strip().splitlines()[-3:]
    assert module_file.startswith(str(site))
    assert model_dir.startswith(str(site)) and model_dir.endswith("_default_model")
    assert status == "ok"

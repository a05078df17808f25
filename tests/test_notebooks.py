"""The notebooks in notebooks/ run from top to bottom without an error."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel", reason="the notebooks run on the python3 (ipykernel) kernel")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NAMES = ("01_quickstart.ipynb", "02_retrain.ipynb")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "no code cells"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, monkeypatch):
    from kmlang.model.persist import MODEL_FILE, default_model_dir

    if not (default_model_dir() / MODEL_FILE).is_file():
        pytest.skip("the default model is missing; train it with `make model`")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # let ipykernel pick its inline backend
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()  # the kernel's cwd is notebooks/ (resources["metadata"]["path"])
    except nbclient.exceptions.CellExecutionError as err:  # pragma: no cover - the failure path
        pytest.fail(f"{name} failed:\n{err}")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert not errors, errors
    # every code cell ran, and the plots were drawn
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    if name.startswith("01"):
        assert len(images) >= 3, "expected the profile, the two-author profile and the trend"
        html = [o for c in nb.cells for o in c.get("outputs", [])
                if "text/html" in o.get("data", {}) and 'class="kml-cue"' in o["data"]["text/html"]]
        assert html, "the explanation's cue HTML was not shown"
    else:
        table = nb.cells[-2].outputs
        assert any("default model" in o.get("data", {}).get("text/plain", "") for o in table)

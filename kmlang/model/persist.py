"""Saving and loading models with an integrity check.

A model directory holds ``model.joblib``, ``card.json`` (the machine-readable
model card) and ``manifest.json`` (sha256 of both, written by :func:`save_model`).

**Trust model.** joblib files are pickles: loading one can run arbitrary code.
:func:`load_model` therefore computes the sha256 of ``model.joblib`` *before*
unpickling and refuses it unless it matches the manifest. This catches a
modified, truncated, swapped or foreign file. It does not make an untrusted
directory safe: whoever can write the model can also write its manifest. Only
load model directories from sources you trust (the default model ships inside
the kmlang package).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import warnings
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import joblib
import sklearn
import spacy

from kmlang.errors import ModelIntegrityError, ModelVersionWarning

__all__ = ["save_model", "load_model", "default_model_dir", "read_card", "MODEL_FILE", "CARD_FILE",
           "MANIFEST_FILE"]

MODEL_FILE = "model.joblib"
CARD_FILE = "card.json"
MANIFEST_FILE = "manifest.json"
_REPO_MODEL = Path(__file__).resolve().parents[2] / "models" / "default"


def default_model_dir() -> Path:
    """Where the default model lives: inside an installed wheel, else the checkout's ``models/default``."""
    packaged = files("kmlang") / "_default_model"
    if packaged.is_dir() and (packaged / MODEL_FILE).is_file():
        return Path(str(packaged))
    return _REPO_MODEL


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    from kmlang._version import __version__

    return {"kmlang": __version__, "scikit-learn": sklearn.__version__, "spacy": spacy.__version__,
            "joblib": joblib.__version__, "python": platform.python_version()}


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model, path: str | Path, card: dict[str, Any] | None = None) -> Path:
    """Write ``model`` + ``card.json`` + ``manifest.json`` into directory ``path``; return it."""
    from kmlang.model.classifier import ShiftClassifier

    if not isinstance(model, ShiftClassifier):
        raise TypeError(f"save_model expects a fitted ShiftClassifier, got {type(model).__name__}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    card = dict(card or {})
    card.setdefault("versions", _versions())
    card.setdefault("params", {k: (list(v) if isinstance(v, tuple) else v)
                               for k, v in model.get_params().items() if not callable(v)})
    tmp_model = path / (MODEL_FILE + ".tmp")
    joblib.dump(model, tmp_model, compress=3)
    os.replace(tmp_model, path / MODEL_FILE)
    _atomic_write(path / CARD_FILE, (json.dumps(card, indent=2, default=str) + "\n").encode())
    manifest = {"algorithm": "sha256", "files": {MODEL_FILE: _sha256(path / MODEL_FILE),
                                                 CARD_FILE: _sha256(path / CARD_FILE)}}
    _atomic_write(path / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    return path


def read_card(path: str | Path | None = None) -> dict[str, Any]:
    """The model card (``card.json``) of a model directory (default: the default model)."""
    path = Path(path) if path is not None else default_model_dir()
    return json.loads((path / CARD_FILE).read_text(encoding="utf-8"))


def _verify(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise FileNotFoundError(f"No model directory at {path}")
    mf = path / MANIFEST_FILE
    if not mf.is_file():
        raise ModelIntegrityError(
            f"{path} has no {MANIFEST_FILE}: it was not written by kmlang.save_model, so it is not loaded "
            "(joblib files can run code when loaded).")
    try:
        manifest = json.loads(mf.read_text(encoding="utf-8"))
        expected = manifest["files"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ModelIntegrityError(f"{mf} is not a valid kmlang manifest") from None
    for name in (MODEL_FILE, CARD_FILE):
        f = path / name
        if not f.is_file():
            raise ModelIntegrityError(f"{f} is missing")
        got = _sha256(f)
        if got != expected.get(name):
            raise ModelIntegrityError(
                f"{f} does not match its manifest (sha256 {got[:12]}..., expected "
                f"{str(expected.get(name))[:12]}...): the file was modified, truncated or replaced. "
                "It is not loaded, since joblib files can run code when loaded.")
    return json.loads((path / CARD_FILE).read_text(encoding="utf-8"))


def load_model(path: str | Path | None = None):
    """Load a model directory written by :func:`save_model` (default: the packaged default model).

    The sha256 of every file is checked against the manifest before anything is
    unpickled; a mismatch raises :class:`~kmlang.errors.ModelIntegrityError`.
    A model saved by another kmlang or scikit-learn version gives a
    :class:`~kmlang.errors.ModelVersionWarning`.
    """
    if path is None:
        return _load_default()
    return _load(Path(path))


# Models pickled before the sub-package layout name a class by its old module path
# (``kmlang.model.ShiftClassifier`` still resolves through kmlang/model/__init__.py).
_OLD_MODULES = {"kmlang.features": "kmlang.model.features"}


def _alias_old_modules() -> None:
    import importlib
    import sys

    for old, new in _OLD_MODULES.items():
        sys.modules.setdefault(old, importlib.import_module(new))


def _load(path: Path):
    card = _verify(path)
    saved = card.get("versions", {})
    now = _versions()
    for key in ("kmlang", "scikit-learn"):
        if saved.get(key) and saved[key] != now[key]:
            warnings.warn(
                f"The model in {path} was saved with {key} {saved[key]}; this is {key} {now[key]}. "
                "Scores may differ or loading may fail: retrain with `kmlang train` if in doubt.",
                ModelVersionWarning, stacklevel=3)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=sklearn.exceptions.InconsistentVersionWarning)
        _alias_old_modules()
        model = joblib.load(path / MODEL_FILE)
    from kmlang.model.classifier import ShiftClassifier

    if not isinstance(model, ShiftClassifier):
        raise ModelIntegrityError(f"{path / MODEL_FILE} does not hold a kmlang ShiftClassifier")
    model.card_ = card
    return model


@lru_cache(maxsize=1)
def _load_default():
    path = default_model_dir()
    if not (path / MODEL_FILE).is_file():
        raise FileNotFoundError(f"The default model is missing from {path}; train it with `make model` "
                                "(python -m kmlang train) or pass a model directory.")
    return _load(path)

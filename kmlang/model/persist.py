"""Saving and loading models: skops files, an allow-list of types, and an integrity check.

A model directory holds ``model.skops`` (the fitted model, in the :mod:`skops.io`
format), ``card.json`` (the machine-readable model card) and ``manifest.json``
(sha256 of both, written by :func:`save_model`).

**Trust model.** A skops file is not a pickle: it describes objects, and
loading builds only the types it is allowed to. :func:`load_model` reads the
file's bytes once, checks their sha256 against the manifest (catching a
modified, truncated or swapped file), then lists every type the file names
and refuses the file, before building anything, unless each one is either
trusted by skops itself (scikit-learn estimators, numpy arrays, builtins) or
one of kmlang's own classes in :data:`TRUSTED_TYPES`. A crafted file that names
anything else (``builtins.eval``, ``os.system``...) is refused even when its
manifest was rewritten to match.

Models saved by kmlang before this format (``model.joblib``, a pickle, which
can run code when loaded) load only with ``load_model(path, trusted=True)``,
with a warning; re-save them with :func:`save_model` (or retrain) to convert.
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
           "MANIFEST_FILE", "LEGACY_MODEL_FILE", "TRUSTED_TYPES"]

MODEL_FILE = "model.skops"
#: The pickle format of models saved before skops (loaded only with ``trusted=True``).
LEGACY_MODEL_FILE = "model.joblib"
#: kmlang's own types a model file may name, besides those skops trusts by default.
TRUSTED_TYPES = ("kmlang.model.classifier.PolarityClassifier", "kmlang.model.classifier.ShiftClassifier",
                 "kmlang.model.features.CueFeaturizer")
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
    import zipfile

    import skops.io as sio

    saved = model.__dict__.pop("card_", None)  # the card is saved beside the model, not inside it
    try:
        data = sio.dumps(model, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    finally:
        if saved is not None:
            model.card_ = saved
    _atomic_write(path / MODEL_FILE, data)
    (path / LEGACY_MODEL_FILE).unlink(missing_ok=True)  # an older pickle beside it would mislead
    _atomic_write(path / CARD_FILE, (json.dumps(card, indent=2, default=str) + "\n").encode())
    manifest = {"algorithm": "sha256", "files": {MODEL_FILE: _sha256(path / MODEL_FILE),
                                                 CARD_FILE: _sha256(path / CARD_FILE)}}
    _atomic_write(path / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    return path


def update_card(path: str | Path, entries: dict[str, Any]) -> dict[str, Any]:
    """Add or replace ``entries`` in the ``card.json`` of the model directory ``path`` (figures
    measured after training, e.g. ``benchmarks/quantification.py --write``) and re-hash it in the
    manifest. Both files are checked against the manifest first, so a changed model is never
    re-blessed. Returns the new card."""
    path = Path(path)
    expected = _manifest(path)
    _checked_bytes(path, MODEL_FILE, expected)
    card = json.loads(_checked_bytes(path, CARD_FILE, expected).decode("utf-8"))
    card.update(entries)
    _atomic_write(path / CARD_FILE, (json.dumps(card, indent=2, default=str) + "\n").encode())
    manifest = {"algorithm": "sha256", "files": {MODEL_FILE: expected[MODEL_FILE],
                                                 CARD_FILE: _sha256(path / CARD_FILE)}}
    _atomic_write(path / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    return card


def read_card(path: str | Path | None = None) -> dict[str, Any]:
    """The model card (``card.json``) of a model directory (default: the default model)."""
    path = Path(path) if path is not None else default_model_dir()
    return json.loads((path / CARD_FILE).read_text(encoding="utf-8"))


def _manifest(path: Path) -> dict[str, str]:
    if not path.is_dir():
        raise FileNotFoundError(f"No model directory at {path}")
    mf = path / MANIFEST_FILE
    if not mf.is_file():
        raise ModelIntegrityError(
            f"{path} has no {MANIFEST_FILE}: it was not written by kmlang.save_model, so it is not loaded.")
    try:
        manifest = json.loads(mf.read_text(encoding="utf-8"))
        expected = manifest["files"]
        if not isinstance(expected, dict):
            raise TypeError
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ModelIntegrityError(f"{mf} is not a valid kmlang manifest") from None
    return expected


def _checked_bytes(path: Path, name: str, expected: dict[str, str]) -> bytes:
    """The bytes of ``path/name``, read once, after checking their sha256 against the manifest."""
    f = path / name
    if not f.is_file():
        raise ModelIntegrityError(f"{f} is missing")
    data = f.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != expected.get(name):
        raise ModelIntegrityError(
            f"{f} does not match its manifest (sha256 {got[:12]}..., expected "
            f"{str(expected.get(name))[:12]}...): the file was modified, truncated or replaced, "
            "so it is not loaded.")
    return data


def _from_skops(data: bytes, where: Path):
    import skops.io as sio

    try:
        named = sio.get_untrusted_types(data=data)
    except Exception as e:  # not a readable skops file
        raise ModelIntegrityError(f"{where} is not a readable skops model file ({e})") from None
    foreign = sorted(set(named) - set(TRUSTED_TYPES))
    if foreign:
        raise ModelIntegrityError(
            f"{where} names types kmlang does not load: {', '.join(foreign)}. It is refused before "
            "anything in it is built; only kmlang's own classes and what skops trusts are allowed.")
    try:
        return sio.loads(data, trusted=list(named))
    except Exception as e:
        raise ModelIntegrityError(f"{where} could not be loaded as a kmlang model ({e})") from None


def load_model(path: str | Path | None = None, *, trusted: bool = False):
    """Load a model directory written by :func:`save_model` (default: the packaged default model).

    The model file's bytes are read once, checked against the manifest's sha256,
    and loaded with :mod:`skops.io` allowing only :data:`TRUSTED_TYPES` besides
    what skops trusts; anything else raises :class:`~kmlang.errors.ModelIntegrityError`
    before any object is built. A model saved by another kmlang or scikit-learn
    version gives a :class:`~kmlang.errors.ModelVersionWarning`.

    ``trusted=True`` also loads the pickle format of kmlang before skops
    (``model.joblib``), with a warning: a pickle can run code when loaded, so
    only do this for a model directory you made or fully trust.
    """
    if path is None:
        return _load_default()
    return _load(Path(path), trusted=trusted)


# Models pickled before the sub-package layout name a class by its old module path
# (``kmlang.model.ShiftClassifier`` still resolves through kmlang/model/__init__.py).
_OLD_MODULES = {"kmlang.features": "kmlang.model.features"}


def _alias_old_modules() -> None:
    import importlib
    import sys

    for old, new in _OLD_MODULES.items():
        sys.modules.setdefault(old, importlib.import_module(new))


def _load(path: Path, trusted: bool = False):
    expected = _manifest(path)
    card = json.loads(_checked_bytes(path, CARD_FILE, expected).decode("utf-8"))
    saved = card.get("versions", {})
    now = _versions()
    for key in ("kmlang", "scikit-learn"):
        if saved.get(key) and saved[key] != now[key]:
            warnings.warn(
                f"The model in {path} was saved with {key} {saved[key]}; this is {key} {now[key]}. "
                "Scores may differ or loading may fail: retrain with `kmlang train` if in doubt.",
                ModelVersionWarning, stacklevel=3)
    if MODEL_FILE in expected or LEGACY_MODEL_FILE not in expected:
        model = _from_skops(_checked_bytes(path, MODEL_FILE, expected), path / MODEL_FILE)
    else:
        if not trusted:
            raise ModelIntegrityError(
                f"{path} holds a model in kmlang's old pickle format ({LEGACY_MODEL_FILE}), which can run "
                "code when loaded, so it is not loaded. If you made it or fully trust it, load it once "
                "with kmlang.load_model(path, trusted=True) and save it again with kmlang.save_model "
                "(or retrain with `kmlang train`).")
        data = _checked_bytes(path, LEGACY_MODEL_FILE, expected)
        warnings.warn(f"Loading {path / LEGACY_MODEL_FILE}, a pickle, because trusted=True; save it again "
                      "with kmlang.save_model to get the safe skops format.", UserWarning, stacklevel=3)
        import io

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=sklearn.exceptions.InconsistentVersionWarning)
            _alias_old_modules()
            model = joblib.load(io.BytesIO(data))
    from kmlang.model.classifier import ShiftClassifier

    if not isinstance(model, ShiftClassifier):
        raise ModelIntegrityError(f"{path} does not hold a kmlang ShiftClassifier")
    model.card_ = card
    return model


@lru_cache(maxsize=1)
def _load_default():
    path = default_model_dir()
    if not (path / MODEL_FILE).is_file():
        raise FileNotFoundError(f"The default model is missing from {path}; train it with `make model` "
                                "(python -m kmlang train) or pass a model directory.")
    return _load(path)

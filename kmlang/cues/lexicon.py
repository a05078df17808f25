"""The cue lexicon: loading, validating and expanding it. The data lives in ``data/lexicon.json``."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from kmlang.errors import LexiconError

__all__ = ["default_lexicon", "load_lexicon", "validate_lexicon", "FAMILIES"]


def default_lexicon() -> dict[str, Any]:
    """Return a fresh copy of the lexicon shipped with kmlang."""
    raw = (files("kmlang") / "data" / "lexicon.json").read_text(encoding="utf-8")
    return json.loads(raw)


def load_lexicon(source: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    """Load a lexicon from a JSON file path or a mapping (``None`` gives the default).

    A user lexicon may define only ``families`` (and ``lists`` used by its patterns);
    missing ``lists``/``syntax`` sections are filled from the default.
    """
    if source is None:
        return default_lexicon()
    if isinstance(source, Mapping):
        lex = copy.deepcopy(dict(source))
    else:
        path = Path(source)
        try:
            lex = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LexiconError(f"Lexicon file not found: {path}") from None
        except json.JSONDecodeError as e:
            raise LexiconError(f"Lexicon file {path} is not valid JSON: {e}") from None
    base = default_lexicon()
    lex.setdefault("version", base["version"])
    lex.setdefault("match_attr", base["match_attr"])
    lex.setdefault("lists", {})
    for k, v in base["lists"].items():
        lex["lists"].setdefault(k, v)
    lex.setdefault("syntax", base["syntax"])
    validate_lexicon(lex)
    return lex


def validate_lexicon(lex: Mapping[str, Any]) -> None:
    """Raise :class:`LexiconError` saying what is wrong, or return ``None``."""
    fams = lex.get("families")
    if not isinstance(fams, Mapping) or not fams:
        raise LexiconError("A lexicon needs a non-empty 'families' mapping: {family: {phrases: [...]}}")
    for name, fam in fams.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise LexiconError(f"Family name {name!r} must be an identifier (letters, digits, _)")
        if not isinstance(fam, Mapping):
            raise LexiconError(f"Family {name!r} must be a mapping, got {type(fam).__name__}")
        phrases = fam.get("phrases", [])
        patterns = fam.get("patterns", [])
        if not phrases and not patterns:
            raise LexiconError(f"Family {name!r} has neither 'phrases' nor 'patterns'")
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise LexiconError(f"Family {name!r}: 'phrases' must be a list of non-empty strings")
        if not isinstance(patterns, list) or not all(isinstance(p, list) and p for p in patterns):
            raise LexiconError(f"Family {name!r}: 'patterns' must be a list of token-pattern lists")
    if lex.get("match_attr", "NORM") not in {"NORM", "LOWER", "ORTH"}:
        raise LexiconError(f"match_attr must be NORM, LOWER or ORTH, got {lex.get('match_attr')!r}")


def expand_pattern(pattern: list[dict], lists: Mapping[str, list[str]], family: str) -> list[dict]:
    """Replace ``"@name"`` references to shared word lists inside a token pattern."""

    def sub(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@"):
            try:
                return list(lists[value[1:]])
            except KeyError:
                raise LexiconError(
                    f"Family {family!r} refers to list {value!r}, which is not in the lexicon's 'lists'"
                ) from None
        if isinstance(value, dict):
            return {k: sub(v) for k, v in value.items()}
        return value

    return [sub(tok) for tok in pattern]


#: Cue family names of the default lexicon, in order.
FAMILIES: tuple[str, ...] = tuple(default_lexicon()["families"])

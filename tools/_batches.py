"""Writing records as JSONL files of a fixed size (shared by the draw and import scripts)."""

from __future__ import annotations

import json
from pathlib import Path


def write_jsonl(path: Path, records: list[dict]) -> None:
    """One JSON object per line, UTF-8, non-ASCII kept as is."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def write_batches(dest: Path, records: list[dict], per_file: int, prefix: str = "batch",
                  first: int = 0) -> int:
    """``dest/{prefix}_{NN}.jsonl`` files of at most ``per_file`` records, numbered from ``first``;
    returns how many files were written."""
    dest.mkdir(parents=True, exist_ok=True)
    n = 0
    for i in range(0, len(records), per_file):
        write_jsonl(dest / f"{prefix}_{first + i // per_file:02d}.jsonl", records[i : i + per_file])
        n += 1
    return n

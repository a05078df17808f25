"""Writing scored frames: output formats, CSV formula escaping, atomic writes, joining parts.

CSV output escapes text cells that a spreadsheet would run as a formula (those
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a
leading ``'``, as OWASP recommends) unless ``csv_escape=False``. CSV parts each
carry their header; the join writes the union of the parts' columns, so no value
ends up under another column's name.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}

#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV injection").
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

def escape_csv_cells(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every string cell (and column name) that starts with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return prefixed with ``'``, so that a spreadsheet shows it as text instead
    of running it as a formula. Numbers, dates and missing values are left as they are."""
    out = None
    for j in range(df.shape[1]):
        s = df.iloc[:, j]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        values = s.to_numpy(dtype=object)
        mask = np.fromiter((isinstance(v, str) and v.startswith(CSV_FORMULA_START) for v in values),
                           dtype=bool, count=len(values))
        if mask.any():
            if out is None:
                out = df.copy()
            fixed = values.copy()
            fixed[mask] = ["'" + v for v in values[mask]]
            fixed = pd.Series(fixed, index=s.index, name=s.name, dtype=object)
            out.isetitem(j, fixed)
    names = [f"'{c}" if isinstance(c, str) and c.startswith(CSV_FORMULA_START) else c for c in df.columns]
    if names != list(df.columns):
        out = (df.copy() if out is None else out)
        out.columns = names
    return df if out is None else out

def _out_format(path: Path) -> str:
    try:
        return OUTPUT_FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"Cannot tell the output format of {path}: use one of "
                         f"{', '.join(sorted(OUTPUT_FORMATS))}") from None

def write_frame(df: pd.DataFrame, path: Path, fmt: str, *, header: bool = True,
                csv_escape: bool = False) -> None:
    """Write one frame in ``fmt`` (csv, jsonl or parquet); ``csv_escape``: see
    :func:`escape_csv_cells` (CSV only)."""
    if fmt == "csv":
        if csv_escape:
            df = escape_csv_cells(df)
        df.to_csv(path, index=False, header=header, date_format="%Y-%m-%dT%H:%M:%S%z")
    elif fmt == "jsonl":
        df.to_json(path, orient="records", lines=True, date_format="iso", force_ascii=False)
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:  # pragma: no cover - guarded by _out_format
        raise ValueError(fmt)

def _join(parts: list[tuple[int, int, Path]], out: Path, fmt: str) -> None:
    tmp = out.with_name(out.name + ".tmp")
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schemas = [pq.read_schema(p) for _, _, p in parts]
        schema = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
        with pq.ParquetWriter(tmp, schema) as writer:
            for _, _, p in parts:
                table = pq.read_table(p)
                table = table.replace_schema_metadata(None)
                for name in schema.names:
                    if name not in table.column_names:
                        table = table.append_column(name, pa.nulls(len(table), schema.field(name).type))
                writer.write_table(table.select(schema.names).cast(schema))
    elif fmt == "csv":
        _join_csv(parts, tmp)
    else:
        with tmp.open("wb") as dst:
            for _, _, p in parts:
                with p.open("rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
    os.replace(tmp, out)

def _csv_header(path: Path) -> tuple[list[str], int]:
    """The column names of a CSV part and the length in bytes of its header record."""
    consumed: list[str] = []
    with path.open(encoding="utf-8", newline="") as fh:
        def lines():
            for line in fh:
                consumed.append(line)
                yield line
        header = next(csv.reader(lines()), [])
    return header, len("".join(consumed).encode("utf-8"))

def _join_csv(parts: list[tuple[int, int, Path]], tmp: Path) -> None:
    """Join CSV parts (each with a header) under the union of their columns."""
    heads = [_csv_header(p) for _, _, p in parts]
    columns = list(dict.fromkeys(c for head, _ in heads for c in head))
    with tmp.open("wb") as dst:
        dst.write(pd.DataFrame(columns=columns).to_csv(index=False).encode("utf-8"))
        for (_, _, p), (head, size) in zip(parts, heads, strict=True):
            if head == columns:  # the usual case: copy the rows as they are
                with p.open("rb") as src:
                    src.seek(size)
                    shutil.copyfileobj(src, dst, 1 << 20)
                continue
            for block in pd.read_csv(p, dtype=str, keep_default_na=False, chunksize=10_000):
                rows = block.reindex(columns=columns, fill_value="")
                dst.write(rows.to_csv(index=False, header=False).encode("utf-8"))
        dst.flush()
        os.fsync(dst.fileno())

def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)

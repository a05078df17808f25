"""Streaming XML: elements one at a time, memory cleared behind them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from kmlang.io.readers._report import Report

__all__ = ["local", "iter_children", "root_tag"]


def local(tag: str) -> str:
    """Tag name without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def iter_children(path: Path, report: Report, names: frozenset[str],
                  nested: frozenset[str] = frozenset()) -> Iterator[ET.Element]:
    """Children of the root element whose local name is in ``names``, as they end.

    Each element is cleared from the tree after the caller is done with it.
    Elements named in ``nested`` (descendants of those children) are passed on
    to the caller too, before their parent ends, so it can keep or drop them.
    A parse error (a truncated or broken file) is reported with the line and
    column of the break; under ``errors="skip"`` reading stops there, keeping
    what came before.

    The standard library parser does not fetch external entities, and expat
    (2.4 and later) limits entity expansion ("billion laughs").
    """
    root = None
    depth = 0
    wanted = names | nested
    try:
        for event, elem in ET.iterparse(path, events=("start", "end")):
            if event == "start":
                if root is None:
                    root = elem
                depth += 1
                continue
            depth -= 1
            if local(elem.tag) in wanted and depth >= 1:
                yield elem
                if depth == 1 and root is not None:
                    root.clear()
    except ET.ParseError as e:
        line, column = e.position
        report.bad(f"XML is broken or truncated ({_reason(e)})", line=line, column=column + 1)


def _reason(error: ET.ParseError) -> str:
    return re.sub(r": line \d+, column \d+$", "", str(error))


def root_tag(head: bytes) -> str | None:
    """Local name of the root element from the first bytes of an XML file, if any."""
    text = head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")
    text = re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text, flags=re.S).lstrip()
    m = re.match(r"<([A-Za-z_][\w.:-]*)", text)
    return local(m.group(1).split(":")[-1]) if m else None

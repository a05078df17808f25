"""``kmlang score``: see kmlang/stream.py for the streaming scorer."""

from __future__ import annotations

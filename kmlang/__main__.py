"""``python -m kmlang``: the ``kmlang`` command line."""

from __future__ import annotations

import sys

from kmlang.cli import main

if __name__ == "__main__":
    sys.exit(main())

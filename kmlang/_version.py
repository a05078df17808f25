"""The package version (one source of truth; read by pyproject via hatch)."""

__version__ = "0.1.0"

"""The repository's own tools, run as ``python -m tools.NAME`` from a checkout (not installed)."""

"""The repository's own tools, run as ``python -m tools.NAME`` from a checkout (not installed):
``soak`` (the suite under many seeds) and ``mutation`` (the specs' mutation score)."""

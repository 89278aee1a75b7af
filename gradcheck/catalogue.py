"""The catalogue: the one list of equation IDs that the ``proves`` marker, the proof report and
the coverage gate check against.

A catalogue is a JSON file; gradcheck bundles none. The article's proof ships its own
(``lstm_gradients/catalogue.json``: MLP-1 ... NORM-13, ERR-1 ... ERR-28, FIG-n, PLOT-x).

Any project uses its own catalogue: a JSON file ``{"name": ..., "entries": [{"id":
"EQ-1", "heading": "...", "statement": "$...$"}, ...]}`` (only ``id`` is required), selected with
``--gradcheck-catalogue PATH`` or the ini option ``gradcheck_catalogue``.

>>> import json, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "equations.json"
>>> _ = path.write_text(json.dumps({"name": "mine", "entries": [{"id": "EQ-1", "heading": "h"}]}))
>>> load(path)["EQ-1"].heading
'h'
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Catalogue", "CatalogueError", "Entry", "empty", "load"]


class CatalogueError(ValueError):
    """A catalogue file is missing, unreadable or malformed (the message names file and fix)."""


@dataclass(frozen=True)
class Entry:
    """One catalogued ID.

    ``kind`` is ``"item"`` (an equation or claim), ``"erratum"``, ``"figure"`` or ``"plot"``
    in the bundled catalogue; other catalogues may use any string (default ``"item"``).
    ``statement`` is the exact claim (an erratum's correction, a figure's content).
    ``data`` is the whole JSON record, for the fields a writer wants beyond these.
    """

    id: str
    kind: str = "item"
    heading: str = ""
    part: str = ""
    statement: str = ""
    article: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Entry:
        kind = str(record.get("kind", "item"))
        statement = record.get("statement") or record.get("correction") or record.get("content")
        return cls(
            id=str(record["id"]),
            kind=kind,
            heading=str(record.get("heading", "")),
            part=str(record.get("part") or record.get("where") or ""),
            statement=str(statement or ""),
            article=str(record.get("article", "")),
            data=dict(record),
        )


@dataclass(frozen=True)
class Catalogue:
    """An ordered, read-only collection of entries keyed by ID."""

    name: str
    entries: tuple[Entry, ...]
    path: Path | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _index: dict[str, Entry] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        seen: Counter[str] = Counter(e.id for e in self.entries)
        dupes = sorted(i for i, n in seen.items() if n > 1)
        if dupes:
            raise CatalogueError(
                f"catalogue {self.where()} lists {', '.join(dupes)} twice; IDs must be unique."
            )
        object.__setattr__(self, "_index", {e.id: e for e in self.entries})

    def where(self) -> str:
        return str(self.path) if self.path else self.name

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._index

    def __getitem__(self, entry_id: str) -> Entry:
        try:
            return self._index[entry_id]
        except KeyError:
            raise KeyError(self.unknown_message(entry_id)) from None

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.entries)

    def of_kind(self, *kinds: str) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.kind in kinds)

    def counts(self) -> dict[str, int]:
        return dict(Counter(e.kind for e in self.entries))

    def unknown(self, ids: Iterable[str]) -> list[str]:
        """The IDs of ``ids`` that the catalogue does not list, in order, without repeats."""
        return list(dict.fromkeys(i for i in ids if i not in self._index))

    def suggest(self, entry_id: str) -> list[str]:
        """Catalogue IDs that look like ``entry_id`` (for "did you mean")."""
        return difflib.get_close_matches(entry_id.upper(), self.ids, n=3, cutoff=0.6)

    def unknown_message(self, entry_id: str) -> str:
        hint = self.suggest(entry_id)
        did = f" (did you mean {' or '.join(hint)}?)" if hint else ""
        return f"{entry_id!r} is not in the catalogue {self.where()}{did}"


def empty() -> Catalogue:
    """The catalogue of a project that configured none: every ``proves`` ID is unknown."""
    return Catalogue(name="(no catalogue configured)", entries=())


def load(path: str | Path | None) -> Catalogue:
    """Read a catalogue JSON file.

    Raises `CatalogueError` when no path is given, or the file is missing or not a catalogue.
    """
    if path is None or str(path) == "":
        raise CatalogueError(
            "no catalogue given: pass a JSON catalogue with --gradcheck-catalogue PATH or set "
            "the ini option gradcheck_catalogue."
        )
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(
            f"catalogue file {p} does not exist; pass an existing JSON file to "
            "--gradcheck-catalogue (or the ini option gradcheck_catalogue)."
        ) from None
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"catalogue file {p} is not valid JSON: {exc}") from None
    return _from_json(raw, p)


def _from_json(raw: Any, path: Path) -> Catalogue:
    records = raw.get("entries") if isinstance(raw, dict) else raw
    if not isinstance(records, list):
        raise CatalogueError(
            f"catalogue file {path} must hold a list of entries or an object with an "
            '"entries" list, e.g. {"entries": [{"id": "EQ-1"}]}.'
        )
    entries = []
    for k, rec in enumerate(records):
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str) or not rec["id"]:
            raise CatalogueError(
                f"catalogue file {path}: entry {k} needs a non-empty string 'id' (got {rec!r:.80})."
            )
        entries.append(Entry.from_record(rec))
    name = str(raw.get("name", path.stem)) if isinstance(raw, dict) else path.stem
    meta = {k: v for k, v in raw.items() if k != "entries"} if isinstance(raw, dict) else {}
    return Catalogue(name=name, entries=tuple(entries), path=path, meta=meta)

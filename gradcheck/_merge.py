"""``gradcheck merge-proofs A.json B.json … --out DIR``: one report from several proof runs.

The inputs are the ``proof.json`` files that ``gradcheck prove`` wrote (on n machines, each with
``--shard i/n``), or the plugin's own ``--gradcheck-proof`` files. What is combined is the
per-test records (``tests``): a test that ran in several inputs keeps every field, with its
counts summed (examples, checks, …), its worst errors maximized and its outcome the worst one
(failed > skipped > passed). Each ID's status is then decided again from the merged records by
the plugin's own rule (`gradcheck.pytest_plugin.proof_from_tests`), so an ID is proven only if
every test naming it produced evidence, wherever it ran.

Inputs that name their shard must cover every shard of one split: a missing shard would leave
its tests out of the merge and could let an ID pass on the evidence of the others, so it is an
error (exit 2), like an unreadable input.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gradcheck._sharing import parse_shard
from gradcheck.catalogue import Catalogue, CatalogueError, Entry, empty, load
from gradcheck.pytest_plugin import proof_from_tests, summary_lines
from gradcheck.report._document import FigureOutcome

__all__ = ["MergeError", "merge_proofs", "merge_records"]

_OUTCOME_RANK = {"passed": 0, "skipped": 1, "failed": 2}


class MergeError(ValueError):
    """An input cannot be merged (unreadable, not a proof, a shard missing)."""


def _combine(a: Any, b: Any, key: str = "") -> Any:
    """Two values of one field of one test's record, combined (see the module doc)."""
    if key == "outcome":
        return a if _OUTCOME_RANK.get(str(a), 1) >= _OUTCOME_RANK.get(str(b), 1) else b
    if key == "ids" and isinstance(a, list) and isinstance(b, list):
        return a + [x for x in b if x not in a]
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _combine(a.get(k), b.get(k), k) if k in a and k in b else a.get(k, b.get(k))
                for k in {**a, **b}}  # fmt: skip
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) or bool(b)
    if isinstance(a, int) and isinstance(b, int):
        return a + b  # examples, checks, rejected, … are counts
    if isinstance(a, int | float) and isinstance(b, int | float):
        return max(a, b) if key != "duration" else a + b  # worst errors: the worst of both
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    return a if a not in (None, "") else b


def merge_records(*tests: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-test records of several runs, one record per node ID."""
    merged: dict[str, dict[str, Any]] = {}
    for run in tests:
        for nodeid, record in run.items():
            if nodeid in merged:
                message = merged[nodeid].get("message") or record.get("message")
                merged[nodeid] = _combine(merged[nodeid], record)
                merged[nodeid]["nodeid"] = nodeid
                if message:
                    merged[nodeid]["message"] = message
            else:
                merged[nodeid] = dict(record)
    return merged


def _read(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MergeError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), dict):
        raise MergeError(
            f"{path} is not a proof.json (no per-test records); give the proof.json that "
            "gradcheck prove wrote, or a --gradcheck-proof file."
        )
    return data


def _shard_of(data: dict[str, Any]) -> str:
    env = data.get("environment") or {}
    prov = data.get("provenance") or {}
    return str(prov.get("shard") or env.get("shard") or "")


def _check_shards(paths: Sequence[str], runs: Sequence[dict[str, Any]]) -> None:
    shards = [_shard_of(d) for d in runs]
    named = [parse_shard(s) for s in shards if s]
    if not named:
        return
    if len(named) != len(runs) or len({n for _, n in named}) != 1:
        listing = ", ".join(
            f"{p} ({s or 'not sharded'})" for p, s in zip(paths, shards, strict=True)
        )
        raise MergeError(f"the inputs are not the shards of one split: {listing}.")
    n = named[0][1]
    missing = sorted(set(range(1, n + 1)) - {i for i, _ in named})
    if missing:
        raise MergeError(
            f"shard(s) {', '.join(f'{i}/{n}' for i in missing)} missing: their tests would be "
            "left out and an ID could look proven without them; merge all n shards."
        )


def _catalogue(runs: Sequence[dict[str, Any]], given: str | None) -> Catalogue:
    if given:
        return load(given)
    for data in runs:
        path = (data.get("catalogue") or {}).get("path")
        if path and Path(path).is_file():
            return load(path)
    for data in runs:  # a report's proof.json carries each ID's words
        ids = data.get("ids") or {}
        if ids and all(isinstance(v, dict) and "heading" in v for v in ids.values()):
            name = str((data.get("catalogue") or {}).get("name") or "merged")
            entries = tuple(Entry.from_record({"id": k, **v}) for k, v in ids.items())
            return Catalogue(name=name, entries=entries)
    return empty()


def _figures(
    paths: Sequence[str], runs: Sequence[dict[str, Any]], out: Path
) -> list[FigureOutcome]:
    """Each figure from the first input that drew it (copied beside the merged report)."""
    chosen: dict[str, FigureOutcome] = {}
    for path, data in zip(paths, runs, strict=True):
        figs = data.get("figures")
        for fig in figs if isinstance(figs, list) else []:
            fid, rel = str(fig.get("id", "")), fig.get("path")
            src = Path(path).parent / str(rel) if rel else None
            if fid in chosen and chosen[fid].produced:
                continue
            if src is not None and src.is_file():
                (out / str(rel)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, out / str(rel))
                png = src.read_bytes()
                chosen[fid] = FigureOutcome(fid, str(fig.get("caption", "")), str(rel), png=png)
            elif fid not in chosen:
                chosen[fid] = FigureOutcome(fid, reason=str(fig.get("reason") or "not drawn"))
    return list(chosen.values())


def _environment(paths: Sequence[str], runs: Sequence[dict[str, Any]]) -> dict[str, str]:
    env: dict[str, str] = {}
    parts = []
    for path, data in zip(paths, runs, strict=True):
        e = data.get("environment") or {}
        bits = [f"shard {_shard_of(data)}" if _shard_of(data) else "",
                f"commit {str(e.get('git commit', '?'))[:12]}" if e else "",
                f"database {e['database']}" if e.get("database") else ""]  # fmt: skip
        parts.append(f"{path} ({', '.join(b for b in bits if b) or 'plugin output'})")
    env["merged from"] = "; ".join(parts)
    commits = {str((d.get("environment") or {}).get("git commit")) for d in runs}
    commits.discard("None")
    if len(commits) > 1:
        env["warning"] = "the inputs come from different commits: " + ", ".join(sorted(commits))
        print(f"gradcheck merge-proofs: {env['warning']}", file=sys.stderr)
    first = runs[0].get("environment") or {}
    for key in ("hypothesis profile", "database", "database mode", "catalogue"):
        if key in first:
            env[key] = str(first[key])
    return env


def merge_proofs(
    inputs: Sequence[str],
    out: str,
    formats: Sequence[str] = ("md", "html", "json"),
    catalogue: str | None = None,
    allow_unproven: bool = False,
) -> int:
    """The command; returns the exit status (2: inputs unusable; 1: an ID failed/unproven)."""
    from gradcheck._prove import _exit_status
    from gradcheck.report import build_document, write_report

    try:
        runs = [_read(p) for p in inputs]
        _check_shards(inputs, runs)
        cat = _catalogue(runs, catalogue)
    except (MergeError, CatalogueError, ValueError) as exc:
        print(f"gradcheck merge-proofs: {exc}", file=sys.stderr)
        return 2
    tests = merge_records(*(d["tests"] for d in runs))
    without = [t for d in runs for t in d.get("failed_without_ids", [])]
    spec = next((d["figures"] for d in runs if isinstance(d.get("figures"), str)), "")
    proof = proof_from_tests(cat, tests, figures=spec, failed_without_ids=without)
    proof["provenance"] = {"merged": f"{len(runs)} proof runs"}
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = build_document(proof, cat, _environment(inputs, runs), _figures(inputs, runs, out_dir))
    written = write_report(doc, out_dir, formats)
    for line in summary_lines(proof, cat):
        print(line)
    for path in written:
        print(f"wrote {path}")
    return _exit_status(proof, 0, allow_unproven)

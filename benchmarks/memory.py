"""Peak memory of the checker (issue 11, part 8), next to its time.

    python -m benchmarks.memory            # print the table (a few minutes: 10^7 entries)
    python -m benchmarks.memory --write    # and replace it in benchmarks/README.md
    python -m benchmarks.memory --quick    # without the 10^7-entry rows

Every row runs in a fresh interpreter, twice: once plain (wall time, and the growth of the
peak resident set size during the check, ``ru_maxrss``), once under `tracemalloc` (the peak of
what numpy and Python allocated during the check; slower, so its time is not reported). Both
are divided by the parameters' bytes. The checked function is the cheapest there is,
``f(p) = p @ p`` with ``grad(p) = 2 p`` (f allocates nothing of the parameters' size; grad's
result, 1x, is counted), so the figures are the checker's own.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

import gradcheck

README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- memory:begin -->", "<!-- memory:end -->"

#: name -> (entries, mode, planted error, dtype, vectorized)
CASES: dict[str, tuple[int, str, bool, str, bool]] = {
    "fast 10^6, correct": (10**6, "fast", False, "float64", False),
    "fast 10^6, one wrong entry (localized)": (10**6, "fast", True, "float64", False),
    "fast 10^6 float32, correct": (10**6, "fast", False, "float32", False),
    "fast 10^6 vectorized, correct": (10**6, "fast", False, "float64", True),
    "fast 10^7, correct": (10**7, "fast", False, "float64", False),
    "fast 10^7, one wrong entry (localized)": (10**7, "fast", True, "float64", False),
    "full 10^4, correct": (10**4, "full", False, "float64", False),
    "full 10^4 vectorized, correct": (10**4, "full", False, "float64", True),
}
QUICK = [k for k, v in CASES.items() if v[0] < 10**7]


def _problem(name: str) -> tuple[Any, Any, Any, dict[str, Any]]:
    n, mode, wrong, dtype, vectorized = CASES[name]
    x = np.random.default_rng(0).standard_normal(n).astype(dtype)

    def f(p: Any) -> Any:
        return np.einsum("...i,...i->...", p, p) if vectorized else float(p @ p)

    def grad(p: Any) -> Any:
        g = 2 * p
        if wrong:
            g[n // 3] += 10.0
        return g

    return f, grad, x, {"mode": mode, "seed": 1, "vectorized": vectorized}


def one(name: str, traced: bool) -> dict[str, Any]:
    """Run one case in this process; what it measured."""
    f, grad, x, kw = _problem(name)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    res = gradcheck.check_grad(f, grad, x, **kw)
    seconds = time.perf_counter() - start
    out = {"verdict": str(res.status), "seconds": seconds, "bytes": x.nbytes}
    if traced:
        out["peak"] = tracemalloc.get_traced_memory()[1] / x.nbytes
        tracemalloc.stop()
    else:
        out["rss"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 / x.nbytes
    if res.status == "fail":
        out["named"] = [f"{e.path}{list(e.index)}" for e in res.worst if e.index][:1]
    return out


def measure(name: str) -> dict[str, Any]:
    """Both runs of one case, each in a fresh interpreter."""
    out: dict[str, Any] = {}
    for traced in (False, True):
        cmd = [sys.executable, "-m", "benchmarks.memory", "--one", name]
        done = subprocess.run(
            [*cmd, "--traced"] if traced else cmd,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent.parent,
        )
        got = json.loads(done.stdout)
        out.update({k: v for k, v in got.items() if not (traced and k == "seconds")})
    return out


def table(names: list[str]) -> str:
    rows = [
        "| check (f = p @ p) | verdict | wall time | peak traced / params | peak RSS growth / "
        "params |",
        "|---|---|---:|---:|---:|",
    ]
    for name in names:
        m = measure(name)
        verdict = m["verdict"] + (f", {m['named'][0]} named" if m.get("named") else "")
        rows.append(
            f"| {name} ({m['bytes'] / 2**20:.0f} MiB) | {verdict} | {m['seconds']:.2f} s | "
            f"{m['peak']:.1f}x | {m['rss']:.1f}x |"
        )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.traced)))
        return
    text = table(QUICK if args.quick else list(CASES))
    print(text)
    if args.write:
        doc = README.read_text(encoding="utf-8")
        pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
        README.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", doc), encoding="utf-8")


if __name__ == "__main__":
    main()

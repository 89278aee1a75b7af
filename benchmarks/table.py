"""Regenerate the tables of benchmarks/README.md.

    python -m benchmarks.table            # print the tables (a few minutes on 2 cores)
    python -m benchmarks.table --write    # and replace them in benchmarks/README.md
    python -m benchmarks.table --quick    # skip numdifftools and the slow peer runs

Wall times are the best of a few runs for the cheap checkers and one run for the slow
ones; a "unit" is one forward+backward of the model (a call of its gradient, best of 50x10),
measured in the same process right before and right after the model's rows (the faster of
the two, so machine load inflates units rather than hiding cost).
"""

from __future__ import annotations

import argparse
import platform
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from benchmarks import checkers as C
from benchmarks.models import Model, batchnorm, lstm, rnn

README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- table:begin -->", "<!-- table:end -->"


def cost_rows(m: Model, quick: bool, peers: bool = True) -> list[C.Run]:
    rows = [
        C.run_gradcheck(m, "full", False),
        C.run_gradcheck(m, "full", True, repeats=2),
        C.run_gradcheck(m, "fast", False, repeats=5),
        C.run_gradcheck(m, "fast", True, repeats=5),
    ]
    if peers:
        rows += [C.run_scipy_check_grad(m), C.run_scipy_approx_fprime(m), C.run_central_loop(m)]
        if not quick:
            rows += [C.run_scipy_jacobian(m), C.run_numdifftools(m)]
    return rows


def cost_table(models: list[tuple[Model, bool]], quick: bool) -> str:
    out = [
        "| model (params) | checker | verdict | wall time | units | calls of f | max rel. error |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for m, peers in models:
        unit = C.unit_seconds(m)
        rows = cost_rows(m, quick, peers)
        unit = min(unit, C.unit_seconds(m))  # before and after: the faster (conservative)
        first = True
        for r in rows:
            name = f"{m.name} ({m.size:,}); unit {unit * 1e3:.2f} ms" if first else ""
            first = False
            calls = f"{r.calls:,}" + (f" ({r.python_calls} calls)" if r.python_calls else "")
            out.append(
                f"| {name} | {r.checker} | {r.verdict} | {r.seconds:.3g} s | "
                f"{r.seconds / unit:,.0f} | {calls} | {r.max_rel_error:.1e} |"
            )
    return "\n".join(out)


def planted(m: Model, key: str, flat_index: int, factor: float) -> Any:
    def wrong(p: dict[str, Any]) -> dict[str, Any]:
        g = m.grad(p)
        g[key] = g[key].copy()
        g[key].flat[flat_index] *= factor
        return g

    return wrong


def detection_table(m: Model, positions: int = 10, factor: float = 1 + 1e-4) -> str:
    """A single gradient entry scaled by ``factor`` at random positions of the LSTM."""
    import gradcheck

    rng = np.random.default_rng(2026)
    keys = list(m.params)
    sizes = np.array([m.params[k].size for k in keys])
    unit = C.unit_seconds(m)
    kinds = ("full", "full_named", "fast", "named", "fast_s", "torch", "jax")
    tally: dict[str, list[float]] = {k: [] for k in kinds}
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    where = []
    for trial in range(positions):
        i = int(rng.integers(sizes.sum()))
        leaf = int(np.searchsorted(offsets, i, side="right") - 1)
        key, j = keys[leaf], i - offsets[leaf]
        where.append(f"{key}{[int(k) for k in np.unravel_index(j, m.params[key].shape)]}")
        wrong = planted(m, key, j, factor)
        full = gradcheck.check_grad(m.loss, wrong, m.params, vectorized=True)
        t = time.perf_counter()
        fast = gradcheck.check_grad(m.loss, wrong, m.params, mode="fast", seed=trial)
        tally["fast_s"].append(time.perf_counter() - t)
        idx = tuple(int(k) for k in np.unravel_index(j, m.params[key].shape))
        tally["full"].append(full.status == "fail")
        tally["full_named"].append(bool(full.worst) and full.worst[0].index == idx)
        tally["fast"].append(fast.status == "fail")
        tally["named"].append(
            any(e.path == f"params['{key}']" and e.index == idx for e in fast.worst)
        )
        g = C.flat_grad(m)
        g[i] *= factor
        tally["torch"].append(not C.torch_fast_mode_passes(m, g, np.random.default_rng(trial)))
        tally["jax"].append(not C.jax_check_grads_passes(m, g))
    n = positions
    fast_units = np.mean(tally["fast_s"]) / unit
    return "\n".join(
        [
            f"Planted: one entry of the gradient of {m.name} ({m.size:,} params) multiplied by "
            f"1 + 1e-4, at {n} random positions ({', '.join(where)}).",
            "",
            "| checker | caught | index named | cost |",
            "|---|---:|---:|---:|",
            f"| gradcheck full batched | {sum(tally['full']):.0f}/{n} | "
            f"{sum(tally['full_named']):.0f}/{n} | see above |",
            f"| gradcheck fast (incl. localization) | {sum(tally['fast']):.0f}/{n} | "
            f"{sum(tally['named']):.0f}/{n} | {fast_units:.0f} units (mean) |",
            f"| torch gradcheck fast_mode rule (emulated) | {sum(tally['torch']):.0f}/{n} "
            "| – | 2 calls |",
            f"| jax check_grads JVP rule (emulated) | {sum(tally['jax']):.0f}/{n} | – | 2 calls |",
        ]
    )


def floor_note(m: Model, b: int = 1024) -> str:
    """What one stacked evaluation costs: the floor under full batched mode's time.

    Each parameter in turn is stacked (the others broadcast, as the checker passes them);
    the per-item costs are averaged with the parameters' sizes as weights."""
    evaluations = C.run_gradcheck(m, "full", True).calls
    unit = C.unit_seconds(m)
    fwd, _ = C.timed(lambda: [m.loss(m.params) for _ in range(10)], 20)
    costs, sizes = [], []
    for key, value in m.params.items():
        stacked = {k: np.broadcast_to(v, (b, *v.shape)) for k, v in m.params.items()}
        stacked[key] = np.repeat(value[None], b, axis=0)
        sec, _ = C.timed(lambda stacked=stacked: m.loss(stacked), 5)
        costs.append(sec / b)
        sizes.append(value.size)
    item = float(np.average(costs, weights=sizes))
    per = ", ".join(f"{k} {c * 1e6:.0f} µs" for k, c in zip(m.params, costs, strict=True))
    return (
        f"Floor of full batched mode on {m.name}: one unit (forward+backward) = "
        f"{unit * 1e6:.0f} µs, one plain forward = {fwd / 10 * 1e6:.0f} µs, one forward inside "
        f"a stack of {b} = {item * 1e6:.0f} µs = {item / unit:.3f} units (stacking {per}). "
        f"Full mode needs {evaluations:,} evaluations (4 per entry for the Richardson stencil "
        f"and its error estimate, plus the fixed probes), so f alone costs >= "
        f"{evaluations * item / unit:.0f} units however the checker is written."
    )


def big_table() -> str:
    """An LSTM with >= 1e5 parameters, fast mode: a pass, and a planted wrong entry named."""
    import gradcheck

    m = lstm(N=1, T=20, D=80, H=128)
    unit = C.unit_seconds(m, repeats=5)
    ok = C.run_gradcheck(m, "fast", False, repeats=3)
    key, j = "Wh", 12345
    t = time.perf_counter()
    bad = gradcheck.check_grad(m.loss, planted(m, key, j, 1 + 1e-4), m.params, mode="fast", seed=1)
    sec = time.perf_counter() - t
    idx = tuple(int(k) for k in np.unravel_index(j, m.params[key].shape))
    named = any(e.path == f"params['{key}']" and e.index == idx for e in bad.worst)
    return "\n".join(
        [
            "| model (params) | check | verdict | wall time | units | calls of f |",
            "|---|---|---|---:|---:|---:|",
            f"| {m.name} ({m.size:,}); unit {unit * 1e3:.1f} ms | fast, correct gradient | "
            f"{ok.verdict} | {ok.seconds:.2f} s | {ok.seconds / unit:.0f} | {ok.calls} |",
            f"| | fast, {key}{list(idx)} x (1 + 1e-4) | {bad.status}, "
            f"{'named' if named else 'NOT named'} | {sec:.2f} s | {sec / unit:.0f} | "
            f"{bad.evaluations} |",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    models = [
        (lstm(N=1, T=20, D=20, H=16), True),
        (lstm(N=4, T=20, D=20, H=16), False),
        (lstm(N=1, T=20, D=20, H=8), True),
        (rnn(N=4, T=20, D=20, H=32), True),
        (batchnorm(N=16, D=32), True),
    ]
    text = "\n\n".join(
        [
            f"Machine: {platform.machine()}, Python {platform.python_version()}, numpy "
            f"{np.__version__}, scipy {scipy.__version__}; generated "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
            "### Cost and accuracy on a correct gradient",
            cost_table(models, args.quick),
            floor_note(models[0][0]),
            "### Detection of one wrong entry",
            detection_table(models[0][0]),
            "### Fast mode at 10^5 parameters",
            big_table(),
        ]
    )
    print(text)
    if args.write:
        doc = README.read_text()
        pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
        README.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", doc))


if __name__ == "__main__":
    main()

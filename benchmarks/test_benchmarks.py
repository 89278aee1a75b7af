"""pytest-benchmark timings of every checker on the benchmark models.

    pytest benchmarks --benchmark-enable

Each benchmark records in ``extra_info`` the calls of f, the max relative error on the
correct gradient, the verdict, and the cost in units of one forward+backward. The README's
table comes from ``python -m benchmarks.table`` (the same runners).
"""

from __future__ import annotations

import pytest

from benchmarks import checkers as C
from benchmarks import memory
from benchmarks.models import batchnorm, lstm, rnn

pytestmark = pytest.mark.filterwarnings("ignore")

MODELS = {
    "lstm16": lambda: lstm(N=1, T=20, D=20, H=16),
    "rnn32": lambda: rnn(N=4, T=20, D=20, H=32),
    "bn": lambda: batchnorm(N=16, D=32),
}
RUNNERS = {
    "gradcheck-full": lambda m: C.run_gradcheck(m, "full", False),
    "gradcheck-full-batched": lambda m: C.run_gradcheck(m, "full", True),
    "gradcheck-fast": lambda m: C.run_gradcheck(m, "fast", False),
    "gradcheck-fast-batched": lambda m: C.run_gradcheck(m, "fast", True),
    "scipy-check_grad": C.run_scipy_check_grad,
    "scipy-approx_fprime": C.run_scipy_approx_fprime,
    "scipy-differentiate-jacobian": C.run_scipy_jacobian,
    "numdifftools-Gradient": C.run_numdifftools,
    "central-loop": C.run_central_loop,
}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("model", MODELS)
def test_checker(benchmark, model, runner):
    if runner.startswith("numdifftools"):
        pytest.importorskip("numdifftools")
    m = MODELS[model]()
    unit = C.unit_seconds(m, repeats=10)
    run = benchmark.pedantic(RUNNERS[runner], args=(m,), rounds=1, iterations=1)
    benchmark.extra_info.update(
        calls=run.calls,
        max_rel_error=run.max_rel_error,
        verdict=run.verdict,
        unit_seconds=unit,
        units=run.seconds / unit,
    )
    if runner.startswith("gradcheck"):
        assert run.verdict == "pass"


@pytest.mark.parametrize("case", memory.QUICK)
def test_memory(benchmark, case):
    """Peak memory next to time (`benchmarks.memory`: fresh interpreters, f = p @ p)."""
    m = benchmark.pedantic(memory.measure, args=(case,), rounds=1, iterations=1)
    benchmark.extra_info.update(
        verdict=m["verdict"], seconds=m["seconds"], peak_traced=m["peak"], peak_rss=m["rss"]
    )
    if case.startswith("fast") and "float32" not in case and "vectorized" not in case:
        assert m["peak"] <= 4.0

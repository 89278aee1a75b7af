"""The article's figures are drawn from the specs and show what their captions claim.

Each test checks the data a figure plots (gradcheck.report.figures.*_data, computed by the
specs' public functions) against the statement the figure illustrates; one test draws every
figure to PNG. The Hypothesis-drawn seeds and grids make each check able to fail.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lstm_gradients import figures as F
from lstm_gradients.figures import plots as P
from lstm_gradients.proofs.bands import gaussian_batch_statistics_bands, per_event
from lstm_gradients.proofs.kit import EPS, SEEDS, SLACK

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:matplotlib")  # 3-D tight layout

# Bounds on norms of products of small matrices are asserted with the kit's SLACK (1 + 1e-10):
# each 2-norm or Frobenius norm of a product of at most ~100 (≤ 16×16) factors carries a
# relative rounding error of a few hundred eps (≈ 1e-13); 1e-10 covers it with a wide margin
# and nothing more.


@pytest.mark.proves("FIG-2")
@given(half=st.floats(37.5, 60.0), n=st.integers(50, 2500))
@example(half=45.0, n=4500)  # the figure's own grid
def test_fig2_peak_envelope_and_float64_band_are_what_is_drawn(half, n):
    d = P.fig2_data(-half, half, 2 * n + 1)
    x, prime, out = d["x"], d["prime"], d["output_form"]
    (zero,) = np.flatnonzero(x == 0.0)
    assert prime.max() == prime[zero] == 0.25  # the ¼ marker sits at the true maximum
    # ¼e^{-|x|} <= σ' <= e^{-|x|} exactly in floats: σ' = e/(1+e)^2 with 1 <= (1+e)^2 <= 4,
    # and correctly rounded division is monotone in the divisor.
    e = np.exp(-np.abs(x))
    assert np.all(prime <= e)
    assert np.all(prime >= e / 4)
    # the shaded band (x > 0): the output form y(1-y) is exactly 0 from the computed edge on
    # and positive before it (for x < 0, y is tiny but not 0), while the stable σ' never
    # vanishes on the plotted range
    assert np.all(out[x >= d["t64"]] == 0.0)
    assert np.all(out[x < d["t64"]] > 0.0)
    assert np.all(prime > 0.0)
    assert d["t32"] < d["t64"]


@pytest.mark.proves("FIG-5")
@given(lo=st.floats(-20.0, -0.5), hi=st.floats(0.5, 20.0), n=st.integers(20, 2000))
def test_fig5_tanh_is_sigma_rescaled_with_the_argument_doubled(lo, hi, n):
    d = P.fig5_data(lo, hi, n)
    # tanh and 2σ(2x)−1 agree to rounding: σ(2x) within 1 ulp (<= eps/2 absolute, values <= 1),
    # doubled, one subtraction and tanh's own ulp: <= 2·eps in all.
    assert np.max(np.abs(d["tanh"] - d["via_sigmoid"])) <= 2 * EPS
    # the article's literal reading 2σ(x)−1 = tanh(x/2) is another curve: it differs by at
    # least |tanh(x) − tanh(x/2)| at the grid end farthest from 0 (>= 0.17 once |x| >= 0.5)
    assert np.max(np.abs(d["tanh"] - d["range_only"])) >= 0.17
    assert np.all(d["tanh_prime"] <= 1.0)
    assert np.all(d["sigma_prime"] <= 0.25)
    # near 0 tanh does not shrink gradients the way σ does: tanh' = 4σ'(2x) >= σ'(x) for
    # |x| <= 1 (the curves cross near |x| ≈ 1.6; far out tanh' decays like 4e^{-2|x|})
    near = np.abs(d["x"]) <= 1.0
    assert np.all(d["tanh_prime"][near] >= d["sigma_prime"][near])


@pytest.mark.proves("FIG-4")
@given(seed=SEEDS, t=st.integers(1, 25))
@example(seed=4, t=30)  # the figure's own draw
def test_fig4_every_plotted_term_is_under_its_drawn_bound(seed, t):
    data = P.fig4_data(t=t, seed=seed)
    for norms, bounds in data.values():
        assert norms.shape == bounds.shape == (t,)
        assert np.all(norms <= bounds * SLACK)
        assert np.all(norms > 0)  # every path contributes: nothing is drawn at log(0)


@pytest.mark.proves("PLOT-A")
@settings(max_examples=15)  # expensive: each example unrolls 12 sequences of Jacobian products
@given(first=st.integers(0, 10**6))
def test_plot_a_curves_respect_the_bounds_they_illustrate(first):
    small = {"T": 20, "H": 4, "seeds": 1, "first_seed": first}
    for rho, rows in P.plot_a_rnn_data(**small).items():
        lags = np.arange(rows.shape[1])
        assert np.all(rows[:, 0] == 1.0)
        assert np.all(rows <= rho**lags * SLACK)  # RNN-7: ‖∂s_t/∂s_k‖ <= ρ^{t−k}
    for full, cell in P.plot_a_lstm_data(**small).values():
        assert np.all(full[:, 0] == 1.0)
        assert np.all((cell > 0) & (cell <= 1.0))  # LSTM-6a: the cell path cannot explode
        assert np.all(np.diff(cell, axis=1) <= 0)  # a product of forget gates in (0, 1)
    for rows in P.plot_a_gru_data(**small).values():
        assert np.all(rows[:, 0] == 1.0)
        assert np.all(rows > 0)


@pytest.mark.proves("PLOT-B")
@given(seed=SEEDS, L=st.integers(1, 12), width=st.integers(1, 8))
def test_plot_b_deltas_stay_under_the_mlp9_bound(seed, L, width):
    for (act, _), prof in P.plot_b_data(seed=seed, L=L, width=width).items():
        assert prof.norms.shape == prof.bounds.shape == (L,)
        assert np.all(prof.norms <= prof.bounds * SLACK), act
        assert prof.input_norm <= prof.input_bound * SLACK


@pytest.mark.proves("FIG-8")
@given(
    N=st.integers(1, 3), G=st.integers(1, 3), k=st.integers(1, 3), H=st.integers(1, 3),
    W=st.integers(1, 3), data=st.data(),
)  # fmt: skip
def test_fig8_cubes_are_the_kernels_groups_and_the_articles_table(N, G, k, H, W, data):
    shape = (N, G * k, H, W)
    index = tuple(data.draw(st.integers(0, n - 1)) for n in shape)
    methods = (("BN", 1), ("LN", 1), ("IN", 1), ("GN", G))
    d = P.fig8_data(shape, index, methods)
    sizes = {"BN": N * H * W, "LN": G * k * H * W, "IN": H * W, "GN": k * H * W}
    for method, sets in d.items():
        assert np.array_equal(sets["kernel"], sets["table"]), method
        assert sets["kernel"].sum() == sizes[method], method
        assert sets["kernel"][index]
    assert np.all(d["IN"]["kernel"] <= d["GN"]["kernel"])  # IN ⊆ GN ⊆ LN (NORM-5)
    assert np.all(d["GN"]["kernel"] <= d["LN"]["kernel"])


PLOT_C_EXAMPLES = 8
PLOT_C_MS = np.array([2, 3, 4, 8, 16, 32, 64, 128])
# four events per batch size (var_mean, mean_var, var_var, mse_var; see the bands)
PLOT_C_ALPHA = per_event(PLOT_C_EXAMPLES, 4 * len(PLOT_C_MS))


@pytest.mark.proves("PLOT-C")
@settings(max_examples=PLOT_C_EXAMPLES)  # expensive: 8 × 20 000 Monte Carlo batches per example
@given(seed=SEEDS)
def test_plot_c_monte_carlo_dots_sit_on_the_theory_lines(seed):
    """The theory lines are the closed forms (to a few roundings), and each Monte Carlo dot
    lies in its band (`bands.gaussian_batch_statistics_bands`: exact χ² intervals for
    Var(μ_B), Markov on exact χ² moments for Var(σ_B²) and the MSE). False failure
    ≤ 1e-7 per run: 8 examples × 32 events, α = 3.9e-10 each."""
    R, ms = 20000, PLOT_C_MS
    d = P.plot_c_data(ms, R=R, seed=seed)
    np.testing.assert_allclose(d["var_mean_theory"], 1.0 / ms, rtol=4 * EPS)
    np.testing.assert_allclose(d["var_var_theory"], 2 * (ms - 1) / ms**2, rtol=4 * EPS)
    np.testing.assert_allclose(d["mse_var_theory"], (2 * ms - 1) / ms**2, rtol=4 * EPS)
    for i, m in enumerate(ms):
        band = gaussian_batch_statistics_bands(int(m), R, PLOT_C_ALPHA)
        for key in ("var_mean", "var_var", "mse_var"):
            lo, hi = band[key]
            slack = 4 * R * EPS * hi  # the R-term means' rounding
            assert lo - slack <= d[f"{key}_mc"][i] <= hi + slack, (key, m)


def _quick(fn, **kw):
    return functools.partial(fn, **kw)


def test_every_required_figure_is_drawn_to_png(tmp_path, monkeypatch):
    """Drawing itself (the data checks are above), at reduced sizes to stay cheap."""
    monkeypatch.setattr(P, "plot_a_rnn_data", _quick(P.plot_a_rnn_data, T=20, seeds=2))
    monkeypatch.setattr(P, "plot_a_lstm_data", _quick(P.plot_a_lstm_data, T=20, seeds=2))
    monkeypatch.setattr(P, "plot_a_gru_data", _quick(P.plot_a_gru_data, T=20, seeds=2))
    monkeypatch.setattr(P, "plot_c_data", _quick(P.plot_c_data, R=500))
    required = ["FIG-2", "FIG-4", "FIG-5", "FIG-8", "PLOT-A", "PLOT-B", "PLOT-C"]
    outcomes = F.draw_figures(tmp_path, required, dpi=40)  # small PNGs: cheap, still real
    for o in outcomes:
        assert o.produced, (o.id, o.reason)
        png = (tmp_path / o.path).read_bytes()
        assert png == o.png
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(png) > 3_000  # an actual plot, not an empty canvas
        assert "specs." in o.caption  # the caption names the spec functions it draws from


def test_a_missing_spec_function_is_reported_not_faked(tmp_path, monkeypatch):
    def missing():
        F.spec("rnn", "no_such_function")

    monkeypatch.setitem(F.FIGURES, "FIG-4", missing)
    (o,) = F.draw_figures(tmp_path, ["FIG-4"])
    assert not o.produced
    assert "specs.rnn.no_such_function does not exist" in o.reason
    assert not (tmp_path / "figures" / "FIG-4.png").exists()
    (none,) = F.draw_figures(tmp_path, ["FIG-99"])
    assert none.reason == "no drawer for this figure"

"""The schematic figures FIG-1, FIG-3, FIG-6, FIG-7 show the dependency graphs of the specs.

Each figure's graph is probed from a spec's forward function (gradcheck.report.schematics); these
tests check the probed graph against what the figure claims, computed another way (the spec's
hand-derived backward for FIG-1, the closed-form dependence sets for FIG-3, bitwise identities of
the LSTM/GRU updates), show that an extra or missing dependency in a fake forward changes the
graph (so the probe does not echo a template), and check that the drawer draws exactly the probed
edges into a real PNG.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lstm_gradients import figures as F
from lstm_gradients.figures import schematics as S
from lstm_gradients.proofs.kit import EPS, SEEDS
from lstm_gradients.specs import gru as G
from lstm_gradients.specs import lstm as L
from lstm_gradients.specs import mlp as M
from lstm_gradients.specs import rnn as R
from lstm_gradients.specs.activations import IDENTITY

sizes = st.integers(1, 4)


def _drawn(tmp_path, monkeypatch, fig_id):
    """Draw ``fig_id`` through `draw_figures` (a real PNG) and return the outcome and the
    matplotlib figure it saved (captured from the registered drawer)."""
    seen = {}
    drawer = F.FIGURES[fig_id]

    def capture():
        seen["fig"], caption = drawer()
        return seen["fig"], caption

    monkeypatch.setitem(F.FIGURES, fig_id, capture)
    (o,) = F.draw_figures(tmp_path, [fig_id], dpi=40)  # small PNG: cheap, still real
    assert o.produced, o.reason
    png = (tmp_path / o.path).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 3_000  # an actual drawing, not an empty canvas
    assert "specs." in o.caption
    return o, seen["fig"]


def _gids(prefix, edges):
    return {f"{prefix}{u}->{v}" for u, v in edges}


# ----------------------------------------------------------------------------- FIG-1 (MLP)


def _away_from_zero(rng, shape, density):
    """Entries ±U[0.3, 1.5] kept with probability ``density``, else exactly 0 (no edge)."""
    vals = rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return vals * (rng.random(shape) < density)


def _jacobian_patterns(x, V, gamma, W, theta):
    """Nonzero patterns of ∂b/∂x (q × d) and ∂y'/∂b (l × q) from specs.mlp.mlp_backward.

    ∂b/∂x: the network with W = I, θ = 0 and an identity output is b itself; row h of the
    Jacobian is dx for dy' = e_h (dx_i = v_ih σ'(α_h − γ_h), exactly 0 iff v_ih = 0: the one-hot
    row times V^T adds only exact zeros besides that term). ∂y'/∂b: for dy' = e_j the backward's
    dgamma_h = −(Σ_k g_k w_hk) σ'(α_h − γ_h) = −φ'(β_j − θ_j) w_hj σ'(α_h − γ_h), and σ' > 0
    wherever |α − γ| < 700 (here |α − γ| < 5·1.5·max|x| + 0.5, far inside), so its pattern is
    that of ∂y'_j/∂b_h = φ' w_hj.
    """
    q, l = W.shape  # noqa: E741
    _, first = M.mlp_forward(x, V, gamma, np.eye(q), np.zeros(q), IDENTITY)
    _, full = M.mlp_forward(x, V, gamma, W, theta)
    db_dx = np.array([M.mlp_backward(np.eye(q)[[h]], first)[0][0] for h in range(q)])
    dy_db = np.array([-M.mlp_backward(np.eye(l)[[j]], full)[2] for j in range(l)])
    return db_dx != 0, dy_db != 0


@pytest.mark.proves("FIG-1", "ERR-1")
@given(
    seed=SEEDS,
    dql=st.lists(st.integers(1, 5), min_size=3, max_size=3, unique=True),
    density=st.sampled_from([0.4, 0.7, 1.0]),
)
@example(seed=1, dql=[3, 4, 2], density=1.0)  # the figure's own network
@example(seed=0, dql=[1, 2, 3], density=1.0)
def test_fig1_edges_are_the_jacobian_pattern_and_labels_read_v_ih_and_w_hj(seed, dql, density):
    """Every arrow is a nonzero ∂b_h/∂x_i or ∂y'_j/∂b_h, and every label is the weight entry
    that carries it, indexed in the spec's order: x_i → b_h by V[i, h] (V is d × q), b_h → y'_j
    by W[h, j] (W is q × l). With d, q, l distinct, the article's literal "w_{ij}" (ERR-1: first
    index over the inputs) cannot be the label of an edge into the output layer: W's first
    axis has length q ≠ d and the entry that carries b_h → y'_j sits in row h."""
    d, q, l = dql  # noqa: E741
    rng = np.random.default_rng(seed)
    params = {
        "V": _away_from_zero(rng, (d, q), density),
        "gamma": rng.uniform(-0.5, 0.5, q),
        "W": _away_from_zero(rng, (q, l), density),
        "theta": rng.uniform(-0.5, 0.5, l),
    }
    g = S.fig1_data(d, q, l, seed=seed, params=params)
    x_in = g.info["x"]
    db_dx, dy_db = _jacobian_patterns(x_in, **params)
    expected = {(f"x{i + 1}", f"b{h + 1}") for h, i in zip(*np.nonzero(db_dx), strict=True)}
    expected |= {(f"b{h + 1}", f"y{j + 1}") for j, h in zip(*np.nonzero(dy_db), strict=True)}
    assert g.edges == expected
    # the same pattern is the weights' own: no edge for a zero weight, one for every other
    assert {e for e in g.edges if e[0][0] == "x"} == {
        (f"x{i + 1}", f"b{h + 1}") for i, h in zip(*np.nonzero(params["V"]), strict=True)
    }
    shapes = g.info["shapes"]
    assert shapes["V"] == (d, q)
    assert shapes["W"] == (q, l)
    for (u, v), carried_by in g.edge_carriers.items():
        src, dst = int(u[1:]) - 1, int(v[1:]) - 1
        name = "V" if u[0] == "x" else "W"
        assert carried_by == (f"{name}{(src, dst)}",), (u, v, carried_by)
    # the literal "w_{ij}" would index W's rows by the input i = 1..d; its rows are the q hidden
    # units (q ≠ d here), and the row of the entry carrying b_h → y'_j is h
    assert shapes["W"][0] == q != d
    assert g.info["thresholds"] == {f"b{h + 1}": h for h in range(q)}  # γ_h moves b_h alone


@pytest.mark.proves("FIG-1")
def test_fig1_a_fake_direct_input_to_output_wire_appears_as_an_edge():
    """Negative control: a forward that adds x_1 straight into y'_1 (output 1 cut from the hidden
    layer, W[:, 0] = 0) gains the edge x1 → y1; the true spec has no such edge."""
    d, q, l = 3, 4, 2  # noqa: E741
    rng = np.random.default_rng(5)
    W = rng.standard_normal((q, l))
    W[:, 0] = 0.0
    params = {"W": W}

    def leaky(x, V, gamma, W, theta, out=M.SIGMOID):
        y, cache = M.mlp_forward(x, V, gamma, W, theta, out)
        return y + 0.5 * x[:, :1] * (np.arange(y.shape[1]) == 0), cache

    honest = S.fig1_data(d, q, l, params=params)
    fake = S.fig1_data(d, q, l, params=params, forward=leaky)
    assert ("x1", "y1") not in honest.edges
    assert not any(v == "y1" for _, v in honest.edges)
    assert ("x1", "y1") in fake.edges


@pytest.mark.proves("FIG-1")
def test_fig1_is_drawn_with_exactly_the_probed_edges(tmp_path, monkeypatch):
    o, fig = _drawn(tmp_path, monkeypatch, "FIG-1")
    assert S.drawn_edges(fig) == _gids("FIG-1:", S.fig1_data().edges)
    assert "v_ih" in o.caption
    assert "w_hj" in o.caption


# ----------------------------------------------------------------------------- FIG-3 (RNN)


@pytest.mark.proves("FIG-3")
@given(seed=SEEDS, T=st.integers(1, 6), D=sizes, H=sizes)
@example(seed=0, T=1, D=1, H=1)
def test_fig3_s_t_depends_on_x_i_iff_i_le_t_and_the_drawn_edges_are_the_unrolled_chain(
    seed, T, D, H
):
    g = S.fig3_data(T=T, D=D, H=H, seed=seed)
    states = {f"s{t}" for t in range(1, T + 1)}
    outputs = {f"o{t}" for t in range(1, T + 1)}
    for i in range(1, T + 1):
        moved = g.evidence[("base", f"x{i}")]
        assert moved & states == {f"s{t}" for t in range(i, T + 1)}  # s_t depends on x_i iff i ≤ t
        assert moved & outputs == {f"o{t}" for t in range(i, T + 1)}
    assert states | outputs <= g.evidence[("base", "s0")]
    # sharing: one W_x (and one W_s, since s_0 ≠ 0) moves every state; W_o moves every o_t and
    # no state, so o_t reads the recurrence only through s_t W_o
    moved_by = g.info["moved_by"]
    assert states <= moved_by["W_x"]
    assert states <= moved_by["W_s"]
    assert moved_by["W_o"] == outputs
    chain = {(f"x{t}", f"s{t}") for t in range(1, T + 1)}
    chain |= {(f"s{t - 1}", f"s{t}") for t in range(1, T + 1)}
    chain |= {(f"s{t}", f"o{t}") for t in range(1, T + 1)}
    assert g.edges == chain
    for (u, v), carried_by in g.edge_carriers.items():
        kind = "W_o" if v[0] == "o" else "W_x" if u[0] == "x" else "W_s"
        assert carried_by == (kind,), (u, v, carried_by)


@pytest.mark.proves("FIG-3")
def test_fig3_untied_copies_and_a_memoryless_fake_change_what_is_probed():
    """Negative controls. (1) Sharing is a property of the spec, not of the probe: in the untied
    net (specs.rnn.rnn_untied_forward) perturbing the step-k copy of W_x moves only s_k..s_T.
    (2) A fake forward that drops the recurrence (W_s replaced by 0) loses every s → s edge."""
    T, D, H = 4, 3, 3
    rng = np.random.default_rng(0)
    x, s_0 = rng.standard_normal((1, T, D)), rng.standard_normal((1, H))
    W_xs = np.stack([rng.standard_normal((D, H))] * T)
    W_ss, bs = np.stack([rng.standard_normal((H, H))] * T), np.zeros((T, H))
    base, _ = R.rnn_untied_forward(x, s_0, W_xs, W_ss, bs)
    for k in range(T):
        W = W_xs.copy()
        W[k] += 1.0
        moved, _ = R.rnn_untied_forward(x, s_0, W, W_ss, bs)
        same = [np.array_equal(base[:, t], moved[:, t]) for t in range(T)]
        assert same == [t < k for t in range(T)]

    def memoryless(x, s_0, W_x, W_s, b):
        return R.rnn_forward(x, s_0, W_x, np.zeros_like(W_s), b)

    g = S.fig3_data(T=T, forward=memoryless)
    assert not any(u[0] == "s" and v[0] == "s" for u, v in g.edges)
    assert {(f"x{t}", f"s{t}") for t in range(1, T + 1)} <= g.edges


@pytest.mark.proves("FIG-3")
def test_fig3_is_drawn_with_exactly_the_probed_edges(tmp_path, monkeypatch):
    o, fig = _drawn(tmp_path, monkeypatch, "FIG-3")
    assert S.drawn_edges(fig) == _gids("FIG-3:", S.fig3_data().edges)
    assert "W_x, W_s" in o.caption


# ---------------------------------------------------------------------------- FIG-6 (LSTM)

LSTM_COMMON = {
    ("x", "i"),
    ("x", "f"),
    ("x", "o"),
    ("x", "g"),
    ("h_prev", "i"),
    ("h_prev", "f"),
    ("h_prev", "o"),
    ("h_prev", "g"),
    ("i", "c_t"),
    ("f", "c_t"),
    ("g", "c_t"),
    ("c_prev", "c_t"),
    ("o", "h_t"),
    ("c_t", "h_t"),
}
PEEPHOLES = {("c_prev", "i"), ("c_prev", "f"), ("c_t", "o")}


@pytest.mark.proves("FIG-6", "ERR-12")
@given(seed=SEEDS, D=sizes, H=sizes)
@example(seed=0, D=1, H=1)
def test_fig6_gates_see_c_prev_only_with_peepholes(seed, D, H):
    """ERR-12: the article's "f_t、i_t、g_t 都是 c_{t-1}的复合函数" read literally fails for the
    CS231n cell: perturbing c_{t-1} leaves every gate bitwise unchanged, at every operating
    point. It holds only in the peephole cell, and there for i and f (not g); o looks at c_t."""
    std = S.fig6_data("lstm_step_forward", D=D, H=H, seed=seed)
    for (_, probe), moved in std.evidence.items():
        if probe == "c_prev":
            assert not moved & {"i", "f", "o", "g"}
    assert std.edges == LSTM_COMMON
    # the edge c_prev → c_t is the forget-gate path: with f held at exactly 0, c_prev moves
    # nothing (next test: the size of the move when f is free)
    assert std.evidence[("f=0", "c_prev")] == {"c_prev"}
    peep = S.fig6_data("peephole_step_forward", D=D, H=H, seed=seed)
    assert {"i", "f"} <= peep.evidence[("base", "c_prev")]
    assert "g" not in peep.evidence[("base", "c_prev")]
    assert peep.edges == LSTM_COMMON | PEEPHOLES
    assert peep.edge_carriers[("c_prev", "f")] == ("p",)  # the peephole weights carry it


@pytest.mark.proves("FIG-6", "LSTM-3", "ERR-12")
@given(seed=SEEDS, D=sizes, H=sizes)
@example(seed=0, D=1, H=1)
def test_fig6_c_prev_reaches_c_t_directly_through_f(seed, D, H):
    """The drawn edge c_{t-1} → c_t is the forget-gate path: at fixed (x_t, h_{t-1}) a change Δ
    of c_{t-1} moves c_t by exactly f ⊙ Δ (LSTM-3, no ∂f/∂c_{t-1} term), and with f held at
    exactly 0 (bias −800) c_t does not move at all.

    Rounding: c = fl(fl(f c_p) + fl(i g)) carries at most 1.01·eps·(|f c_p| + |i g|) (three
    roundings of u = eps/2); the difference of two such cells, against f ⊗ (c_p' ⊖ c_p) (two more
    roundings of |f Δ|), is within eps·(|f c_p| + |f c_p'| + 2|i g| + |f Δ|); we allow twice that.
    """
    rng = np.random.default_rng(seed)
    x, h, c = (rng.standard_normal((1, n)) for n in (D, H, H))
    W_x, W_h = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)) / np.sqrt(H)
    b = rng.standard_normal(4 * H)
    c2 = c + rng.uniform(0.5, 1.5, (1, H))
    (_, ct), cache = L.lstm_step_forward(x, h, c, W_x, W_h, b)
    (_, ct2), cache2 = L.lstm_step_forward(x, h, c2, W_x, W_h, b)
    i, f, g = cache.i, cache.f, cache.g
    for gate in ("i", "f", "o", "g"):  # the gates do not move with c_{t-1}
        assert np.array_equal(getattr(cache, gate), getattr(cache2, gate))
    assert np.array_equal(ct, f * c + i * g)  # the cache really holds the gates
    err = np.abs((ct2 - ct) - f * (c2 - c))
    bound = EPS * (np.abs(f * c) + np.abs(f * c2) + 2 * np.abs(i * g) + np.abs(f * (c2 - c)))
    assert np.all(err <= 2 * bound)
    b_shut = b.copy()
    b_shut[H : 2 * H] = -S.SATURATE
    (_, shut), _ = L.lstm_step_forward(x, h, c, W_x, W_h, b_shut)
    (_, shut2), _ = L.lstm_step_forward(x, h, c2, W_x, W_h, b_shut)
    assert np.array_equal(shut, shut2)


@pytest.mark.proves("FIG-6")
def test_fig6_a_fake_c_prev_leak_into_the_forget_gate_appears_as_an_edge():
    """Negative control: a forward whose forget gate also reads c_{t-1} (a peephole smuggled
    into the bias) gains exactly the edge c_prev → f."""

    def leaky(x, h_prev, c_prev, W_x, W_h, b):
        H = h_prev.shape[1]
        b = b.copy()
        b[H : 2 * H] += 0.7 * c_prev[0]
        return L.lstm_step_forward(x, h_prev, c_prev, W_x, W_h, b)

    assert S.fig6_data(forward=leaky).edges == LSTM_COMMON | {("c_prev", "f")}


@pytest.mark.proves("FIG-6")
def test_fig6_refuses_a_cache_that_does_not_hold_the_gates_where_it_reads_them():
    """The gates are read from the spec's cache; a forward whose cache has f and i swapped
    (so c_t ≠ f ⊙ c_{t−1} + i ⊙ g as read) is refused, not drawn with wrong edges."""

    def swapped(*args):
        out, cache = L.lstm_step_forward(*args)
        return out, cache._replace(i=cache.f, f=cache.i)

    with pytest.raises(ValueError, match="the cache no longer holds i, f, o, g") as refused:
        S.fig6_data(forward=swapped)
    assert str(refused.value).startswith("specs.lstm.lstm_step_forward:")  # names the variant


@pytest.mark.proves("FIG-6")
def test_fig6_is_drawn_with_exactly_the_probed_edges(tmp_path, monkeypatch):
    o, fig = _drawn(tmp_path, monkeypatch, "FIG-6")
    variants = ("lstm_step_forward", "peephole_step_forward")
    assert S.drawn_edges(fig) == set().union(
        *(_gids(f"{v}:", S.fig6_data(v).edges) for v in variants)
    )
    assert "CS231n LSTM: c_(t−1) → gates: none" in o.caption


# ----------------------------------------------------------------------------- FIG-7 (GRU)

GRU_COMMON = {
    ("x", "z"),
    ("x", "r"),
    ("x", "n"),
    ("h_prev", "z"),
    ("h_prev", "r"),
    ("h_prev", "q"),
    ("q", "n"),
    ("z", "h_t"),
    ("n", "h_t"),
    ("h_prev", "h_t"),
}
RESET_EDGE = {"before": ("r", "q"), "after": ("r", "n")}


@pytest.mark.proves("FIG-7")
@given(
    seed=SEEDS,
    D=sizes,
    H=sizes,
    convention=st.sampled_from(G.CONVENTIONS),
    reset=st.sampled_from(G.RESETS),
)
@example(seed=0, D=1, H=1, convention="article", reset="before")
def test_fig7_update_gate_at_one_copies_the_candidate_or_the_state_as_the_convention_says(
    seed, D, H, convention, reset
):
    """With z_t driven to exactly 1 (update bias 800: σ(800) = 1.0 in float64), the article's
    h_t = (1−z)h_{t−1} + z h̃_t is h̃_t bitwise and Cho's h_t = z h_{t−1} + (1−z) h̃_t is h_{t−1}
    bitwise; the probe that moves h̃_t alone moves h_t only in the article's convention. The
    reset gate sits where the variant says: before the recurrent matmul it feeds q_t, after it
    it multiplies q_t inside h̃_t."""
    g = S.fig7_data(reset, convention, D=D, H=H, seed=seed)
    assert g.info["convention"] == convention
    sat = g.info["z_saturated"]
    assert np.all(sat["z"] == 1.0)
    copied = sat["n"] if convention == "article" else sat["h_prev"]
    assert np.array_equal(sat["h_t"], copied)
    assert ("h_t" in g.evidence[("z=1", "b_xn")]) == (convention == "article")
    assert ("h_t" in g.evidence[("z=0", "b_xn")]) == (convention == "cho")
    assert g.edges == GRU_COMMON | {RESET_EDGE[reset]}


@pytest.mark.proves("FIG-7")
def test_fig7_caption_states_the_convention_the_spec_computes(monkeypatch):
    """The drawer measures the spec's default convention; swap the default and it says so."""
    _, caption = S.draw_fig7()
    assert "(1−z_t) ⊙ h_(t−1) + z_t ⊙ h̃_t (the article's" in caption
    cho = partial(G.gru_step_forward, convention="cho")
    monkeypatch.setattr(G, "gru_step_forward", cho)
    _, caption = S.draw_fig7()
    assert "z_t ⊙ h_(t−1) + (1−z_t) ⊙ h̃_t (Cho et al." in caption


@pytest.mark.proves("FIG-7")
def test_fig7_a_fake_gru_whose_update_gate_ignores_the_state_loses_that_edge():
    """Negative control: zeroing the z block of W_h inside the forward removes h_prev → z."""

    def blind(x, h_prev, W_x, W_h, b_x, b_h, **kw):
        W_h = W_h.copy()
        W_h[:, : W_h.shape[0]] = 0.0
        return G.gru_step_forward(x, h_prev, W_x, W_h, b_x, b_h, **kw)

    g = S.fig7_data(forward=blind)
    assert g.edges == (GRU_COMMON | {RESET_EDGE["before"]}) - {("h_prev", "z")}


@pytest.mark.proves("FIG-7")
def test_fig7_is_drawn_with_exactly_the_probed_edges(tmp_path, monkeypatch):
    _, fig = _drawn(tmp_path, monkeypatch, "FIG-7")
    assert S.drawn_edges(fig) == set().union(
        *(_gids(f"reset_{r}:", S.fig7_data(r).edges) for r in ("before", "after"))
    )

"""MLP-1 … MLP-7, ERR-1, ERR-2, ERR-3: the watermelon-book network of Part I.

The article's index form (`article_index_form`, Python loops over i, h, j) and the batched
matrix form (`mlp_forward`/`mlp_backward`) are judged by the project's checker against finite
differences and against each other. Problems come from `nets`: hypothesis draws the widths
d, q, l (pairwise distinct unless a test says otherwise, so an h/j mix-up cannot pass), the
scales and a seed; arrays come from ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import gradcheck
from lstm_gradients.proofs.kit import EPS, SEEDS, assert_pass
from lstm_gradients.specs import activations, spec
from lstm_gradients.specs.activations import IDENTITY
from lstm_gradients.specs.mlp import (
    article_index_form,
    article_updates,
    book_updates,
    mlp_forward,
    mlp_loss_backward,
    mlp_loss_forward,
    squared_error_forward,
)

PARAMS = ("V", "gamma", "W", "theta")
# Rejection tests (negative controls, literal errata readings): each example is a full FD check,
# and a wrong derivative misses by an O(1) factor on every draw, so 20 draws suffice; this keeps
# the Part I files inside their time budget.
REJECTIONS = settings(max_examples=20)
BOOLS = st.booleans()


@dataclass(frozen=True)
class Net:
    """One sample (or a batch) and the book's parameters; ``x`` (N, d), ``y`` (N, l)."""

    x: np.ndarray
    y: np.ndarray
    V: np.ndarray
    gamma: np.ndarray
    W: np.ndarray
    theta: np.ndarray

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"V": self.V, "gamma": self.gamma, "W": self.W, "theta": self.theta}

    @property
    def sizes(self) -> tuple[int, int, int]:
        return (*self.V.shape, self.W.shape[1])

    def moderate(self) -> bool:
        """The FD trust region of `mlp.network` (every |pre-activation| <= 15)."""
        return spec("mlp.network").well_conditioned(self.x, self.V, self.gamma, self.W, self.theta)


def make_net(seed, d=1, q=1, l=1, N=1, x_scale=1.0, w_scale=1.0, thresholds=True):  # noqa: E741
    rng = np.random.default_rng(seed)
    return Net(
        x=x_scale * rng.standard_normal((N, d)),
        y=rng.uniform(0.0, 1.0, (N, l)),
        V=w_scale * rng.standard_normal((d, q)) / np.sqrt(d),
        gamma=rng.standard_normal(q) if thresholds else np.zeros(q),
        W=w_scale * rng.standard_normal((q, l)) / np.sqrt(q),
        theta=rng.standard_normal(l) if thresholds else np.zeros(l),
    )


@st.composite
def nets(draw, N=(1, 1), distinct=True, thresholds=BOOLS):
    """Hypothesis strategy of `Net`s; ``distinct``: d, q, l pairwise distinct (ERR-1)."""
    widths = st.lists(st.integers(1, 6), min_size=3, max_size=3, unique=distinct)
    d, q, l = draw(widths)  # noqa: E741
    return make_net(
        draw(SEEDS),
        d,
        q,
        l,
        draw(st.integers(*N)),
        draw(st.floats(0.1, 2.0)),
        draw(st.floats(0.1, 2.0)),
        draw(thresholds),
    )


def index_vs_matrix_tolerance(net: Net) -> dict[str, np.ndarray]:
    """First-order bound on the rounding error of one float64 evaluation of the article's
    quantities for one sample (sigmoid output), per entry.

    Forward error analysis (Higham, *Accuracy and Stability*, §3.1–3.5), u = eps (twice the
    unit roundoff, for slack): a sum of n products is off by ≤ (n+1)·u·Σ|terms|; σ is
    ¼-Lipschitz and expit adds ≤ 2u; g = (y'−y)y'(1−y') has ∂g/∂y' bounded by ¼ + |y'−y|;
    b(1−b) has slope |1−2b| ≤ 1. Second-order terms are O(u²) and are dropped. The index and
    matrix forms differ only in the order of their sums, so their difference is at most
    twice this bound.
    """
    u = EPS
    g = article_index_form(net.x[0], net.y[0], net.V, net.W, net.gamma, net.theta)
    (d, q), ax = net.V.shape, np.abs(net.x[0])
    l = net.W.shape[1]  # noqa: E741
    aV, aW = np.abs(net.V), np.abs(net.W)
    da = (d + 1) * u * (ax @ aV + np.abs(net.gamma))
    db = da / 4 + 2 * u
    dbeta = aW.T @ db + (q + 1) * u * (np.abs(g.b) @ aW + np.abs(net.theta))
    dy = dbeta / 4 + 2 * u
    r = np.abs(g.y_hat - net.y[0])
    dg = dy * (0.25 + r) + 6 * u * (r + 1)
    s = net.W @ g.g
    ds = aW @ dg + (l + 1) * u * (aW @ np.abs(g.g))
    de = ds / 4 + np.abs(s) * db + 4 * u * np.abs(s) / 4
    return {
        "g": dg,
        "e": de,
        "dW": np.outer(db, np.abs(g.g)) + np.outer(np.abs(g.b), dg) + u * np.abs(g.dW),
        "dV": np.outer(ax, de) + u * np.abs(g.dV),
        "y_hat": dy,
    }


# ---------------------------------------------------------------------------------------------
# MLP-1: forward, index form = matrix form
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("MLP-1", "ERR-1")
@given(net=nets())
@example(net=make_net(0)).via("d = q = l = 1")
def test_index_form_forward_equals_the_matrix_form(net):
    """α_h = Σ_i v_ih x_i, b_h = σ(α_h − γ_h), β_j = Σ_h w_hj b_h, y'_j = σ(β_j − θ_j), by
    loops and by ``x @ V``, ``b @ W``: equal within twice the forward rounding bound; shapes
    (q,) and (l,) with d, q, l pairwise distinct, so an h/j mix-up cannot even broadcast."""
    art = article_index_form(net.x[0], net.y[0], net.V, net.W, net.gamma, net.theta)
    y_hat, _ = mlp_forward(net.x, net.V, net.gamma, net.W, net.theta)
    _, q, l = net.sizes  # noqa: E741
    assert art.alpha.shape == art.b.shape == (q,)
    assert art.beta.shape == art.y_hat.shape == (l,)
    assert y_hat.shape == (1, l)
    tol = index_vs_matrix_tolerance(net)
    assert np.all(np.abs(art.y_hat - y_hat[0]) <= 2 * tol["y_hat"])
    assert np.all((y_hat > 0) & (y_hat < 1))  # |β − θ| < 36 here: inside (0, 1), ACT-3


@pytest.mark.proves("MLP-1")
def test_the_book_network_has_the_book_parameter_count():
    """(d + l + 1)q + l parameters: V (d×q), W (q×l), γ (q), θ (l)."""
    net = make_net(0, d=3, q=5, l=2)
    assert sum(p.size for p in net.params.values()) == (3 + 2 + 1) * 5 + 2


# ---------------------------------------------------------------------------------------------
# MLP-2: the squared error
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("MLP-2")
@given(seed=SEEDS, n=st.integers(1, 6), scale=st.floats(1e-3, 1e3))
def test_squared_error_is_nonnegative_and_zero_only_at_the_target(seed, n, scale):
    rng = np.random.default_rng(seed)
    y = scale * rng.standard_normal((1, n))
    y_hat = y + scale * rng.standard_normal((1, n))
    assert float(squared_error_forward(y, y)[0]) == 0.0
    E = float(squared_error_forward(y_hat, y)[0])
    assert E >= 0.0
    assume(np.any(y_hat != y))
    assert E > 0.0


# ---------------------------------------------------------------------------------------------
# MLP-3, MLP-5, MLP-7: gradients against finite differences (the checker)
# ---------------------------------------------------------------------------------------------


LOSS = spec("mlp.loss")


@pytest.mark.proves(*LOSS.ids, "ERR-1")
@given(net=nets(N=(1, 4)), seed=SEEDS)
@example(net=make_net(0), seed=0).via("d = q = l = 1, N = 1")
def test_matrix_form_backward_matches_finite_differences(net, seed):
    """The registry record `mlp.loss`: every gradient of E(x, y; V, γ, W, θ), with d, q, l
    pairwise distinct (ERR-1), so an h/j mix-up cannot pass (proofs/test_registry.py checks the
    record on its own draws, where widths may coincide)."""
    args = (net.x, net.y, net.V, net.gamma, net.W, net.theta)
    assume(LOSS.well_conditioned(*args))
    assert_pass(
        gradcheck.check_vjp(LOSS.forward, LOSS.backward, args, seed=seed, names=LOSS.arg_names)
    )


def article_grad(net: Net, out=activations.SIGMOID):
    """The article's g_j, e_h formulas as a gradient of E over the parameter dict (one sample)."""

    def grad(p):
        a = article_index_form(net.x[0], net.y[0], p["V"], p["W"], p["gamma"], p["theta"], out)
        return {"V": a.dV, "gamma": a.dgamma, "W": a.dW, "theta": a.dtheta}

    return grad


def loss_of(net: Net, out=activations.SIGMOID):
    def E(p):
        return float(mlp_loss_forward(net.x, net.y, p["V"], p["gamma"], p["W"], p["theta"], out)[0])

    return E


#: the draw of the 20-seed soak's dev seed 130 (docs/soak.md): ŷ ≈ y ≈ 0.56, so E = 6.4e-7 and
#: its rounding (~1e-19, from ŷ and y) is 10-20 times ulps eps E; three entries of V were named
#: "jump" until quiet noise probes set the leaf's floor (tests/test_ladder.py, "near 0")
_SOAK_130 = Net(
    x=np.array([[0.03547657, 0.15599779, 0.26416619]]),
    y=np.array([[0.56410684]]),
    V=np.array(
        [
            [-1.8183889, -1.56714337, -1.55785748, -0.45887504, 0.34576106],
            [0.36210856, -1.76785755, -0.69876828, 0.21609943, -0.83475651],
            [-1.654474, 0.17451921, 0.89428561, 0.01753451, -0.1386708],
        ]
    ),
    gamma=np.array([-0.67945983, 0.34526621, 0.1993498, -0.77576282, -0.48899676]),
    W=np.array([[-0.47739851], [0.23604254], [-1.59854841], [0.85943158], [0.20089843]]),
    theta=np.array([-0.47653632]),
)


@pytest.mark.proves("MLP-3", "MLP-5", "MLP-7", "ERR-1", "ERR-2")
@given(net=nets(thresholds=st.just(True)), seed=SEEDS)
@example(net=make_net(0), seed=0).via("d = q = l = 1")
@example(net=_SOAK_130, seed=0).via("dev seed 130: E = 6.4e-7, V's floor from quiet probes")
def test_article_index_formulas_match_finite_differences(net, seed):
    """The article's ∂E/∂w_hj = g_j b_h, ∂E/∂v_ih = e_h x_i, literally, and MLP-7's
    ∂E/∂θ_j = −g_j, ∂E/∂γ_h = −e_h (article's sign; ERR-2: the book's thresholds)."""
    assume(net.moderate())
    assert_pass(gradcheck.check_grad(loss_of(net), article_grad(net), net.params, seed=seed))


@pytest.mark.proves("MLP-3", "MLP-5")
@given(net=nets())
@example(net=make_net(0)).via("d = q = l = 1")
def test_index_form_gradients_equal_the_matrix_form(net):
    """g, e, ∂E/∂W, ∂E/∂V by loops equal ``b.T @ g``, ``x.T @ e`` within twice the rounding
    bound of `index_vs_matrix_tolerance`."""
    art = article_index_form(net.x[0], net.y[0], net.V, net.W, net.gamma, net.theta)
    _, _, dV, dgamma, dW, dtheta = mlp_loss_backward(
        np.float64(1.0), mlp_loss_forward(net.x, net.y, *net.params.values())[1]
    )
    tol = index_vs_matrix_tolerance(net)
    assert np.all(np.abs(art.dW - dW) <= 2 * tol["dW"])
    assert np.all(np.abs(art.dV - dV) <= 2 * tol["dV"])
    assert np.all(np.abs(art.dtheta - dtheta) <= 2 * tol["g"])
    assert np.all(np.abs(art.dgamma - dgamma) <= 2 * tol["e"])


# ---------------------------------------------------------------------------------------------
# ERR-3: y'(1 − y') only for a sigmoid output
# ---------------------------------------------------------------------------------------------


@REJECTIONS
@pytest.mark.proves("ERR-3", "MLP-3")
@given(net=nets(), seed=SEEDS)
def test_output_form_derivative_is_wrong_for_an_identity_output(net, seed):
    """ERR-3: with φ = identity the article's g_j = (y'−y)·y'(1−y') is rejected by the checker
    (y'(1−y') ≤ ¼ < 1 = φ' whenever y' − y ≠ 0). The corrected, φ'-parametrised spec passes
    on the same kind of draw: that is the registry record `mlp.network_identity_output`
    (ids MLP-3, ERR-3) in `test_every_registered_part1_spec_passes_the_checker`."""
    assume(net.moderate())
    y_hat = mlp_forward(net.x, net.V, net.gamma, net.W, net.theta, IDENTITY)[0]
    assume(np.abs(y_hat - net.y).max() > 1e-2)  # g ≠ 0, so the wrong factor shows
    literal = gradcheck.check_grad(
        loss_of(net, IDENTITY), article_grad(net, IDENTITY), net.params, seed=seed
    )
    assert literal.status == "fail", str(literal)


# ---------------------------------------------------------------------------------------------
# ERR-1: the literal typo readings cannot pass
# ---------------------------------------------------------------------------------------------


def typo_hidden_grad(net: Net):
    """ "E先对该层节点的输出 b_j 求导,再对节点的输入 \\alpha_j 求导", in code: the hidden
    derivative b(1−b) indexed by the output j, i.e. y'_j(1−y'_j) in place of b_h(1−b_h)."""

    def grad(p):
        a = article_index_form(net.x[0], net.y[0], p["V"], p["W"], p["gamma"], p["theta"])
        e = (p["W"] @ a.g) * a.y_hat * (1 - a.y_hat)  # ← j where the article meant h
        return {"V": np.outer(net.x[0], e), "gamma": -e, "W": a.dW, "theta": a.dtheta}

    return grad


@REJECTIONS
@pytest.mark.proves("ERR-1")
@given(net=nets(distinct=False), seed=SEEDS)
@example(net=make_net(3, d=2, q=3, l=1), seed=0).via("l = 1 broadcasts: values must catch it")
def test_the_literal_h_j_typo_never_passes(net, seed):
    """The typo in code, (W g) ⊙ y'(1−y') for (W g) ⊙ b(1−b), never survives: with q ≠ l (both
    > 1) it cannot broadcast (ValueError); with q = 1 < l it broadcasts to the wrong shape
    (l,) for ∂E/∂γ; with q = l, or l = 1 (which numpy silently broadcasts), it gives the wrong
    numbers and the checker rejects it. The h-indexed formula passes on the same draws."""
    assume(net.moderate())
    _, q, l = net.sizes  # noqa: E741
    try:
        wrong = typo_hidden_grad(net)(net.params)["gamma"]
    except ValueError:
        assert q != l
        assert 1 not in (q, l)
        return
    if wrong.shape != (q,):
        assert q == 1 < l
        return
    art = article_index_form(net.x[0], net.y[0], net.V, net.W, net.gamma, net.theta)
    assume(np.abs(wrong + art.e).max() > 1e-3 * np.abs(art.e).max())  # the typo matters here
    res = gradcheck.check_grad(loss_of(net), typo_hidden_grad(net), net.params, seed=seed)
    assert res.status == "fail", str(res)


# ---------------------------------------------------------------------------------------------
# MLP-4, MLP-6, ERR-2: the article's and the book's updates are the same step
# ---------------------------------------------------------------------------------------------


@pytest.mark.proves("MLP-4", "MLP-6", "ERR-2")
@given(net=nets(), eta=st.floats(1e-4, 1.0))
@example(net=make_net(0), eta=0.1).via("d = q = l = 1")
def test_book_and_article_updates_are_the_same_step(net, eta):
    """Article: Δw_hj = −η g_j b_h, Δv_ih = −η e_h x_i (and Δθ = ηg, Δγ = ηe for the
    thresholds); book (5.11)–(5.14): g^book = −g, Δw = +η g^book b_h, Δθ = −η g^book, ….
    Equal within η × twice the rounding bound of the two evaluations (loops vs matmul)."""
    art = article_updates(
        article_index_form(net.x[0], net.y[0], net.V, net.W, net.gamma, net.theta),
        net.x[0],
        eta,
    )
    book = book_updates(net.x[0], net.y[0], net.V, net.gamma, net.W, net.theta, eta)
    tol = index_vs_matrix_tolerance(net)
    # η·(2·bound) plus one rounding of the product by η.
    for name, key in (("V", "dV"), ("W", "dW"), ("theta", "g"), ("gamma", "e")):
        bound = eta * 2 * tol[key] + EPS * np.abs(art[name])
        assert np.all(np.abs(art[name] - book[name]) <= bound), name


@pytest.mark.proves("MLP-4", "MLP-6")
@given(net=nets(), eta=st.floats(1e-4, 1.0))
def test_article_update_is_minus_eta_times_the_gradient(net, eta):
    """Δw = −η ∂E/∂w for every parameter (Δθ = −η·(−g) = ηg): exactly the product by −η."""
    a = article_index_form(net.x[0], net.y[0], net.V, net.W, net.gamma, net.theta)
    up = article_updates(a, net.x[0], eta)
    grads = {"V": a.dV, "gamma": a.dgamma, "W": a.dW, "theta": a.dtheta}
    for name, g in grads.items():
        assert np.allclose(up[name], -eta * g, rtol=2 * EPS, atol=0), name


# ---------------------------------------------------------------------------------------------
# The derivation, symbolically (d = q = l = 2)
# ---------------------------------------------------------------------------------------------


class sig(sp.Function):
    """σ as an undefined function whose derivative is σ(1 − σ) (ACT-1, proven in sympy)."""

    def fdiff(self, argindex=1):
        return sig(self.args[0]) * (1 - sig(self.args[0]))


@pytest.mark.proves("MLP-3", "MLP-5", "MLP-7")
def test_derivation_holds_symbolically_for_a_two_two_two_network():
    """∂E/∂w_hj = g_j b_h, ∂E/∂v_ih = e_h x_i, ∂E/∂θ_j = −g_j, ∂E/∂γ_h = −e_h, with
    g_j = (y'_j − y_j)y'_j(1 − y'_j) and e_h = (Σ_j g_j w_hj) b_h(1 − b_h): exact expansion."""
    n = 2
    x = sp.symbols("x0:2")
    y = sp.symbols("y0:2")
    V = sp.Matrix(n, n, lambda i, h: sp.Symbol(f"v{i}{h}"))
    W = sp.Matrix(n, n, lambda h, j: sp.Symbol(f"w{h}{j}"))
    gamma, theta = sp.symbols("gamma0:2"), sp.symbols("theta0:2")
    b = [sig(sum(V[i, h] * x[i] for i in range(n)) - gamma[h]) for h in range(n)]
    yp = [sig(sum(W[h, j] * b[h] for h in range(n)) - theta[j]) for j in range(n)]
    E = sp.Rational(1, 2) * sum((yp[j] - y[j]) ** 2 for j in range(n))
    g = [(yp[j] - y[j]) * yp[j] * (1 - yp[j]) for j in range(n)]
    e = [sum(g[j] * W[h, j] for j in range(n)) * b[h] * (1 - b[h]) for h in range(n)]
    for h in range(n):
        assert sp.expand(sp.diff(E, gamma[h]) + e[h]) == 0
        for j in range(n):
            assert sp.expand(sp.diff(E, W[h, j]) - g[j] * b[h]) == 0
        for i in range(n):
            assert sp.expand(sp.diff(E, V[i, h]) - e[h] * x[i]) == 0
    for j in range(n):
        assert sp.expand(sp.diff(E, theta[j]) + g[j]) == 0


# ---------------------------------------------------------------------------------------------
# Negative controls (the registry records: proofs/test_registry.py)
# ---------------------------------------------------------------------------------------------


def backward_without_hidden_sigmoid_derivative(dy_hat, cache):
    """A dropped term: e = W g without b(1 − b) (the article's point 3) forgotten)."""
    g = dy_hat * cache.out.fprime(cache.a_j)
    e = g @ cache.W.T
    return e @ cache.V.T, cache.x.T @ e, -e.sum(axis=0), cache.b.T @ g, -g.sum(axis=0)


def backward_with_output_derivative_in_hidden_delta(dy_hat, cache):
    """e = D_out (W g) instead of D_hid (W g): the j-layer's σ' applied at the h layer."""
    g = dy_hat * cache.out.fprime(cache.a_j)
    e = (g @ cache.W.T) * cache.out.fprime(cache.a_j)
    return e @ cache.V.T, cache.x.T @ e, -e.sum(axis=0), cache.b.T @ g, -g.sum(axis=0)


@REJECTIONS
@pytest.mark.proves("MLP-5")
@given(net=nets(N=(1, 3)), seed=SEEDS)
def test_checker_rejects_a_hidden_gradient_without_the_sigmoid_derivative(net, seed):
    """Negative control: dropping b_h(1−b_h) from e_h fails (σ' ≤ ¼ ≠ 1)."""
    assume(net.moderate())
    args = (net.x, net.V, net.gamma, net.W, net.theta)
    res = gradcheck.check_vjp(
        mlp_forward,
        backward_without_hidden_sigmoid_derivative,
        args,
        seed=seed,
        names=("x", *PARAMS),
    )
    assert res.status == "fail", str(res)
    failed = {p.path for p in res.params if p.status == "fail"}
    assert failed, str(res)
    assert failed <= {"x", "V", "gamma"}, str(res)  # W, θ do not depend on e: they still pass


@REJECTIONS
@pytest.mark.proves("MLP-5", "ERR-1")
@given(seed=SEEDS, d=st.integers(1, 5), q=st.integers(1, 5), N=st.integers(1, 3))
def test_checker_rejects_the_output_layer_derivative_in_the_hidden_delta(seed, d, q, N):
    """Negative control: the output layer's σ'(β_j−θ_j) where the hidden σ'(α_h−γ_h) belongs
    (the j-for-h reading of ERR-1; shape-valid only when q = l, so l = q here)."""
    net = make_net(seed, d, q, q, N)
    assume(net.moderate())
    args = (net.x, net.V, net.gamma, net.W, net.theta)
    res = gradcheck.check_vjp(
        mlp_forward, backward_with_output_derivative_in_hidden_delta, args, seed=seed
    )
    assert res.status == "fail", str(res)


@pytest.mark.proves("ERR-4", "ACT-3")
@given(seed=SEEDS, d=st.integers(1, 4), q=st.integers(1, 4), shift=st.floats(40.0, 600.0))
def test_a_saturated_output_zeroes_the_article_gradient_but_not_the_stable_one(seed, d, q, shift):
    """ERR-4 at the network level: with β_j − θ_j ≥ 40 (θ = −shift), y'_j rounds to 1.0 and the
    article's g_j = (y'−y)·y'(1−y') is exactly 0.0 — so are ∂E/∂w_hj and every e_h — while the
    spec's g_j = (y'−y)σ'(β−θ) from the pre-activation stays > 0 (σ'(600) ≈ 1e-261): a purely
    numerical vanishing gradient."""
    net = make_net(seed, d, q, 1, thresholds=False)
    theta = np.array([-shift - np.abs(net.W).sum()])  # β ≥ −Σ|w| since b ∈ (0, 1)
    art = article_index_form(net.x[0], net.y[0], net.V, net.W, net.gamma, theta)
    assert art.y_hat[0] == 1.0
    assert np.all(art.g == 0.0)
    assert np.all(art.dW == 0.0)
    assert np.all(art.dV == 0.0)
    _, _, _, _, dW, dtheta = mlp_loss_backward(
        1.0, mlp_loss_forward(net.x, net.y, net.V, net.gamma, net.W, theta)[1]
    )
    assert np.all(dtheta != 0.0)
    assert np.any(dW != 0.0)
